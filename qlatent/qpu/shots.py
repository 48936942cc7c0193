"""A user's hardware shots (ORCA PT-Series, Quandela, …) in one plain format, read for ``recorded:``.

The format (``qlatent.shots/1``) is two files side by side, written by hand or by
:func:`write_shots_file`:

``<name>.json`` — what was run::

    {"format": "qlatent.shots/1",
     "device": "ORCA PT-2",                 # free text, kept in the provenance
     "input_state": [1, 1, ..., 1],         # photons sent into each mode (time bin)
     "detection": "threshold",              # or "pnr" (photon-number resolving)
     "circuit": {"kind": "timebin",         # ORCA's loops, angles in the convention of
                 "loop_lengths": [1, 1],    # qlatent.photonics.timebin (CUDA-Q's PT-Series
                 "thetas": [...],           # target): L·M − Σl beam splitters, loop by loop,
                 "phis": [...],             # bin by bin; phis optional (zeros); n_modes
                 "n_modes": 32},            # optional (default: len(input_state))
     # or   "circuit": {"kind": "matrix", "real": [[...]], "imag": [[...]]}   U[out, in]
     "min_detected": 0,                     # optional: post-selection the device already applied
     "counts_file": "<name>.csv",           # optional, relative to the JSON; default <name>.csv
     "recorded_at": "2026-11-30", "notes": "..."}   # optional, free text

``<name>.csv`` — the shots, one per line: the photons (clicks, with threshold detectors)
detected in each mode, in mode order, as comma-separated non-negative integers. Blank lines and
lines starting with ``#`` are ignored. A PT-Series or Perceval result given as pattern → count
is written one line per shot (repeat each pattern ``count`` times, in any order).

The backend ``recorded:<name>.json`` serves these shots for a request with the same circuit,
input state and detection (build it with :func:`recorded_request`), after the request's own
post-selection (``min_detected``: shots with fewer detected photons are dropped, and the
acceptance rate is reported), and refuses a request whose number of modes differs from the
shots' length, naming both.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qlatent.qpu.sampleset import DETECTIONS, SampleRequest, counts_dtype

FORMAT = "qlatent.shots/1"
CIRCUIT_KINDS = ("timebin", "matrix")


@dataclass(frozen=True)
class RecordedShots:
    """Shots read from a ``qlatent.shots/1`` file pair, checked against the description.

    ``counts`` is ``(n_shots, n_modes)`` unsigned integers; ``circuit`` an
    :class:`~qlatent.photonics.interferometers.Interferometer`.
    """

    counts: np.ndarray
    circuit: Any
    input_state: tuple[int, ...]
    detection: str
    device: str
    min_detected: int
    path: Path
    notes: dict[str, Any]

    @property
    def n_modes(self) -> int:
        """Modes (time bins) per shot."""
        return int(self.counts.shape[1])


def _circuit(description: Any, n_modes: int, where: str) -> Any:
    from qlatent.photonics.interferometers import from_matrix
    from qlatent.photonics.timebin import timebin_interferometer
    from qlatent.photonics.validation import complex_from_parts

    if not isinstance(description, dict) or description.get("kind") not in CIRCUIT_KINDS:
        raise ValueError(f"{where}: 'circuit' must be a dict with 'kind' one of {CIRCUIT_KINDS}, "
                         f"got {description!r:.80}")
    try:
        if description["kind"] == "timebin":
            return timebin_interferometer(int(description.get("n_modes", n_modes)), description["loop_lengths"],
                                          description["thetas"], description.get("phis"))
        matrix = complex_from_parts(description["real"], description["imag"])
        return from_matrix(matrix, allow_subunitary=True)
    except KeyError as error:
        raise ValueError(f"{where}: the {description['kind']!r} circuit lacks {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: invalid circuit ({error})") from None


def _read_counts(path: Path) -> np.ndarray:
    rows: list[list[int]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"counts file {path} does not exist") from None
    width = None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            row = [int(entry) for entry in line.split(",")]
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected comma-separated integers, got {line[:60]!r}") from None
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise ValueError(f"{path}, line {number}: a shot of {len(row)} modes after shots of {width} modes")
        if min(row) < 0:
            raise ValueError(f"{path}, line {number}: negative count {min(row)}")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no shots")
    return np.asarray(rows, dtype=np.int64)


def read_shots_file(path: str | os.PathLike[str]) -> RecordedShots:
    """Read and check a ``qlatent.shots/1`` pair (the format is in the module notes).

    Raises
    ------
    FileNotFoundError
        If the JSON or the counts file does not exist.
    ValueError
        Naming the file and the value: another format, a missing or unknown entry, a bad circuit,
        a shot whose length differs from the circuit's modes, non-integer or negative counts,
        more photons in a shot than were sent in, counts above 1 with threshold detection, or a
        shot below the file's own ``min_detected``.
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"shots description {path} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a JSON description of shots ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{path}: format must be {FORMAT!r}, got {found!r}")
    for key in ("input_state", "detection", "circuit"):
        if key not in meta:
            raise ValueError(f"{path}: missing {key!r}")
    if meta["detection"] not in DETECTIONS:
        raise ValueError(f"{path}: detection must be one of {DETECTIONS}, got {meta['detection']!r}")
    state = meta["input_state"]
    if not isinstance(state, list) or not state or not all(isinstance(k, int) and k >= 0 for k in state):
        raise ValueError(f"{path}: input_state must be a list of non-negative integers, got {state!r:.80}")
    circuit = _circuit(meta["circuit"], len(state), str(path))
    if circuit.n_modes != len(state):
        raise ValueError(f"{path}: the circuit has {circuit.n_modes} modes but input_state has {len(state)}")
    min_detected = meta.get("min_detected", 0)
    if isinstance(min_detected, bool) or not isinstance(min_detected, int) or not 0 <= min_detected <= sum(state):
        raise ValueError(f"{path}: min_detected must be an integer in [0, {sum(state)}], got {min_detected!r}")
    counts_path = path.parent / meta.get("counts_file", path.with_suffix(".csv").name)
    counts = _read_counts(counts_path)
    if counts.shape[1] != circuit.n_modes:
        raise ValueError(f"{counts_path}: shots have {counts.shape[1]} modes, but the circuit in {path.name} has "
                         f"{circuit.n_modes}")
    detected = counts.sum(axis=1)
    if detected.max() > sum(state):
        raise ValueError(f"{counts_path}: a shot holds {int(detected.max())} photons, more than the {sum(state)} "
                         "sent in")
    if meta["detection"] == "threshold" and counts.max() > 1:
        raise ValueError(f"{counts_path}: threshold detection records clicks (0 or 1), got a count of "
                         f"{int(counts.max())}")
    if detected.min() < min_detected:
        raise ValueError(f"{counts_path}: a shot holds {int(detected.min())} detected photons, below the file's "
                         f"min_detected={min_detected}")
    notes = {key: meta[key] for key in ("recorded_at", "notes") if key in meta}
    return RecordedShots(counts=counts.astype(counts_dtype(sum(state))), circuit=circuit, input_state=tuple(state),
                         detection=meta["detection"], device=str(meta.get("device", "unknown device")),
                         min_detected=int(min_detected), path=path, notes=notes)


