import numpy as np
import pandas as pd
import pytest

from qlatent.stats import bootstrap_mean_ci, paired_comparison, summarize_runs


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(2.0, 1.0, size=50)
    low, high = bootstrap_mean_ci(values, seed=1)
    assert low < values.mean() < high
    assert (low, high) == bootstrap_mean_ci(values, seed=1)
    # Normal theory: half-width close to 1.96 * s / sqrt(n).
    assert (high - low) / 2 == pytest.approx(1.96 * values.std(ddof=1) / np.sqrt(50), rel=0.15)


def test_bootstrap_single_value_and_errors():
    assert bootstrap_mean_ci([3.0]) == (3.0, 3.0)
    with pytest.raises(ValueError, match="at least one finite value"):
        bootstrap_mean_ci([np.nan])
    with pytest.raises(ValueError, match="level must be in"):
        bootstrap_mean_ci([1.0, 2.0], level=1.0)


def _runs(reference_values, baseline_values, metric="wasserstein1"):
    rows = [{"latent": "q", "seed": s, "metric": metric, "value": v} for s, v in enumerate(reference_values)]
    rows += [{"latent": "g", "seed": s, "metric": metric, "value": v} for s, v in enumerate(baseline_values)]
    return pd.DataFrame(rows)


def test_paired_comparison_counts_wins_and_exact_wilcoxon():
    runs = _runs([1.0, 1.1, 0.9, 1.2, 1.0, 0.8], [1.5, 1.4, 1.6, 1.3, 1.7, 1.2])
    table = paired_comparison(runs, "q", {"wasserstein1": True})
    row = table.iloc[0]
    assert row["baseline"] == "g" and row["reference_better"] == 1.0 and row["n_pairs"] == 6
    assert row["mean_difference"] == pytest.approx(0.45)
    assert row["p_wilcoxon"] == pytest.approx(2 / 2**6)  # all six differences positive, exact two-sided
    difference = np.array([0.5, 0.3, 0.7, 0.1, 0.7, 0.4])
    t = difference.mean() / (difference.std(ddof=1) / np.sqrt(6))
    from scipy.stats import t as student

    assert row["p_value"] == pytest.approx(2 * student.sf(t, df=5))
    assert row["d_z"] == pytest.approx(difference.mean() / difference.std(ddof=1))


def test_paired_comparison_higher_is_better_and_ties():
    runs = _runs([0.9, 0.8], [0.5, 0.8], metric="recall")
    row = paired_comparison(runs, "q", {"recall": False}).iloc[0]
    assert row["reference_better"] == 0.5
    tied = paired_comparison(_runs([1.0], [1.0]), "q", {"wasserstein1": True}).iloc[0]
    assert np.isnan(tied["p_value"])


def test_paired_comparison_unknown_reference():
    with pytest.raises(ValueError, match="reference 'z' is not among the latents"):
        paired_comparison(_runs([1.0], [2.0]), "z", {"wasserstein1": True})


def test_summarize_runs():
    summary = summarize_runs(_runs([1.0, 3.0], [2.0, 2.0]))
    q = summary[summary["latent"] == "q"].iloc[0]
    assert q["mean"] == 2.0 and q["n_seeds"] == 2 and q["ci_low"] >= 1.0 and q["ci_high"] <= 3.0


def test_ranking_verdict_sentences():
    from qlatent.stats import ranking_verdict

    runs = _runs([1.0, 1.1, 0.9, 1.2, 1.0, 0.8], [1.5, 1.4, 1.6, 1.3, 1.7, 1.2])
    summary, paired = summarize_runs(runs), paired_comparison(runs, "q", {"wasserstein1": True})
    first = ranking_verdict(summary, paired, "q", "wasserstein1", True)
    assert "q ranks first" in first and "significantly better (paired t-test p < 0.05) than g" in first
    reversed_runs = _runs([1.5, 1.4], [1.0, 1.1])
    summary, paired = summarize_runs(reversed_runs), paired_comparison(reversed_runs, "q", {"wasserstein1": True})
    second = ranking_verdict(summary, paired, "q", "wasserstein1", True)
    assert "ranks number 2 of 2 (first: g)" in second and "no baseline" in second


