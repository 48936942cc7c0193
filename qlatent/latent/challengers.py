"""Classical challengers of the boson latent: count laws matched to a boson bank's statistics.

Each asks whether one property of the boson latent, reproduced by a classical law that any laptop
samples, is enough for its Table I gain (the paper's open question, arXiv:2508.19857, Sec. V):

- :class:`DirichletMultinomialLatent` — ``n`` photons thrown into ``m`` modes with mode
  probabilities drawn from a Dirichlet law: the same fixed photon number, and a tunable bunching
  (Fano factor). :meth:`~DirichletMultinomialLatent.from_counts` matches a boson bank's per-mode
  means and its pooled Fano factor by moments; :meth:`~DirichletMultinomialLatent.haar_boson`
  takes its parameters from the photon number and mode count alone (:func:`haar_boson_fano`).
- :class:`GaussianCopulaLatent` — each mode's empirical count marginal, joined by a Gaussian copula
  whose latent correlations are calibrated so the *counts* have the bank's correlation matrix.

Both are banks (:class:`~qlatent.latent.bank.BankLatent`) drawn once from their law with a seeded
NumPy generator, like the photon banks they stand in for, and centred with the same
:class:`~qlatent.latent.postprocess.CountPostprocess`. The other challengers live in
:mod:`qlatent.latent.classical`: :class:`~qlatent.latent.classical.ShuffledCountsLatent` (marginals
kept exactly, correlations destroyed) and
:meth:`IndependentCountsLatent.negative_binomial <qlatent.latent.classical.IndependentCountsLatent.negative_binomial>`
(independent overdispersed modes).

References
----------
S. Aaronson and A. Arkhipov, "The computational complexity of linear optics", Theory Comput. 9, 143
(2013) (Bose–Einstein statistics of the Haar average); A. Arkhipov and G.
Kuperberg, "The bosonic birthday paradox", Geom. Topol. Monogr. 18, 1 (2012), arXiv:1106.0849.
N. L. Johnson, S. Kotz and N. Balakrishnan, *Discrete Multivariate Distributions* (Wiley, 1997),
ch. 35 (Dirichlet-multinomial moments).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from qlatent.latent.bank import BankLatent, bank_sha256
from qlatent.latent.base import as_counts, check_sample_size
from qlatent.latent.postprocess import CountPostprocess

#: Highest Hermite order kept in the copula's correlation series (terms fall off as ``r^k``).
COPULA_HERMITE_ORDER = 40
#: Smallest eigenvalue kept when the calibrated latent correlation is made positive definite.
COPULA_MIN_EIGENVALUE = 1e-6


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def fixed_photon_number(counts: Any) -> tuple[np.ndarray, int]:
    """The counts as int64 and their common photon number (every row's total).

    Raises
    ------
    ValueError
        If the counts are not whole and non-negative, have fewer than two modes, no photons, or rows
        with different totals (a lossy bank has no single photon number).
    """
    array = as_counts(counts)
    if array.shape[1] < 2:
        raise ValueError(f"need at least two modes to fit a count law, got counts of shape {array.shape}")
    totals = array.sum(axis=1)
    if totals.max() == 0:
        raise ValueError("the counts hold no photons (every row is zero): nothing to fit")
    if totals.min() != totals.max():
        raise ValueError(f"rows hold between {totals.min()} and {totals.max()} photons; a Dirichlet-multinomial "
                         "needs one photon number (a lossless bank)")
    return array, int(totals[0])


def dirichlet_multinomial_fano(n_photons: int, probabilities: np.ndarray, concentration: float) -> float:
    """Pooled Fano factor ``Σ_i Var(c_i) / Σ_i E(c_i)`` of a Dirichlet-multinomial.

    With ``α_i = A p_i``: ``E c_i = n p_i`` and ``Var c_i = n p_i (1 - p_i) (n + A) / (1 + A)``
    (Johnson, Kotz & Balakrishnan 1997, ch. 35), so the pooled Fano factor is
    ``(1 - Σ p_i²) (n + A) / (1 + A)``.
    """
    return float((1.0 - np.sum(np.square(probabilities))) * (n_photons + concentration) / (1.0 + concentration))


def fit_concentration(n_photons: int, probabilities: np.ndarray, fano: float) -> float:
    """The Dirichlet total ``A = Σ α_i`` whose Dirichlet-multinomial has pooled Fano factor ``fano``.

    Inverts :func:`dirichlet_multinomial_fano`: with ``s = 1 - Σ p_i²`` (the multinomial's Fano
    factor), ``A = (n s - F) / (F - s)``.

    Raises
    ------
    ValueError
        If ``fano`` is not strictly between the multinomial's ``s`` (no overdispersion: ``A`` would
        be infinite) and ``n s`` (the most a Dirichlet-multinomial reaches, as ``A → 0``).
    """
    spread = 1.0 - float(np.sum(np.square(probabilities)))
    if n_photons < 2:
        raise ValueError(f"a Dirichlet-multinomial differs from a multinomial only with 2 or more photons, "
                         f"got {n_photons}")
    if not spread < fano < n_photons * spread:
        raise ValueError(f"Fano factor {fano:.6g} is not overdispersed relative to the multinomial's {spread:.6g} "
                         f"(and below its ceiling {n_photons * spread:.6g}): no Dirichlet-multinomial matches it")
    return (n_photons * spread - fano) / (fano - spread)


def haar_boson_fano(n_photons: int, n_modes: int) -> float:
    """Expected pooled Fano factor of one Haar-random interferometer's boson bank (single photons in).

    Derivation. Averaged over Haar unitaries the output law of ``n`` indistinguishable photons is
    uniform over the ``C(m + n - 1, n)`` occupation patterns (Aaronson & Arkhipov 2013; Arkhipov &
    Kuperberg 2012: the Haar twirl of a state of the symmetric subspace is that subspace's maximally
    mixed state, and the Fock states are an orthonormal basis of it), which is the
    Dirichlet-multinomial with every ``α_i = 1``: by the
    formula of :func:`dirichlet_multinomial_fano` (``p_i = 1/m``, ``A = m``) its Fano factor is
    ``(m - 1)(n + m) / (m (m + 1))``. That is the variance of the Haar mixture; one bank has one
    unitary, and the law of total variance removes the spread of its means: ``E c_i = Σ_k |U_ik|²``
    over the ``n`` input columns, a row of a Haar unitary has ``|U_ik|²`` Dirichlet(1, …, 1), so the
    mean is Beta(n, m - n) with variance ``n (m - n) / (m² (m + 1))``. Dividing by the mean
    ``n/m``:

    ``F = (m - 1)(n + m) / (m (m + 1)) - (m - n) / (m (m + 1)) = (n + m - 2) / (m + 1)``

    (8 photons in 16 modes: 22/17 ≈ 1.294; distinguishable photons give ``(m - 1)/(m + 1)`` ≈ 0.882
    the same way). The tests check it against simulated banks.

    Raises
    ------
    ValueError
        If the counts are not positive integers with ``n_photons <= n_modes``.
    """
    for label, value in (("n_photons", n_photons), ("n_modes", n_modes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    if n_photons > n_modes:
        raise ValueError(f"n_photons={n_photons} exceeds n_modes={n_modes} (one photon per input mode)")
    return (n_photons + n_modes - 2) / (n_modes + 1)


def dirichlet_multinomial_counts(n_photons: int, alpha: np.ndarray, n_samples: int,
                                 rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` rows ``(n_samples, len(alpha))`` of int64 counts: ``p ~ Dirichlet(alpha)``, then
    ``c ~ Multinomial(n_photons, p)``."""
    probabilities = rng.dirichlet(alpha, size=n_samples)
    return rng.multinomial(n_photons, probabilities).astype(np.int64)


