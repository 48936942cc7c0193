"""Classical latent distributions: the baselines a quantum latent is compared against.

- :class:`GaussianLatent` — standard normal, the usual GAN latent.
- :class:`UniformLatent` — independent uniforms on ``[low, high)``.
- :class:`BernoulliLatent` — independent bits; ``from_counts`` matches the click probabilities of
  threshold detection (``P(c_i > 0)`` per mode).
- :class:`IndependentCountsLatent` — independent counts per mode with given count marginals;
  ``from_counts`` matches the empirical photon-count marginals of a sample, so only the
  correlations between modes differ from the quantum latent; ``negative_binomial`` matches each
  mode's mean and variance with an overdispersed negative binomial instead.
- :class:`ShuffledCountsLatent` — a bank made by permuting each column of a count sample
  independently: the exact same values per mode (same bank size, same post-processing
  statistics) with the cross-mode correlations destroyed.

The count baselines take the same :class:`~qlatent.latent.postprocess.CountPostprocess` as the
photon-count latents, with statistics from their own marginals (equal to those of the counts they
were built from).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from qlatent.latent.bank import BankLatent, bank_sha256
from qlatent.latent.base import LatentDistribution, as_counts, check_dim, check_kind, check_name
from qlatent.latent.postprocess import CountPostprocess, FittedPostprocess

#: Tolerance on the sum of each probability vector.
PROBABILITY_SUM_TOLERANCE = 1e-9
#: Tail mass of a negative binomial marginal cut off (then renormalised) to make it a finite table.
NEGATIVE_BINOMIAL_TAIL = 1e-12


class GaussianLatent(LatentDistribution):
    """Standard normal latent ``N(0, I_dim)``."""

    kind = "gaussian"

    def __init__(self, dim: int, *, name: str = "gaussian") -> None:
        self.dim = check_dim(dim)
        self.name = check_name(name)

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn((n, self.dim), generator=generator)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "dim": self.dim}

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> GaussianLatent:
        """Rebuild from :meth:`describe` output."""
        check_kind(description, cls.kind)
        return cls(description["dim"], name=description["name"])


class UniformLatent(LatentDistribution):
    """Independent uniform coordinates on ``[low, high)``.

    Raises
    ------
    ValueError
        If ``low`` or ``high`` is not finite or ``low >= high``.
    """

    kind = "uniform"

    def __init__(self, dim: int, low: float = -1.0, high: float = 1.0, *, name: str = "uniform") -> None:
        self.dim = check_dim(dim)
        self.name = check_name(name)
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise ValueError(f"uniform latent needs finite low < high, got low={low}, high={high}")
        self.low, self.high = low, high

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.rand((n, self.dim), generator=generator, dtype=torch.float64)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "dim": self.dim, "low": self.low, "high": self.high}

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> UniformLatent:
        """Rebuild from :meth:`describe` output."""
        check_kind(description, cls.kind)
        return cls(description["dim"], description["low"], description["high"], name=description["name"])


def _as_probabilities(probs: Any) -> np.ndarray:
    array = np.asarray(probs.detach().cpu().numpy() if isinstance(probs, torch.Tensor) else probs, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"probs must be a non-empty 1-D sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array > 1):
        raise ValueError(f"probs must lie in [0, 1], got {array.tolist()}")
    return array


class BernoulliLatent(LatentDistribution):
    """Independent bits: coordinate ``i`` is 1 with probability ``probs[i]``, else 0.

    Parameters
    ----------
    probs
        Per-mode probability of a 1.
    postprocess
        Optional count post-processing, with mean ``p`` and standard deviation ``sqrt(p(1-p))``.

    Raises
    ------
    ValueError
        If ``probs`` is empty, not 1-D, or has entries outside ``[0, 1]`` or NaN.
    """

    kind = "bernoulli"

    def __init__(
        self,
        probs: Sequence[float] | np.ndarray | torch.Tensor,
        *,
        name: str = "bernoulli",
        postprocess: CountPostprocess | None = None,
    ) -> None:
        self.probs = _as_probabilities(probs)
        self.dim = int(self.probs.size)
        self.name = check_name(name)
        self.postprocess = FittedPostprocess(postprocess, self.probs, np.sqrt(self.probs * (1 - self.probs)))
        self._probs = torch.from_numpy(self.probs)

    @classmethod
    def from_counts(
        cls, counts: np.ndarray | torch.Tensor, *, name: str = "bernoulli", postprocess: CountPostprocess | None = None
    ) -> BernoulliLatent:
        """Bits matched to threshold detection: ``probs[i]`` = fraction of samples with a photon in mode ``i``.

        Raises
        ------
        ValueError
            If ``counts`` is not a non-empty 2-D array of non-negative whole numbers.
        """
        return cls((as_counts(counts) > 0).mean(axis=0), name=name, postprocess=postprocess)

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        bits = (torch.rand((n, self.dim), generator=generator, dtype=torch.float64) < self._probs).to(torch.float64)
        return self.postprocess(bits, generator)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "dim": self.dim,
            "probs": self.probs.tolist(),
            "postprocess": self.postprocess.describe(),
        }

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> BernoulliLatent:
        """Rebuild from :meth:`describe` output."""
        check_kind(description, cls.kind)
        return cls(
            description["probs"],
            name=description["name"],
            postprocess=CountPostprocess.from_dict(description["postprocess"]),
        )


def _as_marginals(marginals: Any) -> np.ndarray:
    """Per-mode count probabilities as a ``(dim, max_count + 1)`` float64 array, rows padded with zeros."""
    if isinstance(marginals, torch.Tensor):
        marginals = marginals.detach().cpu().numpy()
    if isinstance(marginals, np.ndarray) and marginals.ndim == 2:
        rows = list(marginals)
    elif isinstance(marginals, (Sequence, np.ndarray)) and not isinstance(marginals, str):
        rows = [np.asarray(row, dtype=np.float64) for row in marginals]
    else:
        raise TypeError(f"marginals must be a 2-D array or a sequence of 1-D arrays, got {type(marginals).__name__}")
    if not rows:
        raise ValueError("marginals must describe at least one mode")
    width = 0
    for mode, row in enumerate(rows):
        row = np.asarray(row)
        if row.ndim != 1 or row.size == 0:
            raise ValueError(
                f"marginal of mode {mode} must be a non-empty 1-D probability vector, got shape {row.shape}"
            )
        width = max(width, row.size)
    table = np.zeros((len(rows), width))
    for mode, row in enumerate(rows):
        row = np.asarray(row, dtype=np.float64)
        if not np.all(np.isfinite(row)) or np.any(row < 0):
            raise ValueError(f"marginal of mode {mode} must hold finite non-negative probabilities, got {row.tolist()}")
        if abs(row.sum() - 1.0) > PROBABILITY_SUM_TOLERANCE:
            raise ValueError(f"marginal of mode {mode} sums to {row.sum():.12g}, not 1")
        table[mode, : row.size] = row / row.sum()
    return table


class IndependentCountsLatent(LatentDistribution):
    """Independent discrete counts per mode: ``P(c) = Π_i marginals[i][c_i]``.

    The classical baseline matched to photon-count marginals: same single-mode statistics as the
    quantum latent, no correlation between modes. Drawn by inverse-CDF sampling of float64
    uniforms.

    Parameters
    ----------
    marginals
        ``marginals[i][c]`` = probability of ``c`` counts in mode ``i``; a 2-D array or a
        sequence of 1-D arrays of any lengths (padded with zeros).
    postprocess
        Optional count post-processing, with mean and standard deviation from the marginals.

    Raises
    ------
    ValueError
        If a marginal is empty, holds negative or non-finite entries, or does not sum to 1.
    """

    kind = "independent-counts"

    def __init__(
        self,
        marginals: Sequence[Sequence[float]] | np.ndarray | torch.Tensor,
        *,
        name: str = "independent-counts",
        postprocess: CountPostprocess | None = None,
    ) -> None:
        self.marginals = _as_marginals(marginals)
        self.dim = int(self.marginals.shape[0])
        self.name = check_name(name)
        values = np.arange(self.marginals.shape[1], dtype=np.float64)
        mean = self.marginals @ values
        variance = np.maximum(self.marginals @ values**2 - mean**2, 0.0)
        self.postprocess = FittedPostprocess(postprocess, mean, np.sqrt(variance))
        cdf = np.cumsum(self.marginals, axis=1)
        # Exactly 1 from each mode's largest possible count on, so no rounding reaches a zero-probability count.
        last = self.marginals.shape[1] - 1 - np.argmax(self.marginals[:, ::-1] > 0, axis=1)
        cdf[values[None, :] >= last[:, None]] = 1.0
        self._cdf = torch.from_numpy(np.ascontiguousarray(cdf))

    @classmethod
    def from_counts(
        cls,
        counts: np.ndarray | torch.Tensor,
        *,
        name: str = "independent-counts",
        postprocess: CountPostprocess | None = None,
    ) -> IndependentCountsLatent:
        """Marginals equal to the empirical count frequencies of each column of ``counts`` (n_samples, n_modes).

        Raises
        ------
        ValueError
            If ``counts`` is not a non-empty 2-D array of non-negative whole numbers.
        """
        array = as_counts(counts)
        width = int(array.max()) + 1
        table = np.stack([np.bincount(column, minlength=width) for column in array.T]) / array.shape[0]
        return cls(table, name=name, postprocess=postprocess)

    @classmethod
    def negative_binomial(
        cls,
        counts: np.ndarray | torch.Tensor,
        *,
        name: str = "negative-binomial",
        postprocess: CountPostprocess | None = None,
    ) -> IndependentCountsLatent:
        """Independent negative binomial modes with each column's mean and variance of ``counts`` (n_samples, n_modes).

        Mode ``i`` with mean ``μ`` and variance ``σ² > μ`` gets ``NB(r, q)``, ``r = μ² / (σ² - μ)``,
        ``q = μ / σ²`` (number of failures before the ``r``-th success, success probability
        ``q``), its tail beyond :data:`NEGATIVE_BINOMIAL_TAIL` cut off and the rest renormalised: an
        overdispersed count law with the boson latent's per-mode bunching and no correlations.

        Raises
        ------
        ValueError
            If ``counts`` is not a non-empty 2-D array of non-negative whole numbers, or a mode is
            not overdispersed (variance at most its mean, which no negative binomial has).
        """
        from scipy.stats import nbinom

        array = as_counts(counts).astype(np.float64)
        mean, variance = array.mean(axis=0), array.var(axis=0)
        flat = np.flatnonzero((variance <= mean) | (mean == 0))
        if flat.size:
            raise ValueError(f"modes {flat.tolist()} are not overdispersed (variance {variance[flat].round(4).tolist()}"
                             f" <= mean {mean[flat].round(4).tolist()}): no negative binomial matches them")
        size, success = mean**2 / (variance - mean), mean / variance
        width = int(np.max(nbinom.isf(NEGATIVE_BINOMIAL_TAIL, size, success))) + 1
        table = nbinom.pmf(np.arange(width)[None, :], size[:, None], success[:, None])
        return cls(table / table.sum(axis=1, keepdims=True), name=name, postprocess=postprocess)

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        uniforms = torch.rand((self.dim, n), generator=generator, dtype=torch.float64)
        counts = torch.searchsorted(self._cdf, uniforms, right=True).T.to(torch.float64)
        return self.postprocess(counts, generator)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "dim": self.dim,
            "marginals": self.marginals.tolist(),
            "postprocess": self.postprocess.describe(),
        }

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> IndependentCountsLatent:
        """Rebuild from :meth:`describe` output."""
        check_kind(description, cls.kind)
        return cls(
            description["marginals"],
            name=description["name"],
            postprocess=CountPostprocess.from_dict(description["postprocess"]),
        )


class ShuffledCountsLatent(BankLatent):
    """A bank whose columns are independent random permutations of a count sample's columns.

    Each mode keeps exactly its values from the source sample (so its empirical marginal, the bank
    size and the post-processing statistics are those of the source), while the joint structure
    across modes is destroyed. Build it with :meth:`from_counts`.
    """

    kind = "shuffled-counts"

    @classmethod
    def from_counts(
        cls,
        counts: np.ndarray | torch.Tensor,
        *,
        seed: int = 0,
        name: str = "shuffled-counts",
        postprocess: CountPostprocess | None = None,
        replace: bool = True,
    ) -> ShuffledCountsLatent:
        """Permute each column of ``counts`` (n_samples, n_modes) independently, NumPy generator seeded by ``seed``.

        Raises
        ------
        ValueError
            If ``counts`` is not a non-empty 2-D array of non-negative whole numbers.
        TypeError
            If ``seed`` is not an integer (it is recorded so the bank can be rebuilt).
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
        array = as_counts(counts)
        shuffled = np.random.default_rng(int(seed)).permuted(array, axis=0)
        source = {
            "construction": "columns permuted independently",
            "source_sha256": bank_sha256(array),
            "shuffle_seed": int(seed),
        }
        return cls(shuffled, name=name, description=source, postprocess=postprocess, replace=replace)

    @classmethod
    def from_description(cls, description: dict[str, Any], counts: np.ndarray | torch.Tensor) -> ShuffledCountsLatent:
        """Rebuild from :meth:`describe` output and the source counts (not the shuffled bank).

        Raises
        ------
        ValueError
            If the description is of another kind or the rebuilt bank's SHA-256 differs.
        """
        check_kind(description, cls.kind)
        rebuilt = cls.from_counts(
            counts,
            seed=description["source"]["shuffle_seed"],
            name=description["name"],
            postprocess=CountPostprocess.from_dict(description["postprocess"]),
            replace=description["replace"],
        )
        if rebuilt.sha256 != description["sha256"]:
            raise ValueError(
                "counts do not match the description: shuffled bank sha256 "
                f"{rebuilt.sha256} != recorded {description['sha256']}"
            )
        return rebuilt
