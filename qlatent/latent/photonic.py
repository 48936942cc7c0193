"""Photon-count latents: boson-sampler banks from the sample store, and the baselines built on them.

The paper's latent family, in one place for every experiment:

``boson-indistinguishable``  photon counts of a Haar-random interferometer (quantum interference)
``boson-partial``            the same interferometer, partially distinguishable photons
``boson-distinguishable``    the same interferometer, distinguishable photons (no interference,
                             same single-photon marginals)
``independent-counts``       independent per-mode counts with the indistinguishable marginals
``gaussian``, ``uniform``    continuous latents of the same dimension (one per mode)

Counts come through :func:`qlatent.qpu.get_or_sample`, so a bank is sampled once, stored with its
provenance and replayed; ``backend`` may name a Perceval simulator, a remote QPU or a recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qlatent.checks import require_positive_ints
from qlatent.latent.base import LatentDistribution
from qlatent.latent.postprocess import CountPostprocess

LATENT_NAMES = ("boson-indistinguishable", "boson-partial", "boson-distinguishable", "independent-counts",
                "gaussian", "uniform")
QUANTUM_LATENT = "boson-indistinguishable"


@dataclass(frozen=True)
class PhotonSource:
    """Where photon counts come from: ``n_photons`` single photons in the first modes of a
    Haar-random ``n_modes``-mode interferometer drawn from ``interferometer_seed``, on ``backend``.

    ``indistinguishability`` is the per-photon overlap ``x`` used by the ``partial`` model.
    """

    n_photons: int
    n_modes: int
    interferometer_seed: int
    backend: str = "local"
    indistinguishability: float = 0.7

    def __post_init__(self) -> None:
        require_positive_ints(self, ("n_photons", "n_modes"))
        if self.n_photons > self.n_modes:
            raise ValueError(f"n_photons={self.n_photons} exceeds n_modes={self.n_modes} (one photon per input mode)")
        if not 0.0 <= self.indistinguishability <= 1.0:
            raise ValueError(f"indistinguishability must be in [0, 1], got {self.indistinguishability}")

    def interferometer(self) -> Any:
        from qlatent.photonics.interferometers import haar_interferometer

        return haar_interferometer(self.n_modes, seed=self.interferometer_seed)

    def input_state(self) -> tuple[int, ...]:
        return tuple([1] * self.n_photons + [0] * (self.n_modes - self.n_photons))


def photon_counts(source: PhotonSource, photon_model: str, n_samples: int, seed: int,
                  store: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Counts of ``photon_model`` photons from ``source`` (sampled once, then replayed from the store).

    Returns the counts and where they came from (sample-set id, interferometer description).
    """
    from qlatent.qpu import SampleRequest, get_or_sample

    interferometer = source.interferometer()
    request = SampleRequest(
        source.backend, interferometer, source.input_state(), n_samples, model=photon_model,
        indistinguishability=source.indistinguishability if photon_model == "partial" else 1.0, seed=seed,
    )
    sample_set = get_or_sample(request, store=store, progress=False)
    return np.asarray(sample_set.counts), {"sample_set": request.request_id(), "interferometer": interferometer.to_dict()}


def make_latent(name: str, source: PhotonSource, bank_size: int, bank_seed: int,
                postprocess: CountPostprocess | None = None, store: Any = None) -> LatentDistribution:
    """The latent ``name`` (one of :data:`LATENT_NAMES`) of dimension ``source.n_modes``.

    Count latents (boson banks and independent counts) share ``postprocess``; every boson bank is
    drawn with ``bank_seed`` from the same interferometer.
    """
    from qlatent.latent.bank import BankLatent
    from qlatent.latent.classical import GaussianLatent, IndependentCountsLatent, UniformLatent

    if name == "gaussian":
        return GaussianLatent(source.n_modes)
    if name == "uniform":
        return UniformLatent(source.n_modes)
    if name == "independent-counts":
        counts, _ = photon_counts(source, "indistinguishable", bank_size, bank_seed, store)
        return IndependentCountsLatent.from_counts(counts, name=name, postprocess=postprocess)
    if name in LATENT_NAMES:
        counts, origin = photon_counts(source, name.removeprefix("boson-"), bank_size, bank_seed, store)
        return BankLatent(counts, name=name, description=origin, postprocess=postprocess)
    raise ValueError(f"unknown latent {name!r}; choose from {', '.join(LATENT_NAMES)}")


def check_latent_names(names: list[str] | tuple[str, ...]) -> None:
    """Refuse unknown latent names before any work, naming them and the known ones."""
    unknown = [name for name in names if name not in LATENT_NAMES]
    if unknown:
        raise ValueError(f"unknown latent(s) {', '.join(unknown)}; choose from {', '.join(LATENT_NAMES)}")