class DirichletMultinomialLatent(BankLatent):
    """A bank of Dirichlet-multinomial counts: ``n`` photons in ``m`` modes, probabilities ``Dirichlet(α)``.

    A classical law with the boson latent's fixed photon number, per-mode means ``n α_i / A`` and a
    bunching set by ``A = Σ α_i`` (:func:`dirichlet_multinomial_fano`); its pairwise covariances
    are all negative, ``-n p_i p_j (n + A)/(1 + A)``. Build it with :meth:`from_counts` (matched to a
    bank) or :meth:`haar_boson` (from ``n`` and ``m`` alone).
    """

    kind = "dirichlet-multinomial"

    @classmethod
    def from_parameters(cls, n_photons: int, alpha: np.ndarray, *, bank_size: int, seed: int, name: str,
                        postprocess: CountPostprocess | None = None, fit: dict[str, Any] | None = None,
                        ) -> DirichletMultinomialLatent:
        """A bank of ``bank_size`` rows drawn with ``numpy.random.default_rng(seed)``.

        Raises
        ------
        ValueError
            If ``alpha`` has a non-positive or non-finite entry, or ``bank_size`` is not positive.
        """
        alpha = np.asarray(alpha, dtype=np.float64)
        if alpha.ndim != 1 or alpha.size < 2 or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ValueError(f"alpha must be 2 or more positive finite numbers, got {alpha.tolist()}")
        bank = dirichlet_multinomial_counts(n_photons, alpha, check_sample_size(bank_size),
                                            np.random.default_rng(_check_seed(seed)))
        description = {"construction": "Dirichlet-multinomial", "n_photons": int(n_photons),
                       "alpha": alpha.tolist(), "seed": int(seed), **(fit or {})}
        return cls(bank, name=name, description=description, postprocess=postprocess)

    @classmethod
    def from_counts(cls, counts: np.ndarray | torch.Tensor, *, bank_size: int, seed: int,
                    name: str = "dirichlet-multinomial", postprocess: CountPostprocess | None = None,
                    ) -> DirichletMultinomialLatent:
        """Matched by moments to ``counts`` (n_samples, n_modes): the same per-mode means and pooled Fano factor.

        ``α_i = A p_i`` with ``p_i`` the bank's mean share of mode ``i`` and ``A`` from
        :func:`fit_concentration`.

        Raises
        ------
        ValueError
            If the counts have fewer than two modes, no photons, rows of different totals, a mode
            that never holds a photon, or no overdispersion (see :func:`fit_concentration`).
        """
        array, n_photons = fixed_photon_number(counts)
        probabilities = array.mean(axis=0) / n_photons
        if np.any(probabilities == 0):
            raise ValueError(f"modes {np.flatnonzero(probabilities == 0).tolist()} never hold a photon: "
                             "their Dirichlet parameter would be zero")
        fano = float(array.var(axis=0).sum() / array.mean(axis=0).sum())
        concentration = fit_concentration(n_photons, probabilities, fano)
        return cls.from_parameters(n_photons, concentration * probabilities, bank_size=bank_size, seed=seed,
                                   name=name, postprocess=postprocess,
                                   fit={"fit": "moments", "source_sha256": bank_sha256(array),
                                        "target_fano": fano})

    @classmethod
    def haar_boson(cls, n_photons: int, n_modes: int, *, bank_size: int, seed: int,
                   name: str = "dirichlet-multinomial-haar", postprocess: CountPostprocess | None = None,
                   ) -> DirichletMultinomialLatent:
        """Symmetric ``α_i = A/m`` with the Fano factor a Haar boson bank has on average (:func:`haar_boson_fano`).

        No quantum sample is used: only ``n_photons`` and ``n_modes``.

        Raises
        ------
        ValueError
            If ``n_photons`` is below 2 or above ``n_modes``.
        """
        fano = haar_boson_fano(n_photons, n_modes)
        probabilities = np.full(n_modes, 1.0 / n_modes)
        concentration = fit_concentration(n_photons, probabilities, fano)
        return cls.from_parameters(n_photons, concentration * probabilities, bank_size=bank_size, seed=seed,
                                   name=name, postprocess=postprocess,
                                   fit={"fit": "Haar average", "n_modes": int(n_modes), "target_fano": fano})


