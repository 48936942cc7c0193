"""The synthetic quantum dataset: boson-sampler counts pushed through a fixed random network.

This is the construction behind the paper's main theorem: data that a generator reaches exactly
from a quantum latent (the same network applied to fresh photon counts), but that a classical
latent with an efficient Lipschitz generator should not approximate efficiently.

Recipe (our choices, since the paper's sizes and network are not public — see the chapter):

1. A Haar-random ``n_modes``-mode interferometer, ``n_photons`` single photons in the first modes,
   ``n_samples`` counts drawn through the sample store (:func:`qlatent.qpu.get_or_sample`), so the
   counts could come from hardware or a recording as well as from our simulator.
2. Counts standardised per mode (mean 0, standard deviation 1 over the dataset).
3. A fixed MLP ``ℝ^{n_modes} → ℝ^{data_dim}`` with seeded Gaussian weights (variance
   ``gain²/fan_in``, zero biases) and ``tanh`` or leaky-ReLU activations: Lipschitz, as the theory
   requires. Evaluated in float64, stored in float32.

Everything derives from one ``seed`` (split with :class:`numpy.random.SeedSequence`), and datasets
are cached in ``cache_dir()/synthetic/<name>-seed<seed>.npz`` together with their recipe; a cached
file made from a different recipe under the same name and seed is refused, never overwritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qlatent.checks import require_positive_ints
from qlatent.io import atomic_path
from qlatent.paths import cache_dir

RECIPE_VERSION = 1
_ACTIVATIONS = ("tanh", "leaky_relu")
_PHOTON_MODELS = ("indistinguishable", "distinguishable", "partial")


class SyntheticRecipeConflict(ValueError):
    """A cached dataset with the same name and seed was built from a different recipe."""


@dataclass(frozen=True)
class SyntheticRecipe:
    """Everything that determines a synthetic dataset."""

    n_photons: int = 4
    n_modes: int = 8
    photon_model: str = "indistinguishable"
    indistinguishability: float = 1.0
    n_samples: int = 20_000
    data_dim: int = 8
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    gain: float = 1.5
    seed: int = 0
    backend: str = "local"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("n_photons", "n_modes", "n_samples", "data_dim"))
        if self.n_photons > self.n_modes:
            raise ValueError(f"n_photons={self.n_photons} exceeds n_modes={self.n_modes} (one photon per input mode)")
        if self.photon_model not in _PHOTON_MODELS:
            raise ValueError(f"unknown photon_model {self.photon_model!r}; choose from {', '.join(_PHOTON_MODELS)}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {', '.join(_ACTIVATIONS)}")
        if not (self.gain > 0 and np.isfinite(self.gain)):
            raise ValueError(f"gain must be positive and finite, got {self.gain}")
        object.__setattr__(self, "hidden", tuple(int(width) for width in self.hidden))
        if any(width < 1 for width in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "hidden": list(self.hidden), "recipe_version": RECIPE_VERSION}

    def child_seeds(self) -> dict[str, int]:
        """Independent seeds for the interferometer, the photon samples and the network weights."""
        children = np.random.SeedSequence(self.seed).spawn(3)
        return {name: int(child.generate_state(1, dtype=np.uint32)[0])
                for name, child in zip(("interferometer", "samples", "network"), children)}


@dataclass(frozen=True)
class SyntheticDataset:
    """Data points (``n_samples × data_dim``, float32), the counts behind them, and the recipe."""

    data: np.ndarray
    counts: np.ndarray
    recipe: SyntheticRecipe
    metadata: dict[str, Any]

    def split(self, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Seeded (train, held-out) split of the data points."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        order = np.random.default_rng(seed).permutation(len(self.data))
        n_test = max(1, int(round(test_fraction * len(self.data))))
        return self.data[order[n_test:]], self.data[order[:n_test]]


def network_weights(recipe: SyntheticRecipe) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fixed network's (weight, bias) per layer, from the recipe's network seed."""
    rng = np.random.default_rng(recipe.child_seeds()["network"])
    widths = [recipe.n_modes, *recipe.hidden, recipe.data_dim]
    return [(rng.normal(0.0, recipe.gain / np.sqrt(fan_in), size=(fan_in, fan_out)), np.zeros(fan_out))
            for fan_in, fan_out in zip(widths[:-1], widths[1:])]


