"""The sweep machinery against what careless or hostile users and runs do (issue 24, round 2)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import sweep_fakes
import yaml

from qlatent.cli import main
from qlatent.sweep import executors
from qlatent.sweep.engine import run_tasks
from qlatent.sweep.executors import ExecutorSettings, capped_workers, open_executor
from qlatent.sweep.records import SweepStore
from qlatent.sweep.spec import load_sweep


def write_sweep(folder: Path, file_name: str = "sweep.yml", **body) -> Path:
    path = folder / file_name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def records(spec) -> dict[float, dict]:
    store = SweepStore(spec.output)
    return {job["x"]: json.loads((store.run_dir(spec, job) / "record.json").read_text()) for job in spec.jobs()}


# ------------------------------------------------------------- runs that exit or raise KeyboardInterrupt


@pytest.mark.parametrize("executor", [["--executor", "serial"], ["--executor", "local", "--workers", "2"]])
def test_a_run_that_exits_or_raises_keyboard_interrupt_fails_alone(tmp_path, capsys, executor):
    path = write_sweep(tmp_path, experiment="sweep_fakes:quits", grid={"x": [1.0, 2.0, 3.0, 4.0]}, seeds=1)
    assert main(["sweep", str(path), "--output", str(tmp_path / "out"), "--quiet", *executor]) == 1
    out = capsys.readouterr().out
    assert "2 run(s) completed now, 0 before, 2 failed" in out
    assert "failed: x=2.0, seed=0: run exited with status 3" in out
    assert "failed: x=3.0, seed=0: KeyboardInterrupt" in out
    spec = load_sweep(path, output=tmp_path / "out")
    status = {x: record["status"] for x, record in records(spec).items()}
    assert status == {1.0: "complete", 2.0: "failed", 3.0: "failed", 4.0: "complete"}
    assert (tmp_path / "out" / "results.csv").is_file()


def test_the_users_ctrl_c_still_stops_a_serial_sweep():
    with open_executor(ExecutorSettings("serial")) as executor, pytest.raises(KeyboardInterrupt):
        run_tasks(sweep_fakes.presses_ctrl_c, [{"x": 1.0, "seed": 0}], executor)


@pytest.mark.parametrize(("code", "line"), [(3, "run exited with status 3"), (None, "run exited with status 0"),
                                            ("no data", "run exited with status 1: no data")])
def test_an_exit_is_described_by_its_status(code, line):
    assert executors.failure_line(SystemExit(code)) == line


# ------------------------------------------------------------------------- a dying pool worker


def test_a_dying_worker_charges_and_names_only_its_own_run():
    tasks = [{"x": 1.0, "seed": 0}, {"x": 2.0, "seed": 0}]
    with open_executor(ExecutorSettings("local", workers=2)) as executor:
        results = run_tasks(sweep_fakes.dies_at_one, tasks, executor, retries=0)
    assert not results[0].ok and results[0].error == "worker process died (exit code 17); gave up after 1 attempt(s)"
    assert results[1].ok and results[1].attempts == 1 and results[1].value == {"sum": 2.0}


# ------------------------------------------------------------------------------- worker counts


def test_workers_are_capped_at_the_cpus_this_process_may_use():
    cpus = len(os.sched_getaffinity(0))
    with open_executor(ExecutorSettings("local", workers=1000)) as executor:
        assert executor.capacity <= cpus
        assert f"1,000 asked for; {cpus} CPU(s) available" in executor.describe()
    assert capped_workers(None, 8) == (min(8, capped_workers(8, 8)[0]), "")


def test_workers_are_capped_by_the_memory_free_at_an_estimate_per_worker(monkeypatch):
    monkeypatch.setattr(executors, "available_memory_bytes", lambda: 3 * executors.WORKER_MEMORY_BYTES)
    count, note = capped_workers(16, 16)
    assert count == 3
    assert "16 asked for; 0.3 GiB of memory free at about 0.10 GiB per worker" in note
    monkeypatch.setattr(executors, "available_memory_bytes", lambda: None)
    assert capped_workers(16, 4) == (4, "16 asked for; 4 CPU(s) available")
    assert capped_workers(None, 4, threads_per_worker=2) == (2, "")


if sys.platform != "linux":  # sched_getaffinity is Linux-only
    pytestmark = pytest.mark.skip("Linux only")
