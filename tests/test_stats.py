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


def test_verdict_does_not_reproduce_on_a_significant_reversal():
    from qlatent.stats import claim_verdict

    runs = _two_latents([1.5, 1.4, 1.45, 1.6, 1.5], [1.0, 1.1, 0.9, 1.0, 1.05])
    assert claim_verdict(runs, _claim(), lower_is_better=True).verdict == "does not reproduce"


def test_verdict_uses_power_against_the_papers_scaled_difference():
    from qlatent.stats import claim_verdict

    # Our q and g agree to within tiny noise: no difference, and these seeds would have seen
    # a large one. The paper's difference is 20 % of q's value: 0.2 at our level of 1.0.
    q = [1.0, 1.01, 0.99, 1.0, 1.0, 1.02]
    g = [1.005, 1.0, 0.995, 1.01, 0.99, 1.02]
    runs = _two_latents(q, g)
    powered = claim_verdict(runs, _claim(difference=0.2, reference=1.0), lower_is_better=True)
    assert powered.verdict == "does not reproduce"
    assert powered.statistics["expected_difference"] == pytest.approx(0.2 * np.mean(q))
    assert powered.statistics["mdd"] < powered.statistics["expected_difference"]
    # Too few seeds to trust their spread leave it open, however small the detectable difference.
    assert claim_verdict(runs[runs["seed"] < 4], _claim(difference=0.2, reference=1.0),
                         lower_is_better=True).verdict == "inconclusive"
    # A paper difference far below what the seeds can see leaves it open; so does a claim without numbers.
    assert claim_verdict(runs, _claim(difference=1e-5, reference=1.0), lower_is_better=True).verdict == "inconclusive"
    assert claim_verdict(runs, _claim(), lower_is_better=True).verdict == "inconclusive"


def test_verdict_higher_is_better_and_context():
    from qlatent.stats import claim_verdict, verdict_table

    runs = pd.concat([_two_latents([5, 6, 7, 6], [1, 2, 1, 2]).assign(dataset="x"),
                      _two_latents([1, 2, 1, 2], [5, 6, 7, 6]).assign(dataset="y")])
    assert claim_verdict(runs, _claim(context={"dataset": "x"}), lower_is_better=False).verdict == "reproduces"
    table = verdict_table(runs, [_claim(context={"dataset": "x"}), _claim(context={"dataset": "y"})], {"l1": False})
    assert list(table["verdict"]) == ["reproduces", "does not reproduce"] and list(table["dataset"]) == ["x", "y"]


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
