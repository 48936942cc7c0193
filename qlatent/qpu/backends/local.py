"""The local backend: our own exact sampler, every photon model it has, in seeded shards.

A request's shots are cut into shards of :data:`SHARD_SIZE` rows (the last one shorter). Shard
``k`` is drawn by :func:`qlatent.photonics.sample` from its own generator,
``SeedSequence(seed, spawn_key=(k,))`` — the ``k``-th child NumPy's ``SeedSequence(seed).spawn``
would give — so a bank is the same bytes whether its shards are drawn one after another here or
by any number of workers (:mod:`qlatent.qpu.shards`), and a request for fewer shots with the same
seed gives the first rows of a longer one. An unseeded request draws fresh entropy once and
records it in the provenance.

A request with post-selection (``min_detected > 0``) draws each shard's rows as accepted shots
(:func:`qlatent.photonics.sample_postselected` on the shard's generator), counting the shots
examined and passed per shard; their sums give the acceptance rate in the provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qlatent.qpu.sampleset import SampleRequest, SampleSet, postselection_report, utc_now

if TYPE_CHECKING:
    from qlatent.photonics.sampling import SamplerSetup
    from qlatent.qpu.limits import SamplingEstimate
    from qlatent.qpu.store import PartialRun

#: Rows per shard: part of what a seed means, so changing it changes every local bank longer than it.
SHARD_SIZE = 1_000


def n_shards(n_samples: int) -> int:
    """How many shards a request for ``n_samples`` shots has (without listing them)."""
    return -(-n_samples // SHARD_SIZE)


def shard_rows(n_samples: int) -> list[int]:
    """Rows of each shard of a request for ``n_samples`` shots."""
    full, rest = divmod(n_samples, SHARD_SIZE)
    return [SHARD_SIZE] * full + ([rest] if rest else [])


def request_entropy(request: SampleRequest) -> int:
    """The entropy the shards' seeds derive from: the request's seed, or fresh entropy when it has none."""
    return request.seed if request.seed is not None else int(np.random.SeedSequence().entropy)


@dataclass(frozen=True)
class ShardDraw:
    """One shard's counts and, for a post-selected request, the shots examined and passed to get them."""

    counts: np.ndarray
    n_shots: int
    n_passed: int


def sampler_setup(request: SampleRequest) -> SamplerSetup:
    """The sampler's setup for ``request`` (:class:`qlatent.photonics.sampling.SamplerSetup`): its
    matrix validated and projected, its options checked, once for all the request's shards.

    Raises
    ------
    ValueError
        As :class:`~qlatent.photonics.sampling.SamplerSetup`: more photons than
        :data:`~qlatent.photonics.sampling.MAX_PHOTONS`, a shot cost above the sampler's limit.
    """
    from qlatent.photonics.sampling import SamplerSetup

    indistinguishability = request.indistinguishability if request.model == "partial" else 1.0
    return SamplerSetup(request.unitary, request.input_state, request.model, indistinguishability,
                        effective_transmission(request), request.detection, True, request.min_detected)


def draw_shard(request: SampleRequest, index: int, entropy: int, setup: SamplerSetup | None = None) -> ShardDraw:
    """Shard ``index`` of ``request`` (``shard_rows(request.n_samples)[index]`` accepted rows) with its
    post-selection counts (every shot passes without post-selection).

    ``setup``: :func:`sampler_setup` of ``request``, built once for all shards (by default, here).

    Raises
    ------
    IndexError
        If the request has no shard ``index``.
    ValueError
        If the post-selection accepts too few shots (see :func:`qlatent.photonics.sample_postselected`).
    """
    rows = shard_rows(request.n_samples)
    if not 0 <= index < len(rows):
        raise IndexError(f"shard {index} of a request with {len(rows)} shard(s)")
    setup = setup if setup is not None else sampler_setup(request)
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(index,))))
    if not request.min_detected:
        return ShardDraw(setup.sample(rows[index], generator), rows[index], rows[index])
    counts, n_shots, n_passed = setup.sample_postselected(rows[index], generator)
    return ShardDraw(counts, n_shots, n_passed)