def test_summarize_leaves_out_undefined_values():
    runs = _runs([np.nan, 0.5], [np.nan, np.nan], metric="uniqueness")
    summary = summarize_runs(runs).set_index("latent")
    assert summary.loc["q", "mean"] == 0.5 and summary.loc["q", "n_seeds"] == 1
    assert np.isnan(summary.loc["g", "mean"]) and summary.loc["g", "n_seeds"] == 0
    paired = paired_comparison(runs, "q", {"uniqueness": False})
    assert paired.iloc[0]["n_pairs"] == 0


# --- power, effect sizes and verdicts on the paper's claims ----------------------------------------

def _power_of_paired_t(d, n, alpha=0.05):
    """Two-sided paired t-test power from the non-central t distribution, written out independently."""
    from scipy.stats import nct
    from scipy.stats import t as student

    critical = student.ppf(1 - alpha / 2, n - 1)
    shift = d * np.sqrt(n)
    return nct.sf(critical, n - 1, shift) + nct.cdf(-critical, n - 1, shift)


@pytest.mark.parametrize("n", [3, 5, 8, 12])
def test_minimum_detectable_difference_has_80_percent_power(n):
    from qlatent.stats import paired_statistics

    values = np.random.default_rng(n).normal(0.3, 2.0, size=n)
    stats = paired_statistics(values)
    assert _power_of_paired_t(stats["mdd"] / stats["sd"], n) == pytest.approx(0.8, abs=1e-3)
    assert stats["n"] == n and stats["d_z"] == pytest.approx(values.mean() / values.std(ddof=1))


def test_paired_statistics_with_too_few_seeds_is_undefined_not_an_error():
    from qlatent.stats import paired_statistics

    one = paired_statistics([0.4])
    assert one["n"] == 1 and one["mean"] == 0.4 and np.isnan(one["p_t"]) and np.isnan(one["mdd"])
    assert paired_statistics([])["n"] == 0


def test_summary_has_the_standard_error_and_groups_by_several_columns():
    runs = pd.DataFrame({"dataset": ["a"] * 4 + ["b"] * 4, "latent": ["q", "q", "g", "g"] * 2,
                         "seed": [0, 1] * 4, "metric": "l1", "value": [1.0, 3.0, 2.0, 2.0, 5.0, 7.0, 0.0, 1.0]})
    summary = summarize_runs(runs, group=["dataset", "latent"]).set_index(["dataset", "latent"])
    assert summary.loc[("a", "q"), "se"] == pytest.approx(np.std([1.0, 3.0], ddof=1) / np.sqrt(2))
    assert summary.loc[("b", "q"), "mean"] == 6.0
    paired = paired_comparison(runs, "q", {"l1": True}, context=("dataset",))
    assert list(paired["dataset"]) == ["a", "b"] and list(paired["mean_difference"]) == [0.0, -5.5]


def _claim(better="q", worse="g", difference=None, reference=None, context=None):
    from qlatent.paper import Claim

    return Claim(context or {}, "l1", better, worse, "the paper reports q ahead of g", difference, reference)


def _two_latents(q, g):
    rows = [{"latent": "q", "seed": s, "metric": "l1", "value": v} for s, v in enumerate(q)]
    rows += [{"latent": "g", "seed": s, "metric": "l1", "value": v} for s, v in enumerate(g)]
    return pd.DataFrame(rows)


