"""Our interferometers as Perceval circuits, and back, with the unitary as the common ground.

Both sides use the same convention: ``U[out, in]`` is the amplitude from input mode ``in`` to
output mode ``out`` (Perceval's ``Circuit.compute_unitary``). Perceval is imported on call only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qlatent.photonics.validation import validate_transfer_matrix


def _as_matrix(circuit: Any) -> np.ndarray:
    if hasattr(circuit, "unitary") and not callable(circuit.unitary):
        return np.asarray(circuit.unitary)
    return np.asarray(circuit)


def to_perceval_circuit(circuit: Any, *, tolerance: float = 1e-8) -> Any:
    """A ``perceval.Unitary`` component implementing an interferometer.

    Parameters
    ----------
    circuit : Interferometer, SampleRequest or array_like
        Anything with a ``unitary`` attribute, or an ``m × m`` unitary matrix.
    tolerance : float
        Largest ``|U†U − I|`` accepted.

    Raises
    ------
    ValueError
        If the matrix is not unitary (Perceval circuits are lossless; model a uniform loss with
        ``transmission`` instead).
    """
    try:
        matrix = validate_transfer_matrix(_as_matrix(circuit), tolerance=tolerance)
    except ValueError as error:
        raise ValueError(f"a Perceval circuit needs a unitary matrix: {error}") from None
    import perceval as pcvl

    return pcvl.Unitary(pcvl.Matrix(matrix))


def perceval_unitary(circuit: Any) -> np.ndarray:
    """The ``complex128`` unitary of a Perceval circuit (or of an experiment's unitary part)."""
    if hasattr(circuit, "unitary_circuit"):
        circuit = circuit.unitary_circuit()
    return np.asarray(circuit.compute_unitary(), dtype=np.complex128)
