"""The paper's numbers and claims as transcribed in data/paper/reported.yml."""

import pandas as pd
import pytest

from qlatent.paper import beside_reported, budgets, reported, reported_comparisons, source, stated_claims, statements


def test_reported_tables_have_their_columns_and_sources():
    for experiment in ("table1", "table2", "mixture", "molgan_original"):
        table = reported(experiment)
        assert {"latent", "metric", "value", "se"} <= set(table.columns)
        assert "provenance" in source(experiment)
    assert reported("molgan_original")["value"].between(0, 1).all()
    assert len(reported("table1")) == 8 and len(reported("table2")) == 24
    assert reported("mixture").empty


def test_table1_comparisons_are_computed_from_the_numbers():
    claims = reported_comparisons("table1", "boson", {"l1_integer": True}, context=("dataset",))
    by_pair = {(c.context["dataset"], c.better, c.worse): c for c in claims}
    assert len(claims) == 6
    quantum = by_pair[("quantum", "boson", "distinguishable")]
    assert quantum.paper_difference == pytest.approx(0.005) and quantum.paper_reference == 0.036
    # On the Bernoulli dataset the paper has the Gaussian latent ahead of the boson latent.
    assert ("bernoulli", "gaussian", "boson") in by_pair


def test_higher_is_better_metrics_flip_the_direction():
    claims = reported_comparisons("table2", "boson", {"valid_unique": False}, context=("size",))
    assert all(c.better == "boson" for c in claims) and len(claims) == 5
    assert {c.context["size"] for c in claims} == {16, 32, 48}


def test_stated_claims_join_the_comparisons():
    claims = reported_comparisons("mixture", "boson", {"between_modes": True})
    assert {(c.better, c.worse) for c in claims} == {("boson", "gaussian"), ("boson", "bernoulli"),
                                                      ("boson", "distinguishable")}
    assert all(c.paper_difference is None for c in claims)
    assert stated_claims("mixture", "depth")[0]["better"] == 7


def test_unknown_experiment():
    with pytest.raises(KeyError, match="no entry 'nope'"):
        reported("nope")


def test_beside_reported_keeps_ours_and_adds_theirs():
    ours = pd.DataFrame({"latent": ["gaussian", "boson"], "metric": ["validity_connected"] * 2, "mean": [90.0, 95.0]})
    merged = beside_reported(ours, "molgan_original", label="MolGAN paper")
    assert merged.loc[merged["latent"] == "gaussian", "MolGAN paper"].item() == 0.981
    assert merged.loc[merged["latent"] == "boson", "MolGAN paper"].isna().item()
    assert len(merged) == 2
    table1 = pd.DataFrame({"dataset": ["quantum"], "latent": ["boson"], "metric": ["l1_integer"], "mean": [0.05]})
    row = beside_reported(table1, "table1", on=("dataset", "latent", "metric")).iloc[0]
    assert (row["paper"], row["paper_se"]) == (0.036, 0.001)


def test_statements_and_budgets_of_the_appendices_without_numbers():
    assert reported("flows_diffusion").empty
    assert set(statements("flows_diffusion")) == {"ddgan", "flow_matching"}
    assert "no advantage" in statements("flows_diffusion")["ddgan"]
    assert budgets("flows_diffusion")["ddgan"]["iterations"] == 1800 * 50_000 // 256
    assert statements("table1") == {} and budgets("table1") == {}
