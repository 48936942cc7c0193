"""Sweeps on the serial and local-pool executors: settings, retries, failures, records, resume, tables, errors."""

from __future__ import annotations

import datetime
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_fakes
import yaml

from qlatent.cli import main
from qlatent.experiments.grid import RunsFailed, product_jobs, run_grid
from qlatent.paths import results_dir
from qlatent.sweep.aggregate import collect, load_results, sweep_metadata
from qlatent.sweep.engine import run_tasks
from qlatent.sweep.errors import SweepError
from qlatent.sweep.executors import ExecutorSettings, check_address, open_executor, pickled_task, resolve_settings
from qlatent.sweep.records import SweepStore, slug
from qlatent.sweep.run import run_sweep
from qlatent.sweep.spec import SweepSpec, load_sweep

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
POOL = ExecutorSettings("local", workers=2)


@pytest.fixture
def fake_log(tmp_path, monkeypatch):
    """Each fake run appends a line here (workers inherit the variable)."""
    log = tmp_path / "calls.log"
    monkeypatch.setenv("SWEEP_FAKE_LOG", str(log))
    return log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def write_sweep(folder: Path, file_name: str = "sweep.yml", **body) -> Path:
    path = folder / file_name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


# ----------------------------------------------------------------------------------------- settings


def test_settings_from_the_environment_round_trip(monkeypatch):
    for name in ("QLATENT_EXECUTOR", "QLATENT_WORKERS", "QLATENT_RAY_ADDRESS", "QLATENT_GPUS_PER_RUN"):
        monkeypatch.delenv(name, raising=False)
    assert ExecutorSettings.from_env() == ExecutorSettings("serial")
    settings = ExecutorSettings("ray", workers=3, address="10.0.0.2:6379", gpus_per_task=0.5)
    assert ExecutorSettings.from_env(settings.to_env()) == settings
    assert ExecutorSettings.from_env({"QLATENT_EXECUTOR": "local", "QLATENT_RAY_ADDRESS": "x:1"}).address is None
    monkeypatch.setenv("QLATENT_EXECUTOR", "local")
    monkeypatch.setenv("QLATENT_WORKERS", "2")
    assert resolve_settings(None) == ExecutorSettings("local", workers=2)
    assert resolve_settings("serial").kind == "serial"


def test_settings_refuse_bad_values_naming_them():
    with pytest.raises(SweepError, match="unknown executor 'dask'"):
        ExecutorSettings("dask")
    with pytest.raises(SweepError, match="workers must be a positive integer, got 0"):
        ExecutorSettings("local", workers=0)
    with pytest.raises(SweepError, match="workers must be at most 100,000, got 3,000,000,000"):
        ExecutorSettings("local", workers=3_000_000_000)  # an OverflowError traceback in the process pool before
    with pytest.raises(SweepError, match="gpus per run must be a non-negative number"):
        ExecutorSettings("ray", gpus_per_task=-1)
    with pytest.raises(SweepError, match="needs the ray executor, not 'local'"):
        ExecutorSettings("local", address="10.0.0.2:6379")
    with pytest.raises(SweepError, match=r"QLATENT_WORKERS must be a whole number, got .two."):
        ExecutorSettings.from_env({"QLATENT_EXECUTOR": "local", "QLATENT_WORKERS": "two"})
    with pytest.raises(SweepError, match=r"unknown executor 'pool'; choose .* \(from \$QLATENT_EXECUTOR"):
        ExecutorSettings.from_env({"QLATENT_EXECUTOR": "pool"})
    with pytest.raises(SweepError, match="threads_per_worker must be a positive integer, got 0"):
        ExecutorSettings("local", threads_per_worker=0)
    with pytest.raises(SweepError, match="executor must be one of serial, local, ray or ExecutorSettings"):
        resolve_settings(2)


def test_what_cannot_reach_a_worker_is_named():
    import threading

    with pytest.raises(SweepError, match="cannot send the run parameters .* to worker processes"):
        pickled_task(sweep_fakes.scores_only, {"x": threading.Lock(), "seed": 0})
    with pytest.raises(SweepError, match="cannot send 'test_what_cannot_reach_a_worker_is_named.<locals>.<lambda>'"):
        pickled_task(lambda: None, {})


def test_runs_failed_names_the_first_failure_on_its_first_line():
    error = RunsFailed([({"latent": "boson", "seed": 3}, "ValueError: bad"), ({"latent": "gaussian", "seed": 1},
                                                                             "KeyError: 'x'")], 8)
    first, *rest = str(error).splitlines()
    assert first == ("2 of 8 run(s) failed (the others completed): latent='boson', seed=3: ValueError: bad "
                     "and 1 more")
    assert rest == ["  latent='boson', seed=3: ValueError: bad", "  latent='gaussian', seed=1: KeyError: 'x'"]


def test_a_ray_that_cannot_start_or_connect_is_one_clear_error(monkeypatch):
    ray = pytest.importorskip("ray")

    def refuse(*args, **kwargs):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with pytest.raises(SweepError, match="cannot connect to the Ray cluster at auto: ConnectionError: Could not find"):
        with open_executor(ExecutorSettings("ray", address="auto")):
            pytest.fail("the executor started")
    with pytest.raises(SweepError, match="cannot connect to a local Ray instance"):
        with open_executor(ExecutorSettings("ray")):
            pytest.fail("the executor started")


