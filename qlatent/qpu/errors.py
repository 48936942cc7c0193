"""Errors raised by the QPU client and the sample store, each naming what went wrong and where."""

from __future__ import annotations


class QPUError(RuntimeError):
    """Base class of every error raised by :mod:`qlatent.qpu`."""


class CorruptSampleError(QPUError):
    """A stored sample file is truncated, unreadable or does not match its recorded checksum."""


class MissingTokenError(QPUError):
    """No cloud token was found; raised before any network request is made."""


class RejectedTokenError(QPUError):
    """The cloud refused the token (HTTP 401 or 403)."""


class UnknownPlatformError(QPUError):
    """The cloud does not know the requested platform."""


class CircuitTooLargeError(QPUError):
    """The circuit or the input state exceeds what the platform accepts."""


class RemoteJobError(QPUError):
    """A remote job failed, timed out or returned malformed results more often than the retry limit allows.

    Attributes
    ----------
    job_id : str or None
        The last job the client was working on (None if no job was ever accepted).
    n_received : int
        Samples received and kept (in the partial file) before the failure.
    """

    def __init__(self, message: str, *, job_id: str | None, n_received: int) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.n_received = n_received


class UnknownSampleSetError(QPUError, KeyError):
    """No stored set (or more than one) answers to an id or prefix, and no file has that path.

    Also a :class:`KeyError`, which is what a lookup by id raised before.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SampleSizeError(QPUError):
    """A request is estimated to need more memory, time or remote jobs than the limits allow.

    Attributes
    ----------
    estimate : SamplingEstimate
        What the request was estimated to need (:mod:`qlatent.qpu.limits`).
    """

    def __init__(self, message: str, *, estimate: object) -> None:
        super().__init__(message)
        self.estimate = estimate
