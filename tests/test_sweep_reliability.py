"""The sweep machinery against what careless or hostile users and runs do (issue 24, round 2)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sweep_fakes
import yaml

from qlatent.cli import main
from qlatent.sweep import executors
from qlatent.sweep.engine import run_tasks
from qlatent.sweep.errors import SweepError
from qlatent.sweep.executors import ExecutorSettings, capped_workers, open_executor
from qlatent.sweep.records import SweepStore
from qlatent.sweep.run import run_sweep
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


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_a_child_the_run_forks_never_comes_back_as_the_run(tmp_path, executor):
    # In a subprocess: before the fix a serial child ran the rest of the sweep (here: the test session).
    path = write_sweep(tmp_path, experiment="sweep_fakes:forks", grid={"x": [1.0, 2.0, 3.0, 4.0]}, seeds=1,
                       retries=0)
    done = subprocess.run([sys.executable, "-m", "qlatent.cli", "sweep", str(path), "--output", str(tmp_path / "out"),
                           "--quiet", "--executor", executor, "--workers", "2"],
                          capture_output=True, text=True, timeout=120, env=_environment())
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("completed now") == 1 and "4 run(s) completed now, 0 before, 0 failed" in done.stdout
    spec = load_sweep(path, output=tmp_path / "out")
    scores = {x: (record["scores"]["sum"], record["scores"]["child_status"]) for x, record in records(spec).items()}
    assert scores == {1.0: (1.0, 0.0), 2.0: (2.0, 0.0), 3.0: (3.0, 1.0), 4.0: (4.0, 0.0)}


@pytest.mark.parametrize("executor", [["--executor", "serial"], ["--executor", "local", "--workers", "2"]])
def test_a_base_exception_a_run_raises_is_that_runs_failure_alone(tmp_path, capsys, executor):
    path = write_sweep(tmp_path, experiment="sweep_fakes:raises_base", grid={"x": [1.0, 2.0, 3.0, 4.0]}, seeds=1,
                       retries=0)
    assert main(["sweep", str(path), "--output", str(tmp_path / "out"), "--quiet", *executor]) == 1
    out = capsys.readouterr().out
    assert "2 run(s) completed now, 0 before, 2 failed" in out
    assert out.count("failed: x=2.0, seed=0: Weird: custom base") == 1
    assert out.count("failed: x=3.0, seed=0: GeneratorExit: generator closed") == 1
    spec = load_sweep(path, output=tmp_path / "out")
    assert {x: (r["status"], r.get("attempts")) for x, r in records(spec).items()} == {
        1.0: ("complete", 1), 2.0: ("failed", 1), 3.0: ("failed", 1), 4.0: ("complete", 1)}


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
    assert not results[0].ok and results[0].error == "worker process died (exit status 17); gave up after 1 attempt(s)"
    assert results[1].ok and results[1].attempts == 1 and results[1].value == {"sum": 2.0}


def test_ctrl_c_stops_a_pool_sweep_and_its_workers_at_once_in_one_line(tmp_path):
    log = tmp_path / "calls.log"
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"pause": 60.0},
                       grid={"x": [1.0, 2.0]}, seeds=1)
    command = [sys.executable, "-m", "qlatent.cli", "sweep", str(path), "--output", str(tmp_path / "out"), "--quiet",
               "--executor", "local", "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**_environment(), "SWEEP_FAKE_LOG": str(log)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while (not log.exists() or len(log.read_text().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole process group
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130
    assert err.splitlines() == ["qlatent: interrupted; completed notebooks and runs are kept"]


# ------------------------------------------------------------------------------- worker counts


def test_workers_are_capped_at_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3})  # as `taskset -c 0,3` or a container leaves it
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    cpus = executors.available_cpus()
    assert cpus == 2
    with open_executor(ExecutorSettings("local", workers=1000)) as executor:
        assert executor.capacity <= cpus
        assert f"1,000 asked for; {cpus} CPU(s) available" in executor.describe()


def test_workers_are_capped_by_the_memory_free_at_an_estimate_per_worker(monkeypatch):
    monkeypatch.setattr(executors, "available_memory_bytes", lambda: 3 * executors.WORKER_MEMORY_BYTES)
    count, note = capped_workers(16, 16)
    assert count == 3
    assert note == "16 asked for; 0.3 GiB of memory free at about 0.10 GiB per worker before its run"
    assert capped_workers(32, 16)[1] == ("32 asked for; 16 CPU(s) available; 0.3 GiB of memory free at about "
                                         "0.10 GiB per worker before its run")
    assert capped_workers(None, 16)[1] == "0.3 GiB of memory free at about 0.10 GiB per worker before its run"
    monkeypatch.setattr(executors, "available_memory_bytes", lambda: None)
    assert capped_workers(16, 4) == (4, "16 asked for; 4 CPU(s) available")
    assert capped_workers(None, 4, threads_per_worker=2) == (2, "")



# ----------------------------------------------------------------- a Ray address that is not Ray


def _sweep_cli(tmp_path: Path, *options: str) -> list[str]:
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", grid={"x": [1.0]}, seeds=1)
    return [sys.executable, "-m", "qlatent.cli", "sweep", str(path), "--output", str(tmp_path / "out"), "--quiet",
            *options]


def _environment() -> dict[str, str]:
    tests = str(Path(__file__).resolve().parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}


def test_an_address_where_another_service_listens_is_refused_in_seconds_in_one_line(tmp_path):
    import http.server

    pytest.importorskip("ray")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        done = subprocess.run(_sweep_cli(tmp_path, "--executor", "ray", "--address", address), capture_output=True,
                              text=True, timeout=60, env=_environment())
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 2
    assert done.stderr.splitlines() == [  # http.server answers an HTTP version it refuses with a bare page
        f"qlatent: error: nothing at {address} speaks Ray's protocol (gRPC): it answered '<!DOCTYPE HTML>'; "
        "check the address (`ray start --head` prints it; Ray Client listens on port 10001)"]
    assert not (tmp_path / "out").exists()


def test_a_silent_address_is_refused_after_the_connect_timeout(monkeypatch):
    with socket.socket() as server:  # accepts connections (the kernel's backlog) and never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(SweepError, match=f"nothing at {address} speaks Ray's protocol \\(gRPC\\): it accepted "
                                             "the connection but answered nothing within 0.5 s"):
            executors.check_reachable(address, timeout=0.5)
        monkeypatch.setenv("RAY_USE_TLS", "1")  # a TLS handshake is not HTTP/2's preface: only the connection counts
        executors.check_reachable(address, timeout=0.5)


def test_joining_a_cluster_that_never_answers_gives_up_after_the_join_timeout(monkeypatch):
    ray = pytest.importorskip("ray")
    started = threading.Event()

    def never_returns(*args, **kwargs):  # as Ray's C++ core: Ctrl-C does not get through, for 20 s
        started.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(KeyboardInterrupt):
                time.sleep(0.1)
        raise ConnectionError("gave up")

    monkeypatch.setattr(ray, "init", never_returns)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(executors, "JOIN_TIMEOUT_S", 1.0)
    begun = time.monotonic()
    with sweep_fakes.http2_server() as (address, _), pytest.raises(
            SweepError, match=f"cannot connect to the Ray cluster at {address}: TimeoutError: Ray found no cluster "
                              "there within 1 s"):
        with open_executor(ExecutorSettings("ray", address=address)):
            pytest.fail("the executor started")
    assert started.is_set() and time.monotonic() - begun < 10


@pytest.mark.ray
@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_ctrl_c_and_sigterm_stop_a_sweep_while_ray_looks_for_a_cluster(tmp_path, signal_number, status):
    pytest.importorskip("ray")
    with sweep_fakes.http2_server() as (address, accepted):  # passes the probe; Ray then waits for its cluster
        process = subprocess.Popen(_sweep_cli(tmp_path, "--executor", "ray", "--address", address),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
        try:
            deadline = time.monotonic() + 60
            while not accepted and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            time.sleep(3)  # the probe is answered: Ray is joining now
            assert process.poll() is None, process.communicate()
            process.send_signal(signal_number)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == status
    if signal_number == signal.SIGINT:
        assert err.strip().splitlines()[-1] == "qlatent: interrupted; completed notebooks and runs are kept"


@pytest.mark.ray
def test_sigterm_stops_a_sweep_on_local_ray_with_status_143_in_one_line(tmp_path):
    pytest.importorskip("ray")
    path = write_sweep(tmp_path, experiment="sweep_fakes:quadratic", parameters={"pause": 60.0},
                       grid={"x": [1.0, 2.0]}, seeds=1)
    process = subprocess.Popen([sys.executable, "-m", "qlatent.cli", "sweep", str(path), "--output",
                                str(tmp_path / "out"), "--quiet", "--executor", "ray", "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**_environment(), "PYTHONUNBUFFERED": "1"})
    try:
        started = process.stdout.readline()  # "sweep 'sweep': 2 run(s), ... to run on Ray (...)"
        assert "to run on Ray" in started, (started, process.stderr.read() if process.poll() is not None else "")
        time.sleep(3)  # the runs are on their workers now
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "qlatent: terminated (SIGTERM); completed runs are kept"
    assert "Traceback" not in err and "SIGTERM received" not in err and "***" not in err, err


@pytest.mark.ray
def test_a_private_ray_instance_starts_where_ray_address_names_a_cluster(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # as `ray start` or a user's shell leaves it
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", grid={"x": [1.0, 2.0]}, seeds=1)
    try:
        summary = run_sweep(load_sweep(path, output=tmp_path / "out"), ExecutorSettings("ray", workers=1),
                            progress=False, say=lambda _: None)
    finally:
        if ray.is_initialized():
            ray.shutdown()
    assert (summary.n_completed, summary.failures) == (2, [])


# ------------------------------------------------------------------------------ sweep files


def test_a_huge_sweep_is_refused_from_its_axis_lengths_before_anything_is_expanded(tmp_path, capsys):
    axes = {f"a{index}": list(range(10)) for index in range(8)}
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", parameters={"x": 1.0}, grid={}, seeds=10**9)
    begun = time.monotonic()
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"qlatent: error: {path}: the sweep has 1,000,000,000 runs (the product of its axes' lengths, "
        "'seed': 1,000,000,000), more than the limit of "
        "10,000; split it, or raise the limit (qlatent sweep --max-runs N)"]
    wide = write_sweep(tmp_path, "wide.yml", experiment="sweep_fakes:widths", grid=axes, seeds=1)
    lengths = r"\(the product of its axes' lengths, 'a0': 10, 'a1': 10, .*, 'seed': 1\)"
    with pytest.raises(SweepError, match=rf"100,000,000 runs {lengths}, more than the limit"):
        load_sweep(wide)
    assert time.monotonic() - begun < 10
    small = write_sweep(tmp_path, "small.yml", experiment="sweep_fakes:scores_only", grid={"x": [1.0, 2.0]}, seeds=3)
    with pytest.raises(SweepError, match="the sweep has 6 runs"):
        load_sweep(small, max_runs=5)
    assert main(["sweep", str(small), "--dry-run", "--max-runs", "6"]) == 0


def test_the_limit_on_runs_cannot_be_raised_without_bound(tmp_path, capsys):
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", grid={"x": [1.0]}, seeds=1)
    with pytest.raises(SystemExit):
        main(["sweep", str(path), "--dry-run", "--max-runs", "1e9"])
    assert "--max-runs: must be a whole number in [1, 1,000,000], got '1e9'" in capsys.readouterr().err
    with pytest.raises(SweepError, match=r"limit on runs must be a whole number in \[1, 1,000,000\], got 300000000"):
        load_sweep(path, max_runs=300_000_000)


def test_yaml_aliases_are_refused_in_sweep_files(tmp_path, capsys):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + level)}: &{chr(98 + level)} [*{chr(97 + level)}, *{chr(97 + level)}, *{chr(97 + level)}, "
        f"*{chr(97 + level)}, *{chr(97 + level)}, *{chr(97 + level)}, *{chr(97 + level)}, *{chr(97 + level)}, "
        f"*{chr(97 + level)}]" for level in range(8)]
    path = tmp_path / "bomb.yml"
    path.write_text("experiment: sweep_fakes:scores_only\nparameters:\n" + "".join(f"  {line}\n" for line in bomb)
                    + "grid: {x: [1.0]}\nseeds: 1\n")
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"qlatent: error: sweep file {path} is not valid YAML at line 4: an alias (*a) is not allowed in a sweep "
        "file: write the value out"]


@pytest.mark.parametrize(("grid", "message"), [
    ({"x": [1, 1.0]}, r"grid axis 'x' repeats a value: \[1, 1.0\]"),
    ({"x": [1, True]}, r"grid axis 'x' mixes true/false with numbers: \[1, True\]"),
    ({"x": [0.0, -0.0]}, r"grid axis 'x' repeats a value: \[0.0, -0.0\]"),
    ({"x": [[1, 2], [1.0, 2.0]]}, r"grid axis 'x' repeats a value: \[\[1, 2\], \[1.0, 2.0\]\]"),
    ({"x": [{"a": 1}, {"a": 1.0}]}, r"grid axis 'x' repeats a value: \[\{'a': 1\}, \{'a': 1.0\}\]"),
    ({"x": [[1], [True]]}, r"grid axis 'x' repeats a value: \[\[1\], \[True\]\]"),
])
def test_grid_values_python_takes_as_equal_are_one_value(tmp_path, grid, message):
    with pytest.raises(SweepError, match=message):
        load_sweep(write_sweep(tmp_path, experiment="sweep_fakes:uses_any", grid=grid, seeds=1))


def test_numbers_a_float_comparison_would_confuse_are_distinct_values(tmp_path):
    grid = {"x": [9007199254740993, 9007199254740992.0]}  # 2**53 + 1 and 2**53: float(2**53 + 1) == 2**53
    spec = load_sweep(write_sweep(tmp_path, experiment="sweep_fakes:uses_any", grid=grid, seeds=1))
    assert [job["x"] for job in spec.jobs()] == grid["x"]


@pytest.mark.parametrize(("body", "message"), [
    ({"output": None}, r"output must be a folder's path \(text\), got None"),
    ({"output": ""}, r"output must be a folder's path \(text\), got ''"),
    ({"output": ["a", "b"]}, r"output must be a folder's path \(text\), got \['a', 'b'\]"),
    ({"resources": {"gpus": float("nan")}}, "resources.gpus must be a non-negative number, got nan"),
    ({"resources": {"gpus": float("inf")}}, "resources.gpus must be a non-negative number, got inf"),
    ({"resources": {"gpus": 10**310}}, "resources.gpus must be a non-negative number, got 1000000000"),
    ({"output": "a\0b"}, r"output must be a folder's path \(text\), got 'a\\x00b'"),
    ({"seeds": [2**64]}, r"seeds must be non-negative integers below 2\*\*64 \(what torch and numpy take\), got "
                         "18446744073709551616"),
    ({"seeds": None, "grid": {"x": [1.0], "seed": [0, 2**70]}}, "grid axis 'seed' must be non-negative integers"),
    ({"seeds": None, "parameters": {"seed": -1}}, "parameter 'seed' must be non-negative integers below 2"),
])
def test_bad_outputs_resources_and_seeds_are_refused_at_load(tmp_path, body, message):
    sweep = {"experiment": "sweep_fakes:scores_only", "grid": {"x": [1.0]}, "seeds": 1, **body}
    sweep = {key: value for key, value in sweep.items() if not (key == "seeds" and value is None)}
    with pytest.raises(SweepError, match=message):
        load_sweep(write_sweep(tmp_path, **sweep))


@pytest.mark.parametrize(("source", "code", "expected"), [
    ("syntax", "def run(x, seed):\n    return {x: }\n",
     "module 'broken_syntax' has a syntax error ({module}, line 2): "),  # then Python's own words
    ("raises", "import os\nraise RuntimeError('needs $SOMETHING set')\n",
     "importing 'broken_raises' failed: RuntimeError: needs $SOMETHING set"),
    ("exits", "import sys\nsys.exit(4)\n", "importing 'broken_exits' failed: the module exited with status 4"),
    ("base", "class Weird(BaseException):\n    pass\nraise Weird('boom')\n",
     "importing 'broken_base' failed: Weird: boom"),
    ("interrupts", "raise KeyboardInterrupt\n", "importing 'broken_interrupts' failed: KeyboardInterrupt"),
    ("nul", "x = 1\0\n", "module 'broken_nul' has a syntax error ({module}): source code"),
    ("getattr", "def __getattr__(name):\n    raise RuntimeError('no ' + name)\n",
     "looking up 'run' in 'broken_getattr' failed: RuntimeError: no run"),
])
def test_an_experiment_module_that_cannot_be_imported_is_one_line_and_status_2(tmp_path, monkeypatch, capsys,
                                                                               source, code, expected):
    module = tmp_path / f"broken_{source}.py"
    module.write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write_sweep(tmp_path, experiment=f"broken_{source}:run", grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    start = f"qlatent: error: {path}: experiment 'broken_{source}:run': {expected.format(module=module)}"
    assert len(err) == 1 and err[0].startswith(start)


@pytest.mark.parametrize(("source", "expected"), [
    ("def hook(**_):\n    raise RuntimeError('hook broke')\n",
     "the validate hook of experiment {name}:run failed: RuntimeError: hook broke"),
    ("def hook(**_):\n    import sys\n    sys.exit(7)\n",
     "the validate hook of experiment {name}:run failed: the validate hook exited with status 7"),
    ("hook = 5\n", "experiment {name}:run: its validate hook is not callable (int)"),
])
def test_a_broken_validate_hook_is_one_line_naming_it_and_status_2(tmp_path, monkeypatch, capsys, source, expected):
    name = f"hooked_{len(source)}"
    (tmp_path / f"{name}.py").write_text(f"def run(x, seed):\n    return {{'v': x}}\n{source}run.validate = hook\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write_sweep(tmp_path, experiment=f"{name}:run", grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"qlatent: error: {path}: {expected.format(name=name)}"]


def test_an_experiment_without_a_readable_signature_is_one_line_and_status_2(tmp_path, capsys):
    path = write_sweep(tmp_path, experiment="collections:OrderedDict", grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "experiment collections:OrderedDict: its parameters cannot be read" in err[0]


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.yml"
    os.mkfifo(path)
    return path


def _large(tmp_path: Path) -> Path:
    path = tmp_path / "large.yml"
    path.write_text("experiment: sweep_fakes:scores_only\ngrid:\n  x: [" + ", ".join(map(str, range(100_000))) + "]\n")
    return path


def _deep(tmp_path: Path) -> Path:
    path = tmp_path / "deep.yml"
    path.write_text("experiment: sweep_fakes:scores_only\nparameters: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (_fifo, r"is a pipe \(FIFO\), not a regular file"),
    (lambda tmp_path: Path("/dev/zero"), "/dev/zero is a character device, not a regular file"),
    (_large, "is 688,938 bytes, more than the 524,288 bytes a sweep file may have"),
    (_deep, "nests lists or mappings too deeply to be read"),
])
def test_a_sweep_file_that_is_not_a_small_regular_file_is_refused_at_once_in_one_line(tmp_path, capsys, make,
                                                                                     message):
    path = make(tmp_path)
    started = time.perf_counter()
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


def test_an_empty_output_option_or_an_output_that_is_a_file_is_refused_at_load(tmp_path, capsys):
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run", "--output", ""]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"qlatent: error: {path}: the output folder must be a folder's path (text), got ''; "
        "leave it out for data/results/sweeps/NAME"]
    (tmp_path / "taken").write_text("a file")
    on_file = write_sweep(tmp_path, "on_file.yml", experiment="sweep_fakes:scores_only", grid={"x": [1.0]}, seeds=1,
                          output="taken")
    assert main(["sweep", str(on_file), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"qlatent: error: {on_file}: output '{tmp_path / 'taken'}' is a file, not a folder: "
        "name a folder for the runs and tables"]


def test_a_lock_file_that_cannot_be_created_is_not_another_sweep(tmp_path, monkeypatch):
    from filelock import FileLock, Timeout

    store = SweepStore(tmp_path / "out")
    (tmp_path / "out" / ".sweep.lock").mkdir(parents=True)  # where the lock file would go
    with pytest.raises(SweepError, match=r"cannot create the sweep's lock file .*\.sweep\.lock: Is a directory"):
        with store.locked():
            pytest.fail("locked")

    def contended(self, *args, **kwargs):  # what some filelock versions and filesystems say instead
        raise Timeout(str(self.lock_file))

    monkeypatch.setattr(FileLock, "acquire", contended)
    with pytest.raises(SweepError, match=r"cannot create the sweep's lock file .*: Is a directory"):
        with store.locked():
            pytest.fail("locked")


# ------------------------------------------------------------------------------ notebook sweeps


def test_only_the_tables_a_notebook_saved_are_gathered(tmp_path):
    from qlatent.sweep.notebooks import gather_tables

    (tmp_path / "04_discrete" / "runs" / "abc").mkdir(parents=True)
    (tmp_path / "04_discrete" / "scores.csv").write_text("a\n1\n")
    (tmp_path / "04_discrete" / "runs" / "abc" / "metrics.csv").write_text("step,loss\n1,0.5\n")
    assert list(gather_tables(tmp_path)) == ["04_discrete.scores"]


def _study_notebook(path: Path) -> None:
    """A notebook outside the book: saves ``area``; fails at ``width == 3``, its kernel dies at ``width == 4``."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    parameters = nbformat.v4.new_code_cell("width = 1\nseed = 0")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(
        "import os\nimport pandas as pd\nfrom qlatent.results import ResultStore\n"
        "assert width != 3, 'width 3 is where this notebook fails'\n"
        "if width == 4:\n    os._exit(3)\n"
        "ResultStore('my_study').save_table('scores', pd.DataFrame({'area': [width * (seed + 1)]}))")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def test_a_notebook_given_by_its_path_is_run_from_that_path_and_fails_as_qlatent_run_says(tmp_path, monkeypatch,
                                                                                          capfd):
    import pandas as pd

    monkeypatch.setenv("QLATENT_ROOT", str(tmp_path))  # the runner's scratch copies go to its _build/
    _study_notebook(tmp_path / "mine" / "my_study.ipynb")
    path = write_sweep(tmp_path, notebook="mine/my_study.ipynb", grid={"width": [2, 3, 4]}, seeds=1)  # file-relative
    spec = load_sweep(path, output=tmp_path / "out")
    assert (spec.notebook, spec.notebook_path) == ("my_study", (tmp_path / "mine" / "my_study.ipynb").resolve())
    summary = run_sweep(spec, ExecutorSettings("serial"), progress=False, say=lambda _: None)
    assert summary.n_completed == 1
    assert pd.read_parquet(summary.tables["tables/my_study.scores"]).to_dict("list") == {
        "width": [2], "seed": [0], "area": [2]}
    failures = dict((job["width"], error) for job, error in summary.failures)
    # cell 2 of the notebook as written (papermill's injected parameters cell is not counted), as `qlatent run` says
    assert failures[3].startswith("NotebookFailed: notebook 'my_study' failed in cell 2 at line 4 "
                                  "(\"assert width != 3, 'width 3 is where this notebook fails'\"): AssertionError")
    assert failures[4].startswith("KernelDied: notebook 'my_study': kernel died in cell 2 (exit status 3)")
    store = SweepStore(spec.output)
    for width in (3, 4):  # each run's failed copy in its own folder, named in its error
        copy = store.work_dir(store.run_dir(spec, {"width": width, "seed": 0})) / "failed.ipynb"
        assert copy.is_file() and failures[width].endswith(f"(failed copy: {copy})")
    assert not (tmp_path / "_build" / "failed").exists()
    assert "Kernel died" not in capfd.readouterr().err


