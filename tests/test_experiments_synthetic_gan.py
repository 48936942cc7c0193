"""The synthetic-dataset GAN benchmark on a tiny configuration."""

import dataclasses

import numpy as np
import pytest
import torch

from qlatent.data.synthetic import SyntheticRecipe, load_synthetic
from qlatent.experiments import synthetic_gan as sg

TINY = sg.GANExperimentConfig(
    dataset=SyntheticRecipe(n_photons=2, n_modes=4, n_samples=400, data_dim=3, hidden=(8,), seed=1),
    bank_size=300, generator_hidden=(8,), critic_hidden=(8,), n_steps=4, batch_size=32, n_critic=2,
    eval_samples=60, log_every=2,
)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("QLATENT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "samples"


def test_every_latent_has_the_mode_dimension(store):
    for name in sg.LATENTS:
        latent = sg.make_latent(name, TINY, store)
        draws = latent.sample(5, torch.Generator().manual_seed(0))
        assert draws.shape == (5, 4), name
    with pytest.raises(ValueError, match="unknown latent 'cauchy'"):
        sg.make_latent("cauchy", TINY, store)


def test_latent_banks_are_other_samples_of_the_same_source(store):
    dataset = load_synthetic(TINY.dataset, store=store)
    latent = sg.make_latent("boson-indistinguishable", TINY, store)
    assert latent.n_rows == 300
    assert latent.source["interferometer"] == dataset.metadata["interferometer"]
    assert latent.source["sample_set"] != dataset.metadata["sample_set"]
    distinguishable = sg.make_latent("boson-distinguishable", TINY, store)
    assert distinguishable.source["interferometer"] == dataset.metadata["interferometer"]


def test_benchmark_tables_and_resume(store, tmp_path):
    runs, curves = sg.run_benchmark(TINY, ["boson-indistinguishable", "gaussian"], [0, 1], tmp_path / "runs",
                                    store, progress=False)
    assert set(runs.columns) == {"latent", "seed", "metric", "value"}
    assert len(runs) == 2 * 2 * len(sg.METRICS) and set(runs["metric"]) == set(sg.METRICS)
    assert np.isfinite(runs["value"]).all()
    assert set(curves["step"]) == {2, 4} and "eval_sliced_wasserstein" in curves
    again, _ = sg.run_benchmark(TINY, ["boson-indistinguishable", "gaussian"], [0, 1], tmp_path / "runs",
                                store, progress=False)
    np.testing.assert_array_equal(runs["value"].to_numpy(), again["value"].to_numpy())  # resumed runs reload
    assert len(list((tmp_path / "runs").iterdir())) == 4


def test_config_changes_make_new_run_directories():
    longer = dataclasses.replace(TINY, n_steps=8)
    assert longer.fingerprint() != TINY.fingerprint()


def test_bad_config_and_latents(store, tmp_path):
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        dataclasses.replace(TINY, n_steps=0)
    with pytest.raises(ValueError, match="partial_indistinguishability must be in"):
        dataclasses.replace(TINY, partial_indistinguishability=1.5)
    with pytest.raises(ValueError, match="unknown latent"):
        sg.run_benchmark(TINY, ["gaussian", "laplace"], [0], tmp_path, store, progress=False)
