"""Photon-count samples from simulators and photonic processors, requested once and replayed forever.

One line gives a notebook its latents::

    counts = get_or_sample(SampleRequest("local", interferometer, input_state, 10_000, seed=1)).counts

- :class:`SampleRequest` — what to sample; its SHA-256 is the address in the store.
- :class:`SampleSet` — counts (``n_samples × n_modes``) with full provenance.
- :class:`SampleStore`, :func:`get_or_sample` — the content-addressed, verified store; one writer
  per set across processes, every read verified.
- :class:`SamplingLimits` — the memory, time and cloud jobs past which a new request is refused
  (:mod:`qlatent.qpu.limits` estimates them per backend).
- :func:`get_backend` — ``"local"``, ``"perceval:<Backend>"``, ``"remote:<platform>"``,
  ``"recorded:<path-or-id>"`` (see :mod:`qlatent.qpu.backends`).
- :func:`to_perceval_circuit` — our interferometers as Perceval circuits.
- Post-selection: ``SampleRequest(..., min_detected=k)`` keeps shots with at least ``k`` detected
  photons on every backend and records the acceptance rate in the provenance.
- :mod:`qlatent.qpu.shots` — a user's hardware shots (PT-Series, Quandela) in the plain
  ``qlatent.shots/1`` format, replayed by ``"recorded:<file>.json"``
  (:func:`~qlatent.qpu.shots.recorded_request` builds the matching request).

Perceval is imported only when a Perceval backend or circuit is used, and Ctrl-C keeps working
after it (:mod:`qlatent.qpu.interrupts`).
"""

from qlatent.qpu.backends import BACKEND_FORMS, PhotonicBackend, get_backend
from qlatent.qpu.circuits import perceval_unitary, to_perceval_circuit
from qlatent.qpu.errors import (
    CircuitTooLargeError,
    CorruptSampleError,
    MissingTokenError,
    QPUError,
    RejectedTokenError,
    RemoteJobError,
    SampleSizeError,
    UnknownPlatformError,
    UnknownSampleSetError,
)
from qlatent.qpu.limits import SamplingEstimate, SamplingLimits
from qlatent.qpu.sampleset import SampleRequest, SampleSet
from qlatent.qpu.store import SampleStore, default_store_root, get_or_sample, read_sample_files, write_sample_files

__all__ = [
    "BACKEND_FORMS",
    "CircuitTooLargeError",
    "CorruptSampleError",
    "MissingTokenError",
    "PhotonicBackend",
    "QPUError",
    "RejectedTokenError",
    "RemoteJobError",
    "SampleRequest",
    "SampleSet",
    "SampleSizeError",
    "SampleStore",
    "SamplingEstimate",
    "SamplingLimits",
    "UnknownPlatformError",
    "UnknownSampleSetError",
    "default_store_root",
    "get_backend",
    "get_or_sample",
    "perceval_unitary",
    "read_sample_files",
    "to_perceval_circuit",
    "write_sample_files",
]
