"""The synthetic discrete datasets of the paper's Table I (arXiv:2508.19857, App. D).

``quantum``    photon counts of ``size / 2`` indistinguishable photons in a ``size``-mode Haar-random
               interferometer (8 photons in 16 modes in the paper): boson-sampling output, which is
               the push-forward of the boson latent through the identity map — Corollary 1's
               setting, where a generator with the quantum latent can reach the data exactly.
``bernoulli``  uniform bits in ``{0, 1}^size`` (a factorisable target).

Each run draws its own data: the interferometer and the samples come from seeds derived from the
run seed (:func:`qlatent.latent.photonic.derived_seed`, role ``"data"``), independent of the
latents' interferometers. Counts are requested through the sample store, so they are sampled once.
Values are the raw integers (the paper's metric measures distance to the nearest integer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qlatent.checks import require_positive_int
from qlatent.latent.photonic import PhotonSource, derived_seed, photon_counts

DATASETS = ("quantum", "bernoulli")


def check_dataset_names(names: list[str] | tuple[str, ...]) -> None:
    """Refuse unknown dataset names before any work, naming them and the known ones."""
    unknown = [name for name in names if name not in DATASETS]
    if unknown:
        raise ValueError(f"unknown dataset(s) {', '.join(map(repr, unknown))}; choose from {', '.join(DATASETS)}")


PARTS = ("train", "reference")


def discrete_dataset(name: str, size: int, n_samples: int, seed: int, part: str = "train",
                     store: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """``n_samples`` rows of dataset ``name`` for run ``seed``: a ``(n_samples, size)`` float32 array.

    ``part`` is ``"train"`` (what the GAN sees) or ``"reference"`` (held-out rows the scores compare
    with): the same distribution (the same interferometer), independent samples, so the reference
    size never changes the training rows.

    Returns the rows and their origin (sample-set id and interferometer for ``quantum``).

    Raises
    ------
    ValueError
        On an unknown name or part, a non-positive size or sample count, or an odd size for
        ``quantum`` (half filling needs an even number of modes).
    """
    check_dataset_names([name])
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    require_positive_int("size", size)
    require_positive_int("n_samples", n_samples)
    if name == "bernoulli":
        bits_seed = derived_seed(seed, "data", part)
        rng = np.random.default_rng(bits_seed)
        return rng.integers(0, 2, size=(n_samples, size)).astype(np.float32), {"bits_seed": bits_seed}
    if size % 2:
        raise ValueError(f"size={size} is odd: the quantum dataset puts size/2 photons in size modes")
    source = PhotonSource(size // 2, size, derived_seed(seed, "data", "circuit"))
    counts, origin = photon_counts(source, "indistinguishable", n_samples, derived_seed(seed, "data", part), store)
    return counts.astype(np.float32), origin
