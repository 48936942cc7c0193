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
    assert quantum.kind == "ordering" and quantum.paper_margin == pytest.approx(2 * (0.001**2 + 0.002**2) ** 0.5)
    # On the Bernoulli dataset the Gaussian latent is nominally ahead (0.012 vs 0.015), and boson ahead of
    # bernoulli (0.015 ± 0.002 vs 0.020 ± 0.013), but neither by two combined standard errors: no ordering.
    assert {c.kind for c in claims if c.context["dataset"] == "bernoulli"} == {"no difference"}
    assert by_pair[("bernoulli", "boson", "bernoulli")].paper_margin == pytest.approx(2 * (0.002**2 + 0.013**2) ** 0.5)
    assert "no significant difference" in by_pair[("bernoulli", "boson", "gaussian")].statement
    assert "0.020 ± 0.013" in by_pair[("bernoulli", "boson", "bernoulli")].statement
    assert {c.kind for c in claims if c.context["dataset"] == "quantum"} == {"ordering"}


def test_the_significance_rule_is_a_parameter():
    loose = reported_comparisons("table1", "boson", {"l1_integer": True}, context=("dataset",), significant_ses=0.1)
    assert ("gaussian", "boson") in {(c.better, c.worse) for c in loose if c.context["dataset"] == "bernoulli"}
    strict = reported_comparisons("table1", "boson", {"l1_integer": True}, context=("dataset",), significant_ses=100)
    assert {c.kind for c in strict} == {"no difference"}
    with pytest.raises(ValueError, match="significant_ses must be positive"):
        reported_comparisons("table1", "boson", {"l1_integer": True}, significant_ses=0)


def test_table2_close_rows_are_no_difference_claims():
    claims = reported_comparisons("table2", "boson", {"fcd": True}, context=("size",))
    kinds = {(c.context["size"], c.worse): c.kind for c in claims if "size" in c.context}
    assert kinds[(48, "distinguishable")] == "no difference"  # 1.696 ± 0.08 vs 1.713 ± 0.06
    assert kinds[(16, "gaussian")] == "ordering"  # 1.160 ± 0.06 vs 1.529 ± 0.08


def test_a_claim_stated_in_words_replaces_what_the_numbers_alone_say():
    """1.160 ± 0.06 vs 1.333 ± 0.07 is within 2 s.e., but the paper says boson beats that control."""
    claims = [c for c in reported_comparisons("table2", "boson", {"fcd": True}, context=("size",))
              if c.context == {"size": 16} and c.worse == "distinguishable"]
    assert len(claims) == 1
    assert claims[0].kind == "ordering" and claims[0].better == "boson" and claims[0].paper_difference is None


def test_reported_numbers_keep_their_printed_digits():
    table1 = reported("table1").set_index(["dataset", "latent"])
    assert table1.loc[("bernoulli", "bernoulli"), "value_text"] == "0.020"
    assert table1.loc[("bernoulli", "bernoulli"), "value"] == 0.02
    table2 = reported("table2").set_index(["size", "latent", "metric"])
    assert table2.loc[(48, "boson", "fcd"), "value_text"] == "1.696"
    assert table2.loc[(16, "boson", "fcd"), "value_text"] == "1.160"
    assert table2.loc[(16, "boson", "valid_unique"), ["value_text", "se_text"]].tolist() == ["2522", "65"]
    assert reported("molgan_original")["se_text"].tolist() == ["", "", ""]
    assert type(table2.reset_index()["size"].iloc[0]) is not str


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


def test_molgans_reported_validity_is_ours_that_counts_multi_fragment_molecules():
    # MolGAN's valid_total_score accepts any sanitisable molecule, several fragments included;
    # only its validity *reward* (valid_scores) asks for one fragment.
    table = reported("molgan_original")
    assert "validity" in set(table["metric"]) and "validity_connected" not in set(table["metric"])
    assert "counts multi-fragment molecules" in source("molgan_original")


def test_unknown_experiment():
    with pytest.raises(KeyError, match="no entry 'nope'"):
        reported("nope")


def test_beside_reported_keeps_ours_and_adds_theirs():
    ours = pd.DataFrame({"latent": ["gaussian", "boson"], "metric": ["validity"] * 2, "mean": [90.0, 95.0]})
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
    assert statements("table1") == {} and budgets("molgan_original") == {}


def test_the_papers_training_budgets_come_from_the_file():
    assert budgets("table1")["training"] == {"source": budgets("table1")["training"]["source"], "iterations": 40_000,
                                             "batch_size": 500, "seeds": 12}
    assert budgets("table2")["training"]["iterations"] == 20_000 and budgets("table2")["training"]["seeds"] == 20
    assert budgets("mixture")["fig2"]["iterations"] == 5000 and budgets("mixture")["longer"]["iterations"] == 10_000
    assert all(type(value) in (int, str) for value in budgets("table2")["training"].values())


def test_the_size_trend_appendix_h_and_the_hardware_runs_have_sourced_entries():
    trend = stated_claims("table2", "size")
    assert {claim["metric"] for claim in trend} == {"fcd", "valid_unique", "novel"}
    assert all(claim["better"] == 16 and claim["worse"] == [32, 48]
               and claim["statement"].endswith("(as summarised in the papernotes digest of the paper)")
               for claim in trend)
    # The size claims are not latent comparisons: reported_comparisons leaves them out.
    claims = reported_comparisons("table2", "boson", {"fcd": True, "valid_unique": False, "novel": False},
                                  context=("size", "circuit"))
    assert all(isinstance(claim.better, str) for claim in claims)
    said = statements("table2")
    assert "MerLin reproduction" in said["appendix_h"]
    assert "no statistically significant difference" in said["appendix_h"]
    assert "MerLin reproduction" in said["hardware"]
    # Appendix H gives no learning rate or length: the file records that, with no number.
    assert budgets("table2")["fast"].keys() == {"source"} and "not stated" in budgets("table2")["fast"]["source"]


def test_provenance_tags_are_spelled_out_for_readers():
    from qlatent.paper import spell_out, stated_claims, statements

    assert spell_out("closes the gap (App. C) [Q].") == \
        "closes the gap (App. C) (as quoted from the paper in the independent MerLin reproduction)."
    assert spell_out("protocol [Q][S]") == ("protocol (as quoted from the paper in the independent MerLin "
                                            "reproduction and as summarised in the papernotes digest of the paper)")
    with pytest.raises(ValueError, match=r"undefined provenance tag\(s\) \[X\]"):
        spell_out("a claim [X]")
    said = [*statements("table2").values(), *(claim["statement"] for claim in stated_claims("mixture", "step"))]
    assert said and not any("[Q]" in text or "[S]" in text for text in said)
