import pandas as pd
import pytest

from qlatent.experiments.grid import RunOutcome, run_grid


def fake_run(latent, seed):
    samples = pd.DataFrame({"smiles": ["C", "O"]}) if latent == "gaussian" else pd.DataFrame()
    return RunOutcome({"score": float(seed), "other": 1.0}, pd.DataFrame({"step": [1, 2], "loss": [0.5, 0.4]}),
                      samples)


def test_grid_gathers_tidy_tables_in_latent_major_order():
    results = run_grid(fake_run, ["gaussian", "uniform"], [3, 4], progress=False)
    assert list(results.runs.columns) == ["latent", "seed", "metric", "value"]
    assert results.runs[["latent", "seed"]].drop_duplicates().values.tolist() == [
        ["gaussian", 3], ["gaussian", 4], ["uniform", 3], ["uniform", 4]]
    assert len(results.curves) == 8 and set(results.curves.columns) == {"step", "loss", "latent", "seed"}
    assert len(results.samples) == 4 and set(results.samples["latent"]) == {"gaussian"}


def test_grid_refuses_bad_input_before_training():
    calls = []
    with pytest.raises(ValueError, match="unknown latent"):
        run_grid(lambda latent, seed: calls.append(latent), ["gaussian", "nope"], [0], progress=False)
    with pytest.raises(ValueError, match="at least one seed"):
        run_grid(fake_run, ["gaussian"], [], progress=False)
    assert calls == []
