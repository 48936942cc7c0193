"""Scores of generated points against the 2-D mixture of blobs on a circle (ours: the paper reports none).

A point belongs to blob ``k`` when its polar-coordinate Mahalanobis distance to the blob is at most
``n_sigmas`` (3 by default, "the blob's 3σ neighbourhood"):

``((r − radius) / radial_std)² + (wrap(θ − θ_k) / angular_std)² ≤ n_sigmas²``,

with ``wrap`` taking angles to ``[−π, π)``. For data drawn from the mixture itself that squared
distance is χ² with 2 degrees of freedom, so a fraction ``exp(−n_sigmas² / 2)`` of true points
(1.1 % at 3σ) falls outside every neighbourhood.

- :func:`between_modes` — fraction of points outside every blob's neighbourhood: interpolation
  between modes, the failure mode of Fig. 1 (lower is better);
- :func:`modes_covered` — blobs holding at least ``min_share`` of their expected share ``n / K`` of
  the points (higher is better, at most ``K``);
- :func:`mixture_scores` — both, plus the unbiased squared MMD to held-out data
  (:func:`qlatent.metrics.distributions.mmd`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qlatent.data.mixture import MixtureRecipe


def _points(points: Any) -> np.ndarray:
    if hasattr(points, "detach"):
        points = points.detach().cpu().numpy()
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(f"points must have shape (n, 2) with n >= 1, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("points contain NaN or infinite values")
    return array


def assign_modes(points: Any, recipe: MixtureRecipe, n_sigmas: float = 3.0) -> np.ndarray:
    """For each point the index of the blob whose neighbourhood holds it, or −1 (between modes).

    Blob neighbourhoods do not overlap for the paper's mixture (seven blobs 0.9 rad apart, 3σ = 0.15
    rad); if they did, the nearest blob in the polar metric would be taken.

    Raises
    ------
    ValueError
        If ``points`` is not an ``(n, 2)`` array of finite numbers or ``n_sigmas`` is not positive.
    """
    if not n_sigmas > 0:
        raise ValueError(f"n_sigmas must be positive, got {n_sigmas}")
    array = _points(points)
    radius = np.hypot(array[:, 0], array[:, 1])
    angle = np.arctan2(array[:, 1], array[:, 0])
    offset = (angle[:, None] - recipe.angles()[None, :] + np.pi) % (2 * np.pi) - np.pi
    squared = ((radius[:, None] - recipe.radius) / recipe.radial_std) ** 2 + (offset / recipe.angular_std) ** 2
    nearest = np.argmin(squared, axis=1)
    inside = squared[np.arange(len(array)), nearest] <= n_sigmas**2
    return np.where(inside, nearest, -1)


def between_modes(points: Any, recipe: MixtureRecipe, n_sigmas: float = 3.0) -> float:
    """Fraction of ``points`` outside every blob's ``n_sigmas`` neighbourhood."""
    return float(np.mean(assign_modes(points, recipe, n_sigmas) < 0))


def modes_covered(points: Any, recipe: MixtureRecipe, n_sigmas: float = 3.0, min_share: float = 0.25) -> int:
    """Number of blobs holding at least ``min_share × n / n_components`` of the ``n`` points.

    Raises
    ------
    ValueError
        If ``min_share`` is not in ``(0, 1]``.
    """
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    modes = assign_modes(points, recipe, n_sigmas)
    counts = np.bincount(modes[modes >= 0], minlength=recipe.n_components)
    return int(np.sum(counts >= min_share * len(modes) / recipe.n_components))


def mixture_scores(points: Any, held_out: Any, recipe: MixtureRecipe, *, n_sigmas: float = 3.0,
                   min_share: float = 0.25, mmd_samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """``between_modes``, ``modes_covered`` and ``mmd`` (on at most ``mmd_samples`` points per set)."""
    from qlatent.metrics.distributions import mmd

    return {"between_modes": between_modes(points, recipe, n_sigmas),
            "modes_covered": float(modes_covered(points, recipe, n_sigmas, min_share)),
            "mmd": mmd(_points(points), _points(held_out), max_samples=mmd_samples, seed=seed)}
