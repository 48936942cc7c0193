"""Statistics over seeds: bootstrap intervals, paired comparisons, power, and verdicts on claims.

Each (latent, seed) run gives one number per metric. Runs with the same seed share the data and
the training seed, so latents are compared *paired by seed*. The verdict on a claim uses the
paired t-test on the per-seed differences (two-sided), with its effect size (Cohen's
``d_z`` = mean / standard deviation of the differences) and the smallest difference the seeds
could detect with 80 % power at the same α (the minimum detectable difference, from the
non-central t distribution via :mod:`statsmodels`). The Wilcoxon signed-rank test (exact for small
samples) is reported beside it as a check that needs no normality; with 5 seeds its smallest
two-sided p-value is 0.0625, so it alone could never reach 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Power at which the minimum detectable difference is computed.
POWER = 0.8
#: Fewest paired seeds whose spread is trusted to rule out the paper's difference (4 degrees of freedom).
MIN_SEEDS_FOR_POWER = 5


def bootstrap_mean_ci(values: Sequence[float], *, n_resamples: int = 10_000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (a single value gives a zero-width interval)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"need at least one finite value, got {array.tolist()}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(n_resamples, array.size))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def summarize_runs(runs: pd.DataFrame, group: str | Sequence[str] = "latent", *, seed: int = 0) -> pd.DataFrame:
    """Mean, standard error and bootstrap 95 % interval of each metric per ``group`` over seeds.

    ``runs`` is tidy: columns ``group`` (one column or several, e.g. ``["dataset", "latent"]``),
    ``seed``, ``metric``, ``value``. Undefined values (NaN, e.g. uniqueness when no molecule was
    valid) are left out; ``n_seeds`` counts the seeds used; ``se`` is the sample standard deviation
    over ``sqrt(n_seeds)`` (NaN below two seeds), the ± of the paper's tables.
    """
    keys = [group] if isinstance(group, str) else list(group)
    rows = []
    for names, subset in runs.groupby([*keys, "metric"], sort=False):
        defined = subset[np.isfinite(subset["value"].astype(float))]
        values = defined["value"].to_numpy(dtype=float)
        low, high = bootstrap_mean_ci(values, seed=seed) if len(values) else (np.nan, np.nan)
        se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
        rows.append({**dict(zip([*keys, "metric"], names)), "mean": values.mean() if len(values) else np.nan,
                     "se": se, "ci_low": low, "ci_high": high, "n_seeds": defined["seed"].nunique()})
    return pd.DataFrame(rows)


def paired_statistics(advantage: Sequence[float], alpha: float = 0.05) -> dict[str, float]:
    """Tests on per-seed differences ``advantage`` (positive: the claimed-better side is better).

    Returns ``n``, ``mean`` and ``sd`` of the differences, ``p_t`` (two-sided paired t-test),
    ``p_wilcoxon`` (two-sided exact Wilcoxon signed-rank), ``d_z`` (mean / sd), ``favourable``
    (fraction of seeds with a positive difference) and ``mdd`` (minimum detectable difference: the
    smallest |mean difference| a two-sided paired t-test at ``alpha`` detects with 80 % power given
    this ``sd`` and ``n``). Undefined entries are NaN (fewer than two seeds, or zero spread).
    """
    from scipy.stats import ttest_1samp, wilcoxon
    from statsmodels.stats.power import TTestPower

    values = np.asarray(advantage, dtype=float)
    values = values[np.isfinite(values)]
    n = values.size
    result = {"n": n, "mean": float(values.mean()) if n else math.nan, "sd": math.nan, "p_t": math.nan,
              "p_wilcoxon": math.nan, "d_z": math.nan, "favourable": float((values > 0).mean()) if n else math.nan,
              "mdd": math.nan}
    if n < 2:
        return result
    sd = float(values.std(ddof=1))
    result["sd"] = sd
    if np.any(values != 0):
        result["p_wilcoxon"] = float(wilcoxon(values).pvalue)
    if sd > 0:
        result["p_t"] = float(ttest_1samp(values, 0.0).pvalue)
        result["d_z"] = result["mean"] / sd
        detectable = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=POWER,
                                              alternative="two-sided")
        result["mdd"] = float(detectable) * sd
    return result


def _seed_table(runs: pd.DataFrame, metric: str, group: str) -> pd.DataFrame:
    """Values of ``metric`` with one row per seed and one column per ``group`` value."""
    subset = runs[runs["metric"] == metric]
    return subset.pivot(index="seed", columns=group, values="value")


def paired_comparison(runs: pd.DataFrame, reference: str, lower_is_better: dict[str, bool],
                      group: str = "latent", context: Sequence[str] = ()) -> pd.DataFrame:
    """Reference against every other group, per metric (and per ``context``, e.g. dataset), paired by seed.

    Columns: the ``context`` columns, ``baseline``, ``metric``, ``mean_difference`` (baseline −
    reference, so positive means the reference is better when lower is better),
    ``reference_better`` (fraction of seeds), ``n_pairs`` (seeds where both are defined),
    ``p_value`` (two-sided paired t-test), ``p_wilcoxon``, ``d_z`` (effect size of the reference's
    advantage) and ``mdd`` (minimum detectable difference at 80 % power); see
    :func:`paired_statistics`.

    Raises
    ------
    ValueError
        If ``reference`` is not among the groups.
    """
    if reference not in set(runs[group]):
        raise ValueError(f"reference {reference!r} is not among the {group}s: {sorted(set(runs[group]))}")
    contexts = runs.groupby(list(context), sort=False) if context else [((), runs)]
    rows = []
    for names, part in contexts:
        where = dict(zip(context, names if isinstance(names, tuple) else (names,)))
        for metric, better_low in lower_is_better.items():
            if metric not in set(part["metric"]):
                continue
            table = _seed_table(part, metric, group)
            if reference not in table:
                continue
            for baseline in [name for name in table.columns if name != reference]:
                pairs = table[[reference, baseline]].dropna()
                difference = (pairs[baseline] - pairs[reference]).to_numpy(dtype=float)
                tests = paired_statistics(difference if better_low else -difference)
                rows.append({**where, "baseline": baseline, "metric": metric,
                             "mean_difference": float(difference.mean()) if len(pairs) else float("nan"),
                             "reference_better": tests["favourable"], "n_pairs": len(pairs),
                             "p_value": tests["p_t"], "p_wilcoxon": tests["p_wilcoxon"], "d_z": tests["d_z"],
                             "mdd": tests["mdd"]})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Verdict:
    """The computed verdict on one claim: ``reproduces``, ``does not reproduce`` or ``inconclusive``."""

    verdict: str
    sentence: str
    statistics: dict[str, Any]


def claim_verdict(runs: pd.DataFrame, claim: Any, lower_is_better: bool, group: str = "latent",
                  alpha: float = 0.05) -> Verdict:
    """Test one of the paper's claims (:class:`qlatent.paper.Claim`) on our per-seed results.

    The claim says ``claim.better`` beats ``claim.worse`` on ``claim.metric`` (within
    ``claim.context``, e.g. ``{"dataset": "quantum"}``). With the per-seed advantage of
    ``better`` (positive when the paper's direction holds) and the paired t-test:

    - **reproduces**: the mean advantage is positive and ``p < alpha``;
    - **does not reproduce**: the advantage is significantly negative, or it is not significant
      although at least :data:`MIN_SEEDS_FOR_POWER` seeds had 80 % power to detect the paper's
      difference — the paper's reported difference as a fraction of the better latent's value,
      applied to our value of that latent (our budgets differ from the paper's, so absolute levels
      differ, while relative gaps are steadier) — i.e. ``mdd`` is smaller;
    - **inconclusive**: otherwise (too few seeds, too much spread, or a claim without numbers that
      our seeds do not settle).

    Raises
    ------
    ValueError
        If the runs hold no value of the claim's metric for one of the two sides.
    """
    part = runs
    for key, value in claim.context.items():
        part = part[part[key] == value]
    table = _seed_table(part, claim.metric, group)
    for side in (claim.better, claim.worse):
        if side not in table:
            raise ValueError(f"no {claim.metric!r} results for {group} {side!r} in {claim.context or 'the runs'}")
    pairs = table[[claim.better, claim.worse]].dropna()
    difference = (pairs[claim.worse] - pairs[claim.better]).to_numpy(dtype=float)
    tests = paired_statistics(difference if lower_is_better else -difference, alpha=alpha)
    better_level = float(pairs[claim.better].mean()) if len(pairs) else math.nan
    expected = math.nan
    if claim.paper_difference is not None and claim.paper_reference:
        expected = abs(claim.paper_difference / claim.paper_reference * better_level)
    significant = tests["p_t"] < alpha
    if significant and tests["mean"] > 0:
        verdict = "reproduces"
    elif significant and tests["mean"] < 0:
        verdict = "does not reproduce"
    elif math.isfinite(expected) and tests["n"] >= MIN_SEEDS_FOR_POWER and tests["mdd"] < expected:
        verdict = "does not reproduce"
    else:
        verdict = "inconclusive"
    n = tests["n"]
    leader = claim.better if tests["mean"] >= 0 else claim.worse
    where = f", {', '.join(f'{k} {v}' for k, v in claim.context.items())}" if claim.context else ""
    parts = [f"**{verdict}** ({claim.better} vs {claim.worse}{where}) — {claim.statement}."]
    if n >= 2:
        parts.append(f"Ours: {leader} ahead by {abs(tests['mean']):.3g} on average over {n} paired seeds "
                     f"({int(round(tests['favourable'] * n))} of {n} favour {claim.better}); paired t-test "
                     f"p = {tests['p_t']:.2g}, Wilcoxon p = {tests['p_wilcoxon']:.2g}, effect size d_z = "
                     f"{tests['d_z']:.2f}; the smallest difference these seeds detect with 80 % power is "
                     f"{tests['mdd']:.3g}.")
    else:
        parts.append(f"Ours: {n} paired seed(s), too few for a test.")
    if math.isfinite(expected):
        parts.append(f"The paper's difference, as the same fraction of our level of {claim.better}, is {expected:.3g}.")
    statistics = {**tests, "expected_difference": expected, "better_level": better_level}
    return Verdict(verdict, " ".join(parts), statistics)


def verdict_table(runs: pd.DataFrame, claims: Sequence[Any], lower_is_better: dict[str, bool],
                  group: str = "latent", alpha: float = 0.05) -> pd.DataFrame:
    """One row per claim: its context, the two sides, the verdict, the sentence and the statistics."""
    rows = []
    for claim in claims:
        result = claim_verdict(runs, claim, lower_is_better[claim.metric], group=group, alpha=alpha)
        rows.append({**claim.context, "metric": claim.metric, "better": claim.better, "worse": claim.worse,
                     "paper_difference": claim.paper_difference, "verdict": result.verdict,
                     "sentence": result.sentence, **result.statistics})
    return pd.DataFrame(rows)


def paired_gap_along_training(curves: pd.DataFrame, column: str, ahead: str, behind: str,
                              context: Sequence[str] = (), steps: Sequence[int] | None = None,
                              group: str = "latent") -> pd.DataFrame:
    """Per seed and logged step, ``column`` of ``behind`` minus that of ``ahead`` (positive: ``ahead`` is
    better on a lower-is-better score), as tidy rows ``(context..., step, seed, metric="gap", value)``.

    ``curves`` are training curves with ``step``, ``seed``, ``group`` and ``column``; ``steps``
    restricts the steps (default: every step both sides logged).

    Raises
    ------
    ValueError
        If ``column`` is not in the curves, or ``ahead`` or ``behind`` never appears.
    """
    if column not in curves:
        raise ValueError(f"the curves have no column {column!r}")
    for side in (ahead, behind):
        if side not in set(curves[group]):
            raise ValueError(f"no curves for {group} {side!r}")
    keys = [*context, "step", "seed"]
    subset = curves if steps is None else curves[curves["step"].isin(list(steps))]
    wide = subset.pivot_table(index=keys, columns=group, values=column).dropna(subset=[ahead, behind])
    gaps = (wide[behind] - wide[ahead]).rename("value").reset_index()
    return gaps.assign(metric="gap")


def ranking_verdict(summary: pd.DataFrame, paired: pd.DataFrame, reference: str, metric: str,
                    lower_is_better: bool, group: str = "latent", alpha: float = 0.05) -> str:
    """One plain sentence: does ``reference`` rank first on ``metric``, and is it significant?"""
    rows = summary[summary["metric"] == metric].set_index(group)["mean"]
    if reference not in rows.index:
        raise ValueError(f"no {metric!r} result for {reference!r}")
    ordered = rows.sort_values(ascending=lower_is_better)
    rank = list(ordered.index).index(reference) + 1
    tests = paired[paired["metric"] == metric]
    significant = tests[(tests["p_value"] < alpha) & (tests["reference_better"] > 0.5)]["baseline"].tolist()
    n_pairs = int(tests["n_pairs"].min()) if len(tests) else 0
    position = "first" if rank == 1 else f"number {rank} of {len(ordered)} (first: {ordered.index[0]})"
    if significant:
        significance = f"significantly better (paired t-test p < {alpha}) than {', '.join(significant)}"
    else:
        significance = f"significantly better than no baseline at p < {alpha} with {n_pairs} paired seeds"
    return f"On {metric} ({'lower' if lower_is_better else 'higher'} is better), {reference} ranks {position}; " \
           f"it is {significance}."
