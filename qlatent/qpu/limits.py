"""How big a request is before it runs: memory, time and remote jobs, and the limits past which it is refused.

Each backend estimates what a request needs (its ``estimate(request)`` method, returning a
:class:`SamplingEstimate`); :func:`~qlatent.qpu.store.get_or_sample` checks the estimate against
:class:`SamplingLimits` before anything is sampled, so a request for a billion shots is refused
with the numbers at once instead of dying of a ``MemoryError`` or queueing a hundred thousand
cloud jobs. The limits are raised with ``get_or_sample(..., limits=SamplingLimits(...))``, on the
command line with ``qlatent samples fetch --max-memory GB --max-hours H --max-jobs N`` or
``qlatent sweep --max-memory GB --max-hours H`` (for its runs' banks), or for any run with the
environment variables of :data:`LIMIT_ENV`.

The estimates are rough on purpose (a factor of two either way): memory is the counts array
(``n_samples × n_modes`` unsigned integers) times the copies alive at once while a set is
assembled and stored, plus what the backend holds beside it; time is the local sampler's
``n·2ⁿ`` operations per interfering shot at a measured single-core rate
(:func:`qlatent.qpu.shards.estimated_seconds`); a cloud's time depends on its queue and is not
estimated, its number of jobs is.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, Any

from qlatent.qpu.errors import SampleSizeError
from qlatent.qpu.sampleset import counts_dtype

if TYPE_CHECKING:
    from qlatent.qpu.sampleset import SampleRequest

#: Copies of the counts array alive at once while a set is assembled and stored (the parts, the
#: concatenated array, the stored set's read-only copy).
COUNTS_COPIES = 3
_GIB = float(1 << 30)


def counts_bytes(request: SampleRequest) -> int:
    """Bytes of one ``n_samples × n_modes`` counts array of ``request`` (uint8, or uint16 past 255 photons)."""
    return request.n_samples * request.n_modes * counts_dtype(request.n_photons).itemsize


def physical_memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where the system does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def default_max_memory_gb() -> float:
    """Half of this machine's physical memory in GiB (4 GiB where the system does not say)."""
    physical = physical_memory_bytes()
    return physical / 2 / _GIB if physical else 4.0


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` as B, KiB, MiB, GiB or TiB with three significant figures."""
    value, unit = float(n_bytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{value:.3g} {unit}"


def format_seconds(seconds: float) -> str:
    """A duration as seconds, minutes, hours, days or years with two significant figures."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{seconds:.2g} s"


@dataclasses.dataclass(frozen=True)
class SamplingEstimate:
    """What sampling one request is expected to take.

    Attributes
    ----------
    memory_bytes : int
        Peak memory of this process while the set is drawn and stored, in bytes.
    seconds : float or None
        Time on one core, in seconds; None where it cannot be estimated (a cloud's queue).
    n_jobs : int or None
        Cloud jobs submitted (None for backends that run here).
    """

    memory_bytes: int
    seconds: float | None = None
    n_jobs: int | None = None

    def summary(self) -> str:
        """One line, e.g. ``about 2.8 GiB of memory, about 3.1 h on one core``."""
        parts = [f"about {format_bytes(self.memory_bytes)} of memory"]
        if self.seconds is not None:
            parts.append(f"about {format_seconds(self.seconds)} on one core")
        if self.n_jobs is not None:
            parts.append(f"{self.n_jobs:,} cloud job(s) (their time depends on the platform's queue)")
        return ", ".join(parts)


#: Environment variables giving :class:`SamplingLimits`' defaults to every request of a process and
#: its children: ``qlatent sweep --max-memory GB --max-hours H`` sets the first two for its runs,
#: and anyone may set them for a notebook or ``qlatent book``; 0 lifts a limit.
LIMIT_ENV = {"max_memory_gb": "QLATENT_MAX_MEMORY_GB", "max_hours": "QLATENT_MAX_HOURS", "max_jobs": "QLATENT_MAX_JOBS"}


def limit_from_env(field: str, default: float | int | None) -> float | int | None:
    """The default of limit ``field`` (a key of :data:`LIMIT_ENV`): its environment variable if set
    (0: no limit), else ``default``.

    Raises
    ------
    ValueError
        Naming the variable, if it is not a non-negative number (a whole one for ``max_jobs``).
    """
    name = LIMIT_ENV[field]
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    kind = int if field == "max_jobs" else float
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"${name} must be a non-negative {'whole ' if kind is int else ''}number (0: no limit), "
                         f"got {text!r:.40}")
    return value or None


#: How to raise each limit, wherever the request comes from (what :meth:`SamplingLimits.check` advises).
_RAISE = {"max_memory_gb": "--max-memory GB", "max_hours": "--max-hours H", "max_jobs": "--max-jobs N"}


def _advice(field: str) -> str:
    commands = "qlatent samples fetch" if field == "max_jobs" else "qlatent samples fetch or qlatent sweep"
    return f"{_RAISE[field]} of {commands}, ${LIMIT_ENV[field]} for any run, {field}= in Python"


def _positive(name: str, value: Any, kind: type) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or not value > 0:
        raise ValueError(f"{name} must be a positive {'number' if kind is float else 'integer'} or None, "
                         f"got {value!r}")


@dataclasses.dataclass(frozen=True)
class SamplingLimits:
    """The most a new sample set may take; None lifts a limit.

    Parameters
    ----------
    max_memory_gb : float or None
        Peak memory in GiB; default: half of this machine's physical memory (4 GiB where the system
        does not say, :func:`default_max_memory_gb`).
    max_hours : float or None
        Estimated time on one core, in hours (default 168, a week: a 24-photon bank of a million
        shots, about 56 core-hours, passes; a billion 20-photon shots, three core-years, does not).
    max_jobs : int or None
        Cloud jobs one request may submit (default 1,000: ten million shots in the remote
        backend's default jobs of 10,000).

    Each default is first read from its environment variable (:data:`LIMIT_ENV`, 0: no limit), so
    ``qlatent sweep --max-memory`` reaches the runs' banks.

    Raises
    ------
    ValueError
        If a limit is not positive, or an environment variable is not a number.
    """

    max_memory_gb: float | None = dataclasses.field(
        default_factory=lambda: limit_from_env("max_memory_gb", default_max_memory_gb()))
    max_hours: float | None = dataclasses.field(default_factory=lambda: limit_from_env("max_hours", 168.0))
    max_jobs: int | None = dataclasses.field(default_factory=lambda: limit_from_env("max_jobs", 1000))

    def __post_init__(self) -> None:
        _positive("max_memory_gb", self.max_memory_gb, float)
        _positive("max_hours", self.max_hours, float)
        _positive("max_jobs", self.max_jobs, int)

    def check(self, estimate: SamplingEstimate, request: SampleRequest) -> None:
        """Refuse ``request`` if ``estimate`` exceeds a limit.

        Raises
        ------
        SampleSizeError
            Naming the request's size, each limit exceeded with the estimate, and how to raise it.
        """
        exceeded = []
        memory_limit = None if self.max_memory_gb is None else self.max_memory_gb * _GIB
        if memory_limit is not None and estimate.memory_bytes > memory_limit:
            exceeded.append(f"about {format_bytes(estimate.memory_bytes)} of memory, past the limit of "
                            f"{format_bytes(memory_limit)} ({_advice('max_memory_gb')})")
        if self.max_hours is not None and estimate.seconds is not None and estimate.seconds > self.max_hours * 3600:
            exceeded.append(f"about {format_seconds(estimate.seconds)} on one core, past the limit of "
                            f"{format_seconds(self.max_hours * 3600)} ({_advice('max_hours')})")
        if self.max_jobs is not None and estimate.n_jobs is not None and estimate.n_jobs > self.max_jobs:
            exceeded.append(f"{estimate.n_jobs:,} cloud jobs, past the limit of {self.max_jobs:,} "
                            f"({_advice('max_jobs')})")
        if exceeded:
            raise SampleSizeError(
                f"refusing to sample {request.n_samples:,} shots of {request.n_photons} photon(s) in "
                f"{request.n_modes} modes on {request.backend}: it needs {'; and '.join(exceeded)}. Ask for fewer "
                "shots, or raise the limit (0 lifts it)", estimate=estimate)


def estimate_sampling(request: SampleRequest, backend: Any = None) -> SamplingEstimate:
    """What sampling ``request`` on ``backend`` needs: the backend's own ``estimate(request)`` if
    it has one, else the counts' memory alone (time unknown)."""
    estimator = getattr(backend, "estimate", None)
    if callable(estimator):
        return estimator(request)
    return SamplingEstimate(memory_bytes=COUNTS_COPIES * counts_bytes(request))


def fock_space_size(n_photons: int, n_modes: int) -> int:
    """Number of ways ``n_photons`` photons fill ``n_modes`` modes: ``C(n + m − 1, n)``."""
    return math.comb(n_photons + n_modes - 1, n_photons)
