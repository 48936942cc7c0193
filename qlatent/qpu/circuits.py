"""Our interferometers as Perceval circuits, and back, with the unitary as the common ground.

Both sides use the same convention: ``U[out, in]`` is the amplitude from input mode ``in`` to
output mode ``out`` (Perceval's ``Circuit.compute_unitary``). Perceval is imported on call only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qlatent.photonics.validation import validate_transfer_matrix
from qlatent.qpu.interrupts import python_sigint


def _as_matrix(circuit: Any) -> np.ndarray:
    if hasattr(circuit, "unitary") and not callable(circuit.unitary):
        return np.asarray(circuit.unitary)
    return np.asarray(circuit)


@python_sigint()
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


@python_sigint()
def perceval_unitary(circuit: Any) -> np.ndarray:
    """The ``complex128`` unitary of a Perceval circuit (or of an experiment's unitary part)."""
    if hasattr(circuit, "unitary_circuit"):
        circuit = circuit.unitary_circuit()
    return np.asarray(circuit.compute_unitary(), dtype=np.complex128)


def _couple(circuit: Any, upper: int, lower: int, component: Any) -> None:
    """Add a two-mode ``component`` acting on modes ``upper < lower``, routing with permutations."""
    import perceval as pcvl

    gap = lower - upper
    if gap > 1:
        circuit.add(upper + 1, pcvl.PERM([*range(1, gap), 0]))
    circuit.add(upper, component)
    if gap > 1:
        circuit.add(upper + 1, pcvl.PERM([gap - 1, *range(gap - 1)]))


@python_sigint()
def mesh_to_perceval_circuit(interferometer: Any) -> Any:
    """A Perceval circuit built component by component from a Clements mesh or time-bin loops.

    Each rotation ``[[cos θ, −sin θ], [sin θ, cos θ]]`` becomes ``BS.Ry(2θ)`` and each phase a
    ``PS``; a time-bin beam splitter between bins ``i`` and ``i + l`` is routed next to bin ``i``
    with ``PERM`` components. The result has the interferometer's unitary (the tests check it), and
    keeps the mesh structure a hardware compiler can use.

    Parameters
    ----------
    interferometer : Interferometer
        Of kind ``"clements"`` (see :mod:`qlatent.photonics.clements`) or ``"timebin"`` (see
        :mod:`qlatent.photonics.timebin`).

    Raises
    ------
    ValueError
        For any other kind (use :func:`to_perceval_circuit`).
    """
    import perceval as pcvl

    kind = getattr(interferometer, "kind", None)
    parameters = getattr(interferometer, "parameters", {})
    if kind == "clements":
        from qlatent.photonics.clements import mesh_positions

        n_modes = parameters["n_modes"]
        circuit = pcvl.Circuit(n_modes, name="clements")
        for (k, _), theta, phi in zip(mesh_positions(n_modes), parameters["thetas"], parameters["phis"]):
            circuit.add(int(k), pcvl.PS(phi))
            circuit.add(int(k), pcvl.BS.Ry(theta=2 * theta))
        for mode, phase in enumerate(parameters["output_phases"]):
            circuit.add(mode, pcvl.PS(phase))
        return circuit
    if kind == "timebin":
        n_modes = parameters["n_modes"]
        circuit = pcvl.Circuit(n_modes, name="timebin")
        angles = iter(zip(parameters["thetas"], parameters["phis"]))
        for length in parameters["loop_lengths"]:
            for i in range(n_modes - length):
                theta, phi = next(angles)
                _couple(circuit, i, i + length, pcvl.BS.Ry(theta=2 * theta))
                circuit.add(i, pcvl.PS(phi))
        return circuit
    raise ValueError(f"no mesh to convert for an interferometer of kind {kind!r}; "
                     "use to_perceval_circuit (any unitary)")
