"""Post-processing of discrete counts into model input: centring, dequantisation noise, standardisation.

Photon counts are small non-negative integers. Before they enter a generator they can be
(1) dequantised by adding Gaussian noise of scale ``noise_scale``, in count units,
(2) centred per mode by a shift ``s`` and (3) scaled per mode by ``σ``:

``z = (c + noise_scale · ε - s) / σ``,  ``ε ~ N(0, I)``,

with ``s`` the per-mode mean of the counts (``centring="mean"``: the paper's "centred to have a
mean value of 0", arXiv:2508.19857 App. C), the constant 0.5 (``"half"``: what the authors'
released mixture code does) or 0 (``"none"``), and ``σ`` the per-mode population standard
deviation of the counts (``ddof = 0``) when ``standardize`` is set, else 1.

With ``noise_scale = 0`` standardised latents have mean 0 and standard deviation 1 per mode on
the distribution the statistics come from; with noise the standard deviation is
``sqrt(1 + noise_scale² / σ²)``. A mode whose counts never vary (``σ = 0``) is only centred
(``σ`` is replaced by 1), so it maps to a constant 0.

The paper centres its latents and does not rescale them; for QM9 its recipe is not stated, so the
noise scale and whether to standardise are parameters here, and each chapter states its choice. The
same recipe applied to the classical count baselines keeps the comparison about the joint
distribution, not the input scaling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: How counts are shifted before the generator: per-mode mean, the constant 0.5, or not at all.
CENTRINGS = ("mean", "half", "none")


@dataclass(frozen=True)
class CountPostprocess:
    """Recipe turning counts into model input (see the module docstring for the formula).

    Parameters
    ----------
    standardize
        Divide by the per-mode standard deviation of the counts (after centring).
    noise_scale
        Standard deviation, in count units, of the Gaussian dequantisation noise added to the
        counts (0 for none).
    centring
        ``"mean"`` subtracts the per-mode mean of the counts, ``"half"`` subtracts 0.5, ``"none"``
        nothing.

    Raises
    ------
    ValueError
        If ``noise_scale`` is negative or not finite, or ``centring`` is not one of :data:`CENTRINGS`.
    TypeError
        If ``standardize`` is not a bool.
    """

    standardize: bool = True
    noise_scale: float = 0.0
    centring: str = "mean"

    def __post_init__(self) -> None:
        if self.centring not in CENTRINGS:
            raise ValueError(f"centring must be one of {', '.join(CENTRINGS)}, got {self.centring!r}")
        if not isinstance(self.standardize, bool):
            raise TypeError(f"standardize must be a bool, got {type(self.standardize).__name__}")
        number_types = (int, float, np.integer, np.floating)
        if isinstance(self.noise_scale, bool) or not isinstance(self.noise_scale, number_types):
            raise TypeError(f"noise_scale must be a number, got {type(self.noise_scale).__name__}")
        if not math.isfinite(self.noise_scale) or self.noise_scale < 0:
            raise ValueError(f"noise_scale must be finite and non-negative, got {self.noise_scale}")
        object.__setattr__(self, "noise_scale", float(self.noise_scale))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, the inverse of :meth:`from_dict`."""
        return {"standardize": self.standardize, "noise_scale": self.noise_scale, "centring": self.centring}

    @classmethod
    def from_dict(cls, recipe: dict[str, Any] | None) -> CountPostprocess | None:
        """Rebuild from :meth:`to_dict` or :meth:`FittedPostprocess.describe` output (``None`` stays ``None``)."""
        if recipe is None:
            return None
        return cls(recipe["standardize"], recipe["noise_scale"], recipe.get("centring", "mean"))


class FittedPostprocess:
    """A :class:`CountPostprocess` bound to the per-mode count statistics it standardises with.

    Parameters
    ----------
    recipe
        The recipe; ``None`` passes counts through unchanged.
    mean, std
        Per-mode mean and population standard deviation of the counts; a zero ``std`` is
        replaced by 1.
    """

    def __init__(self, recipe: CountPostprocess | None, mean: np.ndarray, std: np.ndarray) -> None:
        if recipe is not None and not isinstance(recipe, CountPostprocess):
            raise TypeError(f"postprocess must be a CountPostprocess or None, got {type(recipe).__name__}")
        self.recipe = recipe
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.where(np.asarray(std, dtype=np.float64) > 0, std, 1.0)
        centring = "none" if recipe is None else recipe.centring
        shift = {"mean": self.mean, "half": np.full_like(self.mean, 0.5), "none": np.zeros_like(self.mean)}[centring]
        scale = self.std if recipe is not None and recipe.standardize else np.ones_like(self.std)
        self._shift = torch.from_numpy(shift)
        self._scale = torch.from_numpy(scale)

    def __call__(self, counts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Apply the recipe to ``counts`` (n, dim); noise is drawn from ``generator`` after the counts."""
        if self.recipe is None:
            return counts
        values = counts.to(torch.float64)
        if self.recipe.noise_scale > 0:
            noise = torch.randn(values.shape, generator=generator, dtype=torch.float64)
            values = values + self.recipe.noise_scale * noise
        return (values - self._shift) / self._scale

    def describe(self) -> dict[str, Any] | None:
        """The recipe and the statistics it uses, or ``None`` for raw counts."""
        if self.recipe is None:
            return None
        return {**self.recipe.to_dict(), "mean": self.mean.tolist(), "std": self.std.tolist()}


def count_statistics(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode mean and population standard deviation (``ddof = 0``) of a ``(n, dim)`` array."""
    values = np.asarray(counts, dtype=np.float64)
    return values.mean(axis=0), values.std(axis=0)
