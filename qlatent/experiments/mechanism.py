"""What carries Table I's gain? Classical challengers and quantum dials against the boson latent.

The paper (arXiv:2508.19857, Sec. V) asks whether the gains of photonic latents are connected to
quantum properties of their distributions, with one control: distinguishable photons. That control
also differs in dispersion and in correlations of every order, so this experiment trains Table I's
WGAN (:mod:`qlatent.experiments.discrete`, same network, optimiser, budget and seeds) with latents
that each keep one property of the boson latent and drop the rest.

Variants (names in the ``runs`` table):

``boson``, ``distinguishable``          Table I's latents (its recorded runs are reused)
``dirichlet-multinomial``               matched by moments to the boson bank (means, Fano factor)
``dirichlet-multinomial-haar``          from the photon number and mode count alone
``negative-binomial``                   independent overdispersed modes, per-mode mean and variance
``shuffled-counts``                     the boson bank, each mode permuted: marginals exact, no correlations
``independent-counts``                  independent modes with the boson bank's empirical marginals
``gaussian-copula``                     the bank's marginals and (nearest reachable) correlations
``indistinguishability-<x>``            the boson latent's interferometer, photons of overlap ``x``
``transmission-<eta>``                  the boson latent's interferometer, uniform transmission ``eta``

The challengers are fitted to the boson latent's own bank of that seed; the dials sample the
boson latent's own interferometer (:func:`~qlatent.latent.photonic.latent_seeds`), so ``x = 1``
and ``eta = 1`` are the boson latent's law. Partial distinguishability is the orthogonal-bad-bits
model (each photon independently in the common internal state with probability ``x``, otherwise in
its own orthogonal one; pairwise overlap ``x``, HOM visibility ``x²``: C. Sparrow, PhD thesis,
Imperial College London (2017); J. J. Renema et al., Phys. Rev. Lett. 120, 220502 (2018); A. E.
Moylett et al., Quantum Sci. Technol. 5, 015001 (2020)), which the local sampler implements
(:mod:`qlatent.photonics.sampling`); loss removes each photon before the interferometer.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.experiments.discrete import DiscreteConfig, train_with_latent
from qlatent.experiments.grid import GridResults, RunOutcome, run_grid

#: Table I's latents whose recorded runs this experiment reuses.
TABLE1_LATENTS = ("boson", "distinguishable")
#: Classical challengers fitted to (or, for the Haar version, standing in for) the boson latent.
CHALLENGERS = ("dirichlet-multinomial", "dirichlet-multinomial-haar", "negative-binomial", "shuffled-counts",
               "independent-counts", "gaussian-copula")
#: The dials: photon indistinguishability ``x`` and uniform transmission ``eta``, both in [0, 1].
DIALS = ("indistinguishability", "transmission")
_DIAL = re.compile(r"^(indistinguishability|transmission)-(0(?:\.\d+)?|1(?:\.0+)?)$")
#: Every parameter of :class:`DiscreteConfig` that Table I's recording must share for its runs to be reused.
REUSE_KEYS = ("size", "hidden", "activation", "optimizer", "learning_rate", "constraint", "gp_weight",
              "clip_value", "n_critic", "batch_size", "n_steps", "n_train", "n_reference", "bank_size",
              "centring", "eval_samples")


def dial_name(dial: str, value: float) -> str:
    """The variant name of a dial setting, e.g. ``dial_name("indistinguishability", 0.5)``."""
    name = f"{dial}-{float(value):g}"
    parse_dial(name)
    return name


def parse_dial(name: str) -> tuple[str, float] | None:
    """``(dial, value)`` of a dial variant's name, ``None`` for any other name.

    Raises
    ------
    ValueError
        If a name of a dial has a value outside [0, 1], or a transmission of 0 (no photons).
    """
    match = _DIAL.match(name)
    if match is None:
        if name.split("-")[0] in DIALS:
            raise ValueError(f"dial variant {name!r} must be '<dial>-<value>' with the value in [0, 1], "
                             "e.g. 'indistinguishability-0.5'")
        return None
    value = float(match.group(2))
    if match.group(1) == "transmission" and value == 0:
        raise ValueError("transmission 0 sends no photons: choose a transmission in (0, 1]")
    return match.group(1), value


def check_variants(variants: Sequence[str]) -> list[str]:
    """Refuse unknown variant names before any work, naming them and the known ones.

    Raises
    ------
    ValueError
        On an unknown name or a malformed dial.
    TypeError
        If ``variants`` is a string rather than a list of names.
    """
    if isinstance(variants, str):
        raise TypeError(f"variants must be a list of names, got the string {variants!r}")
    unknown = [name for name in variants if name not in TABLE1_LATENTS + CHALLENGERS and parse_dial(name) is None]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(TABLE1_LATENTS + CHALLENGERS)} or a dial such as "
                         "'indistinguishability-0.5' or 'transmission-0.8'")
    return list(variants)


def _dial_request(name: str, dial: str, value: float, config: DiscreteConfig, seed: int) -> tuple[Any, Any]:
    """``(sample request, source)`` of dial variant ``name``'s bank in run ``seed``: the boson
    latent's interferometer with the dialled photon model."""
    from qlatent.latent.photonic import derived_seed, latent_seeds
    from qlatent.qpu import SampleRequest

    spec = config.latent_spec()
    circuit_seed, _ = latent_seeds("boson", spec, seed)
    source = spec.source(circuit_seed)
    options = ({"model": "partial", "indistinguishability": value} if dial == "indistinguishability"
               else {"model": "indistinguishable", "transmission": value})
    request = SampleRequest(spec.backend, source.interferometer(), source.input_state(), spec.bank_size,
                            seed=derived_seed(seed, name, "bank"), **options)
    return request, source