@pytest.mark.parametrize("address", ["nonsense", "host:", ":6379", "host:99999", "http://host:6379"])
def test_malformed_ray_addresses_are_refused(address):
    with pytest.raises(SweepError, match="is not 'auto', HOST:PORT or ray://HOST:PORT"):
        check_address(address)


def test_well_formed_ray_addresses_parse():
    assert check_address("auto") is None
    assert check_address("10.0.0.2:6379") == ("10.0.0.2", 6379)
    assert check_address("ray://head.cluster:10001") == ("head.cluster", 10001)
    assert check_address("[::1]:6379") == ("::1", 6379)


def test_ray_absent_is_one_clear_error_before_any_run(tmp_path, monkeypatch, fake_log):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:scores_only", "grid": {"x": [1.0]}, "seeds": 1},
                                  name="r", base_dir=tmp_path, output=tmp_path / "r")
    with pytest.raises(SweepError, match=r"needs Ray, which cannot be imported here.*pip install 'qlatent\[cluster\]'"):
        run_sweep(spec, ExecutorSettings("ray"), progress=False, say=lambda _: None)
    with pytest.raises(SweepError, match="needs Ray"):
        run_grid(sweep_fakes.quadratic, [{"x": 1.0, "seed": 0}], progress=False, executor="ray")
    assert calls(fake_log) == [] and not (tmp_path / "r").exists()


def test_an_unreachable_ray_address_is_one_clear_error_before_any_run(tmp_path, fake_log):
    import socket

    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:scores_only", "grid": {"x": [1.0]}, "seeds": 1},
                                  name="u", base_dir=tmp_path, output=tmp_path / "u")
    settings = ExecutorSettings("ray", address=f"127.0.0.1:{port}")
    with pytest.raises(SweepError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}"):
        run_sweep(spec, settings, progress=False, say=lambda _: None)
    assert calls(fake_log) == [] and not (tmp_path / "u").exists()


def test_a_port_that_answers_but_is_no_ray_cluster_is_one_error_line_without_ray_log_noise(monkeypatch, capfd):
    ray = pytest.importorskip("ray")
    noise = b"[2026-01-01 00:00:00,000 W 1 1] gcs_client.cc:210: Failed to get cluster ID from GCS server: 404\n"

    def retry_then_refuse(*args, **kwargs):  # what ray.init does against a non-Ray HTTP/2 endpoint
        for _ in range(20):
            os.write(2, noise)
        raise ConnectionError("Failed to connect to Ray cluster at the address")

    monkeypatch.setattr(ray, "init", retry_then_refuse)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with sweep_fakes.http2_server() as (address, _):  # answers as gRPC does, so the protocol probe passes
        with pytest.raises(SweepError) as raised:
            with open_executor(ExecutorSettings("ray", address=address)):
                pytest.fail("the executor started")
    message = str(raised.value)
    assert message.startswith(f"cannot connect to the Ray cluster at {address}: ConnectionError: Failed to connect")
    assert "(Ray's last log line: Failed to get cluster ID from GCS server: 404)" in message
    assert "\n" not in message
    assert "gcs_client.cc" not in capfd.readouterr().err


def test_what_ray_logs_while_joining_a_cluster_is_shown_when_it_joins(monkeypatch, capfd):
    ray = pytest.importorskip("ray")

    def join(*args, **kwargs):
        os.write(2, b"joined with a warning\n")

    monkeypatch.setattr(ray, "init", join)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 3.0})
    monkeypatch.setattr(ray, "remote", lambda function: function)
    with sweep_fakes.http2_server() as (address, _):
        with open_executor(ExecutorSettings("ray", address=address)) as executor:
            assert executor.capacity == 3
    assert capfd.readouterr().err == "joined with a warning\n"