def sample_shard(request: SampleRequest, index: int, entropy: int, setup: SamplerSetup | None = None) -> np.ndarray:
    """Counts of shard ``index`` of ``request`` (``shard_rows(request.n_samples)[index]`` rows; ``setup``
    as :func:`draw_shard`).

    Raises
    ------
    IndexError
        If the request has no shard ``index``.
    """
    return draw_shard(request, index, entropy, setup).counts


def effective_transmission(request: SampleRequest) -> float:
    """Source brightness times transmission: a uniform loss commuting with the interferometer."""
    return request.transmission * request.brightness


class LocalBackend:
    """Samples with :func:`qlatent.photonics.sample`, shard by shard (see the module docstring).

    Source brightness ``b`` enters as an extra uniform loss: each photon is emitted with probability
    ``b`` independently, and a uniform loss commutes with the interferometer, so it is exactly a
    transmission of ``b · transmission``.
    """

    name = "local"
    shard_size = SHARD_SIZE

    def details(self, request: SampleRequest, entropy: int,
                draws: list[tuple[int, int]] | None = None) -> dict[str, object]:
        """The backend part of the provenance; ``draws``: each shard's (shots examined, shots passed)
        when the request post-selects."""
        details: dict[str, object] = {"name": self.name, "sampler": "qlatent.photonics.sample",
                                      "effective_transmission": effective_transmission(request),
                                      "shards": {"rows": SHARD_SIZE, "count": n_shards(request.n_samples),
                                                 "seeds": "SeedSequence(entropy, spawn_key=(k,)) for shard k"}}
        if request.seed is None:
            details["entropy"] = str(entropy)
        if request.min_detected:
            n_shots, n_passed = (sum(column) for column in zip(*draws)) if draws else (0, 0)
            details["postselection"] = postselection_report(request.min_detected, n_shots, n_passed)
        return details

    def __init__(self) -> None:
        self._setup: tuple[str, SamplerSetup] | None = None  # the last request's, kept for its shards

    def setup(self, request: SampleRequest) -> SamplerSetup:
        """:func:`sampler_setup` of ``request``, built once: :meth:`check` builds it, the shards reuse it.

        Raises
        ------
        ValueError
            As :func:`sampler_setup`.
        """
        if self._setup is None or self._setup[0] != request.request_id():
            self._setup = (request.request_id(), sampler_setup(request))
        return self._setup[1]

    def check(self, request: SampleRequest) -> None:
        """Raise, before anything is drawn or written, the errors every shard's sampler would raise.

        Builds the sampler's setup (:meth:`setup`, kept for the shards), so a request the sampler
        refuses (more photons than :data:`~qlatent.photonics.sampling.MAX_PHOTONS`, a shot cost above
        the sampler's limit) is refused here, not by every shard after a shard folder and a progress
        bar appeared.

        Raises
        ------
        ValueError
            As :class:`~qlatent.photonics.sampling.SamplerSetup`.
        """
        self.setup(request)

    def estimate(self, request: SampleRequest) -> SamplingEstimate:
        """Memory (the counts' copies while shards are merged) and single-core time of ``request``
        (:mod:`qlatent.qpu.limits`); with post-selection the rejected shots add time."""
        from qlatent.qpu.limits import COUNTS_COPIES, SamplingEstimate, counts_bytes
        from qlatent.qpu.shards import estimated_seconds

        return SamplingEstimate(COUNTS_COPIES * counts_bytes(request), estimated_seconds(request))

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Draw every shard of ``request`` here, one after another (the store draws them in parallel)."""
        started_at = utc_now()
        entropy = request_entropy(request)
        setup = self.setup(request)
        draws = [draw_shard(request, index, entropy, setup) for index in range(n_shards(request.n_samples))]
        counts = np.concatenate([draw.counts for draw in draws])
        details = self.details(request, entropy, [(draw.n_shots, draw.n_passed) for draw in draws])
        return SampleSet.create(request, counts, backend_details=details, started_at=started_at)
