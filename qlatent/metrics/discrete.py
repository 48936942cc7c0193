"""Scores for generators of discrete (integer-valued) data: the paper's Table I metric and distances.

- :func:`integer_l1` — the paper's metric (arXiv:2508.19857, Table I): the mean over generated
  coordinates of ``|x − round(x)|``, the L1 distance to the nearest integer, in ``[0, 0.5]``; lower is
  better. It rewards any integer-valued output, including the wrong integers, so the distances below
  (ours) say whether the integers are the right ones:
- :func:`marginal_tvd` — mean over coordinates of the total variation distance between the
  distributions of the rounded generated values and the reference values;
- :func:`total_tvd` — total variation distance between the distributions of the row sums of the
  rounded values (for photon counts: the photon-number distribution; the quantum data always sum
  to ``n_photons``);
- :func:`covariance_error` — relative Frobenius error of the covariance matrix of the rounded
  values, ``‖C_gen − C_ref‖_F / ‖C_ref‖_F`` (pairwise correlations, which the marginals miss).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_rows(values: Any, label: str) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{label} must have shape (n_samples, n_features) with n_samples, n_features >= 1, "
                         f"got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{label} contains NaN or infinite values")
    return array


def _pair(generated: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    gen, ref = _as_rows(generated, "generated"), _as_rows(reference, "reference")
    if gen.shape[1] != ref.shape[1]:
        raise ValueError(f"generated rows have {gen.shape[1]} coordinates, reference rows {ref.shape[1]}")
    return np.rint(gen), np.rint(ref)


def integer_l1(generated: Any) -> float:
    """Mean of ``|x − round(x)|`` over every coordinate of ``generated`` ``(n, d)``: in ``[0, 0.5]``.

    Raises
    ------
    ValueError
        If ``generated`` is not a non-empty 2-D array of finite numbers.
    """
    values = _as_rows(generated, "generated")
    return float(np.abs(values - np.rint(values)).mean())


def _tvd(a: np.ndarray, b: np.ndarray) -> float:
    values, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    p = np.bincount(inverse[: a.size], minlength=values.size) / a.size
    q = np.bincount(inverse[a.size:], minlength=values.size) / b.size
    return 0.5 * float(np.abs(p - q).sum())


def marginal_tvd(generated: Any, reference: Any) -> float:
    """Mean over coordinates of the TVD between rounded generated values and reference values, in ``[0, 1]``."""
    gen, ref = _pair(generated, reference)
    return float(np.mean([_tvd(gen[:, j], ref[:, j]) for j in range(gen.shape[1])]))


def total_tvd(generated: Any, reference: Any) -> float:
    """TVD between the distributions of the row sums of the rounded generated rows and the reference rows."""
    gen, ref = _pair(generated, reference)
    return _tvd(gen.sum(axis=1), ref.sum(axis=1))


def covariance_error(generated: Any, reference: Any) -> float:
    """``‖C_gen − C_ref‖_F / ‖C_ref‖_F`` for the covariance matrices of the rounded rows.

    Raises
    ------
    ValueError
        If either set has fewer than two rows, or the reference covariance is zero.
    """
    gen, ref = _pair(generated, reference)
    if gen.shape[0] < 2 or ref.shape[0] < 2:
        raise ValueError("covariance_error needs at least two rows in each set")
    c_gen = np.cov(gen, rowvar=False, ddof=1).reshape(gen.shape[1], gen.shape[1])
    c_ref = np.cov(ref, rowvar=False, ddof=1).reshape(ref.shape[1], ref.shape[1])
    norm = np.linalg.norm(c_ref)
    if norm == 0:
        raise ValueError("the reference rows have zero covariance: the relative error is undefined")
    return float(np.linalg.norm(c_gen - c_ref) / norm)


def discrete_scores(generated: Any, reference: Any) -> dict[str, float]:
    """Every metric of this module: ``l1_integer`` (the paper's) and the three distances."""
    return {"l1_integer": integer_l1(generated), "marginal_tvd": marginal_tvd(generated, reference),
            "total_tvd": total_tvd(generated, reference), "covariance_error": covariance_error(generated, reference)}