def test_captured_stderr_is_handed_back_and_restored(capfd):
    from qlatent.sweep.executors import call_with_stderr_captured

    error, captured = call_with_stderr_captured(lambda: os.write(2, b"from C++\n"))
    assert error is None and captured == "from C++\n"

    def fail():
        os.write(2, b"last words\n")
        raise RuntimeError("boom")

    error, captured = call_with_stderr_captured(fail)
    assert isinstance(error, RuntimeError) and captured == "last words\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    with pytest.raises(KeyboardInterrupt):
        call_with_stderr_captured(lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    os.write(2, b"still restored\n")
    assert capfd.readouterr().err == "still restored\n"


# ------------------------------------------------------------------------------------------- run_grid


def test_run_grid_gives_the_same_tables_serially_and_on_the_pool():
    jobs = product_jobs(x=[0.0, 1.0, 2.0], seed=[0, 1])
    serial = run_grid(sweep_fakes.quadratic, jobs, progress=False)
    pooled = run_grid(functools.partial(sweep_fakes.quadratic, scale=1.0), jobs, progress=False, executor=POOL)
    pd.testing.assert_frame_equal(serial.runs, pooled.runs)
    pd.testing.assert_frame_equal(serial.curves, pooled.curves)
    assert serial.runs["value"].tolist()[::2] == [x * x + seed for x in (0.0, 1.0, 2.0) for seed in (0, 1)]


def test_run_grid_reports_a_failing_run_by_its_parameters_after_the_others(fake_log):
    jobs = product_jobs(x=[0.0, 1.0, 2.0], seed=[0])
    expected = r"(?s)1 of 3 run\(s\) failed.*x=1\.0, seed=0: ValueError: x=1.0 is where"
    with pytest.raises(RunsFailed, match=expected) as info:
        run_grid(functools.partial(sweep_fakes.quadratic, fail_at=1.0), jobs, progress=False)
    assert isinstance(info.value.__cause__, ValueError)  # serial: chained to the exception itself
    assert info.value.failures == [({"x": 1.0, "seed": 0}, "ValueError: x=1.0 is where this experiment fails")]
    assert sorted(info.value.completed.runs["x"].unique()) == [0.0, 2.0]
    assert len(calls(fake_log)) == 3  # the run after the failing one still ran
    with pytest.raises(RunsFailed, match="x=1.0, seed=0: ValueError"):
        run_grid(functools.partial(sweep_fakes.quadratic, fail_at=1.0), jobs, progress=False, executor=POOL)


def test_run_grid_refuses_what_workers_cannot_receive_before_any_run(fake_log):
    with pytest.raises(SweepError, match="pass a module-level function or a functools.partial of one"):
        run_grid(lambda x, seed: sweep_fakes.quadratic(x, seed), [{"x": 1.0, "seed": 0}], progress=False,
                 executor=POOL)
    assert calls(fake_log) == []


def test_run_grid_refuses_a_run_that_returns_no_outcome():
    with pytest.raises(TypeError, match="run x=1.0, seed=0 returned dict, not a RunOutcome"):
        run_grid(sweep_fakes.scores_only, [{"x": 1.0, "seed": 0}], progress=False)


def test_run_grid_follows_the_environment(monkeypatch):
    monkeypatch.setenv("QLATENT_EXECUTOR", "local")
    monkeypatch.setenv("QLATENT_WORKERS", "1")
    results = run_grid(sweep_fakes.quadratic, [{"x": 3.0, "seed": 1}], progress=False)
    assert results.runs.set_index("metric")["value"]["score"] == 10.0
    monkeypatch.setenv("QLATENT_EXECUTOR", "threads")
    with pytest.raises(SweepError, match="unknown executor 'threads'"):
        run_grid(sweep_fakes.quadratic, [{"x": 3.0, "seed": 1}], progress=False)


# ------------------------------------------------------------------------------------- pool workers


@pytest.fixture(scope="module")
def pool():
    with open_executor(POOL) as executor:
        yield executor


def test_pool_workers_run_one_thread_each(pool):
    results = run_tasks(sweep_fakes.threads, [{"x": 0.0, "seed": 0}], pool)
    assert results[0].ok, results[0].error
    assert results[0].value == {"torch_threads": 1.0, "numba_threads": 1.0}


def test_a_killed_worker_is_retried_and_a_repeatedly_killed_one_fails(tmp_path, pool):
    results = run_tasks(sweep_fakes.crash_once, [{"x": 1.0, "seed": 0, "marker_dir": str(tmp_path)}], pool)
    assert results[0].ok and results[0].attempts == 2
    assert results[0].value.scores["score"] == 1.0
    lost = run_tasks(sweep_fakes.always_crash, [{"x": 1.0, "seed": 0}], pool, retries=1)
    after = run_tasks(sweep_fakes.scores_only, [{"x": 1.0, "seed": 2}], pool)  # the pool recovers
    assert not lost[0].ok and lost[0].attempts == 2
    assert "worker process died" in lost[0].error and "gave up after 2 attempt(s)" in lost[0].error
    assert after[0].value == {"sum": 3.0}
    with pytest.raises(SweepError, match="retries must be a non-negative integer"):
        run_tasks(sweep_fakes.scores_only, [], pool, retries=-1)


# --------------------------------------------------------------------------------------- sweep files


def test_a_sweep_file_gives_jobs_keys_and_tasks(tmp_path):
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"scale": 2.0},
                       grid={"x": [0.0, 1.0]}, seeds=3, resources={"gpus": 0.5}, retries=1)
    spec = load_sweep(path)
    assert spec.name == "sweep" and spec.target == "sweep_fakes:quadratic" and spec.gpus == 0.5
    assert spec.output == (results_dir() / "sweeps" / "sweep").resolve()
    assert spec.jobs() == product_jobs(x=[0.0, 1.0], seed=[0, 1, 2])
    keys = {spec.key(job) for job in spec.jobs()}
    assert len(keys) == 6 and all(len(key) == 16 for key in keys)
    changed = SweepSpec.from_mapping({**yaml.safe_load(path.read_text()), "parameters": {"scale": 3.0}},
                                     name="sweep", base_dir=tmp_path)
    assert {changed.key(job) for job in changed.jobs()}.isdisjoint(keys)  # fixed parameters are in the key
    assert spec.task({"x": 1.0, "seed": 2}, tmp_path) == {"scale": 2.0, "x": 1.0, "seed": 2}
    with_dir = SweepSpec.from_mapping({"experiment": "sweep_fakes:with_run_dir", "grid": {"x": [1.0]}, "seeds": 1},
                                      name="d", base_dir=tmp_path, output=tmp_path / "o")
    assert with_dir.task({"x": 1.0, "seed": 0}, tmp_path) == {"x": 1.0, "seed": 0, "run_dir": tmp_path}
    assert slug({"dataset": "quantum", "latent": "boson/x", "seed": 3}) == "quantum-boson-x-3"


