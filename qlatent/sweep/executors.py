"""Where runs execute: in this process, in a local process pool, or on a Ray cluster.

``serial``  one run after another in this process (the default: the quick profile and CI)
``local``   a pool of ``workers`` spawned processes on this machine (at most its usable CPUs)
``ray``     Ray tasks: a local Ray instance of ``workers`` CPUs, or the cluster at ``address``

Every executor takes *tasks* — a picklable function and its keyword arguments — and answers with
one :class:`TaskOutcome` per task: ``ok`` (the value), ``error`` (the function raised; the message
and traceback come back) or ``crash`` (the worker died; :func:`qlatent.sweep.engine.run_tasks`
may retry it). Workers of the pool and of Ray run with one thread for torch, Numba and BLAS by
default, so ``workers`` runs do not oversubscribe the cores, and with ``QLATENT_EXECUTOR=serial``
so a run never starts a pool of its own. A run that asks for GPUs (``gpus_per_task``) is placed
by Ray on a node that has them (``num_gpus``); the local pool leaves GPU placement to the runs.

The default executor comes from the environment, so notebooks need no change to run their grids
elsewhere (``qlatent book --executor ray --address HOST:PORT`` sets these for the kernels):

``QLATENT_EXECUTOR``      ``serial`` | ``local`` | ``ray``
``QLATENT_WORKERS``       number of workers (default and most: the machine's or the cluster's CPUs)
``QLATENT_RAY_ADDRESS``   a Ray cluster: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``
``QLATENT_GPUS_PER_RUN``  GPUs each training run asks for (Ray; fractions allowed)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
import os
import pickle
import re
import signal
import socket
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from qlatent.sweep.errors import SweepError, Terminated

EXECUTORS = ("serial", "local", "ray")
EXECUTOR_ENV = "QLATENT_EXECUTOR"
WORKERS_ENV = "QLATENT_WORKERS"
ADDRESS_ENV = "QLATENT_RAY_ADDRESS"
GPUS_ENV = "QLATENT_GPUS_PER_RUN"
#: Variables read by OpenMP, MKL, OpenBLAS and Numba when they start: one thread per worker.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
#: Most workers an executor starts: far beyond any machine's or cluster's CPUs here, and within what
#: a process pool's C int holds (3,000,000,000 workers was an OverflowError traceback).
MAX_WORKERS = 100_000
#: Seconds allowed to open a TCP connection to a Ray address, and for its first answer, before it is refused.
CONNECT_TIMEOUT_S = 5.0
#: Seconds the Ray executor waits for a result before it looks at whether SIGTERM arrived.
WAIT_SLICE_S = 0.5
#: Seconds allowed for Ray to join the cluster at an address (Ray itself retries for minutes).
JOIN_TIMEOUT_S = 30.0
#: HTTP/2's client preface and an empty SETTINGS frame (RFC 9113, sections 3.4 and 6.5): a gRPC
#: server — Ray's GCS at ``HOST:PORT``, Ray Client at ``ray://HOST:PORT`` — answers with a SETTINGS frame.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
#: An HTTP/2 frame header's length: 3 bytes of payload length, then the type (4: SETTINGS).
_FRAME_HEADER = 9
_ADDRESS = re.compile(r"^(?:ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SweepError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_address(address: str) -> tuple[str, int] | None:
    """Check a Ray address's form; returns ``(host, port)``, or None for ``"auto"``.

    Raises
    ------
    SweepError
        If ``address`` is neither ``auto``, ``HOST:PORT`` nor ``ray://HOST:PORT``.
    """
    if address == "auto":
        return None
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise SweepError(f"Ray address {address!r} is not 'auto', HOST:PORT or ray://HOST:PORT")
    return match["host"].strip("[]"), int(match["port"])


def check_gpus(value: Any, what: str) -> float:
    """``value`` as a number of GPUs per run: a finite non-negative number (fractions allowed).

    Raises
    ------
    SweepError
        Naming ``what``, for anything else (a bool, text, nan, inf, a negative number, or an integer
        too large for a float: 310 digits).
    """
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            number = float(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise SweepError(f"{what} must be a non-negative number, got {value!r:.40}")
    return number


@dataclasses.dataclass(frozen=True)
class ExecutorSettings:
    """Which executor, how many workers, which Ray cluster, what each run asks for.

    Parameters
    ----------
    kind : {"serial", "local", "ray"}
        Where runs execute.
    workers : int, optional
        Runs at once. Default: the machine's CPU count (``local``, a local Ray instance), or the
        cluster's CPUs (Ray at an address; divided by ``gpus_per_task`` when GPUs are asked for).
    address : str, optional
        Ray cluster to join (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); only with ``kind="ray"``.
        None starts a local Ray instance of ``workers`` CPUs.
    gpus_per_task : float
        GPUs each training run asks for (Ray's ``num_gpus``); 0 for none.
    threads_per_worker : int
        torch, Numba and BLAS threads in each worker (not used by ``serial``).

    Raises
    ------
    SweepError
        On an unknown kind, a non-positive ``workers`` or ``threads_per_worker``, a negative or
        non-numeric ``gpus_per_task``, a malformed address, or an address without ``kind="ray"``.
    """

    kind: str = "serial"
    workers: int | None = None
    address: str | None = None
    gpus_per_task: float = 0.0
    threads_per_worker: int = 1

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise SweepError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        if self.workers is not None and _positive_int("workers", self.workers) > MAX_WORKERS:
            raise SweepError(f"workers must be at most {MAX_WORKERS:,}, got {self.workers:,}")
        _positive_int("threads_per_worker", self.threads_per_worker)
        check_gpus(self.gpus_per_task, "gpus per run")
        if self.address is not None:
            if self.kind != "ray":
                raise SweepError(f"a Ray address ({self.address!r}) needs the ray executor, not {self.kind!r}")
            check_address(self.address)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ExecutorSettings:
        """Settings from ``QLATENT_EXECUTOR``, ``QLATENT_WORKERS``, ``QLATENT_RAY_ADDRESS``, ``QLATENT_GPUS_PER_RUN``.

        Raises
        ------
        SweepError
            Naming the variable, if one holds an invalid value.
        """
        environ = os.environ if environ is None else environ
        kind = environ.get(EXECUTOR_ENV, "").strip() or "serial"
        try:
            workers = int(environ[WORKERS_ENV]) if environ.get(WORKERS_ENV, "").strip() else None
        except ValueError:
            raise SweepError(f"${WORKERS_ENV} must be a whole number, got {environ[WORKERS_ENV]!r:.40}") from None
        gpus = gpus_from_env(environ)
        address = environ.get(ADDRESS_ENV, "").strip() or None
        try:
            return cls(kind, workers, address if kind == "ray" else None, gpus)
        except SweepError as error:
            raise SweepError(f"{error} (from ${EXECUTOR_ENV}, ${WORKERS_ENV}, ${ADDRESS_ENV}, ${GPUS_ENV})") from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that make :meth:`from_env` give these settings back."""
        env = {EXECUTOR_ENV: self.kind, GPUS_ENV: repr(float(self.gpus_per_task))}
        env[WORKERS_ENV] = "" if self.workers is None else str(self.workers)
        env[ADDRESS_ENV] = self.address or ""
        return env


def gpus_from_env(environ: Mapping[str, str] | None = None) -> float:
    """GPUs each run asks for, from ``QLATENT_GPUS_PER_RUN`` (unset or empty: 0).

    Raises
    ------
    SweepError
        Naming the variable, if it holds anything but a finite non-negative number (``abc``,
        blanks, ``nan``, ``-1``).
    """
    environ = os.environ if environ is None else environ
    text = environ.get(GPUS_ENV)
    if text is None or text == "":
        return 0.0
    try:
        gpus = float(text)
    except ValueError:
        gpus = math.nan
    if not math.isfinite(gpus) or gpus < 0:
        raise SweepError(f"${GPUS_ENV} must be a non-negative number of GPUs (fractions allowed), got {text!r:.40}")
    return gpus


def resolve_settings(executor: str | ExecutorSettings | None = None, *, workers: int | None = None,
                     address: str | None = None) -> ExecutorSettings:
    """Settings from a settings object, an executor name (with ``workers`` and ``address``), or the environment.

    ``None`` reads :meth:`ExecutorSettings.from_env` (serial when nothing is set); a name takes
    the GPUs per run from ``QLATENT_GPUS_PER_RUN``.
    """
    if isinstance(executor, ExecutorSettings):
        return executor
    if executor is None:
        return ExecutorSettings.from_env()
    if not isinstance(executor, str):
        raise SweepError(f"executor must be one of {', '.join(EXECUTORS)} or ExecutorSettings, got {executor!r}")
    return ExecutorSettings(executor, workers, address, gpus_from_env())


@dataclasses.dataclass
class TaskOutcome:
    """What came back for one task: ``ok`` with its value, ``error`` (the function raised) or ``crash``."""

    status: str
    value: Any = None
    error: str = ""
    traceback: str = ""
    exception: BaseException | None = None  # the exception itself, only when raised in this process
    worker: str = ""


def _error_line(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


#: What a run may raise that is reported as its failure: anything, ``sys.exit()``, ``GeneratorExit``
#: and ``BaseException`` subclasses included, and a ``KeyboardInterrupt`` the run raised itself
#: (the user's Ctrl-C stops the sweep instead; the serial executor tells the two apart).
RUN_FAILURES = (BaseException,)


def _exit_status(error: BaseException | None) -> int:
    """The status the interpreter would exit with: 0 after a return, a ``sys.exit`` code, else 1."""
    if error is None:
        return 0
    if isinstance(error, SystemExit):
        code = error.code
        if code is None:
            return 0
        return code % 256 if isinstance(code, int) else 1
    return 1


def _leave_if_forked(parent_pid: int, error: BaseException | None) -> None:
    """End a process the run forked (a child returning or raising through the run's caller) at once.

    A child that came back here would otherwise carry on as the run's caller: under the serial
    executor it would run the rest of the sweep, in a pool worker it would answer on the worker's
    pipe and shift every later result by one. It exits with the status the interpreter would give
    (:func:`_exit_status`), without running ``atexit`` handlers or flushing the parent's buffers.
    """
    if os.getpid() != parent_pid:
        os._exit(_exit_status(error))


def call_run(function: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
    """``function(**kwargs)``: the one place a run is called, in this process or in a worker.

    A child process the run forked never comes back from here (:func:`_leave_if_forked`),
    whichever way it leaves the run: a return, an exception or ``sys.exit``.
    """
    pid = os.getpid()
    try:
        value = function(**kwargs)
    except BaseException as error:
        _leave_if_forked(pid, error)
        raise
    _leave_if_forked(pid, None)
    return value


def failure_line(error: BaseException, subject: str = "run") -> str:
    """One line for a failure: ``TypeName: message``, or ``run exited with status N`` for ``sys.exit``.

    A ``SystemExit`` exits with its code as the interpreter would: None is 0, an integer itself,
    anything else 1 (its text follows, as ``sys.exit("why")`` prints it). ``subject`` names what exited.
    """
    if not isinstance(error, SystemExit):
        return _error_line(error)
    code = error.code
    if code is None or isinstance(code, int):
        return f"{subject} exited with status {code or 0}"
    text = str(code).strip().splitlines()
    return f"{subject} exited with status 1: {text[0]}" if text else f"{subject} exited with status 1"


def limit_threads(threads: int) -> None:
    """Ask torch, Numba and BLAS (through the environment, for libraries not yet loaded) for ``threads`` threads."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    if "numba" in sys.modules:
        numba = sys.modules["numba"]
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them as they were."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def forwarded_environment() -> dict[str, str]:
    """The variables of this process a worker on another machine must see too: the sampling limits
    (:data:`qlatent.qpu.limits.LIMIT_ENV`, set by ``qlatent sweep --max-memory``), where set."""
    from qlatent.qpu.limits import LIMIT_ENV

    return {name: os.environ[name] for name in LIMIT_ENV.values() if name in os.environ}


def call_payload(payload: bytes, threads: int, sys_path: list[str] | None = None,
                 environ: Mapping[str, str] | None = None) -> tuple[str, Any, str, str]:
    """Run one pickled ``(function, kwargs)`` in a worker; exceptions come back as text, never raised.

    ``sys_path``: the driver's import path, appended where missing (as spawned processes inherit
    it), so functions importable by the driver are importable here. ``environ``: variables set
    in the worker first (:func:`forwarded_environment`: a Ray worker does not inherit the driver's).
    """
    os.environ.update(environ or {})
    limit_threads(threads)
    os.environ[EXECUTOR_ENV] = "serial"  # a run inside a worker never starts workers of its own
    for entry in sys_path or ():
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        function, kwargs = pickle.loads(payload)
        limit_threads(threads)  # again: unpickling may have imported torch or Numba
        return "ok", call_run(function, kwargs), "", _worker_name()
    except RUN_FAILURES as error:  # every failure of a run is reported, not raised (workers ignore Ctrl-C)
        return "error", failure_line(error), traceback.format_exc(), _worker_name()


def _pool_worker_init(threads: int) -> None:
    """Pool worker set-up: thread limits, no nested pools, Ctrl-C left to the parent, die with the parent (Linux).

    The user's Ctrl-C reaches the whole process group; the parent stops the sweep and its workers,
    so a worker ignores it, and a ``KeyboardInterrupt`` inside a worker is one its run raised. It
    is ignored by a handler, not ``SIG_IGN``, which the programs a run starts (a notebook's kernel)
    would inherit.
    """
    limit_threads(threads)
    os.environ[EXECUTOR_ENV] = "serial"
    signal.signal(signal.SIGINT, _ignore_signal)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _ignore_signal(signum: int, frame: Any) -> None:
    """A signal handler that does nothing (system calls it interrupts are retried, PEP 475)."""


def _pool_worker(connection: Any, threads: int) -> None:
    """A pool worker's life: take one pickled task at a time from ``connection``, send its outcome back."""
    _pool_worker_init(threads)
    while True:
        try:
            payload = connection.recv_bytes()
        except (EOFError, OSError):  # the parent closed the pipe: the pool is closing
            return
        outcome = call_payload(payload, threads)
        try:
            connection.send(outcome)
        except (EOFError, OSError):
            return
        except Exception as error:  # a value that cannot be pickled: pickling fails before anything is sent
            connection.send(("error", f"the run's result cannot be sent back ({_error_line(error)})",
                             traceback.format_exc(), outcome[3]))


def pickled_task(function: Any, kwargs: Mapping[str, Any], dumps: Callable[[Any], bytes] = pickle.dumps) -> bytes:
    """``dumps((function, kwargs))`` with an error that says what to pass instead.

    The function must be picklable by the standard :mod:`pickle` (importable by name) whatever the
    executor, so a grid that runs on Ray also runs on the local pool.

    Raises
    ------
    SweepError
        If the function or its arguments cannot be sent to another process (a lambda or a local
        function for the local pool, an open file, ...).
    """
    try:
        pickle.dumps(function)  # the same rule for every executor, even where ``dumps`` could do more
    except Exception as error:  # pickling raises many types
        raise SweepError(f"cannot send {getattr(function, '__qualname__', function)!r} to worker processes "
                         f"({_error_line(error)}); pass a module-level function or a functools.partial of one, "
                         "not a lambda or a local function") from None
    try:
        return dumps((function, dict(kwargs)))
    except Exception as error:
        raise SweepError(f"cannot send the run parameters {dict(kwargs)!r} to worker processes "
                         f"({_error_line(error)})") from None


class Executor:
    """Common interface: ``submit`` tasks up to ``capacity`` at once, ``wait`` for the next outcome."""

    kind = ""
    capacity = 1
    needs_pickling = True

    def dumps(self, obj: Any) -> bytes:
        """How tasks are serialised for the workers (standard pickle: by reference to importable code)."""
        return pickle.dumps(obj)

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings

    def start(self) -> None:
        """Start workers or connect; raises :class:`SweepError` if that cannot be done."""

    def close(self, abort: bool = False) -> None:
        """Release workers; ``abort`` also stops tasks still running."""

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        raise NotImplementedError

    def wait(self) -> tuple[int, TaskOutcome]:
        """Block until a submitted task finishes; returns its token and outcome."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.kind


@contextlib.contextmanager
def user_interrupts() -> Iterator[list[int]]:
    """Note each SIGINT (the user's Ctrl-C) in the yielded list, then handle it as before.

    A ``KeyboardInterrupt`` that arrives with no SIGINT noted was raised by the code itself. Off
    the main thread (where signal handlers cannot be set) nothing is noted.
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.getsignal(signal.SIGINT)

    def note(signum: int, frame: Any) -> None:
        noted.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


class SerialExecutor(Executor):
    """Runs each task in this process when it is waited for; the exception itself is kept.

    A run that calls ``sys.exit`` or raises ``KeyboardInterrupt`` itself has failed like any other;
    the user's Ctrl-C (a SIGINT) still stops everything.
    """

    kind = "serial"
    needs_pickling = False

    def __init__(self, settings: ExecutorSettings) -> None:
        super().__init__(settings)
        self._queue: list[tuple[int, Any, Mapping[str, Any]]] = []

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        self._queue.append((token, function, kwargs))

    def wait(self) -> tuple[int, TaskOutcome]:
        token, function, kwargs = self._queue.pop(0)
        with user_interrupts() as pressed:
            try:
                return token, TaskOutcome("ok", call_run(function, kwargs), worker=_worker_name())
            except RUN_FAILURES as error:  # reported with the run's parameters
                if isinstance(error, KeyboardInterrupt) and pressed:
                    raise
                return token, TaskOutcome("error", error=failure_line(error), traceback=traceback.format_exc(),
                                          exception=error, worker=_worker_name())


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and ``taskset`` narrow)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Memory a pool worker holds before its run allocates anything (Python, numpy, torch, qlatent
#: imported), in bytes: 40 idle workers were measured holding 4.2 GB.
WORKER_MEMORY_BYTES = 105 * 2**20


def available_memory_bytes() -> int | None:
    """Memory not in use on this machine (``MemAvailable``), in bytes, or None where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def capped_workers(requested: int | None, cpus: int, threads_per_worker: int = 1) -> tuple[int, str]:
    """Workers to start: ``requested`` (default: all) but at most one per ``threads_per_worker`` of ``cpus``.

    Local workers are also capped by the memory not in use, at :data:`WORKER_MEMORY_BYTES` each
    (what a worker holds before its run allocates anything). Returns the count and, when it is
    less than requested, a note saying why (empty otherwise).
    """
    by_cpus = max(1, cpus // threads_per_worker)
    memory = available_memory_bytes()
    by_memory = max(1, memory // WORKER_MEMORY_BYTES) if memory else None
    wanted = requested or by_cpus
    count = min(wanted, by_cpus, by_memory or wanted)
    reasons = []
    if by_cpus < wanted:
        reasons.append(f"{cpus} CPU(s) available")
    if by_memory is not None and by_memory < min(wanted, by_cpus):
        reasons.append(f"{memory / 2**30:.1f} GiB of memory free at about {WORKER_MEMORY_BYTES / 2**30:.2f} GiB "
                       "per worker before its run")
    asked = f"{requested:,} asked for; " if requested is not None and reasons else ""
    return count, asked + "; ".join(reasons)


@dataclasses.dataclass
class _Worker:
    """One pool worker process and the parent's end of its pipe."""

    process: Any
    connection: Any


class PoolExecutor(Executor):
    """A pool of spawned worker processes on this machine, each running one task at a time.

    Each worker has its own pipe, so a worker that dies (killed, out of memory, ``os._exit``, a
    crash in native code) is known by the task it held: that task alone comes back as ``crash``
    (naming the exit code or signal) and the worker is replaced; the tasks beside it go on.
    Workers start when first needed; there are at most :func:`capped_workers` of them.
    """

    kind = "local"

    def __init__(self, settings: ExecutorSettings) -> None:
        super().__init__(settings)
        self.capacity, self._note = capped_workers(settings.workers, available_cpus(), settings.threads_per_worker)
        self._idle: list[_Worker] = []
        self._busy: dict[int, tuple[_Worker, int]] = {}  # worker pid -> (worker, token)
        self._context = multiprocessing.get_context("spawn")

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_pool_worker, args=(child, self.settings.threads_per_worker),
                                        daemon=True, name="qlatent-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        while self._idle and not self._idle[-1].process.is_alive():  # died while idle
            self._discard(self._idle.pop())
        worker = self._idle.pop() if self._idle else self._spawn()
        self._busy[worker.process.pid] = (worker, token)
        try:
            worker.connection.send_bytes(payload)
        except OSError:  # it died between the check and the send; wait() reports it as a crash
            pass

    def wait(self) -> tuple[int, TaskOutcome]:
        from multiprocessing.connection import wait

        from qlatent.runner.errors import describe_exit

        busy = list(self._busy.values())
        waitables = [worker.connection for worker, _ in busy] + [worker.process.sentinel for worker, _ in busy]
        ready = wait(waitables)
        # A result that arrived is taken before a death is looked at: the pipe is read first.
        for worker, token in busy:
            if worker.connection in ready:
                try:
                    status, value, trace, name = worker.connection.recv()
                except (EOFError, OSError):  # it died; its pipe closed
                    continue
                del self._busy[worker.process.pid]
                self._idle.append(worker)
                if status == "ok":
                    return token, TaskOutcome("ok", value, worker=name)
                return token, TaskOutcome("error", error=value, traceback=trace, worker=name)
        worker, token = next((worker, token) for worker, token in busy
                             if worker.connection in ready or worker.process.sentinel in ready)
        worker.process.join(timeout=5)  # its pipe may close a moment before it has exited
        del self._busy[worker.process.pid]
        self._discard(worker)
        return token, TaskOutcome("crash", error=f"worker process died ({describe_exit(worker.process.exitcode)})",
                                  worker=f"{socket.gethostname()}:{worker.process.pid}")

    @staticmethod
    def _discard(worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.connection.close()
        if worker.process.is_alive():
            worker.process.terminate()
        worker.process.join(timeout=5)

    def close(self, abort: bool = False) -> None:
        busy = [worker for worker, _ in self._busy.values()]
        for worker in self._idle + busy:
            with contextlib.suppress(OSError):
                worker.connection.close()  # an idle worker reads the end of its pipe and returns
            if abort or worker in busy:
                worker.process.terminate()
        for worker in self._idle + busy:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._idle.clear()
        self._busy.clear()

    def describe(self) -> str:
        note = f" ({self._note})" if self._note else ""
        return f"local pool of {self.capacity} worker(s){note}"


def import_ray(address: str | None = None) -> Any:
    """Import Ray, or raise :class:`SweepError` saying how to install it.

    A ``ray://HOST:PORT`` address also needs Ray Client's gRPC package (``ray[client]``, which
    the ``cluster`` extra installs); without it Ray fails only when it connects.
    """
    install = "install it with: pip install 'qlatent[cluster]' (ray[client]==2.60.0)"
    try:
        import ray
    except ImportError as error:
        raise SweepError(f"the ray executor needs Ray, which cannot be imported here ({error}); {install}") from None
    if address is not None and address.startswith("ray://"):
        try:
            import grpc  # noqa: F401  (Ray Client's transport)
        except ImportError as error:
            raise SweepError(f"a ray:// address needs Ray Client, whose gRPC package cannot be imported here "
                             f"({error}); {install}, or give the cluster's HOST:PORT (port 6379) instead") from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Check that something at a ``HOST:PORT`` Ray address answers and speaks gRPC, as Ray does.

    Ray itself waits minutes, silently, on an address where nothing or another service listens;
    this opens a TCP connection, sends HTTP/2's preface and waits for the server's SETTINGS frame,
    each for at most ``timeout`` seconds. A cluster speaking TLS (``RAY_USE_TLS=1``) is only
    checked for the connection.

    Raises
    ------
    SweepError
        If nothing accepts a connection there, or what answers does not speak HTTP/2 (saying what
        it answered).
    """
    host_port = check_address(address)
    if host_port is None:
        return
    hint = "check the address (`ray start --head` prints it; Ray Client listens on port 10001)"
    try:
        connection = socket.create_connection(host_port, timeout=timeout)
    except OSError as error:
        raise SweepError(f"cannot reach a Ray cluster at {address} ({error}); {hint} and that the port is open") \
            from None
    answer = b""
    with connection:
        if os.environ.get("RAY_USE_TLS", "").strip().lower() in ("1", "true"):
            return
        with contextlib.suppress(OSError):  # a reset or a timeout leaves what was read
            connection.sendall(_HTTP2_PREFACE)
            while len(answer) < _FRAME_HEADER:
                chunk = connection.recv(256)
                if not chunk:
                    break
                answer += chunk
    if len(answer) >= _FRAME_HEADER and answer[3] == 4:
        return
    if answer:
        first = answer.decode("latin-1").strip().splitlines()
        said = f"answered {first[0][:60]!r}" if first else f"answered {answer[:20]!r}"
    else:
        said = f"accepted the connection but answered nothing within {timeout:g} s"
    raise SweepError(f"nothing at {address} speaks Ray's protocol (gRPC): it {said}; {hint}")


def join_bounded(join: Callable[[], Any], timeout: float) -> None:
    """Call ``join`` in a daemon thread and wait at most ``timeout`` seconds for it; Ctrl-C stops the wait.

    Ray's C++ core does not return to Python while it looks for a cluster, so a call in the main
    thread ignores Ctrl-C, and SIGTERM (Ray's own handler is installed only from the main thread,
    so off it SIGTERM ends the process as usual). A call that times out is left to finish or fail
    in its thread.

    Raises
    ------
    TimeoutError
        If ``join`` has not returned after ``timeout`` seconds.
    BaseException
        Whatever ``join`` raised.
    """
    import logging

    done = threading.Event()
    raised: list[BaseException] = []

    def target() -> None:
        try:
            join()
        except BaseException as error:  # handed to the waiting thread
            raised.append(error)
        finally:
            done.set()

    quiet = _DropRecords("SIGTERM handler is not set")  # Ray's warning that it is off the main thread
    logger = logging.getLogger("ray._private.worker")
    logger.addFilter(quiet)
    try:
        threading.Thread(target=target, name="qlatent-ray-join", daemon=True).start()
        if not done.wait(timeout):
            raise TimeoutError(f"Ray found no cluster there within {timeout:g} s")
    finally:
        logger.removeFilter(quiet)
    if raised:
        raise raised[0]


class _DropRecords:
    """A logging filter that drops the records whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def filter(self, record: Any) -> bool:
        return not record.getMessage().startswith(self.prefix)


#: The prefix of a line of Ray's C++ log: ``[2026-01-01 12:00:00,000 W 123 123] gcs_client.cc:210: ``.
_RAY_LOG_PREFIX = re.compile(r"^\[[^\]]*\]\s*[\w.-]+:\d+:\s*")


def call_with_stderr_captured(function: Callable[[], Any]) -> tuple[Exception | None, str]:
    """Call ``function`` with file descriptor 2 sent to a temporary file; returns ``(error, captured text)``.

    Ray's C++ core writes to the process's stderr directly (not through Python's ``sys.stderr``),
    and while it looks for a cluster it logs one line per second for about 20 seconds. Capturing
    the descriptor lets the caller turn a failure into one error line, and replay the text on
    success. Exceptions that are not ``Exception`` (KeyboardInterrupt) propagate, after stderr is
    restored. When descriptor 2 cannot be duplicated the function runs with stderr as it is.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        return _call(function), ""
    error: Exception | None = None
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            function()
        except Exception as caught:  # handed back to the caller
            error = caught
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        captured = sink.read().decode("utf-8", errors="replace")
    return error, captured


def _call(function: Callable[[], Any]) -> Exception | None:
    try:
        function()
    except Exception as error:  # handed back to the caller
        return error
    return None


def _last_log_line(captured: str) -> str | None:
    """The last non-empty line of captured log text, without Ray's timestamp/source prefix."""
    lines = [line.strip() for line in captured.splitlines() if line.strip()]
    return _RAY_LOG_PREFIX.sub("", lines[-1]) if lines else None


def preflight(settings: ExecutorSettings) -> None:
    """Check what can be checked without starting anything: Ray importable, its address reachable.

    Raises
    ------
    SweepError
        If the ray executor is asked for and Ray cannot be imported, or nothing answers at the address.
    """
    if settings.kind != "ray":
        return
    ray = import_ray(settings.address)
    if settings.address is not None and not ray.is_initialized():
        check_reachable(settings.address)


class RayExecutor(Executor):
    """Ray tasks on a local instance (started here, ``workers`` CPUs) or on the cluster at ``address``.

    Each task asks for one CPU and ``gpus`` GPUs and gets the driver's import path (a cluster's
    nodes need qlatent and the experiment's module installed); Ray's own retries are off (``max_retries=0``)
    so that crashes are retried, counted and reported the same way as with the local pool. A Ray
    already initialised in this process is used as it is and left running.
    """

    kind = "ray"

    def dumps(self, obj: Any) -> bytes:
        """Ray's cloudpickle: functions of a script's ``__main__`` (which Ray's workers cannot import) go by value."""
        return self._ray.cloudpickle.dumps(obj)

    def __init__(self, settings: ExecutorSettings) -> None:
        super().__init__(settings)
        self._refs: dict[Any, int] = {}
        self._owns = False
        self._ray: Any = None
        self._remote: Any = None
        self._sys_path: list[str] = []
        self._environ: dict[str, str] = {}
        self._note = ""
        self._sigterm: Any = None  # the SIGTERM handler before start(), restored by close()
        self._terminated = threading.Event()

    def start(self) -> None:
        import logging

        address = self.settings.address
        ray = self._ray = import_ray(address)
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            if address is None:
                # "local": a private instance, even where `ray start` registered a cluster or
                # $RAY_ADDRESS names one (Ray would join it, and refuse num_cpus).
                options["num_cpus"] = capped_workers(self.settings.workers, available_cpus())[0]
                error, captured = _call(lambda: ray.init(address="local", **options)), ""
            else:
                check_reachable(address)
                # Ray logs a line a second to stderr while it retries a cluster; keep that for a
                # failure's one error line (the last log line names the cause), replay it on success.
                # A local instance is started without the capture: its processes would inherit the file.
                error, captured = call_with_stderr_captured(
                    lambda: join_bounded(lambda: ray.init(address=address, **options), JOIN_TIMEOUT_S))
            if error is None:
                if captured:
                    sys.stderr.write(captured)
            elif isinstance(error, (ConnectionError, RuntimeError, ValueError, TimeoutError)):
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                last = _last_log_line(captured)
                cause = f" (Ray's last log line: {last})" if last else ""
                hint = "; check the address (`ray start --head` prints it)" if address else ""
                raise SweepError(f"cannot connect to {where}: {_error_line(error)}{cause}{hint}") from None
            else:
                raise error
            self._owns = True
        resources = ray.cluster_resources()
        cpus = int(resources.get("CPU", 1))
        gpus = self.settings.gpus_per_task
        if gpus > 0:
            available = resources.get("GPU", 0)
            if available < gpus:
                self.close()
                raise SweepError(f"each run asks for {gpus} GPU(s) but the Ray cluster has {available:g}")
            cpus = min(cpus, int(available // gpus))
        self.capacity = max(1, min(self.settings.workers or cpus, cpus))
        self._note = (f"{self.settings.workers:,} asked for; the cluster has room for {cpus}"
                      if self.settings.workers and self.settings.workers > cpus else "")
        self._remote = ray.remote(call_payload)
        self._sys_path = [entry for entry in sys.path if entry and os.path.isdir(entry)]
        self._environ = forwarded_environment()
        if threading.current_thread() is threading.main_thread():
            # Ray's own handler (set by ray.init) calls sys.exit(15) inside Ray's C++ wait, which
            # ends the driver with a native stack dump and status 1; an exception raised there
            # becomes a SystemError. This one notes the signal, and wait() stops the sweep.
            self._sigterm = signal.signal(signal.SIGTERM, self._note_sigterm)

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        ref = self._remote.options(num_cpus=1, num_gpus=gpus, max_retries=0).remote(
            payload, self.settings.threads_per_worker, self._sys_path, self._environ)
        self._refs[ref] = token

    def wait(self) -> tuple[int, TaskOutcome]:
        ray = self._ray
        ready: list[Any] = []
        while not ready:  # in slices, so a SIGTERM noted meanwhile stops the sweep from Python
            ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=WAIT_SLICE_S)
            if self._terminated.is_set():
                raise Terminated("terminated (SIGTERM); completed runs are kept")
        ref = ready[0]
        token = self._refs.pop(ref)
        exceptions = ray.exceptions
        crashes = tuple(getattr(exceptions, name) for name in (
            "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OutOfMemoryError", "LocalRayletDiedError",
            "TaskUnschedulableError", "ActorDiedError") if hasattr(exceptions, name))
        try:
            status, value, trace, worker = ray.get(ref)
        except crashes as error:
            return token, TaskOutcome("crash", error=f"Ray worker lost ({_error_line(error)})")
        except exceptions.RayError as error:  # Ray colours its tracebacks for a terminal
            from qlatent.runner.errors import strip_ansi

            return token, TaskOutcome("error", error=strip_ansi(_error_line(error)), traceback=strip_ansi(str(error)))
        if status == "ok":
            return token, TaskOutcome("ok", value, worker=worker)
        return token, TaskOutcome("error", error=value, traceback=trace, worker=worker)

    def _note_sigterm(self, signum: int, frame: Any) -> None:
        self._terminated.set()

    def close(self, abort: bool = False) -> None:
        ray = self._ray
        if ray is None:
            return
        if abort:
            for ref in list(self._refs):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None

    def describe(self) -> str:
        where = f"the Ray cluster at {self.settings.address}" if self.settings.address else "a local Ray instance"
        note = f"; {self._note}" if self._note else ""
        return f"Ray ({where}, {self.capacity} run(s) at once{note})"


_KINDS: dict[str, type[Executor]] = {"serial": SerialExecutor, "local": PoolExecutor, "ray": RayExecutor}


@contextlib.contextmanager
def open_executor(settings: ExecutorSettings) -> Iterator[Executor]:
    """Start the executor the settings name and close it afterwards (stopping its tasks on error).

    Raises
    ------
    SweepError
        If Ray is absent, the address is unreachable, or the cluster lacks the GPUs asked for —
        before any task is submitted.
    """
    executor = _KINDS[settings.kind](settings)
    executor.start()
    aborted = True
    try:
        yield executor
        aborted = False
    finally:
        executor.close(abort=aborted)


def ray_local_address() -> str:
    """The GCS address of the Ray instance this process is connected to (for kernels to join)."""
    ray = import_ray()
    return ray.get_runtime_context().gcs_address

