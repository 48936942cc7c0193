"""What chapters print beside the paper: formatted cells, side-by-side tables, budget notes."""

import math

import pandas as pd

from qlatent.report import budget_note, mean_se, side_by_side, verdict_markdown


def test_mean_se_cells():
    assert mean_se(0.036, 0.001, 12) == "0.036 ± 0.001 (n=12)"
    assert mean_se(2522.0, 65.0) == "2522 ± 65"
    assert mean_se(0.5, math.nan) == "0.5"
    assert mean_se(math.nan, 0.1) == ""


def test_side_by_side_aligns_sources_and_names_unknown_rows():
    paper = pd.DataFrame({"dataset": ["q", "q"], "latent": ["boson", "gaussian"], "metric": "l1",
                          "value": [0.036, 0.061], "se": [0.001, 0.001]})
    ours = pd.DataFrame({"dataset": ["q", "q", "b"], "latent": ["boson", "bernoulli", "boson"], "metric": "l1",
                         "mean": [0.1, 0.2, 0.3], "se": [0.01, 0.02, 0.03], "n_seeds": [6, 6, 3]})
    table = side_by_side(["dataset", "latent"], "l1", paper, {"ours": ours}, paper_runs=12, paper_label="the paper")
    assert list(table.columns) == ["the paper", "ours"]
    assert table.loc[("q", "boson"), "the paper"] == "0.036 ± 0.001 (n=12)"
    assert table.loc[("q", "boson"), "ours"] == "0.1 ± 0.01 (n=6)"
    assert table.loc[("q", "gaussian"), "ours"] == "not run"
    assert table.loc[("b", "boson"), "the paper"] == "not reported"
    assert len(table) == 4


def test_budget_note_and_verdict_list():
    note = budget_note("standard", {"iterations": 2000, "seeds": 6}, {"iterations": 40000, "seeds": 12})
    assert note == "standard: 2,000 of 40,000 iterations (5 %), 6 of 12 seeds (50 %)"
    assert verdict_markdown(pd.DataFrame({"sentence": ["a", "b"]})) == "* a\n* b"


def test_cells_show_unscored_runs_and_never_blank_or_nan():
    paper = reported_rows = pd.DataFrame({"latent": ["boson", "gaussian"], "metric": "fcd", "value": [1.16, 1.529],
                                          "se": [0.06, 0.08], "value_text": ["1.160", "1.529"],
                                          "se_text": ["0.06", "0.08"]})
    ours = pd.DataFrame({"latent": ["boson", "gaussian", "bernoulli"], "metric": "fcd", "mean": [22.6, math.nan, 3.0],
                         "se": [math.nan, math.nan, 0.5], "n_seeds": [1, 0, 2], "n_runs": [2, 2, 2],
                         "n_unscored": [1, 2, 0]})
    table = side_by_side(["latent"], "fcd", reported_rows, {"ours": ours}, paper_runs=20, unscored="no valid molecules")
    assert table.loc["boson", "paper"] == "1.160 ± 0.06 (n=20)"
    assert table.loc["boson", "ours"] == "22.6 (n=1); no valid molecules in 1 of 2 seeds"
    assert table.loc["gaussian", "ours"] == "no valid molecules in 2 of 2 seeds"
    assert table.loc["bernoulli", "paper"] == "not reported"
    assert not table.isna().any().any() and "" not in set(table.to_numpy().ravel())
    assert paper is reported_rows


def test_reported_cells_keep_the_papers_digits():
    from qlatent.paper import reported

    table = side_by_side(["dataset", "latent"], "l1_integer", reported("table1"), {}, paper_runs=12)
    assert table.loc[("bernoulli", "bernoulli"), "paper"] == "0.020 ± 0.013 (n=12)"


def test_readable_replaces_missing_values():
    from qlatent.report import readable

    frame = pd.DataFrame({"p": [0.123456, math.nan], "n": [5, 2], "name": ["a", None]})
    shown = readable(frame)
    assert shown["p"].tolist() == [0.1235, "—"] and shown["name"].tolist() == ["a", "—"]
    assert "nan" not in shown.to_string().lower()


def test_figure_names_come_from_the_source_label():
    import pytest

    from qlatent.report import figure_name, source_label

    assert figure_name("curves", source_label("standard", recorded=True)) == "curves_standard"
    assert figure_name("curves", source_label("quick")) == "curves_run"
    assert figure_name("curves", source_label("standard")) == "curves_run"
    with pytest.raises(ValueError, match="not a source label"):
        figure_name("curves", "something")


def test_verdict_list_gathers_the_comparisons_not_run():
    verdicts = pd.DataFrame({"size": [16.0, 32.0, 48.0], "metric": "fcd", "better": "boson",
                             "worse": ["gaussian", "gaussian", "distinguishable"],
                             "verdict": ["reproduces", "not run", "not run"],
                             "sentence": ["**reproduces** s16", "**not run** s32", "**not run** s48"]})
    text = verdict_markdown(verdicts)
    assert text.splitlines()[0] == "* **reproduces** s16"
    assert text.splitlines()[1] == ("* **not run** here (2 of the paper's comparisons: a side, size or setting absent "
                                    "from these runs): boson vs gaussian on fcd (size 32); boson vs distinguishable "
                                    "on fcd (size 48).")


def test_budget_note_never_rounds_a_small_share_to_zero():
    assert budget_note("quick", {"iterations": 60}, {"iterations": 20_000}) == "quick: 60 of 20,000 iterations (0.3 %)"