@pytest.mark.parametrize(("body", "message"), [
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 1, "epochs": 3},
     "unknown key.*epochs"),
    ({"experiment": "sweep_fakes:quadratic", "parameters": {"learning_rate": 0.1}, "grid": {"x": [1.0]}, "seeds": 1},
     "takes no parameter.*learning_rate; it takes: x, seed, scale, pause, fail_at"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}}, r"needs parameter\(s\) seed"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {}}, "grid is empty"),
    ({"experiment": "sweep_fakes:quadratic"}, "grid is empty"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": []}, "seeds": 1}, "grid axis 'x' is empty"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": 1.0}, "seeds": 1}, "'x' must be a list"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0, 1.0]}, "seeds": 1}, "'x' repeats a value"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 0}, "seeds must be a positive count"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": [1, -2]}, "non-negative integers"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0], "seed": [0]}, "seeds": 1}, "not both"),
    ({"experiment": "sweep_fakes:quadratic", "parameters": {"x": 1.0}, "grid": {"x": [1.0]}, "seeds": 1},
     "both fixed and in the grid"),
    ({"experiment": "sweep_fakes:with_run_dir", "parameters": {"run_dir": "/tmp"}, "grid": {"x": [1.0]}, "seeds": 1},
     "reserved"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"metric": ["a"], "x": [1.0]}, "seeds": 1}, "reserved"),
    ({"experiment": "sweep_fakes:quadratic", "notebook": "01_interference", "grid": {"x": [1.0]}, "seeds": 1},
     "exactly one of"),
    ({"grid": {"x": [1.0]}, "seeds": 1}, "exactly one of"),
    ({"experiment": "sweep_fakes.quadratic", "grid": {"x": [1.0]}, "seeds": 1}, "'package.module:function'"),
    ({"experiment": "no_such_module:run", "grid": {"x": [1.0]}, "seeds": 1}, "cannot import 'no_such_module'"),
    ({"experiment": "sweep_fakes:nothing", "grid": {"x": [1.0]}, "seeds": 1}, "has no 'nothing'"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 1, "resources": {"cpus": 2}},
     "resources takes only `gpus`"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 1, "retries": -1},
     "retries must be a non-negative integer"),
    ({"notebook": "no_such_notebook", "grid": {"x": [1]}}, "unknown notebook 'no_such_notebook'"),
    ({"notebook": "01_interference", "grid": {"no_such_parameter": [1]}}, "declares no parameter 'no_such_parameter'"),
    ({"name": "has space", "experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 1}, "sweep name"),
    ({"experiment": "sweep_fakes:quadratic", "parameters": [1], "grid": {"x": [1.0]}, "seeds": 1},
     "parameters must be a mapping"),
    ({"experiment": "sweep_fakes:quadratic", "grid": {"x": [1.0]}, "seeds": 1, "resources": {"gpus": -1}},
     "resources.gpus must be a non-negative number"),
    ({"notebook": "01_interference", "grid": {"n_photons.x": [1]}}, "notebook parameters have no fields"),
    ({"experiment": "sweep_fakes:quadratic", "parameters": {"when": datetime.date(2026, 1, 1)}, "grid": {"x": [1.0]},
      "seeds": 1}, "must be plain YAML values"),
])
def test_bad_sweep_files_are_refused_with_one_clear_error(tmp_path, body, message):
    with pytest.raises(SweepError, match=message):
        load_sweep(write_sweep(tmp_path, **body))


