"""Appendices F and G: the (family × latent × seed) grid, its tables, resumption, the ablation and the verdicts."""

import functools
import pickle

import numpy as np
import pandas as pd
import pytest

from qlatent.experiments import flows_diffusion as fd

pytestmark = pytest.mark.usefixtures("torch_one_thread")

FLOW = fd.FlowConfig(size=4, bank_size=300, n_train=200, n_reference=100, hidden=(8,), batch_size=32, n_steps=4,
                     log_every=2, eval_samples=60, curve_samples=40, w1_samples=50, n_fit=100, n_show=10)
DIFFUSION = fd.DiffusionConfig(size=4, bank_size=300, hidden=(16,), time_embedding=4, batch_size=16, n_steps=4,
                               log_every=2, eval_samples=40, curve_samples=20, classifier_hidden=(16,),
                               classifier_epochs=1, n_show=3)


@pytest.fixture(scope="module")
def tables(tmp_path_factory, torch_one_thread):
    root = tmp_path_factory.mktemp("flows")
    run = functools.partial(fd.run_experiment, ["flow_matching", "ddgan"], ["gaussian", "boson"], [0, 1],
                            flow=FLOW, diffusion=DIFFUSION, runs_dir=root / "runs", store=root / "samples",
                            progress=False)
    return run(), run


def test_tables_are_tidy_with_the_job_keys_first(tables):
    first, _ = tables
    assert list(first.runs.columns[:3]) == ["family", "latent", "seed"]
    flow_metrics = set(first.runs[first.runs["family"] == "flow_matching"]["metric"])
    assert set(fd.METRICS["flow_matching"]) | {"distinct_fraction", "nfe"} <= flow_metrics
    image_metrics = set(first.runs[first.runs["family"] == "ddgan"]["metric"])
    assert set(fd.METRICS["ddgan"]) <= image_metrics and {f"share_{d}" for d in range(10)} <= image_metrics
    assert sorted(first.curves[first.curves["family"] == "ddgan"]["step"].unique()) == [0, 2, 4]
    step0 = first.curves[first.curves["step"] == 0]
    assert step0[fd.CURVE_METRIC["flow_matching"]].notna().sum() == 4  # the untrained model, every run
    assert first.points.shape == (2 * 2 * 10, 6) and set(first.points["family"]) == {"flow_matching"}
    assert first.images.shape[0] == 2 * 2 * 3 and {"p0", "p63", "channels", "height", "width"} <= set(first.images)


def test_a_second_call_reloads_the_runs_unchanged(tables):
    first, run = tables
    again = run()
    pd.testing.assert_frame_equal(first.runs, again.runs)
    pd.testing.assert_frame_equal(first.curves, again.curves)


def test_train_one_is_picklable_for_parallel_executors(tmp_path):
    train_one = functools.partial(fd.train_run, flow=FLOW, diffusion=DIFFUSION, runs_dir=tmp_path)
    assert pickle.loads(pickle.dumps(train_one)).keywords["flow"] == FLOW


def test_ablation_reuses_the_chapter_runs_and_switches_one_option(tables, tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    variants = {"chapter": {}, "size 2, no dequantisation": {"size": 2, "dequantization": "none", "noise_scale": 0.0}}
    results = fd.run_flow_ablation(FLOW, variants, ["bernoulli"], [0], root / "runs", store=root / "samples",
                                   progress=False)
    distinct = results.runs[results.runs["metric"] == "distinct_fraction"].set_index("variant")["value"]
    assert distinct["chapter"] == 1.0
    assert distinct["size 2, no dequantisation"] <= 4 / FLOW.eval_samples  # two bits: at most four outputs
    again = fd.run_flow_ablation(FLOW, {"chapter": {}}, ["bernoulli"], [0], root / "runs", store=root / "samples",
                                 progress=False)
    assert len(list((root / "runs").iterdir())) == 2  # the chapter variant found its run
    pd.testing.assert_frame_equal(again.runs.drop(columns="variant"),
                                  results.runs[results.runs["variant"] == "chapter"].drop(columns="variant")
                                  .reset_index(drop=True))


def test_bad_grids_and_variants_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown family 'gan'; choose from flow_matching, ddgan"):
        fd.run_experiment(["gan"], ["gaussian"], [0], flow=FLOW, diffusion=DIFFUSION, runs_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown latent"):
        fd.run_experiment(["ddgan"], ["quantum"], [0], flow=FLOW, diffusion=DIFFUSION, runs_dir=tmp_path)
    with pytest.raises(ValueError, match="variant 'x' sets unknown field"):
        fd.run_flow_ablation(FLOW, {"x": {"depth": 3}}, ["gaussian"], [0], tmp_path)
    with pytest.raises(ValueError, match="latent size 4 differs from data size 2 and projection='none'"):
        fd.run_flow_ablation(FLOW, {"x": {"projection": "none"}}, ["gaussian"], [0], tmp_path)
    with pytest.raises(ValueError, match="batch_size=500 exceeds n_train=200"):
        fd.FlowConfig(n_train=200, batch_size=500)


def _synthetic(values, initial=10.0):
    """Runs and curves of one family from {latent: per-seed final values}."""
    runs, curves = [], []
    for latent, finals in values.items():
        for seed, final in enumerate(finals):
            runs.append({"family": "ddgan", "latent": latent, "seed": seed, "metric": "classifier_fd", "value": final})
            curves += [{"family": "ddgan", "latent": latent, "seed": seed, "step": 0, "eval_classifier_fd": initial},
                       {"family": "ddgan", "latent": latent, "seed": seed, "step": 100, "eval_classifier_fd": final}]
    return pd.DataFrame(runs), pd.DataFrame(curves)


def test_verdict_sentences_are_computed_from_the_tables():
    rng = np.random.default_rng(0)
    base = 2 + rng.normal(0, 0.3, 6)
    runs, curves = _synthetic({"gaussian": base, "boson": base + rng.normal(0, 0.3, 6),
                               "bernoulli": base + 1.0 + rng.normal(0, 0.05, 6)})
    sentence = fd.family_verdict(runs, curves, "ddgan")
    assert sentence.startswith("Training works with every latent: classifier fd fell")
    assert "bernoulli worse by" in sentence and ("boson behind by" in sentence or "boson ahead by" in sentence)
    works = fd.training_works(curves, "ddgan").set_index("latent")
    assert works.loc["bernoulli", "improved"] == 6 and works.loc["gaussian", "initial"] == 10.0
    runs, curves = _synthetic({"gaussian": [1.0, 1.1], "boson": [12.0, 1.0]})
    assert "boson in 1 of 2 seeds" in fd.family_verdict(runs, curves, "ddgan")
    with pytest.raises(ValueError, match="no 'sliced_wasserstein' results for family 'flow_matching'"):
        fd.family_verdict(runs, curves, "flow_matching")


def test_verdict_quotes_the_tables_final_scores_and_survives_a_missing_gaussian():
    runs, curves = _synthetic({"gaussian": [1.0, 1.2], "boson": [2.0, 2.2]})
    # The last curve evaluation (fewer samples) differs from the final score the table shows.
    curves.loc[curves["step"] == 100, "eval_classifier_fd"] += 0.5
    sentence = fd.family_verdict(runs, curves, "ddgan")
    assert "gaussian 10 → 1.1" in sentence and "boson 10 → 2.1" in sentence and "1.6" not in sentence
    alone = fd.family_verdict(runs[runs["latent"] == "boson"], curves[curves["latent"] == "boson"], "ddgan")
    assert "comparison with the gaussian latent was not run" in alone
