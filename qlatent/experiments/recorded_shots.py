"""A user's shots against the ideal simulation of the same circuit ("bring your own photons").

Given a ``qlatent.shots/1`` file (:mod:`qlatent.qpu.shots`), the exact output distribution of the
same circuit, input and detection (:func:`qlatent.photonics.output_probabilities`, conditioned on
the file's own post-selection) is the reference. The tables:

* :func:`marginals_table` — mean count per mode, with its standard error, against the ideal;
* :func:`pair_correlation_table` — the covariance of the counts of every pair of modes;
* :func:`photon_number_table` — the distribution of the number of detected photons;
* :func:`tvd_summary` — total variation distance to the ideal, its bootstrap standard error, and the
  distance an exact sampler shows on average with as many shots
  (:func:`qlatent.experiments.backends.expected_sampling_tvd`);
* :func:`fit_loss_and_distinguishability` — the uniform transmission η and pairwise
  indistinguishability x whose distribution makes the shots most likely (a grid, exact
  probabilities of the partial-distinguishability model of :mod:`qlatent.photonics`);
* :func:`shots_for_tvd` — how many shots an exact sampler needs for a given expected TVD.

All exact: small circuits only (the limits of :func:`~qlatent.photonics.output_probabilities`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.experiments.backends import expected_sampling_tvd, total_variation


def ideal_distribution(shots: Any, *, indistinguishability: float = 1.0,
                       transmission: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(patterns (K, m), probabilities (K,))`` for the circuit, input and detection of ``shots``.

    ``shots`` is a :class:`~qlatent.qpu.shots.RecordedShots`. Photons of pairwise overlap
    ``indistinguishability`` (1: ideal) and uniform ``transmission``; the probabilities are
    conditioned on at least ``shots.min_detected`` detected photons, as the device post-selected.

    Raises
    ------
    ValueError
        As :func:`qlatent.photonics.output_probabilities`, or when no pattern passes the post-selection.
    """
    from qlatent.photonics import output_probabilities

    model = "indistinguishable" if indistinguishability == 1.0 else "partial"
    patterns, probs = output_probabilities(shots.circuit.unitary, shots.input_state, model=model,
                                           indistinguishability=indistinguishability, transmission=transmission,
                                           detection=shots.detection)
    keep = patterns.sum(axis=1) >= shots.min_detected
    total = probs[keep].sum()
    if not total > 0:
        raise ValueError(f"no pattern holds at least {shots.min_detected} detected photons at "
                         f"transmission {transmission}")
    return patterns[keep], probs[keep] / total


