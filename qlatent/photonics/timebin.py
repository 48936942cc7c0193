"""The time-bin loop interferometer of ORCA's PT-Series as an equivalent m x m unitary.

Convention
----------
Modes are the ``M`` time bins of the photon train. As in ORCA's public target in CUDA-Q, for
each loop delay ``l`` in ``loop_lengths`` (in that order) and each time bin ``i = 0 ... M-l-1``
(increasing), a beam splitter couples modes ``i`` and ``i + l`` with angle ``theta_c`` and is
followed by a phase ``exp(i phi_c)`` on mode ``i``; ``c`` counts the beam splitters across all
loops in that order, so there are ``L M - sum(l)`` of them. On the amplitudes of the pair
``(i, i + l)`` the beam splitter is the real rotation::

    B(theta) = [[cos(theta), -sin(theta)],
                [sin(theta),  cos(theta)]]       (transmission amplitude cos(theta))

so ``theta = 0`` leaves both modes as they are and ``theta = pi/2`` exchanges them
(``i -> i + l`` with amplitude +1, ``i + l -> i`` with amplitude -1). The phase is
``exp(i phi)`` on one photon (CUDA-Q's ``exp(i phi n)``). ``U[j, k]`` is the amplitude from
input bin ``k`` to output bin ``j``; later operations multiply from the left.

Beam-splitter sign: qlatent's default against CUDA-Q's
----------------------------------------------------------
CUDA-Q's public photonics target, which simulates ORCA's time-bin interferometer, builds its
``beam_splitter`` gate from the Fock-space elements in ``runtime/nvqir/photonics/PhotonicGates.h``
(``_calc_beam_splitter_elem``: ``t = cos theta``, ``r = sin theta`` and a factor ``(-1)^l`` on the
photons of the second mode that end in the first). Read as a single-photon matrix (amplitude from
input to output) that gate is::

    B_cudaq(theta) = [[cos(theta),  sin(theta)],
                      [-sin(theta), cos(theta)]]  = B(-theta)

the transpose of our default. With one loop length the two differ only by signs on the modes that
leave every distribution unchanged, but with several (``loop_lengths=[1, 2]``) the same angles give
different output distributions. Pass ``convention="cudaq"`` to build CUDA-Q's sign; the mapping is
exact: ``timebin_unitary(M, L, thetas, phis, convention="cudaq") ==
timebin_unitary(M, L, -thetas, phis)``, so angles taken from a CUDA-Q / ORCA program are used
either with ``convention="cudaq"`` or negated under the default. The default stays
``"qlatent"`` (the sign every recorded result of this project used); we read the CUDA-Q sign
from its source and did not check it against a run of CUDA-Q.

Physical reading (one loop of delay ``l``)
------------------------------------------
The beam splitter that couples modes ``i`` and ``i + l`` acts when time bin ``i + l`` arrives from
the source. Its two inputs are the light coming back out of the loop (mode ``i``) and the newly
arriving photon (mode ``i + l``); output mode ``i`` goes to the detector, output mode ``i + l``
into the loop. Output bin ``j`` is therefore read ``l`` bins after input bin ``j``, per loop.

* ``theta = 0``: the returning light is detected and the arriving photon enters the loop, so every
  photon makes exactly one round trip -- the common delay of ``l`` bins that the output labelling
  absorbs; the unitary is the identity.
* ``theta = pi/2``: the light in the loop stays in for another round trip (bin ``i`` is delayed by
  ``l`` bins, to ``i + l``) and the arriving photon skips the loop (bin ``i + l`` comes out ``l``
  bins earlier, in bin ``i``).
* Edges: the first ``l`` photons always enter the loop (it is empty when they arrive) and after the
  last bin the loop is emptied into the detector; neither step is programmable, which is why each
  loop has ``M - l`` beam splitters. So with one loop and every ``theta = pi/2`` (``phi = 0``):
  the photon of bin ``j >= l`` ends in bin ``j - l`` (amplitude -1), and the photon of bin
  ``r < l`` circulates until the end and leaves in the last bin of its residue class,
  ``r + l * floor((M - 1 - r) / l)`` (amplitude +1). For ``l = 1`` this is a cyclic shift.

References
----------
ORCA's PT-Series target in NVIDIA CUDA-Q (``cudaq.orca.sample``; the ``photonics`` target's
time-bin example); K. R. Motes, A. Gilchrist, J. P. Dowling, P. P. Rohde, "Scalable boson
sampling with time-bin encoding using a loop-based architecture", Phys. Rev. Lett. 113, 120501
(2014).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from qlatent.photonics.interferometers import Interferometer, real_vector, validate_n_modes, validate_seed

TWO_PI = 2.0 * np.pi
CONVENTIONS = ("qlatent", "cudaq")
"""Beam-splitter signs: ``"qlatent"`` ``[[c, -s], [s, c]]`` (default), ``"cudaq"`` ``[[c, s], [-s, c]]``."""


def _validate_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown beam-splitter convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")
    return convention


def _validate_loop_lengths(n_modes: int, loop_lengths: Sequence[int]) -> list[int]:
    if isinstance(loop_lengths, (str, bytes)) or not isinstance(loop_lengths, (Sequence, np.ndarray)):
        raise ValueError(f"loop_lengths must be a sequence of integers, got {type(loop_lengths).__name__}")
    lengths = list(loop_lengths)
    if not lengths:
        raise ValueError("loop_lengths must name at least one loop")
    for length in lengths:
        if isinstance(length, (bool, np.bool_)) or not isinstance(length, numbers.Integral):
            raise ValueError(f"loop lengths must be integers (delays in time bins), got {length!r}")
        if not 1 <= length < n_modes:
            raise ValueError(f"loop length {int(length)} out of range: need 1 <= length < n_modes = {n_modes}")
    return [int(length) for length in lengths]


def n_beam_splitters(n_modes: int, loop_lengths: Sequence[int]) -> int:
    """Number of programmable beam splitters: ``L * n_modes - sum(loop_lengths)``.

    Raises
    ------
    ValueError
        If ``n_modes < 2``, ``loop_lengths`` is empty or a length is not an integer in ``[1, n_modes)``.
    """
    n_modes = validate_n_modes(n_modes, minimum=2)
    lengths = _validate_loop_lengths(n_modes, loop_lengths)
    return len(lengths) * n_modes - sum(lengths)


def _build(n_modes: int, lengths: list[int], thetas: np.ndarray, phis: np.ndarray,
           convention: str = "qlatent") -> np.ndarray:
    if convention == "cudaq":
        thetas = -thetas  # B_cudaq(theta) = B(-theta), see the module docstring
    unitary = np.eye(n_modes, dtype=np.complex128)
    c = 0
    for length in lengths:
        for i in range(n_modes - length):
            cos, sin = np.cos(thetas[c]), np.sin(thetas[c])
            upper, lower = unitary[i].copy(), unitary[i + length].copy()
            unitary[i] = np.exp(1j * phis[c]) * (cos * upper - sin * lower)
            unitary[i + length] = sin * upper + cos * lower
            c += 1
    return unitary


def _validated(n_modes, loop_lengths, thetas, phis) -> tuple[int, list[int], np.ndarray, np.ndarray]:
    n_modes = validate_n_modes(n_modes, minimum=2)
    lengths = _validate_loop_lengths(n_modes, loop_lengths)
    count = len(lengths) * n_modes - sum(lengths)
    where = f"(one per beam splitter for loops {lengths} on {n_modes} modes)"
    thetas = real_vector(thetas, f"thetas {where}", count)
    phis = np.zeros(count) if phis is None else real_vector(phis, f"phis {where}", count)
    return n_modes, lengths, thetas, phis


def timebin_unitary(n_modes: int, loop_lengths: Sequence[int], thetas, phis=None, *,
                    convention: str = "qlatent") -> np.ndarray:
    """Build the ``M x M`` unitary of the time-bin loop interferometer (convention: module docstring).

    Parameters
    ----------
    n_modes
        Number of time bins ``M >= 2``.
    loop_lengths
        Loop delays in time bins, each in ``[1, M)``, in the order the light meets the loops.
    thetas
        ``n_beam_splitters(M, loop_lengths)`` beam-splitter angles, loop by loop, bin by bin.
    phis
        As many phases, applied to mode ``i`` after each beam splitter; ``None`` means all zero.
    convention : {"qlatent", "cudaq"}
        Beam-splitter sign: ``[[c, -s], [s, c]]`` (default) or CUDA-Q's ``[[c, s], [-s, c]]``,
        which equals the default at ``-theta`` (module docstring).

    Raises
    ------
    ValueError
        If a loop length is not an integer in ``[1, M)``, ``loop_lengths`` is empty, ``M < 2``,
        ``thetas``/``phis`` do not hold exactly one finite angle per beam splitter (the message
        gives the expected and the given count), or ``convention`` is unknown.
    """
    return _build(*_validated(n_modes, loop_lengths, thetas, phis), _validate_convention(convention))


def timebin_interferometer(n_modes: int, loop_lengths: Sequence[int], thetas, phis=None, *,
                           convention: str = "qlatent") -> Interferometer:
    """Return the time-bin loop interferometer as an :class:`Interferometer` of kind ``"timebin"``.

    Arguments and errors as :func:`timebin_unitary`; the description records ``n_modes``,
    ``loop_lengths``, ``thetas`` and ``phis`` (zeros when ``None``), and ``convention`` when it is
    not the default (so descriptions written before the option rebuild unchanged).
    """
    convention = _validate_convention(convention)
    n_modes, lengths, thetas, phis = _validated(n_modes, loop_lengths, thetas, phis)
    parameters = {"n_modes": n_modes, "loop_lengths": lengths, "thetas": thetas.tolist(), "phis": phis.tolist()}
    if convention != "qlatent":
        parameters["convention"] = convention
    unitary = _build(n_modes, lengths, thetas, phis, convention)
    return Interferometer(unitary=unitary, kind="timebin", parameters=parameters)


def random_timebin_interferometer(
    n_modes: int, loop_lengths: Sequence[int], seed: int | np.random.Generator | None = None
) -> Interferometer:
    """Return a time-bin loop interferometer with random settings.

    Every ``theta_c`` and ``phi_c`` is drawn independently and uniformly from ``[0, 2 pi)``
    (all thetas first, then all phis), so each beam splitter's transmission ``cos^2 theta`` follows
    the arcsine law on ``[0, 1]`` with mean 1/2.

    Raises
    ------
    ValueError
        As :func:`timebin_unitary`, or if ``seed`` is not a non-negative int, a Generator or ``None``.
    """
    count = n_beam_splitters(n_modes, loop_lengths)
    validate_seed(seed)
    rng = np.random.default_rng(seed)
    thetas = rng.uniform(0.0, TWO_PI, size=count)
    phis = rng.uniform(0.0, TWO_PI, size=count)
    return timebin_interferometer(n_modes, loop_lengths, thetas, phis)
