import pandas as pd
import pytest

from qlatent.experiments.grid import RunOutcome, product_jobs, run_grid


def fake_run(latent, seed):
    samples = pd.DataFrame({"smiles": ["C", "O"]}) if latent == "gaussian" else pd.DataFrame()
    return RunOutcome({"score": float(seed), "other": 1.0}, pd.DataFrame({"step": [1, 2], "loss": [0.5, 0.4]}),
                      samples)


def test_grid_gathers_tidy_tables_in_job_order():
    results = run_grid(fake_run, product_jobs(latent=["gaussian", "uniform"], seed=[3, 4]), progress=False)
    assert list(results.runs.columns) == ["latent", "seed", "metric", "value"]
    assert results.runs[["latent", "seed"]].drop_duplicates().values.tolist() == [
        ["gaussian", 3], ["gaussian", 4], ["uniform", 3], ["uniform", 4]]
    assert len(results.curves) == 8 and list(results.curves.columns) == ["latent", "seed", "step", "loss"]
    assert len(results.samples) == 4 and set(results.samples["latent"]) == {"gaussian"}


def test_jobs_with_three_axes_become_three_key_columns():
    def run(dataset, latent, seed):
        return RunOutcome({"score": 1.0}, pd.DataFrame({"step": [1]}))

    jobs = product_jobs(dataset=["q", "b"], latent=["x"], seed=[0, 1, 2])
    assert len(jobs) == 6 and jobs[0] == {"dataset": "q", "latent": "x", "seed": 0}
    results = run_grid(run, jobs, progress=False)
    assert list(results.runs.columns) == ["dataset", "latent", "seed", "metric", "value"]


def test_grid_refuses_bad_input_before_training():
    calls = []
    with pytest.raises(ValueError, match="at least one value of seed"):
        product_jobs(latent=["gaussian"], seed=[])
    with pytest.raises(ValueError, match="at least one run"):
        run_grid(fake_run, [], progress=False)
    with pytest.raises(ValueError, match="same parameters"):
        run_grid(lambda **job: calls.append(job), [{"latent": "a", "seed": 0}, {"latent": "a"}], progress=False)
    with pytest.raises(ValueError, match="may not be named"):
        run_grid(lambda **job: calls.append(job), [{"metric": "a"}], progress=False)
    with pytest.raises(TypeError, match="list of values"):
        product_jobs(latent="gaussian")
    assert calls == []


def test_compute_table_has_each_runs_training_time():
    def timed(latent, seed):
        return RunOutcome({"score": 1.0}, pd.DataFrame({"step": [1]}), training_seconds=10.0 * seed)

    results = run_grid(timed, product_jobs(latent=["a"], seed=[1, 2]), progress=False, executor="serial")
    assert results.compute.to_dict("records") == [{"latent": "a", "seed": 1, "training_seconds": 10.0},
                                                  {"latent": "a", "seed": 2, "training_seconds": 20.0}]