def test_unreadable_sweep_files_are_refused(tmp_path):
    with pytest.raises(SweepError, match="sweep file not found"):
        load_sweep(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("grid: [unclosed\n")
    with pytest.raises(SweepError, match="not valid YAML at line"):
        load_sweep(broken)
    listed = tmp_path / "listed.yml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(SweepError, match="must be a mapping"):
        load_sweep(listed)


# ------------------------------------------------------------------------------------------- sweeps


def test_a_sweep_completes_on_the_pool_and_a_second_run_does_nothing(tmp_path, fake_log):
    spec = load_sweep(write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"scale": 2.0},
                                  grid={"x": [0.0, 1.0, 2.0]}, seeds=2), output=tmp_path / "out")
    summary = run_sweep(spec, POOL, progress=False, say=lambda _: None)
    assert (summary.n_runs, summary.n_completed, summary.n_skipped, summary.failures) == (6, 6, 0, [])
    assert len(calls(fake_log)) == 6
    results = pd.read_parquet(summary.tables["results"])
    # exactly one row per run and metric, parameters as columns
    assert list(results.columns) == ["x", "seed", "metric", "value"]
    assert len(results) == 6 * 2 and not results.duplicated(["x", "seed", "metric"]).any()
    scores = results[results["metric"] == "score"].set_index(["x", "seed"])["value"]
    assert all(scores[(x, s)] == 2.0 * x * x + s for x in (0.0, 1.0, 2.0) for s in (0, 1))
    pd.testing.assert_frame_equal(pd.read_csv(summary.output / "results.csv"), results)
    assert sweep_metadata(summary.tables["results"])["sweep"]["parameters"] == {"scale": 2.0}
    curves = pd.read_parquet(summary.tables["curves"])
    assert list(curves.columns[:2]) == ["x", "seed"] and len(curves) == 12
    loaded = load_results(summary.output)
    pd.testing.assert_frame_equal(loaded.runs, results)
    record = json.loads((SweepStore(spec.output).run_dir(spec, {"x": 1.0, "seed": 1}) / "record.json").read_text())
    assert record["status"] == "complete" and record["parameters"] == {"x": 1.0, "seed": 1}
    assert record["scores"] == {"score": 3.0, "x_abs": 1.0} and record["files"] == ["curve.parquet"]

    again = run_sweep(spec, POOL, progress=False, say=lambda _: None)
    assert (again.n_completed, again.n_skipped) == (0, 6) and len(calls(fake_log)) == 6
    grown = load_sweep(write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"scale": 2.0},
                                   grid={"x": [0.0, 1.0, 2.0, 3.0]}, seeds=2), output=tmp_path / "out")
    more = run_sweep(grown, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    assert (more.n_completed, more.n_skipped) == (2, 6) and len(calls(fake_log)) == 8
    assert len(pd.read_parquet(more.tables["results"])) == 8 * 2


def test_a_failing_run_is_reported_with_its_parameters_and_retried_next_time(tmp_path, fake_log):
    body = {"experiment": "sweep_fakes:quadratic", "parameters": {"fail_at": 1.0}, "grid": {"x": [0.0, 1.0, 2.0]},
            "seeds": 1}
    spec = load_sweep(write_sweep(tmp_path, **body), output=tmp_path / "out")
    summary = run_sweep(spec, POOL, progress=False, say=lambda _: None)
    assert summary.n_completed == 2
    assert summary.failures == [({"x": 1.0, "seed": 0}, "ValueError: x=1.0 is where this experiment fails")]
    record = json.loads((SweepStore(spec.output).run_dir(spec, {"x": 1.0, "seed": 0}) / "record.json").read_text())
    assert record["status"] == "failed" and "Traceback" in record["traceback"] and "fail_at" not in record["parameters"]
    gathered = collect(spec)
    assert gathered.n_missing == 1 and sorted(gathered.results["x"].unique()) == [0.0, 2.0]
    again = run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    assert (again.n_skipped, len(again.failures)) == (2, 1) and len(calls(fake_log)) == 4  # only the failed one


def test_reading_what_is_not_there_names_it(tmp_path):
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:scores_only", "grid": {"x": [1.0]}, "seeds": 1},
                                  name="e", base_dir=tmp_path, output=tmp_path / "e")
    with pytest.raises(SweepError, match="holds no complete run"):
        SweepStore(spec.output).load_outcome(SweepStore(spec.output).run_dir(spec, spec.jobs()[0]))
    with pytest.raises(FileNotFoundError, match="holds no results.parquet; run `qlatent sweep`"):
        load_results(tmp_path / "e")


def test_dotted_fields_fold_into_their_parameter():
    from qlatent.sweep.spec import fold_dotted

    assert fold_dotted({"config": {"a": 1, "b": 2}, "config.b": 3, "config.inner.c": 4, "seed": 0}) == {
        "config": {"a": 1, "b": 3, "inner": {"c": 4}}, "seed": 0}
    with pytest.raises(SweepError, match="config.b: 'config' is given as a value, so none of its fields can be set"):
        fold_dotted({"config": 5, "config.b": 3})


def test_a_run_returning_something_else_is_recorded_as_failed(tmp_path):
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:_log", "grid": {"x": [0.0]}, "seeds": 1},
                                  name="n", base_dir=tmp_path, output=tmp_path / "n")
    summary = run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    assert "returned NoneType; an experiment returns a RunOutcome or a mapping" in summary.failures[0][1]


def test_grid_values_the_experiment_refuses_fail_when_the_sweep_is_loaded(tmp_path, fake_log):
    def load(grid, seeds=2, **parameters):
        return SweepSpec.from_mapping({"experiment": "sweep_fakes:picky", "parameters": parameters, "grid": grid,
                                       "seeds": seeds}, name="v", base_dir=tmp_path, output=tmp_path / "v")

    with pytest.raises(SweepError, match=r"^grid value x=-2\.0 is refused by experiment sweep_fakes:picky: "
                                         r"x must be non-negative, got -2\.0$"):
        load({"x": [0.0, -2.0]})
    with pytest.raises(SweepError, match=r"^the run x=1\.0, seed=1 is refused by experiment sweep_fakes:picky: "
                                         r"x=1 and seed=1 together are refused$"):
        load({"x": [0.0, 1.0]})
    with pytest.raises(SweepError, match=r"^the run x=3\.0, seed=0 is refused .*: x=3\.0 exceeds limit=2\.0$"):
        load({"x": [3.0]}, limit=2.0)
    assert len(load({"x": [0.0, 2.0]}).jobs()) == 4
    assert calls(fake_log) == [] and not (tmp_path / "v").exists()


