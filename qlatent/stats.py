"""Statistics over seeds: bootstrap intervals and paired comparisons of latent distributions.

Each (latent, seed) run gives one number per metric. Runs with the same seed share the data split
and the training seed, so latents are compared *paired by seed*: the Wilcoxon signed-rank test
on the per-seed differences (exact for small samples), with the sign-consistency of the
differences reported beside it. With few seeds no test can reach significance — e.g. with 3
seeds the smallest two-sided Wilcoxon p-value is 0.25 — and the tables say so through the p-value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


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


def summarize_runs(runs: pd.DataFrame, group: str = "latent", *, seed: int = 0) -> pd.DataFrame:
    """Mean and bootstrap 95 % interval of each metric per ``group`` over seeds.

    ``runs`` is tidy: columns ``group``, ``seed``, ``metric``, ``value``. Undefined values (NaN,
    e.g. uniqueness when no molecule was valid) are left out; ``n_seeds`` counts the seeds used,
    and a metric undefined for every seed gets NaN.
    """
    rows = []
    for (name, metric), subset in runs.groupby([group, "metric"], sort=False):
        defined = subset[np.isfinite(subset["value"].astype(float))]
        low, high = bootstrap_mean_ci(defined["value"].to_numpy(), seed=seed) if len(defined) else (np.nan, np.nan)
        rows.append({group: name, "metric": metric, "mean": defined["value"].mean(), "ci_low": low,
                     "ci_high": high, "n_seeds": defined["seed"].nunique()})
    return pd.DataFrame(rows)


def paired_comparison(runs: pd.DataFrame, reference: str, lower_is_better: dict[str, bool],
                      group: str = "latent") -> pd.DataFrame:
    """Reference against every other group, per metric, paired by seed.

    Columns: ``baseline``, ``metric``, ``mean_difference`` (baseline − reference, so positive means
    the reference is better when lower is better), ``reference_better`` (fraction of seeds),
    ``n_pairs`` (seeds where both are defined), ``p_value`` (two-sided Wilcoxon signed-rank; NaN
    when there is no pair or all differences are zero).
    """
    from scipy.stats import wilcoxon

    if reference not in set(runs[group]):
        raise ValueError(f"reference {reference!r} is not among the {group}s: {sorted(set(runs[group]))}")
    wide = runs.pivot(index=["metric", "seed"], columns=group, values="value")
    rows = []
    for metric, better_low in lower_is_better.items():
        if metric not in wide.index.get_level_values("metric"):
            continue
        table = wide.loc[metric]
        for baseline in [name for name in table.columns if name != reference]:
            pairs = table[[reference, baseline]].dropna()
            difference = (pairs[baseline] - pairs[reference]).to_numpy(dtype=float)
            signed = difference if better_low else -difference
            p_value = float(wilcoxon(difference).pvalue) if np.any(difference != 0) else float("nan")
            rows.append({"baseline": baseline, "metric": metric,
                         "mean_difference": float(difference.mean()) if len(pairs) else float("nan"),
                         "reference_better": float((signed > 0).mean()) if len(pairs) else float("nan"),
                         "n_pairs": len(pairs), "p_value": p_value})
    return pd.DataFrame(rows)


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
        significance = f"significantly better (Wilcoxon p < {alpha}) than {', '.join(significant)}"
    else:
        significance = f"significantly better than no baseline at p < {alpha} with {n_pairs} paired seeds"
    return f"On {metric} ({'lower' if lower_is_better else 'higher'} is better), {reference} ranks {position}; " \
           f"it is {significance}."
