"""Where runs execute: in this process, in a local process pool, or on a Ray cluster.

``serial``  one run after another in this process (the default: the quick profile and CI)
``local``   a pool of ``workers`` spawned processes on this machine
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
``QLATENT_WORKERS``       number of workers (default: the machine's or the cluster's CPUs)
``QLATENT_RAY_ADDRESS``   a Ray cluster: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``
``QLATENT_GPUS_PER_RUN``  GPUs each training run asks for (Ray; fractions allowed)
"""

from __future__ import annotations

import concurrent.futures
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
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from qlatent.sweep.errors import SweepError

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
#: Seconds allowed to open a TCP connection to a Ray address before it is called unreachable.
CONNECT_TIMEOUT_S = 5.0
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
        gpus = self.gpus_per_task
        if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or not math.isfinite(gpus) or gpus < 0:
            raise SweepError(f"gpus per run must be a non-negative number, got {gpus!r}")
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
            gpus = float(environ[GPUS_ENV]) if environ.get(GPUS_ENV, "").strip() else 0.0
        except ValueError as error:
            raise SweepError(f"${WORKERS_ENV} must be an integer and ${GPUS_ENV} a number: {error}") from None
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
    return ExecutorSettings(executor, workers, address, ExecutorSettings.from_env().gpus_per_task)


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


def call_payload(payload: bytes, threads: int, sys_path: list[str] | None = None) -> tuple[str, Any, str, str]:
    """Run one pickled ``(function, kwargs)`` in a worker; exceptions come back as text, never raised.

    ``sys_path``: the driver's import path, appended where missing (as spawned processes inherit
    it), so functions importable by the driver are importable here.
    """
    limit_threads(threads)
    os.environ[EXECUTOR_ENV] = "serial"  # a run inside a worker never starts workers of its own
    for entry in sys_path or ():
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        function, kwargs = pickle.loads(payload)
        limit_threads(threads)  # again: unpickling may have imported torch or Numba
        return "ok", function(**kwargs), "", _worker_name()
    except Exception as error:  # every failure of a run is reported, not raised
        return "error", _error_line(error), traceback.format_exc(), _worker_name()


def _pool_worker_init(threads: int) -> None:
    """Pool worker set-up: thread limits, no nested pools, and die with the parent (Linux)."""
    limit_threads(threads)
    os.environ[EXECUTOR_ENV] = "serial"
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


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


class SerialExecutor(Executor):
    """Runs each task in this process when it is waited for; the exception itself is kept."""

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
        try:
            return token, TaskOutcome("ok", function(**kwargs), worker=_worker_name())
        except Exception as error:  # reported with the run's parameters
            return token, TaskOutcome("error", error=_error_line(error), traceback=traceback.format_exc(),
                                      exception=error, worker=_worker_name())


class PoolExecutor(Executor):
    """A pool of spawned worker processes on this machine (``concurrent.futures``).

    A worker that dies (killed, out of memory, a crash in native code) breaks the pool: every task
    in flight comes back as ``crash`` and the next submission starts a fresh pool.
    """

    kind = "local"

    def __init__(self, settings: ExecutorSettings) -> None:
        super().__init__(settings)
        self.capacity = settings.workers or os.cpu_count() or 1
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._futures: dict[concurrent.futures.Future, int] = {}

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.capacity, mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_worker_init, initargs=(self.settings.threads_per_worker,))

    def start(self) -> None:
        self._pool = self._new_pool()

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        assert self._pool is not None, "start() the executor first"
        if getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
        future = self._pool.submit(call_payload, payload, self.settings.threads_per_worker)
        self._futures[future] = token

    def wait(self) -> tuple[int, TaskOutcome]:
        done, _ = concurrent.futures.wait(list(self._futures), return_when=concurrent.futures.FIRST_COMPLETED)
        future = min(done, key=lambda f: self._futures[f])
        token = self._futures.pop(future)
        try:
            status, value, trace, worker = future.result()
        except concurrent.futures.process.BrokenProcessPool as error:
            return token, TaskOutcome("crash", error=f"worker process died ({_error_line(error)})")
        except Exception as error:  # e.g. a result that cannot be pickled back
            return token, TaskOutcome("error", error=_error_line(error), traceback=traceback.format_exc())
        if status == "ok":
            return token, TaskOutcome("ok", value, worker=worker)
        return token, TaskOutcome("error", error=value, traceback=trace, worker=worker)

    def close(self, abort: bool = False) -> None:
        if self._pool is None:
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=not abort, cancel_futures=True)
        if abort:
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()
        self._pool = None

    def describe(self) -> str:
        return f"local pool of {self.capacity} worker(s)"


