"""Tiny experiment functions for the sweep tests (not part of the package: the tests import them by name).

Each call appends one line to ``$SWEEP_FAKE_LOG`` (when set), so tests can count which runs executed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from qlatent.experiments.grid import RunOutcome


def _log(**job: object) -> None:
    log = os.environ.get("SWEEP_FAKE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(",".join(f"{key}={value}" for key, value in sorted(job.items())) + "\n")


def quadratic(x: float, seed: int, scale: float = 1.0, pause: float = 0.0, fail_at: float | None = None) -> RunOutcome:
    """Scores ``scale * x**2 + seed`` and a two-point curve; raises when ``x == fail_at``; sleeps ``pause`` s."""
    _log(x=x, seed=seed)
    if pause:
        time.sleep(pause)
    if fail_at is not None and x == fail_at:
        raise ValueError(f"x={x} is where this experiment fails")
    score = scale * x * x + seed
    return RunOutcome({"score": score, "x_abs": abs(x)}, pd.DataFrame({"step": [1, 2], "loss": [score, score / 2]}))


def scores_only(x: float, seed: int) -> dict[str, float]:
    """A plain mapping of scores (no curve)."""
    _log(x=x, seed=seed)
    return {"sum": x + seed}


def crash_once(x: float, seed: int, marker_dir: str) -> RunOutcome:
    """Kills its own process the first time it runs for a given (x, seed), then succeeds."""
    marker = Path(marker_dir) / f"crashed-{x}-{seed}"
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(17)
    return quadratic(x, seed)


def always_crash(x: float, seed: int) -> RunOutcome:
    """Kills its own process every time."""
    os._exit(17)


def dies_at_one(x: float, seed: int) -> dict[str, float]:
    """Kills its own process after 0.5 s at ``x == 1``; otherwise scores ``x + seed`` after 3 s (so both overlap)."""
    if x == 1:
        time.sleep(0.5)
        os._exit(17)
    time.sleep(3)
    return {"sum": x + seed}


def quits(x: float, seed: int) -> dict[str, float]:
    """Scores ``x + seed``, but calls ``sys.exit(3)`` at ``x == 2`` and raises ``KeyboardInterrupt`` at ``x == 3``."""
    _log(x=x, seed=seed)
    if x == 2:
        sys.exit(3)
    if x == 3:
        raise KeyboardInterrupt
    return {"sum": x + seed}


def uses_any(x: object, seed: int) -> dict[str, float]:
    """Takes a grid value of any type (a list, a mapping); scores the seed."""
    return {"seed": float(seed)}


def forks(x: float, seed: int) -> dict[str, float]:
    """Forks a child that leaves the run by returning (``x == 1``), ``sys.exit(0)`` (``x == 2``) or raising.

    The parent waits for the child and scores ``x + seed`` and the child's exit status.
    """
    pid = os.fork()
    if pid == 0:
        if x == 2:
            sys.exit(0)
        if x == 3:
            raise ValueError("the child fails")
        return {"sum": -1.0, "child_status": -1.0}
    _, status = os.waitpid(pid, 0)
    return {"sum": x + seed, "child_status": float(os.waitstatus_to_exitcode(status))}


class Weird(BaseException):
    """An exception outside ``Exception``, as a careless library might define."""


def raises_base(x: float, seed: int) -> dict[str, float]:
    """Scores ``x + seed``, but raises ``Weird`` at ``x == 2`` and ``GeneratorExit`` at ``x == 3``."""
    if x == 2:
        raise Weird("custom base")
    if x == 3:
        raise GeneratorExit("generator closed")
    return {"sum": x + seed}


def presses_ctrl_c(x: float, seed: int) -> dict[str, float]:
    """Sends SIGINT to its own process, as the user's Ctrl-C would, and waits for it."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
    return {"sum": x + seed}


def with_run_dir(x: float, seed: int, run_dir: Path) -> dict[str, float]:
    """Writes a file into the run's own folder and scores how many files it found there before."""
    run_dir.mkdir(parents=True, exist_ok=True)
    before = len(list(run_dir.iterdir()))
    (run_dir / f"{x}-{seed}.txt").write_text("ok")
    return {"files_before": float(before)}


def threads(x: float, seed: int) -> dict[str, float]:
    """The torch and Numba thread counts a run sees."""
    import numba
    import torch

    return {"torch_threads": float(torch.get_num_threads()), "numba_threads": float(numba.get_num_threads())}


def widths(hidden: list[int], seed: int) -> dict[str, float]:
    """Total width and depth of a list-valued parameter."""
    return {"width": float(sum(hidden)), "depth": float(len(hidden))}


def _check_picky(x: float, seed: int, limit: float = 10.0, **_: object) -> None:
    """Refuses ``x < 0`` naming ``x``, and the combination ``x == 1`` with ``seed == 1`` (a plain ValueError)."""
    from qlatent.checks import refusing

    with refusing("x", x):
        if x < 0:
            raise ValueError(f"x must be non-negative, got {x}")
    if x == 1.0 and seed == 1:
        raise ValueError("x=1 and seed=1 together are refused")
    if x > limit:
        raise ValueError(f"x={x} exceeds limit={limit}")


def picky(x: float, seed: int, limit: float = 10.0) -> dict[str, float]:
    """Scores ``x + seed`` after the checks of its ``validate`` hook."""
    _check_picky(x, seed, limit)
    _log(x=x, seed=seed)
    return {"sum": x + seed}


picky.validate = _check_picky  # type: ignore[attr-defined]


def _bank(shots: int, seed: int, store: str) -> list:
    from qlatent.photonics.interferometers import haar_interferometer
    from qlatent.qpu import SampleRequest

    return [SampleRequest("local", haar_interferometer(4, seed=1), (1, 1, 0, 0), shots, seed=seed)]


def banked(shots: int, seed: int, store: str) -> dict[str, float]:
    """Samples a bank of ``shots`` shots (its ``bank_requests`` hook lists it); scores the memory limit it ran under."""
    from qlatent.qpu import get_or_sample
    from qlatent.qpu.limits import SamplingLimits

    get_or_sample(_bank(shots, seed, store)[0], store, progress=False)
    return {"max_memory_gb": SamplingLimits().max_memory_gb or 0.0}


banked.bank_requests = _bank  # type: ignore[attr-defined]


@contextlib.contextmanager
def http2_server() -> Iterator[tuple[str, list[int]]]:
    """A loopback server that answers HTTP/2's preface with a SETTINGS frame, as gRPC servers (Ray's) do.

    Yields its ``HOST:PORT`` and a list that grows by one per connection accepted.
    """
    accepted: list[int] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(1)
            held.append(connection)
            with contextlib.suppress(OSError):
                connection.sendall(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()
