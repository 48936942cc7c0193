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
from collections.abc import Mapping, Sequence
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
    ``seed``, ``metric``, ``value``. Undefined values (NaN: a run that produced no score, e.g. an
    FCD when no molecule was valid) are left out of the mean but counted: ``n_seeds`` counts the
    seeds used, ``n_runs`` every seed run, ``n_unscored`` those without a score; ``se`` is the
    sample standard deviation over ``sqrt(n_seeds)`` (NaN below two seeds), the ± of the paper's
    tables.
    """
    keys = [group] if isinstance(group, str) else list(group)
    rows = []
    for names, subset in runs.groupby([*keys, "metric"], sort=False):
        defined = subset[np.isfinite(subset["value"].astype(float))]
        values = defined["value"].to_numpy(dtype=float)
        low, high = bootstrap_mean_ci(values, seed=seed) if len(values) else (np.nan, np.nan)
        se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
        rows.append({**dict(zip([*keys, "metric"], names)), "mean": values.mean() if len(values) else np.nan,
                     "se": se, "ci_low": low, "ci_high": high, "n_seeds": defined["seed"].nunique(),
                     "n_runs": subset["seed"].nunique(),
                     "n_unscored": subset["seed"].nunique() - defined["seed"].nunique()})
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
    # Differences equal up to rounding (0.8 - 0.7 against 1.0 - 0.9) spread by a few ulps: no spread.
    if sd <= 64 * np.finfo(float).eps * float(np.max(np.abs(values))):
        sd = 0.0
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


def two_sample_statistics(first: Sequence[float], second: Sequence[float], alpha: float = 0.05) -> dict[str, float]:
    """Welch's test of ``mean(first) − mean(second)`` for two independent samples (e.g. per-seed gaps
    at two latent sizes, whose seeds are different runs), with its effect size and power.

    Returns ``n_first``, ``n_second``, ``mean_first``, ``mean_second``, ``sd_first``, ``sd_second``,
    ``mean`` (``mean_first − mean_second``), ``se`` (``sqrt(sd₁²/n₁ + sd₂²/n₂)``), ``df`` (the
    Welch–Satterthwaite degrees of freedom), ``p_t`` (two-sided Welch t-test), ``d`` (Cohen's d
    with the average variance, ``mean / sqrt((sd₁² + sd₂²)/2)``) and ``mdd`` (the smallest |mean
    difference| this test at ``alpha`` detects with 80 % power: the non-centrality ``δ`` with
    ``P(|T| > t_crit) = 0.8`` for ``T`` non-central t on ``df`` degrees of freedom, times ``se``;
    with equal sizes and spreads it equals the pooled two-sample t-test's). Non-finite values are
    dropped first; undefined entries are NaN (fewer than two values on a side, or no spread).
    """
    from scipy.optimize import brentq
    from scipy.stats import nct, ttest_ind
    from scipy.stats import t as student

    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    result = {"n_first": a.size, "n_second": b.size, "mean_first": float(a.mean()) if a.size else math.nan,
              "mean_second": float(b.mean()) if b.size else math.nan, "sd_first": math.nan, "sd_second": math.nan,
              "mean": math.nan, "se": math.nan, "df": math.nan, "p_t": math.nan, "d": math.nan, "mdd": math.nan}
    if a.size and b.size:
        result["mean"] = result["mean_first"] - result["mean_second"]
    if a.size < 2 or b.size < 2:
        return result
    sd_a, sd_b = float(a.std(ddof=1)), float(b.std(ddof=1))
    result["sd_first"], result["sd_second"] = sd_a, sd_b
    var_a, var_b = sd_a ** 2 / a.size, sd_b ** 2 / b.size
    se = math.sqrt(var_a + var_b)
    if not se > 0:
        return result
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (a.size - 1) + var_b ** 2 / (b.size - 1))
    result.update(se=se, df=df, p_t=float(ttest_ind(a, b, equal_var=False).pvalue),
                  d=result["mean"] / math.sqrt((sd_a ** 2 + sd_b ** 2) / 2))
    critical = float(student.ppf(1 - alpha / 2, df))

    def shortfall(shift: float) -> float:
        # The lower tail P(T < −t_crit) as the upper tail at −shift: scipy's nct.cdf returns NaN there
        # for some fractional df once it is negligible.
        lower = float(np.nan_to_num(nct.sf(critical, df, -shift)))
        return float(nct.sf(critical, df, shift)) + lower - POWER

    high = critical + 1.0  # the power grows with the shift: widen the bracket until it passes 80 %
    while shortfall(high) < 0:
        high *= 2
    result["mdd"] = float(brentq(shortfall, 0.0, high)) * se
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
    ``unscored_reference`` and ``unscored_baseline`` (seeds run on both sides where that side has
    no score: left out of every column here; :func:`claim_verdict` ranks them last),
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
            ran = part[part["metric"] == metric].groupby(group)["seed"].apply(set)
            for baseline in [name for name in table.columns if name != reference]:
                both_ran = sorted(ran[reference] & ran[baseline])
                unscored = table.loc[both_ran, [reference, baseline]].isna().sum()
                pairs = table[[reference, baseline]].dropna()
                difference = (pairs[baseline] - pairs[reference]).to_numpy(dtype=float)
                tests = paired_statistics(difference if better_low else -difference)
                rows.append({**where, "baseline": baseline, "metric": metric,
                             "mean_difference": float(difference.mean()) if len(pairs) else float("nan"),
                             "reference_better": tests["favourable"], "n_pairs": len(pairs),
                             "p_value": tests["p_t"], "p_wilcoxon": tests["p_wilcoxon"], "d_z": tests["d_z"],
                             "mdd": tests["mdd"], "unscored_reference": int(unscored[reference]),
                             "unscored_baseline": int(unscored[baseline])})
    return pd.DataFrame(rows)


#: The book's verdicts, one vocabulary for every chapter, each with what it means (shown once, on the
#: claims page). From the direction of our difference against the paper's, whether it is significant,
#: and whether our seeds had the power to see the paper's effect.
REPRODUCES = "reproduces"
SAME_DIRECTION = "same direction, not significant"
OPPOSITE_DIRECTION = "opposite direction, not significant"
CONTRADICTS = "contradicts"
TOO_FEW_SEEDS = "too few seeds to tell"
PREMISE_NOT_MET = "premise not met"
NOT_RUN = "not run"
NO_CLAIM = "paper makes no claim"
VERDICTS: dict[str, str] = {
    REPRODUCES: "our seeds show the paper's difference, significant at the 5 % level (for a claim of no "
                "difference: our interval lies inside the smallest difference the paper could see)",
    SAME_DIRECTION: "our difference points the paper's way but is not significant, and our interval rules out "
                    "a difference as large as the paper's",
    OPPOSITE_DIRECTION: "our difference points against the paper's but is not significant, and our interval "
                        "rules out the paper's difference",
    CONTRADICTS: "our seeds show a significant difference against the paper's claim",
    TOO_FEW_SEEDS: "not significant, and our seeds cannot tell the paper's effect from none (our interval "
                   "holds both; too few or too noisy seeds, or a test that cannot reach 5 % at this number)",
    PREMISE_NOT_MET: "the claim presupposes something our runs do not show (a gap that closes must first exist)",
    NOT_RUN: "this build has no runs of a side, size or setting the claim needs",
    NO_CLAIM: "the paper's own numbers support no claim (no standard error): nothing to test",
}


@dataclass(frozen=True)
class Verdict:
    """The computed verdict on one claim: ``verdict`` (a key of :data:`VERDICTS`), ``evidence`` (at most
    a dozen words: ``"5 of 5 seeds favour boson, p = 0.055"``), ``sentence`` (the full account) and
    ``statistics``."""

    verdict: str
    sentence: str
    statistics: dict[str, Any]
    evidence: str = ""


class MissingSide(ValueError):
    """The runs hold no value of a claim's metric for one of its two sides (that side was not run)."""


def name_of(group: str, value: Any) -> str:
    """How a compared thing is named in a sentence: a latent by its name, anything else with its axis
    (``"depth 7"``, ``"step 10000"``)."""
    return str(value) if group == "latent" else f"{group} {value}"


def paired_seeds(part: pd.DataFrame, metric: str, group: str, better: Any, worse: Any) -> pd.DataFrame:
    """One row per seed with a run of both sides (``part[group]`` equal to ``better`` or ``worse``):
    columns ``better`` and ``worse``, their ``metric`` values (NaN: the run has no score).

    Raises :class:`MissingSide` if ``part`` has no ``metric`` value for a side."""
    subset = part[part["metric"] == metric]
    present = {side: subset[subset[group] == side] for side in (better, worse)}
    for side, rows in present.items():
        if rows.empty:
            raise MissingSide(f"no {metric!r} results for {group} {side!r}")
    values = {side: rows.groupby("seed")["value"].first().astype(float) for side, rows in present.items()}
    seeds = sorted(set(values[better].index) & set(values[worse].index))
    return pd.DataFrame({"better": values[better].reindex(seeds), "worse": values[worse].reindex(seeds)})


def ranked_advantage(pairs: pd.DataFrame, lower_is_better: bool) -> np.ndarray:
    """Per-seed advantage of ``better`` with an unscored run counted as the worst outcome: a seed where
    only one side has a score goes to that side with a difference larger than any scored one (its
    size is undefined, so only ranks may use it); a seed where neither has a score is a tie (0)."""
    sign = 1.0 if lower_is_better else -1.0
    difference = sign * (pairs["worse"] - pairs["better"]).to_numpy(dtype=float)
    scored = np.isfinite(difference)
    largest = float(np.abs(difference[scored]).max()) if scored.any() else 0.0
    beyond = 2 * largest + 1.0
    better_scored = np.isfinite(pairs["better"].to_numpy(dtype=float))
    worse_scored = np.isfinite(pairs["worse"].to_numpy(dtype=float))
    only_better = better_scored & ~worse_scored
    only_worse = ~better_scored & worse_scored
    ranked = np.where(scored, difference, 0.0)
    ranked[only_better] = beyond
    ranked[only_worse] = -beyond
    return ranked


def smallest_signed_rank_p(n: int) -> float:
    """The smallest two-sided p-value the exact Wilcoxon signed-rank (or sign) test can give on ``n``
    non-zero paired differences: every difference on one side, ``2 / 2**n`` (0.0625 for 5 seeds)."""
    return 1.0 if n < 1 else min(1.0, 2.0 / 2.0 ** n)


def _direction(mean: float) -> str:
    """The not-significant verdict for a mean advantage of the claimed side (positive: ahead)."""
    if not math.isfinite(mean) or mean == 0:
        return TOO_FEW_SEEDS
    return SAME_DIRECTION if mean > 0 else OPPOSITE_DIRECTION


def interval(tests: Mapping[str, float], alpha: float = 0.05) -> tuple[float, float]:
    """The two-sided (1 − ``alpha``) t-interval of ``tests["mean"]``: from ``se`` and ``df`` where
    :func:`two_sample_statistics` gives them, else from ``sd`` and ``n`` of :func:`paired_statistics`
    (``df = n − 1``). ``(nan, nan)`` where the spread is undefined."""
    from scipy.stats import t as student

    if "se" in tests and "df" in tests:
        se, df = tests["se"], tests["df"]
    else:
        n = tests.get("n", 0)
        se = tests["sd"] / math.sqrt(n) if n >= 2 else math.nan
        df = n - 1
    if not (math.isfinite(se) and math.isfinite(df) and df > 0):
        return math.nan, math.nan
    half = float(student.ppf(1 - alpha / 2, df)) * se
    return tests["mean"] - half, tests["mean"] + half


def ordering_verdict(tests: Mapping[str, float], expected: float, powered: bool, alpha: float = 0.05) -> str:
    """The verdict (:data:`VERDICTS`) on "the claimed side is ahead" from our test of its mean advantage.

    ``tests`` holds ``mean`` (positive: the claimed side ahead), ``p_t`` and the spread (``sd`` and
    ``n``, or ``se`` and ``df``), as :func:`paired_statistics` and :func:`two_sample_statistics` give
    them; ``expected`` is the paper's difference scaled to our level (NaN: the paper gives none);
    ``powered``: enough seeds to trust their spread (:data:`MIN_SEEDS_FOR_POWER`).

    Significant at ``alpha``: **reproduces** when ahead, **contradicts** when behind. Not
    significant, our (1 − ``alpha``) interval (:func:`interval`) holds no difference; it then tells
    the paper's effect apart from none only when it excludes ``expected`` too: then the direction
    (**same direction, not significant**: pointing the paper's way, smaller than its effect;
    **opposite direction, not significant**), and **too few seeds to tell** when the interval holds
    both, or with too few seeds. A claim stated without a size (``expected`` NaN) names the direction
    whenever ``powered``. So 5 of 5 seeds ahead at p = 0.055 is never a failure to reproduce.
    """
    p_value = tests["p_t"]
    if not math.isfinite(p_value):
        return TOO_FEW_SEEDS
    if p_value < alpha:
        return REPRODUCES if tests["mean"] > 0 else CONTRADICTS
    if not powered:
        return TOO_FEW_SEEDS
    if math.isfinite(expected):
        low, high = interval(tests, alpha)
        if not (math.isfinite(low) and not low <= expected <= high):
            return TOO_FEW_SEEDS
    return _direction(tests["mean"])


def ranked_verdict(p_rank: float, advantage: float, smallest_p: float, kind: str = "ordering",
                   alpha: float = 0.05) -> str:
    """The verdict (:data:`VERDICTS`) from a rank test alone, used where a run has no score so the size of
    a difference is undefined.

    ``p_rank`` is the two-sided p-value, ``advantage`` the sign of the claimed side's ranked
    advantage (positive: ahead), ``smallest_p`` the smallest p-value the test can give with these
    seeds (:func:`smallest_signed_rank_p`). Significant: **reproduces** / **contradicts** by direction
    (for a ``"no difference"`` claim any significant difference **contradicts**). Not significant:
    **too few seeds to tell** when the test could not reach ``alpha`` at all (``smallest_p >=
    alpha``) or for a ``"no difference"`` claim (ranks give no interval to set against the paper's
    margin); the direction otherwise.
    """
    if math.isfinite(p_rank) and p_rank < alpha:
        return REPRODUCES if advantage > 0 and kind == "ordering" else CONTRADICTS
    if kind != "ordering" or smallest_p >= alpha:
        return TOO_FEW_SEEDS
    return _direction(advantage)


def favour_phrase(n_better: int, n_worse: int, better: str, worse: str) -> str:
    """``"5 of 5 seeds favour boson"``: how many seeds favour the side most of them favour (ties
    counted in the total); ``"seeds split 2–2 between a and b"`` on a tie."""
    n = n_better + n_worse
    if n_better == n_worse:
        return f"seeds split {n_better}–{n_worse} between {better} and {worse}" if n else "no paired seeds"
    side, count = (better, n_better) if n_better > n_worse else (worse, n_worse)
    return f"{count} of {n} seed{'s' if n != 1 else ''} favour{'s' if n == 1 else ''} {side}"


def evidence_line(n_better: int, n_worse: int, better: str, worse: str, p_value: float,
                  test: str = "") -> str:
    """The short evidence behind a verdict: ``"5 of 5 seeds favour boson, p = 0.055"`` (``test`` names a
    test other than the paired t-test, e.g. ``"Wilcoxon "``); no p-value where none is defined."""
    text = favour_phrase(n_better, n_worse, better, worse)
    return text + (f", {test}p = {p_value:.2g}" if math.isfinite(p_value) else "")


def claim_verdict(runs: pd.DataFrame, claim: Any, lower_is_better: bool, group: str = "latent",
                  alpha: float = 0.05) -> Verdict:
    """Test one of the paper's claims (:class:`qlatent.paper.Claim`) on our per-seed results.

    ``runs`` is tidy (``group``, ``seed``, ``metric``, ``value``; NaN: a run that produced no score,
    e.g. an FCD without valid molecules). Seeds are paired when both sides have a run. With the
    per-seed advantage of ``claim.better`` (positive when it is ahead):

    The verdict is one of :data:`VERDICTS`. An ``"ordering"`` claim (``better`` beats ``worse``) is
    judged by :func:`ordering_verdict` on the paired t-test: **reproduces** / **contradicts** when
    significant at ``alpha`` in the claimed / opposite direction; otherwise **same direction, not
    significant** or **opposite direction, not significant** when at least
    :data:`MIN_SEEDS_FOR_POWER` seeds give an interval that excludes the paper's difference scaled
    to our level (the paper's difference as a fraction of its value of ``better``, times our mean
    of ``better``: budgets differ, so absolute levels differ while relative gaps are steadier);
    **too few seeds to tell** when it does not. ``mdd`` (the smallest difference these seeds detect
    with 80 % power) is reported beside it.

    A ``"no difference"`` claim (the paper's numbers show none larger than ``claim.paper_margin``),
    with that margin scaled to our level the same way and the (1 − 2·alpha) t-interval of our mean
    difference (two one-sided tests):

    - **reproduces**: the interval lies inside ± the margin and at least :data:`MIN_SEEDS_FOR_POWER`
      seeds were paired (we also find no difference the paper could have seen);
    - **contradicts**: the interval lies wholly beyond the margin (we find a larger one);
    - **too few seeds to tell**: otherwise.

    A ``"no claim"`` claim gets **paper makes no claim**, untested. Where a seed has a score on one
    side only, the unscored run counts as that seed's worst outcome: the size of the difference is
    then undefined, so the t-test and power rule are replaced by the two-sided Wilcoxon signed-rank
    test on the ranked advantages (:func:`ranked_advantage`), judged by :func:`ranked_verdict`. A side
    can never win by losing its unscored runs. No seed with runs of both sides: **not run**.

    Besides the verdict, ``evidence`` says in a dozen words how many seeds favour which side and the
    p-value (:func:`evidence_line`), and the statistics hold ``paper_reference`` and ``paper_margin``
    (the claim's, for setting our relative effect beside the paper's).

    Raises
    ------
    MissingSide
        (a ``ValueError``) If the runs hold no value of the claim's metric for one of the two sides.
    """
    from scipy.stats import t as student
    from scipy.stats import wilcoxon

    part = runs
    for key, value in claim.context.items():
        part = part[part[key] == value]
    try:
        pairs = paired_seeds(part, claim.metric, group, claim.better, claim.worse)
    except MissingSide as error:
        where = ", ".join(f"{key} {value}" for key, value in claim.context.items()) or "the runs"
        raise MissingSide(f"{error} in {where}") from None
    kind = getattr(claim, "kind", "ordering")
    better, worse = name_of(group, claim.better), name_of(group, claim.worse)
    where = f", {', '.join(f'{k} {v}' for k, v in claim.context.items())}" if claim.context else ""
    head = f"({better} vs {worse}{where}) — {claim.statement}."
    unscored = {side: int((~np.isfinite(pairs[column].to_numpy(dtype=float))).sum())
                for side, column in ((better, "better"), (worse, "worse"))}
    n_seeds = len(pairs)
    both = pairs.dropna()
    difference = (both["worse"] - both["better"]).to_numpy(dtype=float)
    tests = paired_statistics(difference if lower_is_better else -difference, alpha=alpha)
    better_level = float(both["better"].mean()) if len(both) else math.nan
    statistics = {**tests, "expected_difference": math.nan, "margin": math.nan, "better_level": better_level,
                  "n_seeds": n_seeds, "unscored_better": unscored[better], "unscored_worse": unscored[worse],
                  "p_rank": math.nan, "paper_reference": _number_or_nan(claim.paper_reference),
                  "paper_margin": _number_or_nan(claim.paper_margin)}
    if kind == "no claim":
        return Verdict(NO_CLAIM, f"**{NO_CLAIM}** {head} Not tested.", statistics, "the paper gives no spread")
    if n_seeds == 0:
        return Verdict(NOT_RUN, f"**{NOT_RUN}** {head} No seed has runs of both {better} and {worse}.", statistics,
                       f"no seed ran both {better} and {worse}")
    n = tests["n"]
    parts: list[str] = []
    missing_note = ""
    if any(unscored.values()):
        missing_note = (f"Runs with no {claim.metric} score (each counted as that seed's worst outcome): "
                        f"{better} {unscored[better]} of {n_seeds} seeds, {worse} {unscored[worse]} of {n_seeds}.")
    one_sided = pairs["better"].isna() != pairs["worse"].isna()
    if one_sided.any():
        ranked = ranked_advantage(pairs, lower_is_better)
        p_rank = float(wilcoxon(ranked).pvalue) if np.any(ranked != 0) else math.nan
        statistics["p_rank"] = p_rank
        wins, losses = int((ranked > 0).sum()), int((ranked < 0).sum())
        verdict = ranked_verdict(p_rank, float(ranked.sum()), smallest_signed_rank_p(wins + losses), kind, alpha)
        evidence = evidence_line(wins, losses, better, worse, p_rank, "Wilcoxon ")
        parts.append(missing_note)
        parts.append(f"Ours, ranking an unscored run last: {better} ahead on {wins}, {worse} on {losses} of "
                     f"{n_seeds} paired seeds; Wilcoxon signed-rank p = {p_rank:.2g}. The size of the difference "
                     "is undefined where a run has no score, so the t-test and the power rule are not used.")
        return Verdict(verdict, " ".join([f"**{verdict}** {head}", *parts]), statistics, evidence)
    if missing_note:
        parts.append(missing_note + " Seeds where neither has a score are ties, left out of the tests.")
    if n >= 2:
        leader = better if tests["mean"] >= 0 else worse
        parts.append(f"Ours: {leader} ahead by {abs(tests['mean']):.3g} on average over {n} paired seeds "
                     f"({round(tests['favourable'] * n)} of {n} favour {better}); paired t-test "
                     f"p = {tests['p_t']:.2g}, Wilcoxon p = {tests['p_wilcoxon']:.2g}, effect size d_z = "
                     f"{tests['d_z']:.2f}; these seeds detect a difference of {tests['mdd']:.3g} or more with "
                     "80 % power.")
    else:
        parts.append(f"Ours: {n} paired seed(s) with scores, too few for a test.")
    significant = tests["p_t"] < alpha
    n_better = int(round(tests["favourable"] * n)) if n else 0
    evidence = evidence_line(n_better, int((difference != 0).sum()) - n_better, better, worse, tests["p_t"])
    scale = abs(better_level / claim.paper_reference) if claim.paper_reference else math.nan
    if kind == "no difference":
        margin = float(claim.paper_margin) * scale if claim.paper_margin is not None else math.nan
        statistics["margin"] = margin
        half = math.nan
        if n >= 2 and math.isfinite(tests["sd"]):
            half = float(student.ppf(1 - alpha, n - 1)) * tests["sd"] / math.sqrt(n)
        low, high = abs(tests["mean"]) - half, abs(tests["mean"]) + half
        if math.isfinite(margin) and math.isfinite(half) and high < margin and n >= MIN_SEEDS_FOR_POWER:
            verdict = REPRODUCES
        elif math.isfinite(margin) and math.isfinite(half) and low > margin and significant:
            verdict = CONTRADICTS
        else:
            verdict = TOO_FEW_SEEDS
        if math.isfinite(margin):
            interval = (f" Our {100 * (1 - 2 * alpha):.0f} % interval of the absolute difference is "
                        f"{max(low, 0):.3g} to {high:.3g}" if math.isfinite(half) else
                        " Our seeds give no interval of the difference")
            parts.append(f"The paper's smallest significant difference ({claim.paper_margin:.2g}) is "
                         f"{100 * claim.paper_margin / abs(claim.paper_reference):.0f} % of its {better} value; at "
                         f"our {better} level ({better_level:.3g}) that is {margin:.3g}." + interval
                         + (f" (no difference needs at least {MIN_SEEDS_FOR_POWER} paired seeds)."
                            if n < MIN_SEEDS_FOR_POWER else "."))
        return Verdict(verdict, " ".join([f"**{verdict}** {head}", *parts]), statistics, evidence)
    expected = math.nan
    if claim.paper_difference is not None and claim.paper_reference:
        expected = abs(claim.paper_difference) * scale
    statistics["expected_difference"] = expected
    verdict = ordering_verdict(tests, expected, n >= MIN_SEEDS_FOR_POWER, alpha)
    if math.isfinite(expected):
        parts.append(f"The paper's difference ({claim.paper_difference:.3g}) is "
                     f"{100 * abs(claim.paper_difference / claim.paper_reference):.0f} % of its {better} value; at "
                     f"our {better} level ({better_level:.3g}) that is {expected:.3g}, the difference the power "
                     "rule asks these seeds to detect.")
    return Verdict(verdict, " ".join([f"**{verdict}** {head}", *parts]), statistics, evidence)


def gap_closing_verdict(gaps: pd.DataFrame, claim: Any, ahead: str, behind: str, alpha: float = 0.05) -> Verdict:
    """The verdict on a claim that a gap closes with longer training: ``claim`` (a
    :class:`qlatent.paper.Claim` on metric ``"gap"`` along ``axis="step"``) says the gap is smaller at
    step ``claim.better`` than at the earlier step ``claim.worse``.

    ``gaps`` is tidy (``step``, ``seed``, ``metric="gap"``, ``value``: ``behind``'s score minus
    ``ahead``'s, positive where ``ahead`` leads on a lower-is-better score), as
    :func:`paired_gap_along_training` gives it. A gap that closes must first exist: when ``ahead``
    is not ahead on average at the earlier step, the verdict is **premise not met** and its evidence
    counts the seeds where ``behind`` already leads; otherwise :func:`claim_verdict` judges the
    narrowing, paired by seed.

    Raises
    ------
    MissingSide
        (a ``ValueError``) If ``gaps`` has no value at one of the two steps.
    """
    early = gaps[(gaps["step"] == claim.worse) & (gaps["metric"] == claim.metric)]["value"].astype(float)
    early = early[np.isfinite(early)]
    if early.empty:
        raise MissingSide(f"no {claim.metric!r} results for step {claim.worse!r}")
    if early.mean() > 0:
        return claim_verdict(gaps, claim, lower_is_better=True, group="step", alpha=alpha)
    leads = int((early < 0).sum())
    evidence = f"{behind} already ahead at step {claim.worse} in {leads} of {len(early)} seeds"
    sentence = (f"**{PREMISE_NOT_MET}** (step {claim.better} vs step {claim.worse}) — {claim.statement}. "
                f"The claim presupposes that {ahead} leads at step {claim.worse}; in our runs {behind} is ahead "
                f"there by {-early.mean():.3g} on average, in {leads} of {len(early)} seeds, so there is no gap "
                "to close.")
    return Verdict(PREMISE_NOT_MET, sentence, {"n": len(early), "mean": float(early.mean())}, evidence)


def _number_or_nan(value: Any) -> float:
    return float(value) if value is not None else math.nan


def verdict_table(runs: pd.DataFrame, claims: Sequence[Any], lower_is_better: dict[str, bool],
                  group: str = "latent", alpha: float = 0.05) -> pd.DataFrame:
    """One row per claim: its context, the two sides (and ``axis``: ``group``), the claim's kind, the
    verdict, the sentence and
    the statistics (:func:`claim_verdict`), with ``evidence`` (the short line behind the verdict). A
    claim one of whose sides has no runs here gets the verdict ``"not run"`` and a sentence naming the
    side, instead of an error."""
    rows = []
    for claim in claims:
        try:
            result = claim_verdict(runs, claim, lower_is_better[claim.metric], group=group, alpha=alpha)
        except MissingSide as error:
            sides = f"{name_of(group, claim.better)} vs {name_of(group, claim.worse)}"
            where = f", {', '.join(f'{k} {v}' for k, v in claim.context.items())}" if claim.context else ""
            result = Verdict(NOT_RUN, f"**{NOT_RUN}** ({sides}{where}) — {claim.statement}. Not tested: {error}.",
                             {"n": 0}, str(error))
        rows.append({**claim.context, "metric": claim.metric, "better": claim.better, "worse": claim.worse,
                     "axis": group, "kind": getattr(claim, "kind", "ordering"),
                     "paper_difference": claim.paper_difference,
                     "verdict": result.verdict, "evidence": result.evidence, "sentence": result.sentence,
                     **result.statistics})
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