def _dial_latent(name: str, dial: str, value: float, config: DiscreteConfig, seed: int, store: Any) -> Any:
    from qlatent.latent.bank import BankLatent
    from qlatent.qpu import get_or_sample

    spec = config.latent_spec()
    request, source = _dial_request(name, dial, value, config, seed)
    counts = np.asarray(get_or_sample(request, store=store, progress=False).counts)
    origin = {"sample_set": request.request_id(), "interferometer": source.interferometer().to_dict(),
              "dial": dial, "value": value}
    return BankLatent(counts, name=name, description=origin, postprocess=spec.postprocess())


def build_variant(name: str, config: DiscreteConfig, seed: int, store: Any = None) -> Any:
    """The latent of variant ``name`` (see the module docstring) for run ``seed``, centred like Table I's.

    Raises
    ------
    ValueError
        On an unknown variant, or a boson bank a challenger cannot be fitted to (the message says why).
    """
    from qlatent.latent.challengers import DirichletMultinomialLatent, GaussianCopulaLatent
    from qlatent.latent.classical import IndependentCountsLatent
    from qlatent.latent.photonic import build_latent, derived_seed

    check_variants([name])
    spec = config.latent_spec()
    dial = parse_dial(name)
    if dial is not None:
        return _dial_latent(name, *dial, config, seed, store)
    if name in TABLE1_LATENTS or name in ("shuffled-counts", "independent-counts"):
        return build_latent(name, spec, seed, store)
    draw = {"bank_size": spec.bank_size, "seed": derived_seed(seed, name), "name": name,
            "postprocess": spec.postprocess()}
    if name == "dirichlet-multinomial-haar":
        return DirichletMultinomialLatent.haar_boson(spec.photons, spec.size, **draw)
    counts = build_latent("boson", spec, seed, store).bank
    if name == "dirichlet-multinomial":
        return DirichletMultinomialLatent.from_counts(counts, **draw)
    if name == "gaussian-copula":
        return GaussianCopulaLatent.from_counts(counts, **draw)
    return IndependentCountsLatent.negative_binomial(counts, name=name, postprocess=spec.postprocess())