def test_an_unknown_latent_in_a_real_experiment_grid_is_refused_on_dry_run_and_run(tmp_path, fake_log, capsys):
    path = write_sweep(tmp_path, experiment="qlatent.experiments.discrete:train_run",
                       parameters={"config": {"n_steps": 1}}, grid={"dataset": ["quantum", "bernoulli"],
                                                                     "latent": ["gaussian", "cauchy"]}, seeds=2)
    expected = ("grid value latent='cauchy' is refused by experiment qlatent.experiments.discrete:train_run: "
                "unknown latent(s) 'cauchy'; choose from")
    for extra in (["--dry-run"], ["--executor", "serial", "--quiet"]):
        assert main(["sweep", str(path), "--output", str(tmp_path / "o"), *extra]) == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_experiments_validate_hooks_make_the_checks_their_runs_make(tmp_path):
    from qlatent.checks import ParameterError
    from qlatent.experiments import discrete, flows_diffusion, mixture, qm9

    config = discrete.DiscreteConfig()
    discrete.train_run.validate(dataset="quantum", latent="boson", seed=0, config=config, runs_dir=tmp_path)
    with pytest.raises(ParameterError, match="unknown dataset") as raised:
        discrete.train_run(dataset="nope", latent="boson", seed=0, config=config, runs_dir=tmp_path)
    assert (raised.value.parameter, raised.value.value) == ("dataset", "nope")
    with pytest.raises(ParameterError, match="seed must be a non-negative integer") as raised:
        discrete.train_run.validate(dataset="quantum", latent="boson", seed=-1, config=config)
    assert raised.value.parameter == "seed"
    with pytest.raises(ParameterError, match="depth must be a positive integer") as raised:
        mixture.train_run(latent="boson", depth=0, n_steps=5, seed=0, config=mixture.MixtureConfig(),
                          runs_dir=tmp_path)
    assert raised.value.parameter == "depth"
    with pytest.raises(ParameterError, match="unknown family 'gan'") as raised:
        flows_diffusion.train_run.validate(family="gan", latent="boson", seed=0)
    assert raised.value.parameter == "family"
    with pytest.raises(ParameterError, match="unknown latent") as raised:
        flows_diffusion.train_flow.validate(latent="cauchy", seed=0)
    with pytest.raises(ParameterError, match="unknown variant 'x'") as raised:
        flows_diffusion.train_flow_variant.validate(variant="x", latent="boson", seed=0,
                                                    config=flows_diffusion.FlowConfig(), variants={"base": {}})
    with pytest.raises(ParameterError, match="schedule must be one of") as raised:
        qm9.train_run.validate(schedule="slow", size=8, circuit="haar", latent="boson", seed=0,
                               config=qm9.QM9Config())
    with pytest.raises(ParameterError, match="circuit must be 'haar'") as raised:
        qm9.train_run.validate(schedule="paper", size=8, circuit="loops", latent="boson", seed=0,
                               config=qm9.QM9Config())
    assert raised.value.parameter == "circuit"


def test_a_sweep_whose_runs_all_fail_writes_no_empty_table(tmp_path, capsys):
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"fail_at": 1.0},
                       grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--output", str(tmp_path / "o"), "--executor", "serial", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "0 run(s) completed now, 0 before, 1 failed" in out and "no run is complete, so no table was written" in out
    assert not list((tmp_path / "o").glob("results.*"))


def test_runs_that_take_run_dir_get_their_own_folder(tmp_path):
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:with_run_dir", "grid": {"x": [1.0, 2.0]}, "seeds": 1},
                                  name="d", base_dir=tmp_path, output=tmp_path / "d")
    run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    store = SweepStore(spec.output)
    for job in spec.jobs():
        assert (store.work_dir(store.run_dir(spec, job)) / f"{job['x']}-{job['seed']}.txt").is_file()