def test_verdict_reproduces_on_a_consistent_significant_advantage():
    from qlatent.stats import claim_verdict

    runs = _two_latents([1.0, 1.1, 0.9, 1.0, 1.05], [1.5, 1.4, 1.45, 1.6, 1.5])
    result = claim_verdict(runs, _claim(), lower_is_better=True)
    assert result.verdict == "reproduces"
    assert "5 of 5 favour q" in result.sentence and result.statistics["mean"] == pytest.approx(0.48)


def test_verdict_contradicts_on_a_significant_reversal():
    from qlatent.stats import claim_verdict

    runs = _two_latents([1.5, 1.4, 1.45, 1.6, 1.5], [1.0, 1.1, 0.9, 1.0, 1.05])
    result = claim_verdict(runs, _claim(), lower_is_better=True)
    assert result.verdict == "contradicts" and result.evidence.startswith("5 of 5 seeds favour g, p = ")


def test_verdict_uses_power_against_the_papers_scaled_difference():
    from qlatent.stats import claim_verdict

    # Our q and g agree to within tiny noise: no difference, and these seeds would have seen
    # a large one. The paper's difference is 20 % of q's value: 0.2 at our level of 1.0.
    q = [1.0, 1.01, 0.99, 1.0, 1.0, 1.02]
    g = [1.005, 1.0, 0.995, 1.01, 0.99, 1.02]
    runs = _two_latents(q, g)
    powered = claim_verdict(runs, _claim(difference=0.2, reference=1.0), lower_is_better=True)
    assert powered.verdict in {"same direction, not significant", "opposite direction, not significant"}
    assert powered.statistics["expected_difference"] == pytest.approx(0.2 * np.mean(q))
    assert powered.statistics["mdd"] < powered.statistics["expected_difference"]
    # Too few seeds to trust their spread leave it open, however small the detectable difference.
    assert claim_verdict(runs[runs["seed"] < 4], _claim(difference=0.2, reference=1.0),
                         lower_is_better=True).verdict == "too few seeds to tell"
    # A paper difference inside our interval leaves it open; a claim without numbers names the direction.
    assert claim_verdict(runs, _claim(difference=1e-5, reference=1.0),
                         lower_is_better=True).verdict == "too few seeds to tell"
    assert claim_verdict(runs, _claim(), lower_is_better=True).verdict == powered.verdict


def test_verdict_higher_is_better_and_context():
    from qlatent.stats import claim_verdict, verdict_table

    runs = pd.concat([_two_latents([5, 6, 7, 6], [1, 2, 1, 2]).assign(dataset="x"),
                      _two_latents([1, 2, 1, 2], [5, 6, 7, 6]).assign(dataset="y")])
    assert claim_verdict(runs, _claim(context={"dataset": "x"}), lower_is_better=False).verdict == "reproduces"
    table = verdict_table(runs, [_claim(context={"dataset": "x"}), _claim(context={"dataset": "y"})], {"l1": False})
    assert list(table["verdict"]) == ["reproduces", "contradicts"] and list(table["dataset"]) == ["x", "y"]


def test_verdict_names_a_missing_side():
    from qlatent.stats import claim_verdict

    with pytest.raises(ValueError, match="no 'l1' results for latent 'z'"):
        claim_verdict(_two_latents([1.0], [2.0]), _claim(worse="z"), lower_is_better=True)


def test_paired_gap_along_training():
    from qlatent.stats import paired_gap_along_training

    curves = pd.DataFrame({"dataset": "q", "latent": ["a", "b"] * 4, "seed": [0, 0, 0, 0, 1, 1, 1, 1],
                           "step": [10, 10, 20, 20] * 2, "score": [1.0, 3.0, 1.0, 2.0, 2.0, 2.5, 0.5, 0.5]})
    gaps = paired_gap_along_training(curves, "score", ahead="a", behind="b", context=("dataset",))
    assert list(gaps.columns) == ["dataset", "step", "seed", "value", "metric"]
    assert gaps.set_index(["step", "seed"])["value"].to_dict() == {(10, 0): 2.0, (10, 1): 0.5, (20, 0): 1.0,
                                                                   (20, 1): 0.0}
    assert list(paired_gap_along_training(curves, "score", "a", "b", steps=[20])["step"]) == [20, 20]
    with pytest.raises(ValueError, match="no column 'loss'"):
        paired_gap_along_training(curves, "loss", "a", "b")
    with pytest.raises(ValueError, match="no curves for latent 'z'"):
        paired_gap_along_training(curves, "score", "a", "z")


