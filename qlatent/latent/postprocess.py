"""Post-processing of discrete counts into model input: dequantisation noise and standardisation.

Photon counts are small non-negative integers. Before they enter a generator they can be
(1) dequantised by adding Gaussian noise of scale ``noise_scale``, in count units, and
(2) standardised per mode with the mean and standard deviation of the *counts* (population
standard deviation, ``ddof = 0``):

``z = (c + noise_scale · ε - μ) / σ``,  ``ε ~ N(0, I)``.

With ``noise_scale = 0`` standardised latents have mean 0 and standard deviation 1 per mode on
the distribution the statistics come from; with noise the standard deviation is
``sqrt(1 + noise_scale² / σ²)``. A mode whose counts never vary (``σ = 0``) is only centred
(``σ`` is replaced by 1), so it maps to a constant 0.

The paper post-processes its photon counts before the generator, but its exact recipe is
UNKNOWN (``shared/paper/NOTES.md``): the noise scale and whether to standardise are parameters
here, and the chapter states our choice. The same recipe applied to the classical count
baselines keeps the comparison about the joint distribution, not the input scaling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class CountPostprocess:
    """Recipe turning counts into model input (see the module docstring for the formula).

    Parameters
    ----------
    standardize
        Subtract the per-mode mean and divide by the per-mode standard deviation of the counts.
    noise_scale
        Standard deviation, in count units, of the Gaussian dequantisation noise added to the
        counts (0 for none).

    Raises
    ------
    ValueError
        If ``noise_scale`` is negative or not finite.
    TypeError
        If ``standardize`` is not a bool.
    """

    standardize: bool = True
    noise_scale: float = 0.0

    def __post_init__(self) -> None:
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
        return {"standardize": self.standardize, "noise_scale": self.noise_scale}

    @classmethod
    def from_dict(cls, recipe: dict[str, Any] | None) -> CountPostprocess | None:
        """Rebuild from :meth:`to_dict` or :meth:`FittedPostprocess.describe` output (``None`` stays ``None``)."""
        return None if recipe is None else cls(recipe["standardize"], recipe["noise_scale"])


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
        self._mean = torch.from_numpy(self.mean)
        self._std = torch.from_numpy(self.std)

    def __call__(self, counts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Apply the recipe to ``counts`` (n, dim); noise is drawn from ``generator`` after the counts."""
        if self.recipe is None:
            return counts
        values = counts.to(torch.float64)
        if self.recipe.noise_scale > 0:
            noise = torch.randn(values.shape, generator=generator, dtype=torch.float64)
            values = values + self.recipe.noise_scale * noise
        if self.recipe.standardize:
            values = (values - self._mean) / self._std
        return values

    def describe(self) -> dict[str, Any] | None:
        """The recipe and the statistics it uses, or ``None`` for raw counts."""
        if self.recipe is None:
            return None
        return {**self.recipe.to_dict(), "mean": self.mean.tolist(), "std": self.std.tolist()}


def count_statistics(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode mean and population standard deviation (``ddof = 0``) of a ``(n, dim)`` array."""
    values = np.asarray(counts, dtype=np.float64)
    return values.mean(axis=0), values.std(axis=0)