def test_a_second_sweep_on_the_same_folder_is_refused(tmp_path):
    from filelock import FileLock

    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:scores_only", "grid": {"x": [1.0]}, "seeds": 1},
                                  name="l", base_dir=tmp_path, output=tmp_path / "l")
    (tmp_path / "l").mkdir()
    with FileLock(tmp_path / "l" / ".sweep.lock"):
        code = subprocess.run([sys.executable, "-c", (
            "from qlatent.sweep.run import run_sweep; from qlatent.sweep.spec import SweepSpec; "
            "from qlatent.sweep.executors import ExecutorSettings; from pathlib import Path; import sys\n"
            f"spec = SweepSpec.from_mapping({{'experiment': 'sweep_fakes:scores_only', 'grid': {{'x': [1.0]}}, "
            f"'seeds': 1}}, name='l', base_dir=Path('.'), output=Path({str(spec.output)!r}))\n"
            "try:\n    run_sweep(spec, ExecutorSettings('serial'), progress=False)\n"
            "except Exception as error:\n    print(error); sys.exit(3)")],
            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{TESTS}"}, capture_output=True, text=True, timeout=60)
    assert code.returncode == 3 and "another qlatent sweep is working on" in code.stdout


def _sweep_cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qlatent", "sweep", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_sweep_finishes_only_the_missing_runs(tmp_path, fake_log):
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"pause": 0.4},
                       grid={"x": [float(x) for x in range(8)]}, seeds=1)
    output = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{TESTS}"}
    process = _sweep_cli(str(path), "--output", str(output), "--workers", "2", "--quiet", env=env)
    deadline = time.monotonic() + 60
    records = []
    while time.monotonic() < deadline and len(records) < 3:
        records = list(output.glob("runs/*/record.json"))
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    time.sleep(0.5)  # let the killed pool's workers (PR_SET_PDEATHSIG) go
    finished_before = {json.loads(path.read_text())["parameters"]["x"] for path in output.glob("runs/*/record.json")}
    assert 3 <= len(finished_before) < 8
    calls_before = len(calls(fake_log))
    rerun = _sweep_cli(str(path), "--output", str(output), "--quiet", "--workers", "2", env=env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert f"{len(finished_before)} complete before, {8 - len(finished_before)} to run" in out
    rerun_calls = calls(fake_log)[calls_before:]
    assert sorted(rerun_calls) == sorted(f"seed=0,x={x}" for x in map(float, range(8)) if x not in finished_before)
    results = pd.read_parquet(output / "results.parquet")
    assert len(results) == 8 * 2 and sorted(results["x"].unique()) == [float(x) for x in range(8)]


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_sweep_runs_reports_failures_and_refuses_bad_input(tmp_path, fake_log, capsys):
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"fail_at": 1.0},
                       grid={"x": [0.0, 1.0]}, seeds=1)
    assert main(["sweep", str(path), "--output", str(tmp_path / "o"), "--dry-run"]) == 0
    assert "2 run(s) over x, seed; 0 complete, 2 to run on local" in capsys.readouterr().out
    assert calls(fake_log) == []
    assert main(["sweep", str(path), "--output", str(tmp_path / "o"), "--executor", "serial", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "1 run(s) completed now, 0 before, 1 failed" in out
    assert "failed: x=1.0, seed=0: ValueError: x=1.0 is where this experiment fails" in out
    bad = write_sweep(tmp_path, "bad.yml", experiment="sweep_fakes:quadratic", parameters={"epochs": 3},
                      grid={"x": [0.0]}, seeds=1)
    assert main(["sweep", str(bad), "--output", str(tmp_path / "p")]) == 2
    assert "takes no parameter(s) epochs" in capsys.readouterr().err
    assert main(["sweep", str(path), "--executor", "local", "--address", "10.0.0.1:6379"]) == 2
    assert "needs the ray executor" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # a usage error: argparse's exit, one line
        main(["sweep", str(path), "--workers", "0"])
    assert usage.value.code == 2
    assert capsys.readouterr().err.startswith(
        "qlatent: error: argument --workers: must be a whole number in [1, 100,000]")
    assert not (tmp_path / "p").exists() and len(calls(fake_log)) == 2


def test_book_refuses_a_bad_executor_before_any_notebook(capsys, monkeypatch):
    import qlatent.runner.execution as execution

    monkeypatch.setattr(execution, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    assert main(["book", "--executor", "ray", "--address", "nonsense"]) == 2
    assert "Ray address 'nonsense' is not" in capsys.readouterr().err
    assert main(["book", "--address", "10.0.0.1:6379"]) == 2
    assert "needs the ray executor, not 'serial'" in capsys.readouterr().err


def test_book_hands_the_executor_to_the_kernels(monkeypatch):
    import qlatent.cli as cli
    import qlatent.runner.book as book
    import qlatent.runner.execution as execution
    from qlatent.runner.execution import ExecutionResult

    seen = []

    def execute(name, parameters, force=False, **options):
        seen.append((os.environ.get("QLATENT_EXECUTOR"), os.environ.get("QLATENT_WORKERS")))
        return ExecutionResult(name, "skipped", 0.0, Path(name))

    monkeypatch.setattr(execution, "execute", execute)
    monkeypatch.setattr(book, "build_book", lambda: Path("index.html"))
    monkeypatch.delenv("QLATENT_EXECUTOR", raising=False)
    assert cli.main(["book", "--executor", "local", "--workers", "2"]) == 0
    assert seen and set(seen) == {("local", "2")}
    assert "QLATENT_EXECUTOR" not in os.environ  # restored afterwards


def test_list_valued_parameters_become_json_columns_one_row_per_run_and_metric(tmp_path):
    spec = SweepSpec.from_mapping({"experiment": "sweep_fakes:widths", "grid": {"hidden": [[64, 64], [128]]},
                                   "seeds": 2}, name="g", base_dir=tmp_path, output=tmp_path / "g")
    summary = run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    results = pd.read_parquet(summary.tables["results"])
    assert len(results) == 2 * 2 * 2 and results.groupby(["hidden", "seed", "metric"]).size().eq(1).all()
    assert sorted(results["hidden"].unique()) == ["[128]", "[64, 64]"]
    assert results.query("metric == 'width'").groupby("hidden")["value"].first().to_dict() == {"[128]": 128.0,
                                                                                            "[64, 64]": 128.0}


# ------------------------------------------------------------------------------------ notebook sweeps


def _tiny_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    parameters = nbformat.v4.new_code_cell("width = 1\nseed = 0")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom qlatent.results import ResultStore\n"
        "assert width != 3, 'width 3 is where this notebook fails'\n"
        "ResultStore('99_tiny').save_table('scores', pd.DataFrame({'area': [width * (seed + 1)], 'k': [0]}))")]
    nbformat.write(notebook, path)


def test_a_notebook_sweep_gathers_each_runs_tables(project_copy):
    from conftest import run_cli

    _tiny_notebook(project_copy / "notebooks" / "99_tiny.ipynb")
    sweep = write_sweep(project_copy, "tiny.yml", notebook="99_tiny", grid={"width": [2, 3]}, seeds=[0, 4])
    missing = write_sweep(project_copy, "bad.yml", notebook="99_tiny", grid={"height": [2]})
    refused = run_cli(project_copy, "sweep", str(missing), timeout=120)
    assert refused.returncode == 2 and "declares no parameter 'height'; it declares: width, seed" in refused.stderr
    done = run_cli(project_copy, "sweep", str(sweep), "--executor", "serial", "--quiet", timeout=600)
    assert done.returncode == 1, done.stderr
    assert "2 run(s) completed now, 0 before, 2 failed" in done.stdout
    assert "failed: width=3, seed=0: NotebookFailed" in done.stdout
    assert "width 3 is where this notebook fails" in done.stdout
    output = project_copy / "data" / "results" / "sweeps" / "tiny"
    table = pd.read_parquet(output / "tables" / "99_tiny.scores.parquet")
    assert table.to_dict("list") == {"width": [2, 2], "seed": [0, 4], "area": [2, 10], "k": [0, 0]}
    assert len(list(output.glob("runs/*/work/notebook.ipynb"))) == 2
    assert not (project_copy / "data" / "results" / "99_tiny").exists()  # each run kept its results to itself


# ------------------------------------------------------------------------------- the first customer


def test_every_sweep_file_of_the_project_loads():
    files = sorted((REPO / "sweeps").glob("*.yml"))
    assert files
    for path in files:
        spec = load_sweep(path)
        assert spec.jobs()
    paper = load_sweep(REPO / "sweeps" / "table1_paper.yml")
    assert len(paper.jobs()) == 96  # 2 datasets x 4 latents x 12 seeds, the paper's Table I
    task = paper.task(paper.jobs()[0], paper.output)
    assert task["config"].n_steps == 40_000 and task["config"].hidden == (512, 512)
    assert task["runs_dir"] == results_dir() / "04_discrete" / "runs"


def test_table1_runs_as_a_sweep_with_configuration_fields_on_the_grid(tmp_path):
    from qlatent.experiments.discrete import DiscreteConfig

    config = {"size": 4, "n_train": 200, "n_reference": 100, "hidden": [8], "batch_size": 50, "n_steps": 4,
              "bank_size": 200, "eval_samples": 100, "curve_samples": 50, "log_every": 2}
    body = {"experiment": "qlatent.experiments.discrete:train_run", "parameters": {"config": config},
            "grid": {"dataset": ["quantum"], "latent": ["boson"], "config.learning_rate": [0.0005, 0.001]},
            "seeds": 1}
    spec = SweepSpec.from_mapping(body, name="t1", base_dir=tmp_path, output=tmp_path / "t1")
    task = spec.task(spec.jobs()[1], tmp_path)
    assert task["config"] == DiscreteConfig(**{**config, "hidden": (8,), "learning_rate": 0.001})
    assert task["runs_dir"] == tmp_path / "t1" / "experiment"
    summary = run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    assert summary.n_completed == 2, summary.failures
    results = pd.read_parquet(summary.tables["results"])
    assert list(results.columns) == ["dataset", "latent", "config.learning_rate", "seed", "metric", "value"]
    assert set(results["metric"]) == {"l1_integer", "marginal_tvd", "total_tvd", "covariance_error"}
    assert len(results) == 2 * 4 and len(list((tmp_path / "t1" / "experiment").iterdir())) == 2
    with pytest.raises(SweepError, match=r"config: DiscreteConfig has no field\(s\) epochs; it has: size"):
        SweepSpec.from_mapping({**body, "parameters": {"config": {**config, "epochs": 3}}}, name="x",
                               base_dir=tmp_path)
    with pytest.raises(SweepError, match="config: batch_size=50 exceeds n_train=20"):
        SweepSpec.from_mapping({**body, "parameters": {"config": {**config, "n_train": 20}}}, name="x",
                               base_dir=tmp_path)
    with pytest.raises(SweepError, match="dataset.name: parameter 'dataset' of experiment .* is not a dataclass"):
        SweepSpec.from_mapping({**body, "grid": {"dataset.name": ["q"], "latent": ["boson"]}}, name="x",
                               base_dir=tmp_path)