# --- kinds of claims, unscored runs, absent sides -------------------------------------------------

def _no_difference(margin=0.2, reference=1.0, context=None):
    from qlatent.paper import Claim

    return Claim(context or {}, "l1", "q", "g", "the paper's numbers show no significant difference", 0.0,
                 reference, kind="no difference", paper_margin=margin)


def test_no_difference_claim_reproduces_only_with_a_tight_interval_inside_the_margin():
    from qlatent.stats import claim_verdict

    q = [1.0, 1.01, 0.99, 1.0, 1.0, 1.02]
    g = [1.005, 1.0, 0.995, 1.01, 0.99, 1.02]
    tight = claim_verdict(_two_latents(q, g), _no_difference(), lower_is_better=True)
    assert tight.verdict == "reproduces" and tight.statistics["margin"] == pytest.approx(0.2 * np.mean(q))
    # Too few seeds to count as "no difference", however tight.
    assert claim_verdict(_two_latents(q[:3], g[:3]), _no_difference(), True).verdict == "too few seeds to tell"
    # A clear difference much larger than the paper's margin does not reproduce the claim of none...
    far = claim_verdict(_two_latents(q, [v + 1.0 for v in g]), _no_difference(), True)
    assert far.verdict == "contradicts"
    # ...while a significant one smaller than that margin is no contradiction: the paper could not see it.
    noise = [0.001, -0.002, 0.0, 0.002, -0.001, 0.001]
    small = claim_verdict(_two_latents(q, [v + 0.05 + e for v, e in zip(q, noise)]), _no_difference(), True)
    assert small.statistics["p_t"] < 0.05 and small.verdict == "reproduces"
    # Many seeds and a tiny real difference never turn a "no difference" claim into a loss.
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.01, 40)
    many = claim_verdict(_two_latents(base, base + 0.01 + rng.normal(0, 0.001, 40)), _no_difference(), True)
    assert many.verdict == "reproduces"


def test_paper_makes_no_claim_is_not_tested():
    from qlatent.paper import Claim
    from qlatent.stats import claim_verdict

    claim = Claim({}, "l1", "q", "g", "no standard error", 0.1, 1.0, kind="no claim")
    assert claim_verdict(_two_latents([1.0, 2.0], [2.0, 3.0]), claim, True).verdict == "paper makes no claim"


def test_an_unscored_run_counts_as_the_worst_and_cannot_win_by_being_dropped():
    from qlatent.stats import claim_verdict

    # q has no score on 5 of 6 seeds; on the one scored seed it is ahead. Dropping the unscored seeds
    # would leave q "ahead"; counted as worst, g wins 5 of 6 seeds.
    q = [1.0, np.nan, np.nan, np.nan, np.nan, np.nan]
    g = [1.5, 1.4, 1.45, 1.6, 1.5, 1.3]
    result = claim_verdict(_two_latents(q, g), _claim(difference=0.2, reference=1.0), lower_is_better=True)
    assert result.statistics["unscored_better"] == 5 and result.statistics["unscored_worse"] == 0
    assert "q 5 of 6 seeds" in result.sentence and "g on 5 of 6" in result.sentence
    # Wilcoxon on 6 seeds, 5 against and 1 for: not significant at 0.05, though 6 seeds could reach it (2/64),
    # so the direction is named; with more seeds it turns against q.
    assert result.verdict == "opposite direction, not significant"
    assert result.evidence == f"5 of 6 seeds favour g, Wilcoxon p = {result.statistics['p_rank']:.2g}"
    q12 = [1.0] + [np.nan] * 11
    g12 = [1.5] + [1.4] * 11
    assert claim_verdict(_two_latents(q12, g12), _claim(), True).verdict == "contradicts"
    # The other way round: the claimed-worse side never scores, the claimed-better always does.
    assert claim_verdict(_two_latents([1.0] * 12, [np.nan] * 12), _claim(), True).verdict == "reproduces"


