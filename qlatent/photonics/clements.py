"""The universal rectangular mesh of Clements et al. (2016): build a unitary from MZI settings and back.

Convention
----------
One MZI on the neighbouring modes ``(k, k+1)`` acts on those two modes by the matrix of Clements
et al. (2016), eq. (1)::

    T(theta, phi) = [[exp(i phi) cos(theta), -sin(theta)],
                     [exp(i phi) sin(theta),  cos(theta)]]

i.e. an external phase ``phi`` on mode ``k`` (the lower-index mode) at the MZI's input, then a
real rotation: ``theta`` sets the splitting (power ``cos^2 theta`` stays in its mode; ``theta = 0``
is the bar state, ``theta = pi/2`` the cross state). In Perceval's terms one MZI is ``PS(phi)`` on
mode ``k`` followed by ``BS.Ry(theta=2 * theta)`` on ``(k, k+1)`` (checked in the tests); in
hardware the splitting is set by the MZI's internal phase. Matrices act on amplitudes:
``U[j, k]`` is the amplitude from input mode ``k`` to output mode ``j``.

Layout: ``m`` columns (layers) ``l = 0 ... m-1`` in the order light meets them; layer ``l`` holds
one MZI on every pair ``(k, k+1)`` with ``k = l (mod 2)`` and ``k + 1 < m`` -- ``m(m-1)/2`` MZIs in
all. The parameter vectors list the MZIs layer by layer, and within a layer by increasing ``k``
(:func:`mesh_positions`). After the last layer, output mode ``j`` gets the phase
``output_phases[j]``::

    U = diag(exp(i output_phases)) . L_{m-1} ... L_1 . L_0,  L_l = product of the MZIs in layer l.

References
----------
W. R. Clements, P. C. Humphreys, B. J. Metcalf, W. S. Kolthammer, I. A. Walmsley, "Optimal design
for universal multiport interferometers", Optica 3, 1460 (2016): eq. (1) (the MZI matrix) and its
decomposition procedure (alternate nulling from the right and the left, then moving the left-hand
MZIs through the diagonal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qlatent.photonics.interferometers import Interferometer, real_vector, validate_n_modes
from qlatent.photonics.validation import validate_transfer_matrix

TWO_PI = 2.0 * np.pi


def n_mzis(n_modes: int) -> int:
    """Number of MZIs in the rectangular mesh on ``n_modes`` modes: ``m(m-1)/2``."""
    n_modes = validate_n_modes(n_modes)
    return n_modes * (n_modes - 1) // 2


def mesh_positions(n_modes: int) -> np.ndarray:
    """Return the ``(k, layer)`` of every MZI, in parameter order: an ``int64`` array of shape ``(m(m-1)/2, 2)``.

    Column 0 is the upper mode ``k`` of the pair ``(k, k+1)``, column 1 the layer.
    """
    n_modes = validate_n_modes(n_modes)
    rows = [(k, layer) for layer in range(n_modes) for k in range(layer % 2, n_modes - 1, 2)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), 2)


def mzi_matrix(theta: float, phi: float) -> np.ndarray:
    """Return the 2x2 matrix ``T(theta, phi)`` of one MZI (see the module docstring)."""
    phase = np.exp(1j * phi)
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[phase * c, -s], [phase * s, c]], dtype=np.complex128)


def _build(
    n_modes: int, positions: np.ndarray, thetas: np.ndarray, phis: np.ndarray, output_phases: np.ndarray
) -> np.ndarray:
    unitary = np.eye(n_modes, dtype=np.complex128)
    for (k, _), theta, phi in zip(positions, thetas, phis):
        unitary[k : k + 2, :] = mzi_matrix(theta, phi) @ unitary[k : k + 2, :]
    return np.exp(1j * output_phases)[:, None] * unitary


def mesh_unitary(n_modes: int, thetas, phis, output_phases) -> np.ndarray:
    """Build the unitary of a rectangular mesh from its MZI settings.

    Parameters
    ----------
    n_modes
        Number of modes ``m >= 1``.
    thetas, phis
        ``m(m-1)/2`` MZI angles each, in :func:`mesh_positions` order.
    output_phases
        ``m`` phases applied to the outputs after the mesh.

    Raises
    ------
    ValueError
        If ``n_modes`` is invalid or an angle vector has the wrong length or non-finite entries
        (the message gives the expected and the given count).
    """
    n_modes = validate_n_modes(n_modes)
    count = n_mzis(n_modes)
    return _build(
        n_modes,
        mesh_positions(n_modes),
        real_vector(thetas, "thetas", count),
        real_vector(phis, "phis", count),
        real_vector(output_phases, "output_phases", n_modes),
    )


@dataclass(frozen=True, eq=False)
class ClementsMesh:
    """MZI settings of a rectangular mesh (see the module docstring for the convention).

    Attributes
    ----------
    n_modes
        Number of modes ``m``.
    thetas, phis
        The ``m(m-1)/2`` MZI angles, in the order of ``positions``.
    output_phases
        The ``m`` output phases.
    positions
        ``(k, layer)`` of each MZI (:func:`mesh_positions`), derived from ``n_modes``.
    """

    n_modes: int
    thetas: np.ndarray
    phis: np.ndarray
    output_phases: np.ndarray
    positions: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n_modes = validate_n_modes(self.n_modes)
        count = n_mzis(n_modes)
        values = {
            "thetas": real_vector(self.thetas, "thetas", count),
            "phis": real_vector(self.phis, "phis", count),
            "output_phases": real_vector(self.output_phases, "output_phases", n_modes),
            "positions": mesh_positions(n_modes),
        }
        object.__setattr__(self, "n_modes", n_modes)
        for name, array in values.items():
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def to_unitary(self) -> np.ndarray:
        """Return the mesh's unitary."""
        return _build(self.n_modes, self.positions, self.thetas, self.phis, self.output_phases)

    def to_interferometer(self) -> Interferometer:
        """Return the mesh as an :class:`Interferometer` of kind ``"clements"``."""
        return clements_interferometer(self.n_modes, self.thetas, self.phis, self.output_phases)


