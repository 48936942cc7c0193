"""Cloud QPUs and simulators through Perceval's ``RemoteProcessor``, with polling, retries and resume.

A run is split into jobs of at most ``chunk_size`` shots. Each job is submitted asynchronously by
Perceval's own ``Sampler``/``RemoteJob`` (the real payload and HTTP client), polled until it
completes or ``job_timeout`` passes, and its results are appended to the run's partial file at
once. Transient faults (timeouts, connection errors, HTTP 5xx/408/429, malformed answers, a job
the platform reports failed) are retried with exponential back-off, at most ``max_retries`` times
in a row; then :class:`~qlatent.qpu.errors.RemoteJobError` names the job and every sample received
so far stays in the partial file, so running again resumes (re-polling a job still in flight).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.qpu.backends.perceval_local import perceval_noise, samples_to_counts
from qlatent.qpu.circuits import to_perceval_circuit
from qlatent.qpu.errors import (
    CircuitTooLargeError,
    MissingTokenError,
    RejectedTokenError,
    RemoteJobError,
    UnknownPlatformError,
)
from qlatent.qpu.interrupts import python_sigint
from qlatent.qpu.sampleset import (
    SampleRequest,
    SampleSet,
    counts_dtype,
    postselect,
    postselection_report,
    utc_now,
)

if TYPE_CHECKING:
    from qlatent.qpu.limits import SamplingEstimate
    from qlatent.qpu.store import PartialRun

TOKEN_ENV = "QLATENT_QPU_TOKEN"
#: Platform names that appear in Perceval 1.3.1's own sources; shown when the cloud rejects a name.
KNOWN_PLATFORMS = ("sim:slos", "sim:belenos", "qpu:belenos")
_TRANSIENT_HTTP = frozenset({408, 409, 421, 423, 429})


@python_sigint()
def _saved_perceval_token() -> str | None:
    """The token Perceval itself would use (``PCVL_CLOUD_TOKEN`` or its saved ``RemoteConfig``)."""
    from perceval.providers.quandela.remote_config import RemoteConfig

    return RemoteConfig().get_token() or None


def resolve_token(token: str | None = None) -> tuple[str, str]:
    """The cloud token and where it came from: argument, ``$QLATENT_QPU_TOKEN``, then Perceval's store.

    Raises
    ------
    MissingTokenError
        If none of the three holds a token (checked before any network request).
    """
    if token:
        return token, "argument"
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], TOKEN_ENV
    saved = _saved_perceval_token()
    if saved:
        return saved, "perceval RemoteConfig"
    raise MissingTokenError(f"no cloud token: pass token=..., set ${TOKEN_ENV}, or save one with "
                            "perceval's RemoteConfig (or $PCVL_CLOUD_TOKEN)")


def _http_status(error: Exception) -> int | None:
    """The HTTP status of a ``requests`` error (Perceval re-raises POST errors with the code in the text)."""
    response = getattr(error, "response", None)
    if response is not None:
        return response.status_code
    match = re.search(r"status code (\d{3})", str(error))
    return int(match.group(1)) if match else None


class _Malformed(Exception):
    """An answer that cannot be decoded (retried)."""


class _JobFailed(Exception):
    """The platform reports the job failed or canceled (a fresh job is submitted)."""


class _JobTimeout(Exception):
    """A job ran past ``job_timeout`` (the run stops; the job is re-polled on resume)."""


class _Permanent(Exception):
    """An HTTP error that retrying cannot fix (4xx other than the transient ones)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Retries:
    """Counts faults in a row and sleeps with exponential back-off; gives up past the limit."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend
        self.count = 0

    def fault(self, error: Exception, what: str, job_id: str | None, received: int, where: str) -> None:
        self.count += 1
        backend = self.backend
        if self.count > backend.max_retries:
            raise RemoteJobError(
                f"gave up {what} on {backend.platform} (job {job_id}) after {self.count} faults in a row; "
                f"last: {type(error).__name__}: {error}; {received} samples kept{where}",
                job_id=job_id, n_received=received) from None
        time.sleep(min(backend.backoff * 2 ** (self.count - 1), backend.max_backoff))


class RemoteBackend:
    """A Perceval cloud platform (``"remote:<platform>"``).

    Every shot is kept (``min_detected_photons_filter(0)``); on simulators the request's noise goes
    in as a ``NoiseModel`` (see :func:`~qlatent.qpu.backends.perceval_local.perceval_noise`), while a
    physical QPU brings its own. Threshold detection is applied to the returned counts (clicks =
    counts clipped to 1), then the request's post-selection (``min_detected``; the shots examined
    and passed go to the provenance). The request's seed is recorded but not sent: clouds take none.

    Parameters
    ----------
    platform : str
        Platform name, e.g. ``"sim:slos"`` or ``"qpu:belenos"``.
    token : str, optional
        Cloud token; else ``$QLATENT_QPU_TOKEN``, else Perceval's saved token.
    url : str, optional
        Cloud API address; default: Perceval's configured URL (the Quandela cloud).
    chunk_size : int
        Most shots per job; each finished job is saved to the partial file.
    poll_interval : float
        Seconds between status requests.
    job_timeout : float
        Seconds a job may take before the run stops (the job stays recorded and is re-polled on resume).
    max_retries : int
        Transient faults tolerated in a row per job before giving up.
    backoff : float
        First retry delay in seconds, doubled after each fault (at most ``max_backoff``).
    max_backoff : float
        Longest retry delay.
    request_timeout : float
        Seconds one HTTP request may take.
    known_platforms : tuple of str
        Names listed when the cloud does not know ``platform``.

    Raises
    ------
    MissingTokenError
        If no token can be found.
    """

    def __init__(self, platform: str, *, token: str | None = None, url: str | None = None,
                 chunk_size: int = 10_000, poll_interval: float = 2.0, job_timeout: float = 3600.0,
                 max_retries: int = 5, backoff: float = 2.0, max_backoff: float = 60.0,
                 request_timeout: float = 30.0, known_platforms: tuple[str, ...] = KNOWN_PLATFORMS) -> None:
        if chunk_size < 1 or max_retries < 0 or poll_interval < 0 or job_timeout <= 0:
            raise ValueError("chunk_size must be positive, max_retries and poll_interval non-negative, "
                             "job_timeout positive")
        self.platform = platform
        self.name = f"remote:{platform}"
        self.token, self.token_source = resolve_token(token)
        self.url = url
        self.chunk_size = int(chunk_size)
        self.poll_interval = float(poll_interval)
        self.job_timeout = float(job_timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.request_timeout = float(request_timeout)
        self.known_platforms = tuple(known_platforms)

    # -- connection ----------------------------------------------------------------------------
    def _call(self, action: Any, what: str, retries: _Retries, job_id: str | None = None,
              received: int = 0, where: str = "") -> Any:
        """Run ``action()``, retrying transient faults; token refusals and other 4xx end the run."""
        import requests

        while True:
            try:
                return action()
            except requests.HTTPError as error:
                status = _http_status(error)
                if status in (401, 403):
                    raise RejectedTokenError(f"{self.url} rejected the token (from {self.token_source}) with "
                                             f"HTTP {status} while {what}") from None
                if status is not None and status < 500 and status not in _TRANSIENT_HTTP:
                    raise _Permanent(status, f"{what} on {self.platform} failed with HTTP {status}: {error}") from None
                problem: Exception = error
            except (requests.Timeout, requests.ConnectionError, _Malformed, AssertionError) as error:
                problem = error
            retries.fault(problem, what, job_id, received, where)

    @python_sigint()
    def connect(self) -> Any:
        """A ``perceval.RemoteProcessor`` on the platform, after checking the token and the name.

        Raises
        ------
        RejectedTokenError, UnknownPlatformError, RemoteJobError
        """
        import requests
        from perceval.providers.quandela.rpc_handler import RPCHandler
        from perceval.runtime import RemoteProcessor

        handler = RPCHandler(self.platform, self.url, self.token)
        handler.request_timeout = self.request_timeout
        self.url = handler.url

        def processor() -> Any:
            handler.fetch_platform_details()  # raises with the HTTP status, unlike RemoteProcessor's own fetch
            try:
                return RemoteProcessor(rpc_handler=handler)
            except requests.HTTPError as error:
                raise _Malformed(str(error)) from None

        try:
            return self._call(processor, "fetching platform details", _Retries(self))
        except _Permanent as error:
            if error.status == 404:
                raise UnknownPlatformError(
                    f"platform {self.platform!r} is unknown to {handler.url} (HTTP 404); known platforms: "
                    f"{', '.join(self.known_platforms)}") from None
            raise RemoteJobError(str(error), job_id=None, n_received=0) from None

    def check_fits(self, processor: Any, request: SampleRequest) -> None:
        """Raise :class:`CircuitTooLargeError` if the platform's constraints exclude the request."""
        constraints = processor.constraints
        limits = [("modes", request.n_modes, constraints.get("max_mode_count")),
                  ("photons", request.n_photons, constraints.get("max_photon_count"))]
        for what, size, limit in limits:
            if limit is not None and size > limit:
                raise CircuitTooLargeError(f"the request has {size} {what} but platform {self.platform!r} "
                                           f"accepts at most {limit}")

    # -- one job -------------------------------------------------------------------------------
    @python_sigint()
    def _submit(self, processor: Any, size: int, command: str) -> str:
        from perceval.algorithm import Sampler

        sampler = Sampler(processor, max_shots_per_call=size)
        job = getattr(sampler, command)
        job.execute_async(max_samples=size)
        return job.id

    def _poll(self, handler: Any, job_id: str, deadline: float, bar: Any) -> None:
        """Wait for a job; ``_JobFailed`` if the platform reports it failed, ``_JobTimeout`` past ``deadline``."""
        from perceval.runtime import RunningStatus

        while True:
            response = handler.get_job_status(job_id)
            if not isinstance(response, dict):
                raise _Malformed(f"status of job {job_id} is not a JSON object: {response!r:.80}")
            status = RunningStatus.from_server_response(str(response.get("status")))
            bar.set_postfix_str(f"job {job_id[:8]} {status.name.lower()}")
            if status == RunningStatus.SUCCESS:
                return
            if status in (RunningStatus.ERROR, RunningStatus.CANCELED):
                raise _JobFailed(f"the platform reports job {job_id} {status.name.lower()}: "
                                 f"{response.get('status_message')}")
            if time.monotonic() > deadline:
                raise _JobTimeout(f"job {job_id} did not complete within {self.job_timeout:g} s")
            time.sleep(self.poll_interval)

    @python_sigint()
    def _results(self, handler: Any, job_id: str, request: SampleRequest) -> np.ndarray:
        """Fetch and convert a finished job's results; ``_Malformed`` if they cannot be decoded."""
        from perceval.serialization import deserialize

        response = handler.get_job_results(job_id)
        try:
            results = deserialize(json.loads(response["results"]), strict=False)["results"]
            if hasattr(results, "keys"):  # a BSCount: expand, then shuffle reproducibly per job
                rows = [state for state in results.keys() for _ in range(int(results[state]))]
                counts = samples_to_counts(rows, request.n_modes, request.n_photons)
                job_seed = int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:8], "little")
                counts = counts[np.random.default_rng(job_seed).permutation(len(counts))]
            else:
                counts = samples_to_counts(results, request.n_modes, request.n_photons)
        except Exception as error:  # any failure to decode is a malformed answer, retried
            raise _Malformed(f"malformed results for job {job_id}: {type(error).__name__}: {error}") from None
        if request.detection == "threshold":
            counts = np.minimum(counts, 1).astype(counts.dtype)
        return counts

    @python_sigint()
    def _configure(self, processor: Any, request: SampleRequest) -> bool:
        """Set the circuit, input, filter and (on a simulator) noise; True for a physical QPU."""
        import perceval as pcvl
        from perceval.utils import ProcessorType

        physical = processor.type == ProcessorType.PHYSICAL
        if physical and (request.transmission, request.brightness, request.indistinguishability) != (1, 1, 1):
            raise ValueError(f"{self.platform} is a physical QPU with its own noise: leave transmission, "
                             "brightness and indistinguishability at 1 (model 'indistinguishable')")
        processor.set_circuit(to_perceval_circuit(request))
        processor.with_input(pcvl.BasicState(list(request.input_state)))
        processor.min_detected_photons_filter(0)
        if not physical:
            processor.noise = perceval_noise(request)
        return physical

    def estimate(self, request: SampleRequest) -> SamplingEstimate:
        """Cloud jobs (``ceil(n_samples / chunk_size)``, more if post-selection rejects shots) and memory
        (the counts' copies and one job's results as Python objects); the queue's time is unknown."""
        from qlatent.qpu.limits import COUNTS_COPIES, SamplingEstimate, counts_bytes

        n_jobs = -(-request.n_samples // self.chunk_size)
        job_objects = min(self.chunk_size, request.n_samples) * (300 + 24 * request.n_modes)
        return SamplingEstimate(COUNTS_COPIES * counts_bytes(request) + job_objects, None, n_jobs)

    # -- the run -------------------------------------------------------------------------------
    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Run ``request`` on the platform, resuming from ``checkpoint`` if it holds partial results.

        Raises
        ------
        RejectedTokenError, UnknownPlatformError, CircuitTooLargeError
            Before any job is submitted.
        ValueError
            If the request's noise parameters are set for a physical QPU (it has its own noise).
        RemoteJobError
            After ``max_retries`` faults in a row, or a job past ``job_timeout``; names the job.
        """
        from qlatent.progress import bar as tqdm

        started_at = utc_now()
        processor = self.connect()
        self.check_fits(processor, request)
        physical = self._configure(processor, request)
        commands = processor.available_commands
        command = "samples" if "samples" in commands else "sample_count"
        if command not in commands:
            raise RemoteJobError(f"platform {self.platform} offers neither 'samples' nor 'sample_count' "
                                 f"(only {commands})", job_id=None, n_received=0)
        handler = processor.get_rpc_handler()

        counts, state = checkpoint.load() if checkpoint is not None else (None, {})
        counts = counts if counts is not None else np.zeros((0, request.n_modes), counts_dtype(request.n_photons))
        state = {"jobs": state.get("jobs", []), "pending": state.get("pending"),
                 "n_shots": state.get("n_shots", 0), "n_passed": state.get("n_passed", 0)}
        where = f" in {checkpoint.path}" if checkpoint is not None else " (no checkpoint given: not kept)"

        def save() -> None:
            if checkpoint is not None:
                checkpoint.save(counts, state)

        retries = _Retries(self)
        with tqdm(total=request.n_samples, initial=len(counts), disable=not progress, desc=self.name,
                  unit="shot") as bar:
            while len(counts) < request.n_samples:
                received = len(counts)
                try:
                    if state["pending"] is None:
                        size = min(self.chunk_size, request.n_samples - received)
                        job_id = self._call(functools.partial(self._submit, processor, size, command),
                                            "submitting a job", retries, None, received, where)
                        state["pending"] = {"job_id": job_id, "size": size}
                        save()
                    job_id = state["pending"]["job_id"]
                    deadline = time.monotonic() + self.job_timeout
                    self._call(functools.partial(self._poll, handler, job_id, deadline, bar), "polling the job status",
                               retries, job_id, received, where)
                    new = self._call(functools.partial(self._results, handler, job_id, request), "fetching results",
                                     retries, job_id, received, where)
                except _JobFailed as error:
                    state["pending"] = None  # the next attempt submits a fresh job
                    save()
                    retries.fault(error, "running a job", job_id, received, where)
                    continue
                except _JobTimeout as error:
                    raise RemoteJobError(f"{error}; it stays recorded{where} and is polled again when the run "
                                         f"resumes; {received} samples kept", job_id=job_id,
                                         n_received=received) from None
                except _Permanent as error:
                    raise RemoteJobError(f"{error} (job {state['pending'] and state['pending']['job_id']}); "
                                         f"{received} samples kept{where}",
                                         job_id=state["pending"] and state["pending"]["job_id"],
                                         n_received=received) from None
                if len(new) == 0:
                    state["pending"] = None
                    save()
                    retries.fault(_Malformed("no samples"), "running a job", job_id, received, where)
                    continue
                state["jobs"].append({"job_id": job_id, "n_samples": int(len(new))})
                state["n_shots"] += int(len(new))
                new = postselect(new, request.min_detected)
                state["n_passed"] += int(len(new))
                counts = np.concatenate([counts, new[: request.n_samples - received]])
                state["pending"] = None
                save()
                retries.count = 0
                bar.update(len(counts) - received)
        details = {"name": self.name, "platform": self.platform, "url": self.url,
                   "platform_type": "qpu" if physical else "simulator", "command": command,
                   "platform_specs": {"constraints": dict(processor.constraints),
                                      "pcvl_version": processor.specs.pcvl_version},
                   "performance": dict(processor.performance), "jobs": state["jobs"],
                   "token_source": self.token_source}
        if request.min_detected:
            details["postselection"] = postselection_report(request.min_detected, state["n_shots"], state["n_passed"])
        return SampleSet.create(request, counts, backend_details=details, started_at=started_at)