def test_seeds_unscored_on_both_sides_are_ties_and_are_reported():
    from qlatent.stats import claim_verdict

    q = [1.0, 1.1, 0.9, 1.0, 1.05, np.nan]
    g = [1.5, 1.4, 1.45, 1.6, 1.5, np.nan]
    result = claim_verdict(_two_latents(q, g), _claim(), True)
    assert result.verdict == "reproduces" and result.statistics["n"] == 5
    assert "q 1 of 6 seeds, g 1 of 6" in result.sentence


def test_verdict_table_lists_a_claim_with_an_absent_side_as_not_run():
    from qlatent.stats import verdict_table

    runs = _two_latents([1.0, 1.1], [1.5, 1.4])
    table = verdict_table(runs, [_claim(), _claim(worse="z")], {"l1": True})
    assert list(table["verdict"]) == ["too few seeds to tell", "not run"]
    assert "latent 'z'" in table["sentence"].iloc[1] and "**not run**" in table["sentence"].iloc[1]


def test_verdict_sentences_name_the_axis_and_the_scaled_difference():
    from qlatent.paper import Claim
    from qlatent.stats import claim_verdict

    runs = pd.DataFrame({"depth": [7] * 3 + [1] * 3, "seed": [0, 1, 2] * 2, "metric": "l1",
                         "value": [0.1, 0.12, 0.11, 0.3, 0.35, 0.32]})
    result = claim_verdict(runs, Claim({}, "l1", 7, 1, "deeper is better", 0.05, 0.5), True, group="depth")
    assert "(depth 7 vs depth 1)" in result.sentence and "depth 7 ahead by" in result.sentence
    assert "is 10 % of its depth 7 value" in result.sentence
    # Sides present but never on the same seed: not run.
    apart = runs.assign(seed=[0, 1, 2, 3, 4, 5])
    assert claim_verdict(apart, Claim({}, "l1", 7, 1, "s"), True, group="depth").verdict == "not run"


def test_summary_and_paired_comparison_count_unscored_runs():
    runs = _runs([np.nan, 0.5, 0.4], [np.nan, np.nan, 0.3], metric="fcd")
    summary = summarize_runs(runs).set_index("latent")
    assert summary.loc["q", "n_unscored"] == 1 and summary.loc["q", "n_runs"] == 3
    assert summary.loc["g", "n_unscored"] == 2 and summary.loc["g", "n_seeds"] == 1
    row = paired_comparison(runs, "q", {"fcd": True}).iloc[0]
    assert (row["unscored_reference"], row["unscored_baseline"]) == (1, 2)


def test_no_difference_sentence_without_an_interval_says_so():
    from qlatent.stats import claim_verdict

    result = claim_verdict(_two_latents([1.0, np.nan], [1.1, np.nan]), _no_difference(), True)
    assert result.verdict == "too few seeds to tell" and "nan" not in result.sentence
    assert "no interval" in result.sentence and "no l1 score" in result.sentence


def test_differences_equal_up_to_rounding_have_no_spread():
    """0.8 - 0.7 and 1.0 - 0.9 differ by one ulp: no t-test (it warned and claimed p ~ 1e-16)."""
    import math
    import warnings

    from qlatent.stats import paired_statistics

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_statistics([0.8 - 0.7, 1.0 - 0.9])
    assert result["sd"] == 0.0
    assert math.isnan(result["p_t"]) and math.isnan(result["d_z"])
    assert paired_statistics([0.1, 0.1000001])["sd"] > 0


