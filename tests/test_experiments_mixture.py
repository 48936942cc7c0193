"""Fig. 1 / Fig. 2 runs on tiny settings: the job grid, tables with generated points, bad input."""

import dataclasses

import pytest

from qlatent.experiments.mixture import MixtureConfig, mixture_jobs, run_mixture

pytestmark = pytest.mark.usefixtures("torch_one_thread")

TINY = MixtureConfig(n_train=500, n_reference=300, bank_size=300, width=16, batch_size=16,
                     eval_samples=200, curve_samples=100, log_every=2, panel_points=50)


def test_jobs_cover_both_figures_once_with_the_longer_length():
    jobs = mixture_jobs(["gaussian", "boson"], depths=[1, 2, 3], seeds=[0, 1], latent_steps=10, depth_steps=5)
    runs = [(job["latent"], job["depth"], job["n_steps"]) for job in jobs[::2]]
    assert runs == [("gaussian", 2, 10), ("boson", 2, 10), ("gaussian", 1, 5), ("gaussian", 3, 5)]
    assert len(jobs) == 8 and list(jobs[0]) == ["latent", "depth", "n_steps", "seed"]


def test_runs_give_scores_curves_and_panel_points(tmp_path):
    jobs = mixture_jobs(["gaussian", "boson"], depths=[1], seeds=[0], latent_steps=4, depth_steps=2)
    results = run_mixture(TINY, jobs, tmp_path / "runs", store=tmp_path / "samples", progress=False)
    runs = results.runs
    assert list(runs.columns[:4]) == ["latent", "depth", "n_steps", "seed"] and len(runs) == 3 * 3
    assert runs[runs["metric"] == "between_modes"]["value"].between(0, 1).all()
    assert set(results.curves["step"]) == {2, 4} and "eval_between_modes" in results.curves
    assert set(results.curves.loc[results.curves["depth"] == 1, "step"]) == {2}
    assert len(results.samples) == 3 * 50 and {"x", "y"} <= set(results.samples.columns)


def test_a_shorter_grid_after_a_longer_one_equals_the_fresh_shorter_grid(tmp_path):
    """Run folders are keyed without the length: the quick grid after a custom longer one is the fresh quick grid."""
    def grid(runs_dir, steps):
        jobs = mixture_jobs(["boson"], depths=[1], seeds=[0], latent_steps=steps, depth_steps=2)
        return run_mixture(TINY, jobs, runs_dir, store=tmp_path / "samples", progress=False)

    grid(tmp_path / "runs", 6)
    shorter, fresh = grid(tmp_path / "runs", 4), grid(tmp_path / "fresh", 4)
    assert shorter.runs.equals(fresh.runs) and shorter.samples.equals(fresh.samples)
    assert shorter.curves.equals(fresh.curves) and shorter.curves["step"].max() == 4


def test_the_paper_protocol_is_the_default():
    config = MixtureConfig()
    assert (config.latent_size, config.n_photons, config.circuit, config.width) == (16, 8, "1-3-9", 256)
    assert (config.batch_size, config.betas, config.learning_rate) == (32, (0.0, 0.9), 5e-4)
    model = config.model_config(depth=7)
    assert model.generator_hidden == (256,) * 7 and model.critic_hidden == (256, 256)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: mixture_jobs(["gaussian", "cauchy"], [1], [0], 5, 5), r"unknown latent\(s\) 'cauchy'"),
    (lambda: mixture_jobs(["gaussian"], [0], [0], 5, 5), "depth must be a positive integer"),
    (lambda: mixture_jobs(["gaussian"], [1], [], 5, 5), "need at least one of seeds"),
    (lambda: mixture_jobs(["gaussian"], [1], [0], 0, 5), "latent_steps must be a positive integer"),
    (lambda: dataclasses.replace(TINY, circuit="1-3-19"), "circuit '1-3-19' has a loop of 19 time bins"),
    (lambda: dataclasses.replace(TINY, n_photons=9), "input_pattern 'alternate' puts 9 photons"),
    (lambda: dataclasses.replace(TINY, log_every=-5), "log_every must be a positive integer"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
