"""The QM9 MolGAN benchmark on a tiny user SMILES file (no full-QM9 featurisation in CI)."""

import dataclasses

import numpy as np
import pytest

from qlatent.experiments import qm9_molgan as qm

SMILES = ["C", "CC", "CO", "CCO", "CCC", "CC=O", "C#N", "CCN", "OCCO", "CC(C)C", "C1CC1", "C1CO1", "CC#C",
          "NC=O", "CCCO", "CC(O)C", "C1CCC1", "OC=O", "CN(C)C", "CCOC", "N#CC#N", "C=CC=C", "CC1CC1", "OCC=O"]

TINY = qm.MolGANExperimentConfig(
    qm9_subset=None, n_photons=2, n_modes=4, bank_size=200, generator_hidden=(16,), conv_hidden=(8,),
    aggregation_dim=8, dense_hidden=(8,), n_steps=3, batch_size=8, eval_samples=40, curve_samples=10, log_every=1,
)


@pytest.fixture
def tiny_qm9(tmp_path, monkeypatch):
    csv = tmp_path / "mini.csv"
    csv.write_text("smiles\n" + "\n".join(SMILES) + "\n")
    monkeypatch.setenv("QLATENT_QM9", str(csv))
    monkeypatch.setenv("QLATENT_CACHE", str(tmp_path / "cache"))
    qm._dataset.cache_clear()
    yield tmp_path
    qm._dataset.cache_clear()


def test_benchmark_tables(tiny_qm9):
    results = qm.run_benchmark(TINY, ["boson", "gaussian"], [0], tiny_qm9 / "runs",
                               store=tiny_qm9 / "samples", progress=False)
    scores = results.runs.pivot(index="latent", columns="metric", values="value")
    assert set(scores.index) == {"boson", "gaussian"}
    assert (scores["n_generated"] == 40).all()
    for metric in ("validity", "validity_connected", "uniqueness", "novelty"):
        assert scores[metric].between(0, 1).all() or scores[metric].isna().all(), metric
    assert set(results.curves["step"]) == {1, 2, 3} and "eval_validity" in results.curves
    if not results.samples.empty:
        assert {"smiles", "qed", "logp", "sa", "latent", "seed"} <= set(results.samples.columns)
        assert results.samples["qed"].between(0, 1).all()


def test_rl_and_fcd_options(tiny_qm9):
    config = dataclasses.replace(TINY, rl_lambda=0.5, rl_objectives=("validity",), fcd_samples=10, eval_samples=60)
    outcome = qm.train_run("gaussian", 1, config, tiny_qm9 / "runs", store=tiny_qm9 / "samples")
    assert "fcd" in outcome.scores
    assert np.isnan(outcome.scores["fcd"]) or outcome.scores["fcd"] >= 0
    assert "rl_loss" in outcome.curve.columns


def test_training_properties_reference(tiny_qm9):
    table = qm.training_properties(TINY, n=10)
    assert len(table) == 10 and table["sa"].between(1, 10).all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_steps": 0}, "n_steps must be a positive integer"),
        ({"fcd_samples": -1}, "fcd_samples must be a non-negative integer"),
        ({"rl_lambda": 1.5}, "rl_lambda must be in"),
        ({"rl_objectives": ("beauty",)}, "unknown rl_objectives"),
        ({"n_photons": 9}, "n_photons=9 exceeds n_modes=4"),
    ],
)
def test_bad_config(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **changes)
