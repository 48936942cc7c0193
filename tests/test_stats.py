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
    assert row["p_value"] == pytest.approx(2 / 2**6)  # all six differences positive, exact two-sided


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
    assert "q ranks first" in first and "significantly better (Wilcoxon p < 0.05) than g" in first
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