def _power_of_welch_t(difference, sd_first, n_first, sd_second, n_second, alpha=0.05):
    """Two-sided Welch t-test power from the non-central t distribution, written out independently."""
    from scipy.stats import nct
    from scipy.stats import t as student

    v1, v2 = sd_first ** 2 / n_first, sd_second ** 2 / n_second
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n_first - 1) + v2 ** 2 / (n_second - 1))
    critical = student.ppf(1 - alpha / 2, df)
    shift = difference / np.sqrt(v1 + v2)
    return nct.sf(critical, df, shift) + nct.cdf(-critical, df, shift)


@pytest.mark.parametrize(("n_first", "n_second"), [(5, 3), (3, 3), (8, 12), (20, 3)])
def test_two_sample_statistics_is_welchs_test_with_80_percent_power(n_first, n_second):
    from scipy.stats import ttest_ind

    from qlatent.stats import two_sample_statistics

    rng = np.random.default_rng(n_first * 100 + n_second)
    first, second = rng.normal(0.4, 0.1, size=n_first), rng.normal(0.1, 0.3, size=n_second)
    stats = two_sample_statistics(first, second)
    assert stats["p_t"] == pytest.approx(ttest_ind(first, second, equal_var=False).pvalue)
    assert stats["mean"] == pytest.approx(first.mean() - second.mean())
    sd1, sd2 = first.std(ddof=1), second.std(ddof=1)
    assert stats["d"] == pytest.approx((first.mean() - second.mean()) / np.sqrt((sd1 ** 2 + sd2 ** 2) / 2))
    assert _power_of_welch_t(stats["mdd"], sd1, n_first, sd2, n_second) == pytest.approx(0.8, abs=1e-3)
    assert (stats["n_first"], stats["n_second"]) == (n_first, n_second)


def test_two_sample_power_equals_the_pooled_test_with_equal_groups():
    """Equal sizes and spreads: Welch's degrees of freedom are 2n - 2 and its power is the pooled t-test's."""
    from statsmodels.stats.power import TTestIndPower

    from qlatent.stats import two_sample_statistics

    first, second = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 2.0, 3.0])
    stats = two_sample_statistics(first, second)
    assert stats["df"] == pytest.approx(6)
    pooled = TTestIndPower().solve_power(effect_size=None, nobs1=4, ratio=1.0, alpha=0.05, power=0.8)
    assert stats["mdd"] == pytest.approx(pooled * first.std(ddof=1), rel=1e-4)


def test_two_sample_statistics_with_too_few_values_is_undefined_not_an_error():
    import math

    from qlatent.stats import two_sample_statistics

    stats = two_sample_statistics([0.3, np.nan], [0.1, 0.2, 0.4])
    assert stats["n_first"] == 1 and stats["mean"] == pytest.approx(0.3 - np.mean([0.1, 0.2, 0.4]))
    assert math.isnan(stats["p_t"]) and math.isnan(stats["mdd"]) and math.isnan(stats["d"])
    assert math.isnan(two_sample_statistics([1.0, 1.0], [2.0, 2.0])["p_t"])  # no spread on either side


# --- the book's verdict vocabulary, on the cases a reader met (issue 20) ----------------------------

def test_five_of_five_seeds_ahead_at_p_0055_is_never_a_failure():
    """Chapter 05, FCD at size 16, boson vs Bernoulli: boson ahead in 5 of 5 seeds, p = 0.055, and an
    interval holding both no difference and the paper's (scaled) one: too few seeds to tell."""
    from qlatent.stats import claim_verdict

    boson = [1.0, 1.0, 1.0, 1.0, 1.0]
    bernoulli = [1.1, 1.2, 1.3, 2.01, 1.6]
    result = claim_verdict(_two_latents(boson, bernoulli), _claim(difference=0.662, reference=1.16), True)
    assert result.statistics["p_t"] == pytest.approx(0.055, abs=0.005)
    assert result.verdict == "too few seeds to tell"
    assert result.evidence == "5 of 5 seeds favour q, p = 0.055"
    # The same seeds against a paper effect far beyond our interval: the direction, not significant.
    far = claim_verdict(_two_latents(boson, bernoulli), _claim(difference=5.0, reference=1.16), True)
    assert far.verdict == "same direction, not significant"


