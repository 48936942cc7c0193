"""The two-moons dataset of the paper's flow-matching appendix (G), from scikit-learn.

Two interleaving half circles in the plane: the upper one of radius 1 centred at (0, 0), the
lower one of radius 1 centred at (1, 0.5), with isotropic Gaussian noise of standard deviation
``noise`` added to every point (:func:`sklearn.datasets.make_moons`). The paper does not state
the size or the noise level of its set; both are parameters here and the chapter states ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def load_moons(n_samples: int, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """``n_samples`` points of the two-moons set as a float32 array of shape (n_samples, 2).

    Parameters
    ----------
    n_samples
        Number of points (split as evenly as possible between the two moons).
    noise
        Standard deviation of the Gaussian noise added to each coordinate (data units).
    seed
        Seed of scikit-learn's generator (noise and shuffling).

    Raises
    ------
    ValueError
        If ``n_samples`` < 2, ``noise`` is negative or not finite, or ``seed`` is negative.
    TypeError
        If ``n_samples`` or ``seed`` is not an integer.
    """
    from sklearn.datasets import make_moons

    for name, value, minimum in (("n_samples", n_samples, 2), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be finite and non-negative, got {noise}")
    points, _ = make_moons(n_samples=int(n_samples), noise=float(noise), random_state=int(seed))
    return points.astype(np.float32)


def describe_moons(n_samples: int, noise: float, seed: int) -> dict[str, Any]:
    """The recipe of :func:`load_moons`, for manifests."""
    import sklearn

    return {"name": "moons", "n_samples": int(n_samples), "noise": float(noise), "seed": int(seed),
            "source": f"sklearn.datasets.make_moons (scikit-learn {sklearn.__version__})"}
