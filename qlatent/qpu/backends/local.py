"""The local backend: our own exact sampler, every photon model it has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qlatent.qpu.sampleset import SampleRequest, SampleSet, utc_now

if TYPE_CHECKING:
    from qlatent.qpu.store import PartialRun


class LocalBackend:
    """Samples with :func:`qlatent.photonics.sample`.

    Source brightness ``b`` enters as an extra uniform loss: each photon is emitted with probability
    ``b`` independently, and a uniform loss commutes with the interferometer, so it is exactly a
    transmission of ``b · transmission``.
    """

    name = "local"

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Draw ``request.n_samples`` shots (fast enough to need no checkpoint or progress bar)."""
        from qlatent.photonics import sample

        started_at = utc_now()
        options = {"indistinguishability": request.indistinguishability} if request.model == "partial" else {}
        transmission = request.transmission * request.brightness
        counts = sample(request.unitary, request.input_state, request.n_samples, model=request.model,
                        transmission=transmission, detection=request.detection, allow_subunitary=True,
                        seed=request.seed, **options)
        details = {"name": self.name, "sampler": "qlatent.photonics.sample", "effective_transmission": transmission}
        return SampleSet.create(request, counts, backend_details=details, started_at=started_at)