def _step_hermite_coefficients(thresholds: np.ndarray, order: int) -> np.ndarray:
    """Coefficients ``a_k = E[g(Z) He_k(Z)] / sqrt(k!)``, ``k = 1..order``, of ``g(z) = #{t in thresholds: z > t}``.

    ``E[1(Z > t) He_k(Z)] = φ(t) He_{k-1}(t)`` (integrate ``He_k φ = -(He_{k-1} φ)'``), with the
    probabilists' Hermite polynomials by their recurrence ``He_{k+1} = z He_k - k He_{k-1}``.
    """
    finite = thresholds[np.isfinite(thresholds)]
    density = np.exp(-finite**2 / 2) / math.sqrt(2 * math.pi)
    previous, current = np.zeros_like(finite), np.ones_like(finite)  # He_{-1}, He_0
    coefficients = np.empty(order)
    log_factorial = 0.0
    for k in range(1, order + 1):
        coefficients[k - 1] = float(np.sum(density * current)) / math.exp(0.5 * log_factorial) / math.sqrt(k)
        log_factorial += math.log(k)
        previous, current = current, finite * current - (k - 1) * previous
    return coefficients


def _thresholds(marginal: np.ndarray) -> np.ndarray:
    """Normal quantiles ``Φ⁻¹(F(c))`` at each count ``c`` below the largest: ``count = #{t < z}``."""
    from scipy.stats import norm

    cdf = np.cumsum(marginal)[:-1]
    return norm.ppf(np.clip(cdf, 0.0, 1.0))


def copula_count_correlation(coefficients: tuple[np.ndarray, np.ndarray], stds: tuple[float, float],
                             latent_correlation: float) -> float:
    """Correlation of two copula counts whose latent normals have correlation ``r``: ``Σ_k a_k b_k r^k / (σ_a σ_b)``.

    Mehler's expansion of the bivariate normal density in Hermite polynomials.
    """
    first, second = coefficients
    powers = latent_correlation ** np.arange(1, first.size + 1)
    return float(np.sum(first * second * powers) / (stds[0] * stds[1]))


