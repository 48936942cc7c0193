"""The chapter layer (qlatent.book): pure functions on small tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qlatent.book import claims, evidence, verdicts
from qlatent.book.evidence import Evidence


def _source(tables, parameters=None, chapter="04_discrete", recorded=True):
    return Evidence(chapter, "recorded standard" if recorded else "this run (quick)", "standard", recorded,
                    parameters or {}, tables)


def _runs(values):
    """Tidy Table I runs: {(dataset, latent): [per-seed l1_integer]}."""
    return pd.DataFrame([{"dataset": dataset, "latent": latent, "seed": seed, "metric": "l1_integer", "value": v}
                         for (dataset, latent), series in values.items() for seed, v in enumerate(series)])


# --- evidence ---------------------------------------------------------------------------------------

def test_evidence_without_a_recording_is_this_run(monkeypatch):
    import qlatent.recording

    class Store:
        def load_table(self, name):
            return pd.DataFrame({"name": [name]})

    monkeypatch.setattr(qlatent.recording, "largest_recording", lambda chapter, profiles=(): None)
    source = evidence.evidence("04_discrete", {"profile": "quick", "n_steps": 5}, Store(), tables=["runs"])
    assert (source.label, source.recorded, source.note) == ("this run (quick)", False, "")
    assert list(source.tables["runs"]["name"]) == ["runs"] and source.parameters["n_steps"] == 5


def test_a_missing_sample_table_is_named_in_one_line():
    source = _source({"points": pd.DataFrame({"x": [1.0]}), "empty": pd.DataFrame()})
    table, note = evidence.sample_table(source, "points", "generated points")
    assert len(table) == 1 and note == ""
    for name in ("smiles", "empty"):
        table, note = evidence.sample_table(source, name, "generated molecules")
        assert table is None and "\n" not in note
        assert note.startswith("The recorded standard run keeps no generated molecules")


def test_budget_is_a_share_of_the_papers():
    assert evidence.budget("Table II", {"n_steps": 1000, "seeds": [0, 1, 2, 3, 4]}) == \
        "1,000 of 20,000 iterations (5 %), 5 of 20 seeds (25 %)"
    # a seeds mapping counts its smallest list; a section without a published budget says nothing
    assert evidence.budget("Table I", {"n_steps": 2000, "seeds": {"quantum": [0, 1], "bernoulli": [0]}}) == \
        "2,000 of 40,000 iterations (5 %), 1 of 12 seeds (8 %)"
    assert evidence.budget("App. G", {"flow_steps": 6000}) == ""
    assert evidence.budget("Table II", {"n_steps": 1000, "seeds": [0, 1, 2, 3, 4]}, compact=True) == \
        "5 % of the iterations, 25 % of the seeds"


# --- verdicts ---------------------------------------------------------------------------------------

def test_comparison_reads_like_the_claim():
    assert verdicts.comparison({"better": "boson", "worse": "bernoulli", "metric": "fcd", "size": 16.0,
                                "axis": "latent"}) == "boson vs bernoulli, fcd, size 16"
    assert verdicts.comparison({"better": 7, "worse": 1, "metric": "between_modes", "axis": "depth"}) == \
        "depth 7 vs depth 1, between_modes"
    assert verdicts.comparison({"better": "size 16", "worse": "size 32", "metric": "fcd", "control": "gaussian",
                                "axis": float("nan")}) == "size 16 vs size 32, fcd, boson against gaussian"
    assert verdicts.comparison({"better": "boson", "worse": "g", "metric": "l1", "kind": "no difference"}) == \
        "boson vs g (the paper: no difference), l1"
    assert verdicts.comparison({"section": "hardware"}) == "the paper's hardware"


def test_verdict_lines_are_short_with_the_details_collapsed():
    table = pd.DataFrame([{"better": "boson", "worse": "bernoulli", "metric": "fcd", "size": 16,
                           "verdict": "too few seeds to tell", "evidence": "5 of 5 seeds favour boson, p = 0.055",
                           "sentence": "**too few seeds to tell** (boson vs bernoulli) — a long account <b>."}])
    text = verdicts.verdict_lines(table)
    first = text.splitlines()[0]
    assert first == ("* **too few seeds to tell** — boson vs bernoulli, fcd, size 16: "
                     "5 of 5 seeds favour boson, p = 0.055")
    assert len(first.split()) <= 25
    assert "<details><summary>How each verdict was reached</summary>" in text and "a long account" in text
    assert verdicts.verdict_lines(table.iloc[0:0]) == ""


def test_discrete_verdicts_mark_their_section():
    rng = np.random.default_rng(0)
    runs = _runs({("quantum", "boson"): 0.03 + rng.normal(0, 0.001, 6),
                  ("quantum", "gaussian"): 0.06 + rng.normal(0, 0.001, 6)})
    table = verdicts.discrete_verdicts(_source({"runs": runs}))
    assert set(table["section"]) == {"Table I"}
    quantum = table[(table["dataset"] == "quantum") & (table["worse"] == "gaussian")].iloc[0]
    assert quantum["verdict"] == "reproduces" and quantum["evidence"].startswith("6 of 6 seeds favour boson")
    # comparisons with a latent these runs lack are listed, not lost
    assert set(table.loc[table["worse"] == "bernoulli", "verdict"]) == {"not run"}


def test_flows_verdicts_need_runs_of_each_family():
    curves = pd.DataFrame({"family": "ddgan", "latent": "boson", "seed": [0, 0, 1, 1], "step": [0, 10, 0, 10],
                           "eval_classifier_fd": [5.0, 1.0, 5.0, 1.0]})
    from qlatent.experiments import flows_diffusion as fd

    curves = curves.rename(columns={"eval_classifier_fd": fd.CURVE_METRIC["ddgan"]})
    table = verdicts.flows_verdicts(_source({"curves": curves}, chapter="06_flows_diffusion")).set_index("section")
    assert table.loc["App. F", "verdict"] == "reproduces"
    assert table.loc["App. F", "evidence"] == "training improved on the untrained model in 2 of 2 runs"
    assert table.loc["App. G", "verdict"] == "not run" and table.loc["App. G", "evidence"] == "no flow_matching runs"


def test_chapter_verdicts_label_the_source_and_refuse_an_unknown_chapter():
    runs = _runs({("quantum", "boson"): [0.03, 0.031], ("quantum", "gaussian"): [0.06, 0.062]})
    assert set(verdicts.chapter_verdicts(_source({"runs": runs}))["source"]) == {"recorded standard"}
    with pytest.raises(KeyError):
        verdicts.chapter_verdicts(_source({}, chapter="01_interference"))


# --- claims -----------------------------------------------------------------------------------------

def _table_ii_row(**overrides):
    row = {"section": "Table II", "better": "boson", "worse": "bernoulli", "metric": "fcd", "size": 16,
           "axis": "latent", "verdict": "too few seeds to tell", "evidence": "5 of 5 seeds favour boson, p = 0.055",
           "sentence": "s", "mean": 0.5, "sd": 0.4, "n": 5, "better_level": 1.0, "paper_difference": 0.662,
           "paper_reference": 1.16, "paper_margin": 0.2}
    return {**row, **overrides}


def test_claims_without_a_verdict_table_are_not_run():
    table = claims.claims_table({"05_qm9": pd.DataFrame([_table_ii_row()])},
                                {"05_qm9": {"n_steps": 1000, "seeds": [0, 1, 2, 3, 4]}})
    assert list(table["section"]) == [section for section, _ in verdicts.SECTIONS]  # one row each here
    by_section = table.set_index("section")
    assert by_section.loc["Table II", "verdict"] == "too few seeds to tell"
    assert by_section.loc["Table II", "budget"] == "5 % of the iterations, 25 % of the seeds"
    assert by_section.loc["Fig. 2", "verdict"] == "not run"
    assert by_section.loc["Fig. 2", "evidence"] == "no recording of this chapter"
    assert by_section.loc["size trend", "evidence"] == "not in this chapter's recording"
    assert by_section.loc["Fig. 2", "budget"] == ""
    assert "ORCA PT-2" in by_section.loc["hardware", "sentence"]  # the paper's statement, from the file


def test_relative_effects_scale_by_each_sides_level():
    table = pd.DataFrame([_table_ii_row(), _table_ii_row(mean=float("nan"), paper_difference=None)])
    effects = claims.relative_effects(table)
    first = effects.iloc[0]
    from scipy.stats import t

    half = t.ppf(0.975, 4) * 0.4 / np.sqrt(5)
    assert first["ours"] == pytest.approx(0.5)
    assert (first["ours_low"], first["ours_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert first["paper"] == pytest.approx(0.662 / 1.16)
    assert first["paper_high"] - first["paper"] == pytest.approx(1.959964 * 0.1 / 1.16, rel=1e-5)
    assert effects.iloc[1].isna().all()
    # a two-sample row (the size trend) uses its own standard error and degrees of freedom
    trend = claims.relative_effects(pd.DataFrame([_table_ii_row(se=0.1, df=6.0)])).iloc[0]
    assert trend["ours_high"] - trend["ours"] == pytest.approx(t.ppf(0.975, 6) * 0.1)


def test_claims_html_links_each_section_and_escapes_text():
    table = claims.claims_table({"05_qm9": pd.DataFrame([_table_ii_row(evidence="a <b> & c")])}, {})
    page = claims.claims_html(table[table["section"] == "Table II"])
    assert '<a href="05_qm9.html">Table II</a>' in page
    assert "a &lt;b&gt; &amp; c" in page and "+57 %" in page and "+50 % (" in page
    assert "<strong>too few seeds to tell</strong>" in page


def test_vocabulary_lists_every_verdict_once():
    from qlatent.stats import VERDICTS

    text = claims.vocabulary_markdown()
    assert [line.split("**")[1] for line in text.splitlines()] == list(VERDICTS)


def test_forest_plot_needs_an_effect_on_both_sides():
    import matplotlib

    matplotlib.use("Agg")
    table = pd.DataFrame([_table_ii_row(), _table_ii_row(paper_difference=None)]).assign(claim="c")
    figure = claims.forest_plot(table)
    assert len(figure.axes[0].get_yticklabels()) == 1
    with pytest.raises(ValueError, match="no comparison has both"):
        claims.forest_plot(table.iloc[1:])


def test_a_notebook_reading_other_recordings_is_fingerprinted_on_them(tmp_path, monkeypatch):
    from qlatent.runner import execution
    from qlatent.runner.errors import RunnerError

    notebook = tmp_path / "00_page.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {"qlatent": {"reads_recordings": ["03_x"]}}}))
    files = {"03_x": {"standard/runs.csv": "a"}}
    monkeypatch.setattr(execution, "recorded_files", lambda name: files.get(name, {}))
    monkeypatch.setattr(execution, "code_fingerprint", lambda: "code")
    assert execution.recordings_read(notebook) == ["03_x"]
    before = execution.execution_fingerprint(notebook, {})
    files["03_x"] = {"standard/runs.csv": "b"}
    assert execution.execution_fingerprint(notebook, {}) != before
    notebook.write_text(json.dumps({"cells": [], "metadata": {"qlatent": {"reads_recordings": "03_x"}}}))
    with pytest.raises(RunnerError, match="reads_recordings must be a list"):
        execution.recordings_read(notebook)


def test_a_glue_name_no_output_defines_fails_the_build_with_its_name(tmp_path):
    from qlatent.runner.book import check_glue, undefined_glue
    from qlatent.runner.errors import RunnerError

    glued = {"output_type": "display_data", "data": {}, "metadata": {"scrapbook": {"name": "finding"}}}
    notebook = {"cells": [
        {"cell_type": "markdown", "source": "We find {glue:md}`finding` and {glue:text}`budget`, "
                                            "{glue:text}`finding:.2f` and {glue:text}`rate:,.0f`.\n"
                                            "```{glue:md} details\n:format: myst\n```\n{glue:}`other.ipynb::x`"},
        {"cell_type": "code", "source": "", "outputs": [glued]}]}
    assert undefined_glue(notebook) == ["budget", "details", "rate"]
    (tmp_path / "05_page.ipynb").write_text(json.dumps(notebook))
    with pytest.raises(RunnerError, match=r"05_page: budget, details, rate"):
        check_glue(tmp_path)
    notebook["cells"][0]["source"] = "We find {glue:md}`finding`."
    (tmp_path / "05_page.ipynb").write_text(json.dumps(notebook))
    check_glue(tmp_path)


# --- pages ------------------------------------------------------------------------------------------

def _verdict_rows():
    return pd.DataFrame([
        {"better": "boson", "worse": "distinguishable", "metric": "valid_unique", "size": 16,
         "verdict": "opposite direction, not significant",
         "evidence": "5 of 5 seeds favour distinguishable, p = 0.052"},
        {"better": "boson", "worse": "bernoulli", "metric": "fcd", "size": 16, "verdict": "reproduces",
         "evidence": "5 of 5 seeds favour boson, p = 0.01"},
        {"better": "boson", "worse": "gaussian", "metric": "fcd", "size": 16, "verdict": "reproduces", "evidence": "e"},
    ])


def test_verdict_counts_and_what_points_against_the_paper():
    from qlatent.book import pages

    assert pages.collapsed("* a", "All") == "<details><summary>All</summary>\n\n* a\n\n</details>\n"
    rows = _verdict_rows()
    assert pages.verdict_counts(rows) == "2 reproduce and 1 opposite direction, not significant, of 3"
    assert pages.verdict_counts(rows.iloc[1:2]) == "1 reproduces, of 1"
    assert pages.against_the_paper(rows) == ("boson vs distinguishable, valid_unique, size 16 "
                                             "(5 of 5 seeds favour distinguishable, p = 0.052)")
    assert pages.against_the_paper(rows.iloc[1:]) == ""


def test_agreement_with_an_independent_reproduction():
    from qlatent.book import pages

    ours = pd.DataFrame({"latent": ["a", "b", "c"], "metric": "m", "mean": [0.36, 0.24, 0.5], "se": [0.01, 0.01, 0.1]})
    theirs = pd.DataFrame({"latent": ["a", "b"], "metric": "m", "value": [0.383, 0.123], "se": [0.007, 0.029]})
    table = pages.agreement(ours, theirs, "m")
    assert list(table["latent"]) == ["a", "b"] and list(table["agrees"]) == [True, False]
    assert table["difference"].tolist() == pytest.approx([-0.023, 0.117])
    assert pages.agreement_sentence(table, "m", "R") == ("agrees with R on m for 1 of 2 latents (within 2 combined "
                                                         "standard errors; ours − theirs: a -0.023, b +0.12)")


def test_choices_show_the_parameters_of_the_evidence():
    from qlatent.book import pages

    source = _source({}, {"n_critic": 5, "betas": [0.9, 0.999]})
    table = pages.choices_table(source, {"critic updates": "n_critic", "Adam": ["betas", "eps"]})
    assert list(table.columns) == ["recorded standard"]
    assert table.loc["critic updates", "recorded standard"] == "n_critic = 5"
    assert table.loc["Adam", "recorded standard"] == "betas = [0.9, 0.999], eps: not recorded"


def test_how_this_page_was_made_gives_commands_and_parameters():
    from qlatent.book import pages

    recorded = pages.how_made(_source({}, {"n_steps": 1000}, chapter="05_qm9"), {"profile": "quick", "n_steps": 60})
    assert recorded.startswith("<details><summary>How this page was made</summary>")
    assert "`qlatent record 05_qm9 --profile standard`" in recorded and '{"n_steps": 1000}' in recorded
    assert "pipeline runs" in recorded and '{"n_steps": 60, "profile": "quick"}' in recorded
    own = pages.how_made(_source({}, {}, chapter="05_qm9", recorded=False), {"profile": "quick"})
    assert "No recording of this chapter exists" in own and "`qlatent run 05_qm9`" in own


def test_parameters_are_read_from_the_parameters_cell_and_make_configs():
    from dataclasses import dataclass

    from qlatent.book import pages
    from qlatent.runner.execution import declared_parameters, resolve_notebook

    declared = declared_parameters(*resolve_notebook("04_discrete"))
    namespace = {key: index for index, key in enumerate(declared)} | {"unrelated": 1}
    assert pages.parameters_of("04_discrete", namespace) == {key: index for index, key in enumerate(declared)}
    with pytest.raises(KeyError):
        pages.parameters_of("04_discrete", {})

    @dataclass(frozen=True)
    class Config:
        hidden: tuple[int, ...] = (1,)
        rate: float = 0.1

    assert pages.config_from(Config, {"hidden": [4, 4], "rate": 0.5, "other": 1}) == Config((4, 4), 0.5)


def test_a_run_of_the_recorded_profile_is_its_own_evidence(monkeypatch):
    import qlatent.recording
    from qlatent.recording import Recording

    recording = Recording("04_discrete", "standard", {"parameters": {"n_steps": 2000}, "recorded_at": "2026",
                                                     "environment": {}, "machine": {"cpus": 2, "processor": "x"}})
    monkeypatch.setattr(qlatent.recording, "largest_recording", lambda chapter, profiles=(): recording)
    monkeypatch.setattr(Recording, "describe", lambda self: "described")

    class Store:
        def load_table(self, name):
            return pd.DataFrame()

    assert evidence.evidence("04_discrete", {"profile": "quick"}).label == "recorded standard"
    assert evidence.evidence("04_discrete", {"profile": "standard"}, Store(), ["runs"]).label == "this run (standard)"
    assert evidence.evidence("04_discrete", {"profile": "paper"}, Store(), ["runs"]).recorded is False


def test_sample_rows_keep_the_first_rows_of_each_run():
    table = pd.DataFrame({"latent": ["a"] * 3 + ["b"] * 2, "seed": 0, "smiles": list("vwxyz")})
    assert list(evidence.sample_rows(table, ["latent", "seed"], 2)["smiles"]) == ["v", "w", "y", "z"]
    with pytest.raises(ValueError, match="n must be positive"):
        evidence.sample_rows(table, ["latent"], 0)


# --- the mixture chapter's verdicts, and figures ------------------------------------------------------

def _mixture_source(distinguishable_gap):
    """Curves at depth 2 for boson and distinguishable (and Gaussian at depths 1 and 7), two steps."""
    rows = []
    for seed in range(5):
        for step, boson in ((5000, 0.10), (10000, 0.10)):
            rows.append({"latent": "boson", "depth": 2, "seed": seed, "step": step, "eval_between_modes": boson})
            rows.append({"latent": "distinguishable", "depth": 2, "seed": seed, "step": step,
                         "eval_between_modes": boson + distinguishable_gap + 0.001 * seed})
            for depth, value, spread in ((1, 0.9, 0.01), (7, 0.2, 0.013)):
                rows.append({"latent": "gaussian", "depth": depth, "seed": seed, "step": step,
                             "eval_between_modes": value + spread * seed ** 2})
    curves = pd.DataFrame(rows)
    for metric in ("modes_covered", "mmd"):
        curves[f"eval_{metric}"] = 0.0
    runs = curves.groupby(["latent", "depth"], as_index=False)["step"].max().rename(columns={"step": "n_steps"})
    return _source({"runs": runs, "curves": curves}, {"compare_step": 5000}, chapter="03_mixture")


def test_mixture_verdicts_cover_fig1_fig2_and_app_c():
    table = verdicts.mixture_verdicts(_mixture_source(-0.02)).set_index("section")
    assert table.loc["Fig. 1", "verdict"] == "reproduces"
    assert table.loc["App. C", "verdict"] == "premise not met"
    fig2 = table.loc[["Fig. 2"]]
    assert set(fig2.loc[fig2["worse"] == "gaussian", "verdict"]) == {"not run"}  # no Gaussian at depth 2
    assert verdicts.longer_training(_mixture_source(-0.02))["latent"].tolist() == []  # no Gaussian at depth 2
    opened = verdicts.mixture_verdicts(_mixture_source(0.05)).set_index("section")
    assert opened.loc["App. C", "verdict"] != "premise not met"


def test_figures_draw_from_saved_tables():
    import matplotlib

    matplotlib.use("Agg")
    from qlatent.book import figures

    panel = pd.DataFrame({"latent": ["a", "b"] * 4, "seed": [0, 0, 1, 1] * 2, "x": 0.0, "y": 0.0})
    density = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})
    assert figures.points_panel(panel, density, "latent", [0, 1], ["b", "a"]).axes[0].get_title() == "b, seed 0"
    assert len(figures.points_panel(panel, density, "latent", [9]).axes) == 2  # an absent seed falls back
    with pytest.raises(ValueError, match="no generated points"):
        figures.points_panel(panel.iloc[0:0], density, "latent", [0])
    curves = pd.DataFrame({"latent": "a", "seed": [0, 0, 1, 1], "step": [0, 1, 0, 1], "score": [2.0, 1.0, 2.0, 1.0],
                           "dataset": "q"})
    assert figures.training_curves(curves, "score", ["a"], "score").axes[0].get_ylabel() == "score"
    assert len(figures.curves_by(curves, "score", ["a"], "dataset", "score").axes) == 1
    gaps = curves.rename(columns={"score": "value"})
    assert figures.paired_gap(gaps, "dataset", "gap").axes[0].get_ylabel() == "gap"
    scores = pd.DataFrame({"depth": [1, 7], "seed": 0, "metric": "m", "value": [1.0, 0.5]})
    assert [ax.get_title() for ax in figures.metric_by(scores, "depth", ["m"], "depth").axes] == ["m"]
    summary = pd.DataFrame({"size": [16, 32], "latent": "boson", "metric": "fcd", "mean": [1.0, 1.2], "se": 0.1})
    paper = pd.DataFrame({"size": [16], "latent": "boson", "metric": "fcd", "value": [1.16], "se": [0.06]})
    assert figures.by_size(summary, paper, {"fcd": True}).axes[0].get_title() == "fcd (lower is better)"
    with pytest.raises(ValueError, match="no molecules"):
        figures.molecule_grid(pd.DataFrame({"latent": [], "smiles": []}), ["boson"])
    molecules = pd.DataFrame({"latent": ["boson"] * 3, "smiles": ["C", "C", "CO"], "qed": 0.5, "logp": 0.1, "sa": 2.0})
    assert "2 distinct among 3" in figures.molecule_grid(molecules, ["boson"]).axes[0].get_title(loc="left")
    reference = pd.DataFrame({"qed": [0.4, 0.6], "logp": [0.0, 0.2], "sa": [2.0, 3.0]})
    assert len(figures.property_histograms(reference, molecules, ["boson"]).axes) == 3


def test_sample_figures_of_the_flows_chapter():
    import matplotlib

    matplotlib.use("Agg")
    from qlatent.book import figures

    points = pd.DataFrame({"latent": ["a", "a", "b"], "seed": [1, 0, 0], "x": [5.0, 0.0, 1.0], "y": 0.0})
    fig = figures.points_by(points, "latent", ["b", "a", "z"], np.zeros((2, 2)), lambda value: "red")
    assert [ax.get_title() for ax in fig.axes] == ["b", "a"]
    assert fig.axes[1].collections[1].get_offsets()[:, 0].tolist() == [0.0]  # the smallest seed only
    images = pd.DataFrame({"latent": "a", "seed": 0, "index": [1, 0], "channels": 1, "height": 1, "width": 2,
                           "p0": [-1.0, 1.0], "p1": [1.0, -1.0]})
    canvas = figures.image_rows(images, ["a"], rows=1).axes[0].images[0].get_array()
    assert canvas.shape == (2, 6) and canvas[0, :2].tolist() == [1.0, 0.0]  # index 0 first, rescaled to [0, 1]
    runs = pd.DataFrame({"latent": ["a", "a", "b"], "seed": 0, "metric": ["share_0", "share_1", "share_0"],
                         "value": [0.4, 0.6, 1.0]})
    heat = figures.class_shares(runs, ["b", "a"])
    assert [label.get_text() for label in heat.axes[0].get_yticklabels()] == ["b", "a"]


def test_the_qm9_choices_name_declared_parameters_and_pt2_postselection_needs_pt2_jobs():
    from qlatent.experiments import qm9
    from qlatent.runner.execution import declared_parameters, resolve_notebook

    declared = set(declared_parameters(*resolve_notebook("05_qm9")))
    named = {name for names in qm9.CHOICES.values() for name in ([names] if isinstance(names, str) else names)}
    assert named <= declared, named - declared
    table = qm9.pt2_postselection(qm9.QM9Config(), [{"latent": "boson", "size": 16, "circuit": "haar", "seed": 0}])
    assert table.empty and "acceptance" in table.columns