def push_forward(counts: np.ndarray, recipe: SyntheticRecipe) -> np.ndarray:
    """Standardise ``counts`` per mode and apply the recipe's fixed network (float64 inside)."""
    x = np.asarray(counts, dtype=np.float64)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    layers = network_weights(recipe)
    for index, (weight, bias) in enumerate(layers):
        x = x @ weight + bias
        if index < len(layers) - 1:
            x = np.tanh(x) if recipe.activation == "tanh" else np.where(x > 0, x, 0.2 * x)
    return x.astype(np.float32)


def photon_source(recipe: SyntheticRecipe) -> Any:
    """The recipe's :class:`~qlatent.latent.photonic.PhotonSource` (interferometer seed derived from its seed)."""
    from qlatent.latent.photonic import PhotonSource

    return PhotonSource(recipe.n_photons, recipe.n_modes, recipe.child_seeds()["interferometer"],
                        backend=recipe.backend, indistinguishability=recipe.indistinguishability)


def _dataset_counts(recipe: SyntheticRecipe, store: Any) -> tuple[np.ndarray, dict[str, Any]]:
    from qlatent.latent.photonic import photon_counts

    return photon_counts(photon_source(recipe), recipe.photon_model, recipe.n_samples,
                         recipe.child_seeds()["samples"], store)


def _cache_file(name: str, recipe: SyntheticRecipe, root: Path | None) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"dataset name {name!r} must be a plain file name")
    return (root or cache_dir() / "synthetic") / f"{name}-seed{recipe.seed}.npz"


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            metadata = json.loads(str(archive["metadata"]))
            data, counts = archive["data"], archive["counts"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"synthetic dataset cache {path} is unreadable ({type(error).__name__}); rebuilding it",
                      stacklevel=3)
        return None
    if hashlib.sha256(data.tobytes()).hexdigest() != metadata.get("data_sha256"):
        warnings.warn(f"synthetic dataset cache {path} fails its checksum; rebuilding it", stacklevel=3)
        return None
    return data, counts, metadata


def load_synthetic(recipe: SyntheticRecipe, name: str = "synthetic", cache_root: Path | None = None,
                   store: Any = None) -> SyntheticDataset:
    """Build the dataset for ``recipe`` or load it from the cache.

    Raises
    ------
    SyntheticRecipeConflict
        If ``<name>-seed<seed>`` is cached with a different recipe (both recipes are named).
    """
    path = _cache_file(name, recipe, cache_root)
    if path.is_file():
        cached = _read_cache(path)
        if cached is not None:
            data, counts, metadata = cached
            if metadata["recipe"] != recipe.to_dict():
                raise SyntheticRecipeConflict(
                    f"cached dataset {path} (name {name!r}, seed {recipe.seed}) was built from recipe "
                    f"{json.dumps(metadata['recipe'], sort_keys=True)}, not "
                    f"{json.dumps(recipe.to_dict(), sort_keys=True)}; choose another name or seed, or delete the file"
                )
            return SyntheticDataset(data, counts, recipe, metadata)
    counts, sources = _dataset_counts(recipe, store)
    data = push_forward(counts, recipe)
    metadata = {"recipe": recipe.to_dict(), "seeds": recipe.child_seeds(), **sources,
                "data_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "network": "MLP " + " -> ".join(map(str, [recipe.n_modes, *recipe.hidden, recipe.data_dim]))}
    with atomic_path(path) as tmp:
        np.savez(tmp, data=data, counts=counts, metadata=np.array(json.dumps(metadata, sort_keys=True)))
    return SyntheticDataset(data, counts, recipe, metadata)