def test_a_kernel_death_in_a_pool_worker_is_its_runs_one_line_only(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("QLATENT_ROOT", str(tmp_path))
    _study_notebook(tmp_path / "mine" / "my_study.ipynb")
    path = write_sweep(tmp_path, notebook="mine/my_study.ipynb", grid={"width": [4]}, seeds=1, retries=0)
    spec = load_sweep(path, output=tmp_path / "out")
    summary = run_sweep(spec, ExecutorSettings("local", workers=1), progress=False, say=lambda _: None)
    assert [error.split(" (failed copy")[0] for _, error in summary.failures] == [
        "KernelDied: notebook 'my_study': kernel died in cell 2 (exit status 3)"]
    assert "Kernel died" not in capfd.readouterr().err  # papermill's log line, printed by the worker before


# ------------------------------------------------------------------------------ Ray Client


def test_the_cluster_extra_installs_ray_client():
    import tomllib

    extras = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert "ray[client]==2.60.0" in extras["project"]["optional-dependencies"]["cluster"]


def test_a_ray_client_address_without_ray_client_is_one_clear_error(monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setitem(sys.modules, "grpc", None)  # `import grpc` fails as where ray[client] is not installed
    with pytest.raises(SweepError, match=r"a ray:// address needs Ray Client, whose gRPC package cannot be imported "
                                         r"here .*pip install 'qlatent\[cluster\]' \(ray\[client\]==2\.60\.0\)"):
        executors.preflight(ExecutorSettings("ray", address="ray://127.0.0.1:10001"))


# ------------------------------------------------------------------- banks past the sampling limits


def test_a_dry_run_refuses_a_run_whose_bank_is_past_the_limits_naming_the_sweeps_option(tmp_path, capsys):
    """A sweep whose runs would each be refused by the memory limit passed --dry-run, and the run's advice
    named a --max-memory option qlatent sweep did not have."""
    store = tmp_path / "samples"
    path = write_sweep(tmp_path, experiment="sweep_fakes:banked", parameters={"store": str(store)},
                       grid={"shots": [100, 10**13]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qlatent: error: {path}: the run shots=10000000000000, seed=0 is refused by experiment "
                          "sweep_fakes:banked: its photon-count bank is too large: refusing to sample "
                          "10,000,000,000,000 shots") and err.count("\n") == 1
    assert "(--max-memory GB of qlatent samples fetch or qlatent sweep, $QLATENT_MAX_MEMORY_GB for any run" in err
    assert "--max-hours H of qlatent samples fetch or qlatent sweep" in err  # the time limit too
    assert main(["sweep", str(path), "--dry-run", "--max-memory", "2e5", "--max-hours", "0"]) == 0  # 109 TiB < 195
    assert main(["sweep", str(path), "--dry-run", "--max-memory", "100"]) == 2
    assert "QLATENT_MAX_MEMORY_GB" not in os.environ and not store.exists()  # nothing sampled, nothing left set


@pytest.mark.parametrize("variable, value", [("QLATENT_MAX_HOURS", "abc"), ("QLATENT_MAX_MEMORY_GB", "-1")])
def test_a_malformed_limit_variable_is_one_line_naming_it(tmp_path, capsys, monkeypatch, variable, value):
    """A malformed $QLATENT_MAX_* refuses qlatent sweep (its banks are sized at load) and qlatent
    banks in one line with status 2, not a traceback."""
    monkeypatch.setenv(variable, value)
    path = write_sweep(tmp_path, experiment="sweep_fakes:banked", parameters={"store": str(tmp_path / "samples")},
                       grid={"shots": [10]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qlatent: error: ") and err.count("\n") == 1
    assert f"${variable} must be a non-negative number (0: no limit), got {value!r}" in err
    assert main(["banks", "05_qm9", "--store", str(tmp_path / "samples")]) == 2
    err = capsys.readouterr().err
    assert err == f"qlatent: error: ${variable} must be a non-negative number (0: no limit), got {value!r}\n"
    assert not (tmp_path / "samples").exists()


@pytest.mark.parametrize("executor", [["--executor", "serial"], ["--executor", "local", "--workers", "2"]])
def test_the_sweeps_limits_reach_its_runs(tmp_path, capsys, executor):
    path = write_sweep(tmp_path, experiment="sweep_fakes:banked", parameters={"store": str(tmp_path / "samples")},
                       grid={"shots": [10, 20]}, seeds=1)
    output = tmp_path / "out"
    assert main(["sweep", str(path), "--max-memory", "0.5", "--max-hours", "2", "--output", str(output), "--quiet",
                 *executor]) == 0
    spec = load_sweep(path, output=output)
    store = SweepStore(spec.output)
    for job in spec.jobs():
        record = json.loads((store.run_dir(spec, job) / "record.json").read_text())
        assert record["scores"] == {"max_memory_gb": 0.5}, record
    assert "QLATENT_MAX_MEMORY_GB" not in os.environ and "QLATENT_MAX_HOURS" not in os.environ


@pytest.mark.parametrize("sweep", ["table1_quick.yml", "fig2_mixture.yml"])
def test_the_shipped_experiments_list_their_banks_for_the_check(sweep, tmp_path, monkeypatch):
    """The chapters' experiments expose bank_requests, so a run whose photon bank is too large is refused at load."""
    from qlatent.paths import project_root

    monkeypatch.setenv("QLATENT_SAMPLES", str(tmp_path))  # no bank stored: every one is sized
    load_sweep(project_root() / "sweeps" / sweep, output=tmp_path / "out")  # within the default limits
    monkeypatch.setenv("QLATENT_MAX_MEMORY_GB", "1e-6")
    with pytest.raises(SweepError, match=r"the run .*latent='distinguishable'.* is refused by experiment "
                                         r"qlatent\.experiments\.\w+:train_run: its photon-count bank is too large"):
        load_sweep(project_root() / "sweeps" / sweep, output=tmp_path / "out")


@pytest.mark.parametrize("value", ["abc", " ", "nan", "-1", "inf"])
def test_a_bad_gpus_per_run_variable_is_one_line_naming_it(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("QLATENT_GPUS_PER_RUN", value)
    path = write_sweep(tmp_path, experiment="sweep_fakes:scores_only", grid={"x": [1.0]}, seeds=1)
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"qlatent: error: $QLATENT_GPUS_PER_RUN must be a non-negative number of GPUs (fractions allowed), "
        f"got {value!r}"]