def _moments(patterns: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(m,)`` and covariance ``(m, m)`` of the counts under an exact distribution."""
    x = patterns.astype(float)
    mean = probs @ x
    return mean, (x * probs[:, None]).T @ x - np.outer(mean, mean)


def marginals_table(counts: np.ndarray, patterns: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    """Mean count per mode: observed (with its standard error) and ideal.

    Returns
    -------
    pandas.DataFrame
        Columns ``mode``, ``observed``, ``standard_error``, ``ideal``, ``z`` (difference in standard errors).
    """
    counts = np.asarray(counts, dtype=float)
    ideal, _ = _moments(patterns, probs)
    observed = counts.mean(axis=0)
    error = counts.std(axis=0, ddof=1) / math.sqrt(len(counts)) if len(counts) > 1 else np.full(counts.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(error > 0, (observed - ideal) / error, np.nan)
    return pd.DataFrame({"mode": np.arange(counts.shape[1]), "observed": observed, "standard_error": error,
                         "ideal": ideal, "z": z})


def pair_correlation_table(counts: np.ndarray, patterns: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    """Covariance of the counts of every pair of modes ``i < j``: observed and ideal.

    Interference shows here first: for indistinguishable photons the covariances differ from those
    of distinguishable ones even where the mean counts agree (chapter 02).

    Returns
    -------
    pandas.DataFrame
        Columns ``mode_i``, ``mode_j``, ``observed``, ``ideal``.
    """
    counts = np.asarray(counts, dtype=float)
    _, ideal = _moments(patterns, probs)
    observed = np.cov(counts, rowvar=False, bias=True)
    i, j = np.triu_indices(counts.shape[1], k=1)
    return pd.DataFrame({"mode_i": i, "mode_j": j, "observed": observed[i, j], "ideal": ideal[i, j]})


def photon_number_table(counts: np.ndarray, patterns: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    """Distribution of the number of detected photons (clicks): observed fraction and ideal probability.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_detected``, ``observed``, ``ideal``, one row per number seen in either.
    """
    detected = np.asarray(counts).sum(axis=1)
    totals = patterns.sum(axis=1)
    numbers = np.union1d(detected, totals).astype(np.int64)
    return pd.DataFrame({"n_detected": numbers,
                         "observed": [(detected == n).mean() for n in numbers],
                         "ideal": [probs[totals == n].sum() for n in numbers]})


def tvd_summary(counts: np.ndarray, patterns: np.ndarray, probs: np.ndarray, *, n_bootstrap: int,
                seed: int | np.random.Generator) -> dict[str, float]:
    """TVD of the shots to a distribution, its bootstrap standard error, and the exact-sampler baseline.

    A finite sample is never at distance 0: ``expected_exact`` is the average TVD of as many shots
    drawn from the distribution itself, so the plug-in TVD is biased upwards by about that much.
    Shots from the distribution give ``tvd`` close to ``expected_exact``; a device's imperfections
    add to it. ``standard_error`` is the standard deviation of the TVD over ``n_bootstrap``
    resamples of the shots (seeded): the spread of the estimate, not a correction of its bias.

    Returns
    -------
    dict
        ``tvd``, ``standard_error``, ``expected_exact``, ``n_shots``.

    Raises
    ------
    ValueError
        If ``n_bootstrap`` < 2 or there are no shots.
    """
    counts = np.asarray(counts)
    if len(counts) == 0:
        raise ValueError("no shots")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be ≥ 2, got {n_bootstrap}")
    rng = np.random.default_rng(seed)
    resampled = [total_variation(counts[rng.integers(0, len(counts), len(counts))], patterns, probs)
                 for _ in range(n_bootstrap)]
    return {"tvd": float(total_variation(counts, patterns, probs)),
            "standard_error": float(np.std(resampled, ddof=1)),
            "expected_exact": float(expected_sampling_tvd(probs, len(counts))), "n_shots": int(len(counts))}


def fit_loss_and_distinguishability(shots: Any, transmissions: Sequence[float],
                                    indistinguishabilities: Sequence[float]) -> pd.DataFrame:
    """Log-likelihood of the shots for every ``(transmission, indistinguishability)`` on a grid.

    Each grid point's exact distribution (:func:`ideal_distribution`) scores the shots by
    ``Σ_shots log p(pattern)`` (a pattern the model forbids scores ``-inf``). The row with the
    largest value is the maximum-likelihood estimate on the grid; differences of log-likelihood
    give its uncertainty (about 2 units below the maximum bounds a 95 % region for one parameter).

    Returns
    -------
    pandas.DataFrame
        Columns ``transmission``, ``indistinguishability``, ``log_likelihood``, sorted by decreasing
        ``log_likelihood``.

    Raises
    ------
    ValueError
        On an empty grid or values outside [0, 1] (from the photonics model).
    """
    if not len(transmissions) or not len(indistinguishabilities):
        raise ValueError("the grid needs at least one transmission and one indistinguishability")
    observed, frequency = np.unique(shots.counts, axis=0, return_counts=True)
    rows = []
    for eta in transmissions:
        for x in indistinguishabilities:
            patterns, probs = ideal_distribution(shots, indistinguishability=float(x), transmission=float(eta))
            index = {tuple(int(n) for n in pattern): p for pattern, p in zip(patterns, probs)}
            p = np.array([index.get(tuple(int(n) for n in row), 0.0) for row in observed])
            with np.errstate(divide="ignore"):
                rows.append({"transmission": float(eta), "indistinguishability": float(x),
                             "log_likelihood": float(frequency @ np.log(p))})
    return pd.DataFrame(rows).sort_values("log_likelihood", ascending=False, ignore_index=True)


def shots_for_tvd(probs: np.ndarray, target: float) -> int:
    """Shots an exact sampler needs for its expected TVD to the distribution to reach ``target``.

    The expected TVD falls as ``1/√N`` (:func:`~qlatent.experiments.backends.expected_sampling_tvd`),
    so ``N = ⌈(E₁ / target)²⌉`` with ``E₁`` its value for one shot. A device can only be told apart
    from the ideal by a TVD well above this.

    Raises
    ------
    ValueError
        If ``target`` is not in (0, 1].
    """
    if not 0 < target <= 1:
        raise ValueError(f"target TVD must be in (0, 1], got {target}")
    return max(1, math.ceil((expected_sampling_tvd(probs, 1) / target) ** 2))


def simulate_shots_file(path: str | os.PathLike[str], *, n_modes: int, loop_lengths: Sequence[int],
                        n_photons: int, n_shots: int, indistinguishability: float, transmission: float,
                        detection: str, seed: int) -> Path:
    """Write a ``qlatent.shots/1`` pair of simulated PT-Series-style shots (an example to practise on).

    Photons in the first ``n_photons`` bins of a time-bin loop interferometer with random angles
    (:func:`qlatent.photonics.random_timebin_interferometer`, seeded), partially distinguishable and
    lossy, sampled by our exact sampler: every number is reproducible from the arguments, which the
    file's ``notes`` record.

    Returns
    -------
    pathlib.Path
        The description's path (``.json``; the shots beside it as ``.csv``).
    """
    from qlatent.photonics import random_timebin_interferometer, sample
    from qlatent.qpu.shots import write_shots_file

    rng = np.random.default_rng(seed)
    loops = random_timebin_interferometer(n_modes, list(loop_lengths), seed=rng)
    state = [1] * n_photons + [0] * (n_modes - n_photons)
    counts = sample(loops.unitary, state, n_shots, model="partial", indistinguishability=indistinguishability,
                    transmission=transmission, detection=detection, seed=rng)
    parameters = loops.to_dict()["parameters"]
    circuit = {"kind": "timebin", "loop_lengths": [int(length) for length in loop_lengths],
               "thetas": [float(t) for t in parameters["thetas"]], "phis": [float(p) for p in parameters["phis"]]}
    notes = (f"simulated by qlatent.experiments.recorded_shots.simulate_shots_file(n_modes={n_modes}, "
             f"loop_lengths={list(loop_lengths)}, n_photons={n_photons}, n_shots={n_shots}, "
             f"indistinguishability={indistinguishability}, transmission={transmission}, "
             f"detection={detection!r}, seed={seed})")
    return write_shots_file(path, counts, input_state=state, detection=detection, circuit=circuit,
                            device="simulated PT-Series-style device (qlatent example)", notes=notes)


@dataclass(frozen=True)
class ShotsFileFault:
    """One way a ``qlatent.shots/1`` pair goes wrong, and the error :func:`qlatent.qpu.shots.read_shots_file` gives.

    ``description`` entries replace (or, with value ``None``, remove) entries of a good description;
    ``shot`` is appended to its counts file as one line; ``message`` is a regular expression the
    error must match (the chapter shows the error, the tests check it).
    """

    what: str
    message: str
    description: dict[str, Any] = field(default_factory=dict)
    shot: str | None = None


#: The faults chapter 07 demonstrates on the example file (6 modes, 3 photons, PNR detection).
SHOTS_FILE_FAULTS = (
    ShotsFileFault("another version of the format", r"format must be 'qlatent\.shots/1', got 'qlatent\.shots/2'",
                   {"format": "qlatent.shots/2"}),
    ShotsFileFault("a misspelt entry", r"unknown entries \['min_detect'\]", {"min_detect": 2}),
    ShotsFileFault("a missing entry", r"missing 'input_state'", {"input_state": None}),
    ShotsFileFault("an unknown detection", r"detection must be one of \('pnr', 'threshold'\), got 'clicks'",
                   {"detection": "clicks"}),
    ShotsFileFault("a count written as a float", r"expected comma-separated integers \(digits only\), got '1\.0'",
                   shot="1.0,0,0,0,1,0"),
    ShotsFileFault("a negative count", r"negative count -1", shot="1,-1,0,0,1,0"),
    ShotsFileFault("a shot of the wrong length", r"shot of 5 modes after shots of 6 modes", shot="1,0,0,1,0"),
    ShotsFileFault("more photons than were sent in", r"a shot holds 4 photons, more than the 3 sent in",
                   shot="2,0,0,1,1,0"),
    ShotsFileFault("clicks above 1 with threshold detectors",
                   r"threshold detection records clicks \(0 or 1\), got a count of 2", {"detection": "threshold"},
                   shot="2,0,0,0,1,0"),
)


def fault_message(fault: ShotsFileFault, example: str | os.PathLike[str], folder: str | os.PathLike[str]) -> str:
    """The error reading ``example`` with ``fault`` gives: the pair is copied into ``folder`` with the
    fault, read, and the message returned with ``folder`` removed from it (it names the file only).

    Raises
    ------
    RuntimeError
        If the faulty copy reads without error: the reader no longer catches that fault.
    """
    from qlatent.qpu.shots import read_shots_file

    example, folder = Path(example), Path(folder)
    meta = json.loads(example.read_text(encoding="utf-8"))
    lines = (example.parent / meta.get("counts_file", example.with_suffix(".csv").name)).read_text().splitlines()
    for key, value in fault.description.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    target = folder / "faulty.json"
    meta["counts_file"] = "faulty.csv"
    if fault.description.get("detection") == "threshold":  # keep the good shots valid clicks
        lines = [line for line in lines if line.startswith("#") or max(map(int, line.split(","))) <= 1]
    (folder / "faulty.csv").write_text("\n".join([*lines, *([fault.shot] if fault.shot else [])]) + "\n")
    target.write_text(json.dumps(meta), encoding="utf-8")
    try:
        read_shots_file(target)
    except (ValueError, FileNotFoundError) as error:
        return str(error).replace(f"{folder}{os.sep}", "")
    raise RuntimeError(f"the fault {fault.what!r} was read without error")