class GaussianCopulaLatent(BankLatent):
    """A bank with a count bank's per-mode marginals, joined by a Gaussian copula matching its correlations.

    A row is ``c_i = F_i⁻¹(Φ(z_i))`` with ``z ~ N(0, R)``. ``R`` is calibrated pair by pair so that
    the *counts'* correlation equals the target (a Gaussian copula of discrete marginals attenuates
    correlations), by the Hermite (Mehler) series of :func:`copula_count_correlation` and a root
    search; the calibrated matrix is then made positive definite (eigenvalues floored at
    :data:`COPULA_MIN_EIGENVALUE`, unit diagonal restored). A feasible target is met to sampling
    precision; a fixed-photon-number bank's is not (its covariance rows sum to zero, and the
    calibrated matrix of 8 photons in 16 modes has an eigenvalue near -0.6), so the copula then has
    the nearest reachable correlations: ``describe()["source"]`` records the smallest calibrated
    eigenvalue and the largest correlation error of the drawn bank. Build it with :meth:`from_counts`.
    """

    kind = "gaussian-copula"

    @classmethod
    def from_counts(cls, counts: np.ndarray | torch.Tensor, *, bank_size: int, seed: int,
                    name: str = "gaussian-copula", postprocess: CountPostprocess | None = None,
                    ) -> GaussianCopulaLatent:
        """Marginals and correlation matrix of ``counts`` (n_samples, n_modes); ``bank_size`` rows drawn with ``seed``.

        Raises
        ------
        ValueError
            If the counts have fewer than two modes or a mode that never varies (its correlations
            are undefined).
        """
        from scipy.optimize import brentq
        from scipy.stats import norm

        array = as_counts(counts)
        n_modes = array.shape[1]
        if n_modes < 2:
            raise ValueError(f"a copula joins 2 or more modes, got counts of shape {array.shape}")
        stds = array.std(axis=0)
        if np.any(stds == 0):
            raise ValueError(f"modes {np.flatnonzero(stds == 0).tolist()} never vary: their correlations are "
                             "undefined")
        width = int(array.max()) + 1
        marginals = np.stack([np.bincount(column, minlength=width) for column in array.T]) / array.shape[0]
        target = np.corrcoef(array, rowvar=False)
        thresholds = [_thresholds(row) for row in marginals]
        coefficients = [_step_hermite_coefficients(t, COPULA_HERMITE_ORDER) for t in thresholds]
        latent = np.eye(n_modes)
        for i in range(n_modes):
            for j in range(i + 1, n_modes):
                pair, spread = (coefficients[i], coefficients[j]), (float(stds[i]), float(stds[j]))

                def gap(r: float, i: int = i, j: int = j, pair: Any = pair, spread: Any = spread) -> float:
                    return copula_count_correlation(pair, spread, r) - target[i, j]

                low, high = gap(-0.999), gap(0.999)
                latent[i, j] = latent[j, i] = (-0.999 if low > 0 else 0.999 if high < 0
                                               else brentq(gap, -0.999, 0.999, xtol=1e-10))
        values, vectors = np.linalg.eigh(latent)
        latent = (vectors * np.maximum(values, COPULA_MIN_EIGENVALUE)) @ vectors.T
        scale = np.sqrt(np.diag(latent))
        latent = latent / np.outer(scale, scale)
        rng = np.random.default_rng(_check_seed(seed))
        normals = rng.multivariate_normal(np.zeros(n_modes), latent, size=check_sample_size(bank_size),
                                          method="eigh")
        uniforms = np.minimum(norm.cdf(normals), np.nextafter(1.0, 0.0))
        cdf = np.cumsum(marginals, axis=1)
        cdf[np.arange(width)[None, :] >= array.max(axis=0)[:, None]] = 1.0  # no rounding past a mode's largest count
        bank = np.stack([np.searchsorted(cdf[i], uniforms[:, i], side="right") for i in range(n_modes)], axis=1)
        achieved = np.corrcoef(bank, rowvar=False)
        description = {"construction": "Gaussian copula", "source_sha256": bank_sha256(array), "seed": int(seed),
                       "latent_correlation": latent.tolist(), "smallest_calibrated_eigenvalue": float(values[0]),
                       "correlation_error_max": float(np.max(np.abs(np.nan_to_num(achieved) - target)))}
        return cls(bank, name=name, description=description, postprocess=postprocess)