def is_shots_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JSON file declaring the ``qlatent.shots/1`` format."""
    path = Path(path)
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def write_shots_file(path: str | os.PathLike[str], counts: np.ndarray, *, input_state: Any, detection: str,
                     circuit: dict[str, Any], device: str, min_detected: int = 0,
                     notes: str | None = None) -> Path:
    """Write shots and their description as a ``qlatent.shots/1`` pair (``<path>.json`` and ``<path>.csv``).

    ``circuit`` is the description dict of the module notes (``kind`` ``"timebin"`` or
    ``"matrix"``). The pair is read back and checked before returning the JSON's path, so every
    error of :func:`read_shots_file` is raised here too.
    """
    path = Path(path).with_suffix(".json")
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be (n_shots, n_modes), got shape {counts.shape}")
    meta: dict[str, Any] = {"format": FORMAT, "device": device, "input_state": [int(k) for k in input_state],
                            "detection": detection, "circuit": circuit, "min_detected": int(min_detected),
                            "counts_file": path.with_suffix(".csv").name}
    if notes is not None:
        meta["notes"] = notes
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path.with_suffix(".csv"), counts.astype(np.int64), fmt="%d", delimiter=",",
               header=f"{FORMAT}: one shot per line, detected photons per mode", comments="# ")
    path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    read_shots_file(path)
    return path


def recorded_request(path: str | os.PathLike[str], n_samples: int, *, min_detected: int = 0) -> SampleRequest:
    """The request that replays ``n_samples`` shots of a ``qlatent.shots/1`` file through ``recorded:<path>``.

    Circuit, input state and detection come from the file; the photon model is
    ``"indistinguishable"`` with no modelled noise (hardware brings its own). ``min_detected``
    post-selects further (at least the file's own threshold is always met).

    Raises
    ------
    ValueError
        As :func:`read_shots_file`, or for a bad ``n_samples`` or ``min_detected``.
    """
    shots = read_shots_file(path)
    return SampleRequest(f"recorded:{Path(path)}", shots.circuit, shots.input_state, n_samples,
                         detection=shots.detection, min_detected=min_detected)