def wrap_angle(angles) -> np.ndarray:
    """Angles reduced to ``[0, 2 pi)``: ``np.mod`` alone returns exactly ``2 pi`` for tiny negative angles."""
    wrapped = np.mod(np.asarray(angles, dtype=np.float64), TWO_PI)
    return np.where(wrapped >= TWO_PI, 0.0, wrapped)


def _null_from_right(a: complex, b: complex) -> tuple[float, float]:
    # Angles of T with (a, b) @ T^dagger having a zero first entry.
    return float(np.arctan2(abs(a), abs(b))), float(np.angle(a) - np.angle(b))


def _null_from_left(a: complex, b: complex) -> tuple[float, float]:
    # Angles of T with T @ (a, b) having a zero second entry.
    return float(np.arctan2(abs(b), abs(a))), float(np.pi + np.angle(b) - np.angle(a))


def decompose(unitary) -> ClementsMesh:
    """Decompose a unitary into the rectangular mesh: ``decompose(U).to_unitary()`` equals ``U``.

    Clements et al. (2016): null the lower triangle diagonal by diagonal, alternately by MZIs
    multiplied from the right (odd diagonals; they end up at the input side of the mesh) and from
    the left (even diagonals; output side), leaving a diagonal matrix ``D``; then move each
    left-hand MZI through ``D`` using ``T(theta, phi)^-1 D = D' T(theta, phi')`` with
    ``phi' = alpha - beta + pi``, ``D'_k = exp(i (beta - phi + pi))``, ``D'_{k+1} = exp(i beta)`` for
    ``D = diag(exp(i alpha), exp(i beta))`` on the pair.
    Returned angles lie in ``theta in [0, pi/2]``, ``phi, output_phases in [0, 2 pi)``.

    Parameters
    ----------
    unitary
        Square unitary matrix (checked to 1e-8 by
        :func:`qlatent.photonics.validation.validate_transfer_matrix`, then projected onto the
        nearest unitary, which is the one decomposed).

    Raises
    ------
    ValueError
        If the matrix is not square, finite and unitary.
    """
    work = validate_transfer_matrix(unitary, project=True).copy()
    n_modes = work.shape[0]
    right: list[tuple[int, float, float]] = []
    left: list[tuple[int, float, float]] = []
    for diagonal in range(1, n_modes):
        if diagonal % 2 == 1:
            for j in range(diagonal):
                row, col = n_modes - 1 - j, diagonal - 1 - j
                theta, phi = _null_from_right(work[row, col], work[row, col + 1])
                work[:, col : col + 2] = work[:, col : col + 2] @ mzi_matrix(theta, phi).conj().T
                right.append((col, theta, phi))
        else:
            for j in range(1, diagonal + 1):
                row, col = n_modes - diagonal - 1 + j, j - 1
                theta, phi = _null_from_left(work[row - 1, col], work[row, col])
                work[row - 1 : row + 1, :] = mzi_matrix(theta, phi) @ work[row - 1 : row + 1, :]
                left.append((row - 1, theta, phi))
    phases = np.angle(np.diagonal(work)).copy()
    moved: list[tuple[int, float, float]] = []
    for k, theta, phi in reversed(left):
        alpha, beta = phases[k], phases[k + 1]
        moved.append((k, theta, alpha - beta + np.pi))
        phases[k] = beta - phi + np.pi
    # Order of application to the input: right-hand MZIs first, then the moved left-hand ones.
    applied = right + moved
    positions = mesh_positions(n_modes)
    slots: dict[int, list[int]] = {}
    for index, (k, _) in enumerate(positions):
        slots.setdefault(int(k), []).append(index)
    thetas = np.zeros(len(positions))
    phis = np.zeros(len(positions))
    for k, theta, phi in applied:
        index = slots[k].pop(0)
        thetas[index] = theta
        phis[index] = phi
    return ClementsMesh(n_modes, thetas, wrap_angle(phis), wrap_angle(phases))


def clements_interferometer(n_modes: int, thetas, phis, output_phases) -> Interferometer:
    """Return the rectangular mesh with these settings as an :class:`Interferometer` of kind ``"clements"``.

    Arguments and errors as :func:`mesh_unitary`.
    """
    n_modes = validate_n_modes(n_modes)
    count = n_mzis(n_modes)
    thetas = real_vector(thetas, "thetas", count)
    phis = real_vector(phis, "phis", count)
    output_phases = real_vector(output_phases, "output_phases", n_modes)
    parameters = {
        "n_modes": n_modes,
        "thetas": thetas.tolist(),
        "phis": phis.tolist(),
        "output_phases": output_phases.tolist(),
    }
    unitary = _build(n_modes, mesh_positions(n_modes), thetas, phis, output_phases)
    return Interferometer(unitary=unitary, kind="clements", parameters=parameters)