def test_a_reversal_in_every_seed_is_named_as_the_opposite_direction():
    """Chapter 05, valid-and-unique at size 16, boson vs distinguishable: distinguishable ahead in 5 of 5
    seeds, p = 0.05, well beyond the paper's difference the other way."""
    from qlatent.stats import claim_verdict

    boson = [900.0, 1000.0, 1100.0, 950.0, 1050.0]
    distinguishable = [910.0, 1020.0, 1130.0, 1051.0, 1110.0]
    result = claim_verdict(_two_latents(boson, distinguishable), _claim(difference=568, reference=2522),
                           lower_is_better=False)
    assert 0.05 < result.statistics["p_t"] < 0.07
    assert result.verdict == "opposite direction, not significant"
    assert result.evidence.startswith("5 of 5 seeds favour g, p = 0.0")


def test_a_gap_that_never_opened_cannot_close():
    """Chapter 03, App. C: 'the distinguishable latent closes the gap with boson at 10,000 steps' while
    distinguishable is already ahead at 5,000: premise not met, never an unreadable ordering of steps."""
    from qlatent.paper import Claim
    from qlatent.stats import gap_closing_verdict

    gaps = pd.DataFrame({"step": [5000] * 5 + [10000] * 5, "seed": list(range(5)) * 2, "metric": "gap",
                         "value": [-0.01, -0.02, 0.005, -0.015, -0.01, 0.0, 0.01, -0.01, 0.0, 0.005]})
    claim = Claim({}, "gap", 10000, 5000, "distinguishable closes the gap", axis="step")
    result = gap_closing_verdict(gaps, claim, ahead="boson", behind="distinguishable")
    assert result.verdict == "premise not met"
    assert result.evidence == "distinguishable already ahead at step 5000 in 4 of 5 seeds"
    assert "no gap to close" in result.sentence
    # With boson ahead at 5,000 steps the narrowing itself is tested.
    opened = gaps.assign(value=lambda t: np.where(t["step"] == 5000, t["value"] + 0.05, t["value"]))
    assert gap_closing_verdict(opened, claim, "boson", "distinguishable").verdict == "reproduces"
    with pytest.raises(ValueError, match="no 'gap' results for step 5000"):
        gap_closing_verdict(gaps[gaps["step"] == 10000], claim, "boson", "distinguishable")


def test_verdict_helpers_read_as_stated():
    from qlatent.stats import VERDICTS, evidence_line, favour_phrase, ranked_verdict, smallest_signed_rank_p

    assert smallest_signed_rank_p(5) == 0.0625 and smallest_signed_rank_p(0) == 1.0
    assert favour_phrase(2, 2, "a", "b") == "seeds split 2–2 between a and b"
    assert favour_phrase(0, 1, "a", "b") == "1 of 1 seed favours b"
    assert evidence_line(3, 1, "a", "b", float("nan")) == "3 of 4 seeds favour a"
    # A rank test that cannot reach 5 % at 5 seeds never names a direction.
    assert ranked_verdict(0.0625, 1.0, smallest_signed_rank_p(5)) == "too few seeds to tell"
    assert ranked_verdict(0.2, -1.0, smallest_signed_rank_p(8)) == "opposite direction, not significant"
    assert ranked_verdict(0.01, 1.0, 0.01, kind="no difference") == "contradicts"
    assert len(VERDICTS) == 8 and all(len(meaning.split()) <= 40 for meaning in VERDICTS.values())
