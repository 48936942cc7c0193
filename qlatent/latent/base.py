"""The interface every generative model takes for its latent distribution, and shared input checks."""

from __future__ import annotations

import abc
import json
from typing import Any

import numpy as np
import torch

#: Largest integer every value of which float32 (the latent dtype) stores exactly.
FLOAT32_EXACT_INTEGER = 2**24


class LatentDistribution(abc.ABC):
    """A distribution over ``R^dim`` that a generator's latent vectors are drawn from.

    Models receive a ``LatentDistribution`` and call :meth:`sample`; nothing about the latent is
    hard-coded in a model. Subclasses implement :meth:`_draw` (the randomness comes only from the
    ``torch.Generator`` passed in, so a seed reproduces the samples) and :meth:`describe`.

    Attributes
    ----------
    name : str
        Short label for tables and figures (``"gaussian"``, ``"boson-indist"``, ...).
    dim : int
        Dimension of one latent vector.
    """

    name: str
    dim: int

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` latent vectors as a ``(n, dim)`` float32 CPU tensor.

        Raises
        ------
        ValueError
            If ``n`` is not positive, or the generator is not a CPU generator.
        TypeError
            If ``n`` is not an integer or ``generator`` is not a ``torch.Generator``.
        """
        n = check_sample_size(n)
        check_generator(generator)
        return self._draw(n, generator).to(dtype=torch.float32).contiguous()

    @abc.abstractmethod
    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` validated samples of shape ``(n, dim)`` using only ``generator``."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-serialisable recipe: ``kind``, ``name``, ``dim`` and every parameter needed to rebuild it."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


def check_latent_dim(latent: LatentDistribution, expected: int) -> None:
    """Check that ``latent`` produces vectors of the dimension a model expects.

    Raises
    ------
    ValueError
        If ``latent.dim != expected``; the message names both.
    TypeError
        If ``expected`` is not an integer.
    """
    if isinstance(expected, bool) or not isinstance(expected, (int, np.integer)):
        raise TypeError(f"expected latent dimension must be an integer, got {type(expected).__name__}")
    if latent.dim != expected:
        raise ValueError(
            f"latent distribution {latent.name!r} has dimension {latent.dim} but the model expects {int(expected)}"
        )


def check_sample_size(n: Any) -> int:
    """Return ``n`` as an int after checking it is a positive integer."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    return int(n)


def check_generator(generator: Any) -> None:
    """Check ``generator`` is a CPU ``torch.Generator`` (latents are drawn on the CPU)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(f"generator must live on the CPU, got device {generator.device}")


def check_name(name: Any) -> str:
    """Return ``name`` after checking it is a non-empty string."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    return name


def check_dim(dim: Any) -> int:
    """Return ``dim`` as an int after checking it is a positive integer."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an integer, got {type(dim).__name__}")
    if dim <= 0:
        raise ValueError(f"dim must be positive, got {dim}")
    return int(dim)


def check_json(value: Any, label: str) -> Any:
    """Return ``value`` after checking ``json.dumps`` accepts it (no NaN or infinity)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{label} must be JSON-serialisable: {error}") from error
    return value


def check_kind(description: Any, kind: str) -> dict[str, Any]:
    """Check a description dict was written by the latent class of kind ``kind``."""
    if not isinstance(description, dict):
        raise TypeError(f"description must be a dict, got {type(description).__name__}")
    if description.get("kind") != kind:
        raise ValueError(f"description is of kind {description.get('kind')!r}, expected {kind!r}")
    return description


def as_array_2d(values: Any, label: str) -> np.ndarray:
    """Return a numeric ``(rows, columns)`` NumPy array (torch tensors are copied), with no NaN or infinity.

    Raises
    ------
    ValueError
        If it is not two-dimensional, has no rows or no columns, or holds NaN or infinite values.
    TypeError
        If it is not numeric.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{label} must be numeric, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{label} must have shape (n_samples, n_modes), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{label} is empty: it has no rows")
    if array.shape[1] == 0:
        raise ValueError(f"{label} has no columns: shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{label} contains NaN or infinite values")
    return array


def as_counts(counts: Any, label: str = "counts") -> np.ndarray:
    """Return photon counts ``(n_samples, n_modes)`` as int64 after checking they are whole and non-negative."""
    array = as_array_2d(counts, label)
    if array.dtype.kind == "f" and not np.all(array == np.round(array)):
        raise ValueError(f"{label} must hold whole numbers")
    if np.any(array < 0):
        raise ValueError(f"{label} must be non-negative, got minimum {array.min()}")
    return array.astype(np.int64)
