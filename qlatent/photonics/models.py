"""Photon models shared by the sampler and the exact probabilities: option checks and the isometry columns.

Every model is reduced to one object: the ``m' x n`` matrix whose column ``k`` is the output
amplitude vector of input photon ``k`` (columns repeat for several photons in one input mode).
Lossless interferometers give ``m' = m``. A lossy (sub-unitary) transfer matrix ``T`` is embedded in
the unitary dilation ``[[T, (I - T T†)^{1/2}], [(I - T†T)^{1/2}, -T†]]`` on ``2m`` modes: photons
that reach the last ``m`` modes are the lost ones, so sampling the dilation and discarding those
modes is exact (Halmos 1950; see also Garcia-Patron, Renema, Shchesnovich, Quantum 3, 169 (2019)).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from qlatent.photonics.validation import UNITARITY_TOLERANCE, unitarity_deviation

MODELS = ("indistinguishable", "distinguishable", "partial")
DETECTIONS = ("pnr", "threshold")


def check_options(model: str, indistinguishability: float, transmission: float, detection: str) -> tuple[float, float]:
    """Validate the photon-model options and return ``(indistinguishability, transmission)`` as floats.

    The indistinguishability is the pairwise overlap ``x`` of the partial model; it is ignored (and
    fixed to 1 or 0) by the two pure models.

    Raises
    ------
    ValueError
        Unknown ``model`` or ``detection``; ``indistinguishability`` or ``transmission`` outside
        ``[0, 1]`` or NaN.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if detection not in DETECTIONS:
        raise ValueError(f"unknown detection {detection!r}; expected one of {', '.join(DETECTIONS)}")
    values = []
    for name, value in (("indistinguishability", indistinguishability), ("transmission", transmission)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a real number in [0, 1], got {value!r}")
        value = float(value)
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value}")
        values.append(value)
    x, eta = values
    if model == "indistinguishable":
        x = 1.0
    elif model == "distinguishable":
        x = 0.0
    return x, eta


def input_columns(input_counts: np.ndarray) -> np.ndarray:
    """Input mode of each photon, in mode order: ``[0, 0, 2]`` for the state ``(2, 0, 1)``."""
    return np.repeat(np.arange(input_counts.shape[0]), input_counts)


def is_lossless(transfer_matrix: np.ndarray) -> bool:
    """Whether ``transfer_matrix`` is unitary within :data:`~qlatent.photonics.validation.UNITARITY_TOLERANCE`.

    The same tolerance :func:`~qlatent.photonics.validation.validate_transfer_matrix` accepts a
    unitary with, so a matrix accepted as unitary is never dilated as if it were lossy.
    """
    return unitarity_deviation(transfer_matrix) <= UNITARITY_TOLERANCE


def photon_isometry(transfer_matrix: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The ``m' x n`` matrix of output amplitudes, one column per photon (dilated to ``2m`` rows if lossy).

    ``transfer_matrix`` must already be validated and projected (unitary or sub-unitary, see
    ``validate_transfer_matrix(..., project=True)``); the returned columns are orthonormal up to
    rounding, as columns of a unitary.
    """
    if is_lossless(transfer_matrix):
        return np.ascontiguousarray(transfer_matrix[:, columns])
    m = transfer_matrix.shape[0]
    defect = np.eye(m) - transfer_matrix.conj().T @ transfer_matrix
    values, vectors = np.linalg.eigh((defect + defect.conj().T) / 2)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.conj().T
    return np.ascontiguousarray(np.vstack([transfer_matrix[:, columns], root[:, columns]]))