def import_ray() -> Any:
    """Import Ray, or raise :class:`SweepError` saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise SweepError(f"the ray executor needs Ray, which cannot be imported here ({error}); "
                         "install it with: pip install 'qlatent[cluster]' (ray==2.60.0)") from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Open and close a TCP connection to a ``HOST:PORT`` Ray address (Ray itself waits minutes).

    Raises
    ------
    SweepError
        If nothing accepts a connection there within ``timeout`` seconds.
    """
    host_port = check_address(address)
    if host_port is None:
        return
    try:
        with socket.create_connection(host_port, timeout=timeout):
            pass
    except OSError as error:
        raise SweepError(f"cannot reach a Ray cluster at {address} ({error}); check the address "
                         "(`ray start --head` prints it) and that the port is open") from None


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
    ray = import_ray()
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

    def start(self) -> None:
        import logging

        ray = self._ray = import_ray()
        address = self.settings.address
        if not ray.is_initialized():
            if address is not None:
                check_reachable(address)
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            if address is None:
                options["num_cpus"] = self.settings.workers or os.cpu_count() or 1
            # Ray logs a line a second to stderr while it retries a cluster for ~20 s; keep that
            # for a failure's one error line (the last log line names the cause), replay it on success.
            # A local instance is started without the capture: its processes would inherit the file.
            if address is None:
                error, captured = _call(lambda: ray.init(address=address, **options)), ""
            else:
                error, captured = call_with_stderr_captured(lambda: ray.init(address=address, **options))
            if error is None:
                if captured:
                    sys.stderr.write(captured)
            elif isinstance(error, (ConnectionError, RuntimeError, ValueError)):
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                last = _last_log_line(captured)
                cause = f" (Ray's last log line: {last})" if last else ""
                hint = "; check the address (`ray start --head` prints it)" if address else ""
                raise SweepError(f"cannot connect to {where}: {_error_line(error)}{cause}{hint}") from None
            else:
                raise error
            self._owns = True
        resources = ray.cluster_resources()
        capacity = int(resources.get("CPU", 1))
        gpus = self.settings.gpus_per_task
        if gpus > 0:
            available = resources.get("GPU", 0)
            if available < gpus:
                self.close()
                raise SweepError(f"each run asks for {gpus} GPU(s) but the Ray cluster has {available:g}")
            capacity = min(capacity, int(available // gpus))
        self.capacity = max(1, self.settings.workers or capacity)
        self._remote = ray.remote(call_payload)
        self._sys_path = [entry for entry in sys.path if entry and os.path.isdir(entry)]

    def submit(self, token: int, function: Any, kwargs: Mapping[str, Any], payload: bytes | None,
               gpus: float) -> None:
        ref = self._remote.options(num_cpus=1, num_gpus=gpus, max_retries=0).remote(
            payload, self.settings.threads_per_worker, self._sys_path)
        self._refs[ref] = token

    def wait(self) -> tuple[int, TaskOutcome]:
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1)
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
        except exceptions.RayError as error:
            return token, TaskOutcome("error", error=_error_line(error), traceback=str(error))
        if status == "ok":
            return token, TaskOutcome("ok", value, worker=worker)
        return token, TaskOutcome("error", error=value, traceback=trace, worker=worker)

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

    def describe(self) -> str:
        where = f"the Ray cluster at {self.settings.address}" if self.settings.address else "a local Ray instance"
        return f"Ray ({where}, {self.capacity} run(s) at once)"


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

