"""Two-photon (Hong–Ou–Mandel) interference and multi-photon bunching, computed with Perceval.

Quantum interference is the mechanism the paper credits for the advantage of boson-sampler
latents: indistinguishable photons bunch more than distinguishable ones sent through the same
interferometer, while every single photon sees the same single-photon marginals.

Conventions
-----------
* Photons are Gaussian wavepackets of coherence time ``τ_c``; delaying one by ``τ`` leaves the
  squared overlap ``|⟨ψ(0)|ψ(τ)⟩|² = exp(−τ²/τ_c²)``.
* Perceval's ``NoiseModel(indistinguishability=V)`` is the squared overlap ``V`` (its two-photon
  HOM visibility), so HOM coincidence on a balanced beam splitter is ``(1 − V)/2``
  (Hong, Ou & Mandel, PRL 59, 2044 (1987)).

References
----------
Hong, Ou & Mandel (1987). Tichy, Mayer, Buchleitner & Mølmer, PRL 113, 020502 (2014) (full
bunching: ``n!`` enhancement for indistinguishable photons).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def wavepacket_overlap(delay: np.ndarray | float, coherence_time: float) -> np.ndarray:
    """Squared overlap ``exp(−τ²/τ_c²)`` of two Gaussian wavepackets delayed by ``τ``."""
    if not coherence_time > 0:
        raise ValueError(f"coherence_time must be positive, got {coherence_time}")
    return np.exp(-(np.asarray(delay, dtype=float) / coherence_time) ** 2)


def hom_coincidence_closed_form(overlap: np.ndarray | float) -> np.ndarray:
    """Coincidence probability ``(1 − |⟨ψ|φ⟩|²)/2`` of two photons on a balanced beam splitter."""
    return (1.0 - np.asarray(overlap, dtype=float)) / 2.0


def output_distribution(unitary: np.ndarray, input_state: Sequence[int],
                        indistinguishability: float = 1.0) -> dict[tuple[int, ...], float]:
    """Exact output distribution (Perceval's SLOS) of ``input_state`` through ``unitary``.

    ``indistinguishability`` is Perceval's noise-model parameter (the pairwise squared overlap):
    1 for indistinguishable photons, 0 for distinguishable ones.
    """
    from qlatent.qpu.interrupts import python_sigint

    if not 0.0 <= indistinguishability <= 1.0:
        raise ValueError(f"indistinguishability must be in [0, 1], got {indistinguishability}")
    with python_sigint():  # exqalibur keeps SIGINT after each call otherwise: Ctrl-C would be lost
        import perceval as pcvl
        from perceval.algorithm import Sampler

        noise = pcvl.NoiseModel(indistinguishability=indistinguishability) if indistinguishability < 1 else None
        processor = pcvl.Processor("SLOS", pcvl.Unitary(pcvl.Matrix(np.asarray(unitary))), noise=noise)
        processor.with_input(pcvl.BasicState(list(input_state)))
        processor.min_detected_photons_filter(0)
        results = Sampler(processor).probs()["results"]
    return {tuple(int(n) for n in state): float(probability) for state, probability in results.items()}


def balanced_beam_splitter() -> np.ndarray:
    """The 50:50 beam splitter ``(1/√2)[[1, i], [i, 1]]`` (Perceval's ``BS()``)."""
    return np.array([[1, 1j], [1j, 1]], dtype=complex) / math.sqrt(2)


def hom_table(delays: Sequence[float], coherence_time: float) -> pd.DataFrame:
    """HOM scan: coincidence and bunching probabilities against the delay of one photon.

    Columns: ``delay``, ``overlap``, ``p_coincidence`` and ``p_bunched`` (both photons in one
    output, either one), computed by Perceval with the overlap as its indistinguishability.
    """
    rows = []
    for delay, overlap in zip(delays, wavepacket_overlap(np.asarray(delays), coherence_time)):
        distribution = output_distribution(balanced_beam_splitter(), [1, 1], float(overlap))
        coincidence = distribution.get((1, 1), 0.0)
        rows.append({"delay": float(delay), "overlap": float(overlap), "p_coincidence": coincidence,
                     "p_bunched": distribution.get((2, 0), 0.0) + distribution.get((0, 2), 0.0)})
    return pd.DataFrame(rows)


def first_modes_input(n_photons: int, n_modes: int) -> list[int]:
    """One photon in each of the first ``n_photons`` modes."""
    if not 0 < n_photons <= n_modes:
        raise ValueError(f"need 0 < n_photons <= n_modes, got {n_photons} photons in {n_modes} modes")
    return [1] * n_photons + [0] * (n_modes - n_photons)


def output_distribution_table(unitary: np.ndarray, n_photons: int) -> pd.DataFrame:
    """Every output pattern's probability for indistinguishable and distinguishable photons.

    Columns: ``pattern`` (counts joined by ``,``), ``max_occupation``, ``model``, ``probability``.
    """
    input_state = first_modes_input(n_photons, np.asarray(unitary).shape[0])
    rows = []
    for model, indistinguishability in (("indistinguishable", 1.0), ("distinguishable", 0.0)):
        for pattern, probability in sorted(output_distribution(unitary, input_state, indistinguishability).items()):
            rows.append({"pattern": ",".join(map(str, pattern)), "max_occupation": max(pattern),
                         "model": model, "probability": probability})
    return pd.DataFrame(rows)


def bunching_table(unitary: np.ndarray, n_photons: int, indistinguishabilities: Sequence[float]) -> pd.DataFrame:
    """Probability of a bunched outcome (some mode holding ≥ 2 photons) against indistinguishability."""
    input_state = first_modes_input(n_photons, np.asarray(unitary).shape[0])
    rows = []
    for value in indistinguishabilities:
        distribution = output_distribution(unitary, input_state, float(value))
        bunched = sum(p for pattern, p in distribution.items() if max(pattern) >= 2)
        rows.append({"indistinguishability": float(value), "p_bunched": bunched})
    return pd.DataFrame(rows)


def full_bunching_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """For each mode, P(all photons there) for indistinguishable over distinguishable photons.

    Theory: exactly ``n!`` for every mode and every interferometer (Tichy et al. 2014).
    """
    n_photons = sum(int(count) for count in table["pattern"].iloc[0].split(","))
    full = table[table["max_occupation"] == n_photons]
    wide = full.pivot(index="pattern", columns="model", values="probability").reset_index()
    wide["ratio"] = wide["indistinguishable"] / wide["distinguishable"]
    return wide
