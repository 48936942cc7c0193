"""Table I's runs on tiny settings: tables, resumable and extendable runs, bad input before training."""

import dataclasses

import pytest

from qlatent.experiments.discrete import DiscreteConfig, run_table1, table1_jobs, train_run

pytestmark = pytest.mark.usefixtures("torch_one_thread")

TINY = DiscreteConfig(size=4, n_train=400, n_reference=300, bank_size=500, hidden=(16,), n_steps=4, batch_size=50,
                      eval_samples=300, curve_samples=100, log_every=2)


def test_table_has_one_row_per_run_and_metric(tmp_path):
    results = run_table1(TINY, {"quantum": [0, 1], "bernoulli": [0]}, ["gaussian", "boson"], tmp_path / "runs",
                         store=tmp_path / "samples", progress=False)
    runs = results.runs
    assert list(runs.columns[:3]) == ["dataset", "latent", "seed"]
    assert len(runs) == 6 * 4 and not runs.duplicated(["dataset", "latent", "seed", "metric"]).any()
    l1 = runs[runs["metric"] == "l1_integer"]["value"]
    assert l1.between(0, 0.5).all()
    assert set(results.curves["step"]) == {2, 4} and "eval_l1_integer" in results.curves


def test_runs_resume_and_extend_to_more_iterations(tmp_path):
    kwargs = dict(runs_dir=tmp_path / "runs", store=tmp_path / "samples")
    first = train_run("quantum", "boson", 0, config=TINY, **kwargs)
    again = train_run("quantum", "boson", 0, config=TINY, **kwargs)  # reloaded, not retrained
    assert first.scores == again.scores
    longer = dataclasses.replace(TINY, n_steps=6, eval_samples=200)
    extended = train_run("quantum", "boson", 0, config=longer, **kwargs)
    assert list(extended.curve["step"]) == [2, 4, 6]
    assert extended.curve.iloc[:2].equals(first.curve)
    assert len(list((tmp_path / "runs").iterdir())) == 1  # the same run, extended
    train_run("quantum", "boson", 0, config=dataclasses.replace(TINY, constraint="weight-clipping"), **kwargs)
    assert len(list((tmp_path / "runs").iterdir())) == 2  # another constraint: a fresh run


def test_a_shorter_run_after_a_longer_one_is_the_fresh_shorter_run(tmp_path):
    """`qlatent run 04_discrete -p n_steps 250`, then the quick profile's 200: the same run folder
    (keyed without the length) gives the shorter run, identical to a fresh one."""
    kwargs = dict(store=tmp_path / "samples")
    train_run("quantum", "boson", 0, config=dataclasses.replace(TINY, n_steps=6), runs_dir=tmp_path / "runs", **kwargs)
    shorter = train_run("quantum", "boson", 0, config=TINY, runs_dir=tmp_path / "runs", **kwargs)
    fresh = train_run("quantum", "boson", 0, config=TINY, runs_dir=tmp_path / "fresh", **kwargs)
    assert shorter.scores == fresh.scores
    assert shorter.curve.equals(fresh.curve) and list(shorter.curve["step"]) == [2, 4]


def test_paper_protocol_is_the_default():
    config = DiscreteConfig()
    assert (config.size, config.hidden, config.activation, config.batch_size) == (16, (512, 512), "relu", 500)
    assert (config.n_steps, config.n_critic, config.optimizer, config.learning_rate) == (40_000, 5, "rmsprop", 5e-4)


@pytest.mark.parametrize(("seeds", "latents", "message"), [
    ({"images": [0]}, ["boson"], r"unknown dataset\(s\) 'images'"),
    ({"quantum": [0]}, ["boson", "laplace"], r"unknown latent\(s\) 'laplace'"),
    ({"quantum": []}, ["boson"], "dataset 'quantum' has no seeds"),
    ([0, 1], ["boson"], "seeds must map each dataset"),
    ({"quantum": [0]}, [], "need at least one latent"),
])
def test_bad_grids_are_refused_before_training(seeds, latents, message):
    with pytest.raises(ValueError, match=message):
        table1_jobs(seeds, latents)


@pytest.mark.parametrize(("changes", "message"), [
    ({"n_steps": 0}, "n_steps must be a positive integer"),
    ({"size": 5}, "size=5 is odd"),
    ({"batch_size": 1000}, "batch_size=1000 exceeds n_train=400"),
    ({"constraint": "clip"}, "constraint must be one of"),
    ({"centring": "median"}, "centring must be one of"),
])
def test_bad_configs(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **changes)
