"""Perceval's local simulators as a backend, so our sampler can be checked against the reference."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.qpu.circuits import to_perceval_circuit
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

#: Rough sizes for :meth:`PercevalBackend.estimate`: a shot as Perceval's state plus our Python row,
#: and an SLOS output state (amplitude, probability and the state object), with SLOS's state rate.
_SLOS_BYTES_PER_STATE = 200
_SLOS_STATES_PER_SECOND = 1.0e8
#: Largest seed ``perceval.random_seed`` takes (it seeds 32-bit generators).
MAX_SEED = 2**32 - 1


def _python_bytes_per_shot(n_modes: int) -> int:
    return 300 + 24 * n_modes


@python_sigint()
def perceval_noise(request: SampleRequest) -> Any:
    """The ``perceval.NoiseModel`` of a request.

    Perceval's ``indistinguishability`` is the two-photon mean wavepacket overlap, i.e. the HOM
    visibility; ours is the per-photon overlap ``x`` whose HOM visibility is ``x²``
    (:mod:`qlatent.photonics.probabilities`), so Perceval gets ``x²`` (the two output
    distributions then agree exactly; tests check it). Distinguishable photons: 0.
    """
    import perceval as pcvl

    return pcvl.NoiseModel(brightness=request.brightness, indistinguishability=request.indistinguishability ** 2,
                           transmittance=request.transmission)


def samples_to_counts(samples: Any, n_modes: int, n_photons: int) -> np.ndarray:
    """Perceval ``BSSamples`` (or a list of Fock states) as an ``n × m`` counts array.

    Raises
    ------
    ValueError
        If a state has the wrong number of modes or more photons than were sent in.
    """
    rows = [list(state) for state in samples]
    if not rows:
        return np.zeros((0, n_modes), dtype=counts_dtype(n_photons))
    counts = np.asarray(rows, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != n_modes:
        raise ValueError(f"samples have {counts.shape[1:] or 'ragged'} modes, expected {n_modes}")
    if counts.min() < 0 or counts.sum(axis=1).max() > n_photons:
        raise ValueError(f"samples hold negative counts or more than the {n_photons} photons sent in")
    return counts.astype(counts_dtype(n_photons))


class PercevalBackend:
    """A Perceval local backend (``"perceval:SLOS"``, ``"perceval:CliffordClifford2017"``, …).

    Runs ``Processor(name, Unitary(U), NoiseModel(...))`` with every shot kept
    (``min_detected_photons_filter(0)``) and PNR or threshold detectors, through
    ``perceval.algorithm.Sampler``; a request's post-selection (``min_detected``) is applied to
    those shots here, counting the rejected ones. Seeding goes through ``perceval.random_seed``, which sets
    Perceval's global generators (Python, NumPy legacy, exqalibur): that is Perceval's only way.
    Seeded SLOS runs repeat exactly; CliffordClifford2017 (multithreaded in exqalibur) was seen to
    differ between seeded runs beyond about a thousand shots per call — the store, not the seed,
    is what makes a notebook's samples repeat.

    Parameters
    ----------
    backend_name : str
        A name known to ``perceval.BackendFactory``.
    chunk_size : int
        Shots per ``Sampler`` call (the progress bar advances per chunk).

    Raises
    ------
    ValueError
        If Perceval does not know ``backend_name``.
    """

    def __init__(self, backend_name: str, *, chunk_size: int = 100_000) -> None:
        with python_sigint():
            import perceval as pcvl

            known = sorted(pcvl.BackendFactory.list())
        if backend_name not in known:
            raise ValueError(f"Perceval has no backend {backend_name!r}; known backends: {', '.join(known)}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.backend_name = backend_name
        self.chunk_size = int(chunk_size)
        self.name = f"perceval:{backend_name}"

    def check(self, request: SampleRequest) -> None:
        """Raise, before anything is written, what Perceval would raise only once sampling starts.

        Raises
        ------
        ValueError
            If ``request.seed`` is above ``MAX_SEED`` (``perceval.random_seed`` takes 32-bit seeds).
        """
        if request.seed is not None and request.seed > MAX_SEED:
            raise ValueError(f"{self.name} takes seeds from 0 to {MAX_SEED:,} (perceval.random_seed), "
                             f"got {request.seed:,}")

    def estimate(self, request: SampleRequest) -> SamplingEstimate:
        """Memory: the counts' copies, one chunk of Perceval's Python shot objects and, for SLOS, the
        whole output distribution (``C(n + m − 1, n)`` states); time: our sampler's rate
        (:mod:`qlatent.qpu.limits`), plus SLOS's distribution."""
        from qlatent.qpu.limits import COUNTS_COPIES, SamplingEstimate, counts_bytes, fock_space_size
        from qlatent.qpu.shards import estimated_seconds

        memory = COUNTS_COPIES * counts_bytes(request)
        memory += min(self.chunk_size, request.n_samples) * _python_bytes_per_shot(request.n_modes)
        seconds = estimated_seconds(request)
        if self.backend_name == "SLOS":
            states = fock_space_size(request.n_photons, request.n_modes)
            memory += states * _SLOS_BYTES_PER_STATE
            seconds += states * request.n_photons / _SLOS_STATES_PER_SECOND
        return SamplingEstimate(int(memory), seconds)

    @python_sigint()
    def processor(self, request: SampleRequest) -> Any:
        """The configured ``perceval.Processor`` for ``request``."""
        import perceval as pcvl

        processor = pcvl.Processor(self.backend_name, to_perceval_circuit(request), perceval_noise(request))
        if request.detection == "threshold":
            for mode in range(request.n_modes):
                processor.add(mode, pcvl.Detector.threshold())
        processor.min_detected_photons_filter(0)
        processor.with_input(pcvl.BasicState(list(request.input_state)))
        return processor

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Draw ``request.n_samples`` shots in chunks of ``chunk_size``."""
        from qlatent.progress import bar as tqdm

        with python_sigint():
            import perceval as pcvl
            from perceval.algorithm import Sampler

            started_at = utc_now()
            sampler = Sampler(self.processor(request))
            pcvl.random_seed(request.seed)
        chunks = []
        n_shots = n_passed = 0
        with tqdm(total=request.n_samples, disable=not progress, desc=self.name, unit="shot") as bar:
            remaining = request.n_samples
            while remaining:
                size = min(self.chunk_size, remaining)
                with python_sigint():  # exqalibur takes SIGINT at every call: Ctrl-C between chunks must stop us
                    shots = sampler.samples(size)["results"]
                counts = samples_to_counts(shots, request.n_modes, request.n_photons)
                if counts.shape[0] != size:
                    raise RuntimeError(f"{self.name} returned {counts.shape[0]} shots instead of {size}")
                counts = postselect(counts, request.min_detected)
                n_shots, n_passed = n_shots + size, n_passed + len(counts)
                if n_shots >= 1000 * request.n_samples + self.chunk_size and remaining > len(counts):
                    raise ValueError(f"post-selection on at least {request.min_detected} detected photons accepted "
                                     f"{n_passed} of {n_shots} shots: too rare to collect {request.n_samples}")
                chunks.append(counts[:remaining])
                bar.update(len(chunks[-1]))
                remaining -= len(chunks[-1])
        details = {"name": self.name, "perceval_backend": self.backend_name,
                   "noise_model": {"brightness": request.brightness, "transmittance": request.transmission,
                                   "indistinguishability": request.indistinguishability ** 2},
                   "seeding": "perceval.random_seed"}
        if request.min_detected:
            details["postselection"] = postselection_report(request.min_detected, n_shots, n_passed)
        return SampleSet.create(request, np.concatenate(chunks), backend_details=details, started_at=started_at)