def latent_counts(latent: Any, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` raw count rows of a variant's latent (before centring), as int64.

    A bank gives its first rows (drawn at random already); a per-draw law
    (:class:`~qlatent.latent.classical.IndependentCountsLatent`) draws them with ``seed``.

    Raises
    ------
    ValueError
        If a bank holds fewer than ``n_samples`` rows.
    TypeError
        If the latent is neither a bank nor independent counts.
    """
    import torch

    from qlatent.latent.bank import BankLatent
    from qlatent.latent.classical import IndependentCountsLatent

    if isinstance(latent, BankLatent):
        if latent.n_rows < n_samples:
            raise ValueError(f"bank {latent.name!r} holds {latent.n_rows} rows, fewer than {n_samples}")
        return latent.bank[:n_samples].astype(np.int64)
    if isinstance(latent, IndependentCountsLatent):
        raw = IndependentCountsLatent(latent.marginals, name=latent.name)
        return raw.sample(n_samples, torch.Generator().manual_seed(int(seed))).numpy().astype(np.int64)
    raise TypeError(f"latent {latent!r} has no count law to describe")


def train_variant(dataset: str, latent: str, seed: int, *, config: DiscreteConfig, runs_dir: Path,
                  store: Any = None, progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) Table I's run of ``dataset`` and ``seed`` with variant ``latent``."""
    latent_distribution = build_variant(latent, config, seed, store)
    return train_with_latent(dataset, latent, latent_distribution, seed, config=config, runs_dir=runs_dir,
                             store=store, progress=progress)


def variant_banks(dataset: str, latent: str, seed: int, *, config: DiscreteConfig, **_: Any) -> list[Any]:
    """The sample requests of the photon-count banks :func:`build_variant` asks the store for in one
    run (None: a variant without one), so a sweep sizes them before any run starts.

    Raises
    ------
    ValueError
        On an unknown variant.
    """
    from qlatent.latent.photonic import bank_request

    check_variants([latent])
    dial = parse_dial(latent)
    if dial is not None:
        return [_dial_request(latent, *dial, config, seed)[0]]
    if latent == "dirichlet-multinomial-haar":
        return [None]
    spec = config.latent_spec()
    if latent in TABLE1_LATENTS or latent in ("shuffled-counts", "independent-counts"):
        return [bank_request(latent, spec, seed)]
    return [bank_request("boson", spec, seed)]  # the challengers are fitted to the boson bank


train_variant.bank_requests = variant_banks  # type: ignore[attr-defined]


def reusable_table1_runs(recording: Any, config: DiscreteConfig) -> pd.DataFrame:
    """Table I's recorded runs of :data:`TABLE1_LATENTS` when its training matches ``config``, else an empty table.

    ``recording`` is a :class:`~qlatent.recording.Recording` of ``04_discrete`` (or ``None``). Its
    runs are reused only when every parameter of :data:`REUSE_KEYS` equals ours, so they are the
    runs this experiment would train.
    """
    empty = pd.DataFrame(columns=["dataset", "latent", "seed", "metric", "value"])
    if recording is None:
        return empty
    theirs, ours = recording.manifest.get("parameters", {}), config.to_dict()
    if any(_plain(theirs.get(key)) != _plain(ours.get(key)) for key in REUSE_KEYS):
        return empty
    runs = recording.tables["runs"]
    return runs[runs["latent"].isin(TABLE1_LATENTS)].reset_index(drop=True)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def run_mechanism(config: DiscreteConfig, seeds: Mapping[str, Sequence[int]], variants: Mapping[str, Sequence[str]],
                  runs_dir: Path, store: Any = None, reused: pd.DataFrame | None = None,
                  progress: bool = True) -> GridResults:
    """Every (dataset × variant × seed) run not already in ``reused`` (tidy Table I rows to reuse).

    ``seeds`` and ``variants`` map each dataset to its seeds and its variants. The runs of
    ``reused`` (dataset, latent, seed) are taken as they are and appended to ``runs``.

    Raises
    ------
    ValueError
        On an unknown dataset or variant, or a dataset without seeds or variants.
    """
    from qlatent.data.discrete import check_dataset_names

    check_dataset_names(list(seeds))
    done = set() if reused is None or reused.empty else set(
        map(tuple, reused[["dataset", "latent", "seed"]].drop_duplicates().to_numpy().tolist()))
    jobs = []
    for dataset, values in seeds.items():
        names = check_variants(variants.get(dataset, ()))
        if not values or not names:
            raise ValueError(f"dataset {dataset!r} needs seeds and variants, got {values!r} and {names!r}")
        jobs += [{"dataset": dataset, "latent": name, "seed": int(seed)} for name in names for seed in values
                 if (dataset, name, int(seed)) not in done]
    wanted = {(dataset, name, int(seed)) for dataset, values in seeds.items()
              for name in variants.get(dataset, ()) for seed in values}
    kept = pd.DataFrame() if reused is None or reused.empty else reused[
        [tuple(row) in wanted for row in reused[["dataset", "latent", "seed"]].to_numpy().tolist()]]
    if not jobs:
        return GridResults(kept.reset_index(drop=True), pd.DataFrame(), pd.DataFrame())
    train_one = functools.partial(train_variant, config=config, runs_dir=Path(runs_dir), store=store)
    results = run_grid(train_one, jobs, progress)
    results.runs = pd.concat([kept, results.runs], ignore_index=True)
    return results


def variant_statistics(config: DiscreteConfig, seeds: Sequence[int], variants: Sequence[str], n_samples: int,
                       dataset: str = "quantum", store: Any = None) -> pd.DataFrame:
    """Tidy statistics (dataset, latent, seed, metric, value) of each variant's counts, ``n_samples`` rows each.

    The metrics are :data:`~qlatent.metrics.latent_stats.LATENT_STATISTICS`, ``data_tvd`` against
    ``n_samples`` held-out rows of ``dataset`` for the same seed.
    """
    from qlatent.data.discrete import discrete_dataset
    from qlatent.metrics.latent_stats import latent_statistics

    rows = []
    for seed in seeds:
        data, _ = discrete_dataset(dataset, config.size, n_samples, int(seed), "reference", store)
        for name in check_variants(variants):
            counts = latent_counts(build_variant(name, config, int(seed), store), n_samples, int(seed))
            for metric, value in latent_statistics(counts, np.rint(data).astype(np.int64)).items():
                rows.append({"dataset": dataset, "latent": name, "seed": int(seed), "metric": metric, "value": value})
    return pd.DataFrame(rows)


def _photon_cost(name: str) -> str:
    dial = parse_dial(name)
    if name == "distinguishable":
        return "O(n m) per sample: each photon independently"
    if dial is None:
        return "O(n 2^n) per sample (Clifford & Clifford): every photon interferes"
    if dial[0] == "indistinguishability":
        return f"O(k 2^k) per sample, k ~ Binomial(n, {dial[1]:g}) interfering photons (Renema et al. 2018)"
    return f"O(k 2^k) per sample, k ~ Binomial(n, {dial[1]:g}) surviving photons"


#: Classical cost of drawing one row of each challenger, beyond the one-off fit.
CHALLENGER_COSTS = {
    "dirichlet-multinomial": "O(m + n): m gamma draws, then n categorical draws",
    "dirichlet-multinomial-haar": "O(m + n): m gamma draws, then n categorical draws; no quantum sample at all",
    "negative-binomial": "O(m): one inverse-CDF draw per mode",
    "shuffled-counts": "O(m): a row of a permuted bank (the bank needs the boson sampler once)",
    "independent-counts": "O(m): one inverse-CDF draw per mode",
    "gaussian-copula": "O(m²): one correlated normal vector, then m inverse-CDF lookups",
}


def sampling_costs(config: DiscreteConfig, variants: Sequence[str], n_samples: int, seed: int = 0,
                   store: Any = None) -> pd.DataFrame:
    """Measured time per row of drawing each variant's counts afresh, and the cost's scaling.

    Photon variants are drawn with the exact local sampler on the boson latent's interferometer
    (:func:`qlatent.photonics.sampling.sample`), the challengers from their fitted laws (the fit to
    the boson bank is not timed). Columns: ``latent``, ``microseconds_per_sample``, ``scaling``.
    """
    from qlatent.latent.photonic import latent_seeds
    from qlatent.photonics.sampling import sample

    spec = config.latent_spec()
    rows = []
    for name in check_variants(variants):
        dial = parse_dial(name)
        if name in TABLE1_LATENTS or dial is not None:
            circuit_seed, _ = latent_seeds(name if name in TABLE1_LATENTS else "boson", spec, seed)
            source = spec.source(circuit_seed)
            options = {"model": "distinguishable"} if name == "distinguishable" else {}
            if dial is not None:
                options = ({"model": "partial", "indistinguishability": dial[1]} if dial[0] == "indistinguishability"
                           else {"transmission": dial[1]})
            unitary = source.interferometer().unitary
            sample(unitary, source.input_state(), 2, seed=seed, **options)  # compiled or loaded before the clock
            started = time.perf_counter()
            sample(unitary, source.input_state(), n_samples, seed=seed, **options)
            scaling = _photon_cost(name)
        else:
            latent = build_variant(name, config, seed, store)
            started = time.perf_counter()
            _redraw(latent, n_samples, seed)
            scaling = CHALLENGER_COSTS[name]
        rows.append({"latent": name, "microseconds_per_sample": 1e6 * (time.perf_counter() - started) / n_samples,
                     "scaling": scaling})
    return pd.DataFrame(rows)


def _redraw(latent: Any, n_samples: int, seed: int) -> np.ndarray:
    """Draw ``n_samples`` fresh rows of a challenger's law (a bank's law, not its stored rows)."""
    from qlatent.latent.challengers import (
        DirichletMultinomialLatent,
        GaussianCopulaLatent,
        dirichlet_multinomial_counts,
    )
    from qlatent.latent.classical import ShuffledCountsLatent

    rng = np.random.default_rng(seed)
    if isinstance(latent, DirichletMultinomialLatent):
        return dirichlet_multinomial_counts(latent.source["n_photons"], np.asarray(latent.source["alpha"]),
                                            n_samples, rng)
    if isinstance(latent, GaussianCopulaLatent):
        from scipy.stats import norm

        correlation = np.asarray(latent.source["latent_correlation"])
        normals = rng.multivariate_normal(np.zeros(latent.dim), correlation, size=n_samples, method="eigh")
        cdf = np.sort(latent.bank[:, 0])  # a mode's empirical quantiles stand for its inverse CDF
        return cdf[np.minimum((norm.cdf(normals) * cdf.size).astype(np.int64), cdf.size - 1)]
    if isinstance(latent, ShuffledCountsLatent):
        return latent.bank[rng.integers(0, latent.n_rows, n_samples)]
    return latent_counts(latent, n_samples, seed)


#: Verdicts of a variant against the boson latent, in the order a table lists them.
VERDICTS = ("as good as boson", "worse than boson", "better than boson", "inconclusive")


def mechanism_verdicts(runs: pd.DataFrame, metric: str, dataset: str = "quantum", reference: str = "boson",
                       control: str = "distinguishable", alpha: float = 0.05) -> pd.DataFrame:
    """Each variant against ``reference`` on ``metric`` (lower is better), paired by seed, with power.

    The effect that matters is Table I's gap, ``control`` − ``reference`` (mean over paired seeds).
    A variant is **worse** / **better than boson** when the paired t-test gives ``p < alpha`` in
    that direction; **as good as boson** when it does not, with at least
    :data:`~qlatent.stats.MIN_SEEDS_FOR_POWER` paired seeds whose minimum detectable difference
    (80 % power) is below the Table I gap; **inconclusive** otherwise. Columns: ``latent``,
    ``mean_difference`` (variant − boson), ``p_value``, ``mdd``, ``n_pairs``, ``table1_gap``,
    ``verdict``, ``sentence``.

    Raises
    ------
    ValueError
        If ``reference`` or ``control`` has no run of ``metric`` on ``dataset``.
    """
    from qlatent.stats import MIN_SEEDS_FOR_POWER, paired_comparison

    part = runs[(runs["dataset"] == dataset) & (runs["metric"] == metric)]
    for side in (reference, control):
        if side not in set(part["latent"]):
            raise ValueError(f"no {metric!r} runs of {side!r} on dataset {dataset!r}")
    paired = paired_comparison(part, reference, {metric: True}).set_index("baseline")
    gap = float(paired.loc[control, "mean_difference"])
    rows = []
    for latent, row in paired.iterrows():
        significant = row["p_value"] < alpha
        if significant:
            verdict = "worse than boson" if row["mean_difference"] > 0 else "better than boson"
        elif row["n_pairs"] >= MIN_SEEDS_FOR_POWER and gap > 0 and row["mdd"] < gap:
            verdict = "as good as boson"
        else:
            verdict = "inconclusive"
        rows.append({"latent": latent, "mean_difference": row["mean_difference"], "p_value": row["p_value"],
                     "mdd": row["mdd"], "n_pairs": int(row["n_pairs"]), "table1_gap": gap, "verdict": verdict,
                     "sentence": verdict_sentence(latent, verdict, row, gap, metric)})
    return pd.DataFrame(rows)


def verdict_sentence(latent: str, verdict: str, row: Mapping[str, Any], gap: float, metric: str) -> str:
    """The one place a mechanism verdict is put in words (markdown)."""
    head = f"**{verdict}** — `{latent}`: {metric} {row['mean_difference']:+.3g} against boson"
    if row["n_pairs"] < 2 or not math.isfinite(row["p_value"]):
        return f"{head} over {int(row['n_pairs'])} paired seed(s), too few for a test."
    return (f"{head} over {int(row['n_pairs'])} paired seeds (paired t-test p = {row['p_value']:.2g}); these seeds "
            f"detect {row['mdd']:.3g} with 80 % power, Table I's distinguishable − boson gap is {gap:.3g}.")


#: Table I variants that stand for a dial's settings: x = 0 is the distinguishable latent, 1 the boson latent.
DIAL_ENDPOINTS = {"indistinguishability": {0.0: "distinguishable", 1.0: "boson"}, "transmission": {1.0: "boson"}}


def dial_points(runs: pd.DataFrame, metric: str, dataset: str = "quantum") -> pd.DataFrame:
    """Every run of a dial as tidy rows ``dial``, ``setting``, ``seed``, ``value``, endpoints included.

    A Table I variant counts as a dial's setting by :data:`DIAL_ENDPOINTS` (the boson run appears
    once per dial); runs without a finite score are left out.
    """
    part = runs[(runs["dataset"] == dataset) & (runs["metric"] == metric)]
    rows = []
    for latent, seed, value in zip(part["latent"], part["seed"], part["value"]):
        parsed = parse_dial(latent) if isinstance(latent, str) and latent not in TABLE1_LATENTS else None
        settings = [parsed] if parsed is not None else [(dial, setting) for dial, ends in DIAL_ENDPOINTS.items()
                                                        for setting, name in ends.items() if name == latent]
        rows += [{"dial": dial, "setting": setting, "seed": int(seed), "value": float(value)}
                 for dial, setting in settings if np.isfinite(value)]
    return pd.DataFrame(rows, columns=["dial", "setting", "seed", "value"])


def dial_trend(runs: pd.DataFrame, metric: str, dial: str, dataset: str = "quantum") -> dict[str, float]:
    """Spearman rank correlation of ``metric`` with a dial's setting over every run of the dial (:func:`dial_points`).

    Returns ``rho``, ``p_value`` and ``n_runs``; NaN where fewer than 3 settings were run.
    """
    from scipy.stats import spearmanr

    points = dial_points(runs, metric, dataset)
    points = points[points["dial"] == dial]
    if points["setting"].nunique() < 3:
        return {"rho": float("nan"), "p_value": float("nan"), "n_runs": len(points)}
    result = spearmanr(points["setting"], points["value"])
    return {"rho": float(result.statistic), "p_value": float(result.pvalue), "n_runs": len(points)}


def metric_against_statistics(runs: pd.DataFrame, statistics: pd.DataFrame, metric: str,
                              dataset: str = "quantum") -> pd.DataFrame:
    """One row per (latent, statistic): the latent's mean ``metric`` and mean statistic over its seeds.

    Columns ``latent``, ``statistic``, ``statistic_value``, ``metric_value``; only latents with both.
    """
    scores = runs[(runs["dataset"] == dataset) & (runs["metric"] == metric)].groupby("latent")["value"].mean()
    means = statistics[statistics["dataset"] == dataset].groupby(["latent", "metric"])["value"].mean().reset_index()
    means = means[means["latent"].isin(scores.index)]
    return pd.DataFrame({"latent": means["latent"], "statistic": means["metric"], "statistic_value": means["value"],
                         "metric_value": scores.reindex(means["latent"]).to_numpy()}).reset_index(drop=True)


def statistic_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of the metric with each statistic across latents (:func:`metric_against_statistics`).

    Columns ``statistic``, ``rho``, ``p_value``, ``n_latents``; NaN with fewer than 3 latents.
    """
    from scipy.stats import spearmanr

    rows = []
    for statistic, part in table.groupby("statistic", sort=False):
        if len(part) < 3:
            rho, p_value = float("nan"), float("nan")
        else:
            result = spearmanr(part["statistic_value"], part["metric_value"])
            rho, p_value = float(result.statistic), float(result.pvalue)
        rows.append({"statistic": statistic, "rho": rho, "p_value": p_value, "n_latents": len(part)})
    return pd.DataFrame(rows)


def bottom_line(verdicts: pd.DataFrame, trend: Mapping[str, float], alpha: float = 0.05) -> str:
    """The chapter's answer in words, from :func:`mechanism_verdicts` and the indistinguishability :func:`dial_trend`.

    Does performance track indistinguishability, and does a classical latent with the boson
    latent's statistics do as well?
    """
    challengers = verdicts[verdicts["latent"].isin(CHALLENGERS)]
    named = {verdict: sorted(challengers.loc[challengers["verdict"] == verdict, "latent"]) for verdict in VERDICTS}
    classical = named["as good as boson"] + named["better than boson"]
    if math.isfinite(trend.get("rho", math.nan)) and trend["p_value"] < alpha:
        direction = "improves" if trend["rho"] < 0 else "worsens"
        tracks = (f"Performance tracks indistinguishability: the metric {direction} as x rises (Spearman "
                  f"ρ = {trend['rho']:.2f}, p = {trend['p_value']:.2g}, {trend['n_runs']} runs).")
    elif math.isfinite(trend.get("rho", math.nan)):
        tracks = (f"Performance does not track indistinguishability significantly (Spearman ρ = {trend['rho']:.2f}, "
                  f"p = {trend['p_value']:.2g}, {trend['n_runs']} runs).")
    else:
        tracks = "The indistinguishability dial was not run at three or more settings."
    if classical:
        carried = (f"Classical latents do as well as the boson latent: {', '.join(f'`{n}`' for n in classical)} "
                   "(each as good as or better than boson, with power to see Table I's gap), so the gain is "
                   "carried by statistics a classical sampler reproduces, not by interference itself.")
    else:
        carried = "No classical challenger was shown to do as well as the boson latent"
        carried += (f"; worse: {', '.join(f'`{n}`' for n in named['worse than boson'])}"
                    if named["worse than boson"] else "")
        carried += (f"; inconclusive (too few seeds for the power rule, or too noisy): "
                    f"{', '.join(f'`{n}`' for n in named['inconclusive'])}." if named["inconclusive"] else ".")
    return f"{tracks} {carried}"
