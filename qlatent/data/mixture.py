"""The 2-D mixture of Gaussians of the paper's Fig. 1 and Fig. 2: blobs on a circle with polar noise.

The paper does not describe the dataset; the authors' released code (as reported by the
independent reproduction, see ``shared/paper/NOTES.md``) draws ``K = 7`` components evenly spaced on
a circle of radius 5, with noise in polar coordinates: for component ``k``,
``r ~ N(radius, radial_std²)`` and ``θ ~ N(2πk/K, angular_std²)``, ``(x, y) = (r cos θ, r sin θ)``
with ``radial_std = 0.2`` and ``angular_std = 0.05`` rad. The blobs are therefore slightly banana
shaped (tangential spread ``radius · angular_std = 0.25``), which matters for any "between modes"
score: :mod:`qlatent.metrics.mixture` measures distance to a blob in these polar units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from qlatent.checks import require_positive_int


@dataclass(frozen=True)
class MixtureRecipe:
    """The mixture's shape: ``n_components`` blobs at angles ``2πk/n_components`` on a circle.

    Raises
    ------
    ValueError
        On fewer than one component, or a radius or noise scale that is not positive and finite.
    """

    n_components: int = 7
    radius: float = 5.0
    radial_std: float = 0.2
    angular_std: float = 0.05

    def __post_init__(self) -> None:
        require_positive_int("n_components", self.n_components)
        for name in ("radius", "radial_std", "angular_std"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not (math.isfinite(value) and value > 0)):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")

    def angles(self) -> np.ndarray:
        """Centre angle of each component, ``2πk / n_components`` (radians)."""
        return 2 * np.pi * np.arange(self.n_components) / self.n_components

    def centres(self) -> np.ndarray:
        """``(n_components, 2)`` Cartesian positions of the component centres."""
        angles = self.angles()
        return self.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_mixture(n: int, recipe: MixtureRecipe, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``(n, 2)`` (float32) and their component labels ``(n,)``; components are equally likely.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.
    """
    require_positive_int("n", n)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, recipe.n_components, size=n)
    radius = rng.normal(recipe.radius, recipe.radial_std, size=n)
    angle = rng.normal(recipe.angles()[labels], recipe.angular_std)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points.astype(np.float32), labels


def describe(recipe: MixtureRecipe) -> dict[str, Any]:
    """JSON-serialisable recipe for manifests."""
    return {"n_components": recipe.n_components, "radius": recipe.radius, "radial_std": recipe.radial_std,
            "angular_std": recipe.angular_std}
