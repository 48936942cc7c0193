"""The Ray executor on a local instance of 2 CPUs, started once for this module and shut down after."""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd
import pytest
import sweep_fakes

from qlatent.experiments.grid import RunsFailed, product_jobs, run_grid
from qlatent.photonics.interferometers import haar_interferometer
from qlatent.qpu import SampleRequest, SampleStore, get_or_sample
from qlatent.qpu.backends.local import SHARD_SIZE, LocalBackend
from qlatent.sweep.engine import run_tasks
from qlatent.sweep.errors import SweepError
from qlatent.sweep.executors import ExecutorSettings, open_executor
from qlatent.sweep.run import run_sweep
from qlatent.sweep.spec import SweepSpec

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray
RAY = ExecutorSettings("ray", workers=2)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def test_a_sweep_completes_on_ray_with_the_same_table_as_serially(tmp_path):
    body = {"experiment": "sweep_fakes:quadratic", "parameters": {"scale": 0.5}, "grid": {"x": [1.0, 2.0, 3.0]},
            "seeds": 2}
    tables = {}
    for name, settings in (("ray", RAY), ("serial", ExecutorSettings("serial"))):
        spec = SweepSpec.from_mapping(body, name=name, base_dir=tmp_path, output=tmp_path / name)
        summary = run_sweep(spec, settings, progress=False, say=lambda _: None)
        assert (summary.n_completed, summary.failures) == (6, [])
        tables[name] = pd.read_parquet(summary.tables["results"])
    pd.testing.assert_frame_equal(tables["ray"], tables["serial"])
    assert ray.is_initialized()  # a Ray already running in this process is used and left running


def test_ray_retries_a_killed_worker_and_reports_a_failing_run(tmp_path):
    with open_executor(RAY) as executor:
        assert executor.capacity == 2
        crashed = run_tasks(sweep_fakes.crash_once, [{"x": 2.0, "seed": 1, "marker_dir": str(tmp_path)}], executor)
    assert crashed[0].ok and crashed[0].attempts == 2 and crashed[0].value.scores["score"] == 5.0
    with pytest.raises(RunsFailed, match="x=2.0, seed=0: ValueError: x=2.0 is where this experiment fails"):
        run_grid(functools.partial(sweep_fakes.quadratic, fail_at=2.0), product_jobs(x=[1.0, 2.0], seed=[0]),
                 progress=False, executor=RAY)


def test_a_bank_drawn_on_ray_is_the_same_bytes(tmp_path):
    request = SampleRequest("local", haar_interferometer(6, seed=2), (1, 1, 1, 0, 0, 0), 3 * SHARD_SIZE + 1, seed=4)
    bank = get_or_sample(request, SampleStore(tmp_path), progress=False, executor=RAY)
    np.testing.assert_array_equal(bank.counts, LocalBackend().sample(request).counts)


def test_runs_asking_for_gpus_the_cluster_lacks_are_refused_before_running():
    with pytest.raises(SweepError, match=r"each run asks for 1\.0 GPU\(s\) but the Ray cluster has 0"):
        with open_executor(ExecutorSettings("ray", gpus_per_task=1.0)):
            pytest.fail("the executor started")


def test_a_run_that_exits_or_raises_keyboard_interrupt_fails_alone_on_ray(tmp_path):
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:quits", "grid": {"x": [1.0, 2.0, 3.0, 4.0]}, "seeds": 1},
                                  name="quits", base_dir=tmp_path, output=tmp_path / "quits")
    summary = run_sweep(spec, RAY, progress=False, say=lambda _: None)
    assert summary.n_completed == 2 and "results" in summary.tables
    assert sorted(summary.failures, key=lambda failure: failure[0]["x"]) == [
        ({"x": 2.0, "seed": 0}, "run exited with status 3"), ({"x": 3.0, "seed": 0}, "KeyboardInterrupt")]


def test_workers_beyond_the_clusters_cpus_are_capped():
    with open_executor(ExecutorSettings("ray", workers=50)) as executor:
        assert executor.capacity == 2
        assert executor.describe() == ("Ray (a local Ray instance, 2 run(s) at once; 50 asked for; "
                                       "the cluster has room for 2)")


def test_the_sweeps_sampling_limits_reach_ray_workers(tmp_path):
    """qlatent sweep --max-memory sets $QLATENT_MAX_MEMORY_GB; Ray workers (started before, or on other
    machines) do not inherit it, so it travels with each run."""
    from qlatent.sweep.executors import environment

    body = {"experiment": "sweep_fakes:banked", "parameters": {"store": str(tmp_path / "samples")},
            "grid": {"shots": [10]}, "seeds": 1}
    with environment(QLATENT_MAX_MEMORY_GB="0.5"):
        spec = SweepSpec.from_mapping(body, name="limits", base_dir=tmp_path, output=tmp_path / "out")
        summary = run_sweep(spec, RAY, progress=False, say=lambda _: None)
    assert summary.failures == []
    assert pd.read_parquet(summary.tables["results"])["value"].tolist() == [0.5]


def test_a_base_exception_a_ray_run_raises_is_its_failure_in_plain_text():
    tasks = [{"x": x, "seed": 0} for x in (1.0, 2.0, 3.0)]
    with open_executor(RAY) as executor:
        results = run_tasks(sweep_fakes.raises_base, tasks, executor, retries=0)
    assert results[0].ok and results[0].value == {"sum": 1.0}
    assert [result.error for result in results[1:]] == [
        "Weird: custom base", "GeneratorExit: generator closed"]
    assert all("\x1b" not in result.traceback for result in results)
