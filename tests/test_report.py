"""What chapters print beside the paper: formatted cells, side-by-side tables, budget notes."""

import math

import pandas as pd

from qlatent.report import budget_note, mean_se, side_by_side, verdict_markdown


def test_mean_se_cells():
    assert mean_se(0.036, 0.001, 12) == "0.036 ± 0.001 (n=12)"
    assert mean_se(2522.0, 65.0) == "2522 ± 65"
    assert mean_se(0.5, math.nan) == "0.5"
    assert mean_se(math.nan, 0.1) == ""


def test_side_by_side_aligns_sources_and_leaves_unknown_rows_empty():
    paper = pd.DataFrame({"dataset": ["q", "q"], "latent": ["boson", "gaussian"], "metric": "l1",
                          "value": [0.036, 0.061], "se": [0.001, 0.001]})
    ours = pd.DataFrame({"dataset": ["q", "q", "b"], "latent": ["boson", "bernoulli", "boson"], "metric": "l1",
                         "mean": [0.1, 0.2, 0.3], "se": [0.01, 0.02, 0.03], "n_seeds": [6, 6, 3]})
    table = side_by_side(["dataset", "latent"], "l1", paper, {"ours": ours}, paper_runs=12, paper_label="the paper")
    assert list(table.columns) == ["the paper", "ours"]
    assert table.loc[("q", "boson"), "the paper"] == "0.036 ± 0.001 (n=12)"
    assert table.loc[("q", "boson"), "ours"] == "0.1 ± 0.01 (n=6)"
    assert table.loc[("q", "gaussian"), "ours"] == "" and table.loc[("b", "boson"), "the paper"] == ""
    assert len(table) == 4


def test_budget_note_and_verdict_list():
    note = budget_note("standard", {"iterations": 2000, "seeds": 6}, {"iterations": 40000, "seeds": 12})
    assert note == "standard: 2,000 of 40,000 iterations (5 %), 6 of 12 seeds (50 %)"
    assert verdict_markdown(pd.DataFrame({"sentence": ["a", "b"]})) == "* a\n* b"
