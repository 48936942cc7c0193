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
detected in each mode, in mode order, as comma-separated non-negative integers (ASCII digits
only: no sign, no underscore). Blank lines and lines starting with ``#`` are ignored. A
PT-Series or Perceval result given as pattern → count is written one line per shot (repeat each
pattern ``count`` times, in any order).

The backend ``recorded:<name>.json`` serves these shots for a request with the same circuit,
input state and detection (build it with :func:`recorded_request`), after the request's own
post-selection (``min_detected``: shots with fewer detected photons are dropped, and the
acceptance rate is reported), and refuses a request whose number of modes differs from the
shots' length, naming both.

Every entry is checked as JSON reads it, never coerced: integers are JSON integers (not ``true``,
not ``1.0``, not ``"1"``), angles and matrix entries finite numbers, the free-text entries and
``counts_file`` non-empty strings, and an entry the format does not name, or one given twice, is
refused (a misspelt optional entry would otherwise be ignored, a repeated one take its last value).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qlatent.qpu.sampleset import DETECTIONS, SampleRequest, counts_dtype

FORMAT = "qlatent.shots/1"
CIRCUIT_KINDS = ("timebin", "matrix")
#: The entries a description may hold; any other is refused (a misspelt optional entry would
#: otherwise be ignored silently, e.g. ``min_detect`` or a timebin circuit's ``phi``).
KEYS = ("format", "device", "input_state", "detection", "circuit", "min_detected", "counts_file", "recorded_at",
        "notes")
CIRCUIT_KEYS = {"timebin": ("kind", "loop_lengths", "thetas", "phis", "n_modes"), "matrix": ("kind", "real", "imag")}
#: Most photons a shot may hold (counts are stored as ``uint16``, see :func:`counts_dtype`).
MAX_PHOTONS = int(np.iinfo(np.uint16).max)
_COUNT = re.compile(r"[0-9]+")  # a count in the CSV: ASCII digits only (int() would take "+1", "1_0", " ١")


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


def _is_integer(value: Any) -> bool:
    """A JSON integer (``bool`` is an ``int`` in Python, but ``true`` is no photon number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite JSON number (Python's ``json`` also reads ``NaN`` and ``Infinity``)."""
    return (_is_integer(value) or isinstance(value, float)) and math.isfinite(value)


def _check_numbers(value: Any, depth: int, name: str, where: str) -> None:
    """``value`` is a list (of lists, ``depth`` deep) of finite numbers, else a ValueError naming ``name``."""
    shape = "a list" if depth == 1 else "a list of lists"
    if not isinstance(value, list) or not all(
            _is_number(entry) if depth == 1 else isinstance(entry, list) and all(_is_number(x) for x in entry)
            for entry in value):
        raise ValueError(f"{where}: the circuit's {name!r} must be {shape} of finite numbers, got {value!r:.80}")


class _RepeatedKeyError(ValueError):
    """A JSON object gives the same key twice (Python's ``json`` would keep the last value silently)."""


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: the object as a dict, unless a key is repeated."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _RepeatedKeyError(f"the key {key!r} is given twice (which value was meant?)")
        seen[key] = value
    return seen


def _circuit(description: Any, n_modes: int, where: str) -> Any:
    from qlatent.photonics.interferometers import from_matrix
    from qlatent.photonics.timebin import timebin_interferometer
    from qlatent.photonics.validation import complex_from_parts

    if not isinstance(description, dict) or description.get("kind") not in CIRCUIT_KINDS:
        raise ValueError(f"{where}: 'circuit' must be a dict with 'kind' one of {CIRCUIT_KINDS}, "
                         f"got {description!r:.80}")
    kind = description["kind"]
    unknown = sorted(set(description) - set(CIRCUIT_KEYS[kind]))
    if unknown:
        raise ValueError(f"{where}: unknown entries {unknown} in the {kind!r} circuit; it takes "
                         f"{', '.join(CIRCUIT_KEYS[kind])}")
    required = ("loop_lengths", "thetas") if kind == "timebin" else ("real", "imag")
    for key in required:
        if key not in description:
            raise ValueError(f"{where}: the {kind!r} circuit lacks {key!r}")
    try:
        if kind == "timebin":
            size = description.get("n_modes", n_modes)
            if not _is_integer(size):
                raise ValueError(f"{where}: the circuit's 'n_modes' must be an integer, got {size!r:.80}")
            lengths = description["loop_lengths"]
            if not isinstance(lengths, list) or not all(_is_integer(length) for length in lengths):
                raise ValueError(f"{where}: the circuit's 'loop_lengths' must be a list of integers, "
                                 f"got {lengths!r:.80}")
            for key in ("thetas", "phis"):
                if key in description:
                    _check_numbers(description[key], 1, key, where)
            return timebin_interferometer(size, lengths, description["thetas"], description.get("phis"))
        for key in ("real", "imag"):
            _check_numbers(description[key], 2, key, where)
        matrix = complex_from_parts(description["real"], description["imag"])
        return from_matrix(matrix, allow_subunitary=True)
    except (TypeError, ValueError) as error:
        if str(error).startswith(where):
            raise
        raise ValueError(f"{where}: invalid circuit ({error})") from None


def _read_counts(path: Path, n_modes: int, description: Path, n_photons: int, detection: str,
                 min_detected: int) -> np.ndarray:
    """The shots of a counts file, each line checked as it is read (errors name the file and line)."""
    rows: list[list[int]] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a spreadsheet's byte-order mark is not a count
    except FileNotFoundError:
        raise FileNotFoundError(f"counts file {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"counts file {path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise ValueError(f"counts file {path} cannot be read ({error.strerror})") from None
    width = None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        entries = [entry.strip() for entry in line.split(",")]
        for entry in entries:
            if not _COUNT.fullmatch(entry):
                if entry.startswith("-") and _COUNT.fullmatch(entry[1:]):
                    raise ValueError(f"{where}: negative count {entry}")
                raise ValueError(f"{where}: expected comma-separated integers (digits only), got {entry!r:.30} in "
                                 f"{line[:60]!r}")
            if len(entry.lstrip("0")) > len(str(MAX_PHOTONS)):  # before int(): no huge numbers, no overflow
                raise ValueError(f"{where}: a count of {entry[:30]}{'…' if len(entry) > 30 else ''} photons, more "
                                 f"than the {n_photons} sent in")
        row = [int(entry) for entry in entries]
        if width is None and len(row) != n_modes:
            raise ValueError(f"{where}: shots have {len(row)} modes, but the circuit in {description.name} has "
                             f"{n_modes}")
        if width is not None and len(row) != width:
            raise ValueError(f"{where}: a shot of {len(row)} modes after shots of {width} modes")
        width = len(row)
        detected = sum(row)
        if detected > n_photons:
            raise ValueError(f"{where}: a shot holds {detected} photons, more than the {n_photons} sent in")
        if detection == "threshold" and max(row) > 1:
            raise ValueError(f"{where}: threshold detection records clicks (0 or 1), got a count of {max(row)}")
        if detected < min_detected:
            raise ValueError(f"{where}: a shot holds {detected} detected photons, below the file's "
                             f"min_detected={min_detected}")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no shots")
    return np.asarray(rows, dtype=counts_dtype(n_photons))


def read_shots_file(path: str | os.PathLike[str]) -> RecordedShots:
    """Read and check a ``qlatent.shots/1`` pair (the format is in the module notes).

    Raises
    ------
    FileNotFoundError
        If the JSON or the counts file does not exist.
    ValueError
        Naming the file (and, for the counts file, the line) and the value: another format, a
        missing or unknown entry, an entry of the wrong JSON type (an ``input_state`` entry that
        is not a non-negative JSON integer, or more than :data:`MAX_PHOTONS` photons in all; a
        ``counts_file``, ``device``, ``recorded_at`` or ``notes`` that is not a non-empty string),
        a bad circuit, a shot whose length differs from the circuit's modes, a count that is not
        ASCII digits, more photons in a shot than were sent in, counts above 1 with threshold
        detection, a shot below the file's own ``min_detected``, a key given twice in one JSON
        object (naming it), or an unreadable file.
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_refuse_repeated_keys)
    except FileNotFoundError:
        raise FileNotFoundError(f"shots description {path} does not exist") from None
    except _RepeatedKeyError as error:
        raise ValueError(f"{path}: {error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path}: not a JSON description of shots ({error})") from None
    except OSError as error:
        raise ValueError(f"shots description {path} cannot be read ({error.strerror})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{path}: format must be {FORMAT!r}, got {found!r}")
    unknown = sorted(set(meta) - set(KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown entries {unknown}; a description takes {', '.join(KEYS)}")
    for key in ("input_state", "detection", "circuit"):
        if key not in meta:
            raise ValueError(f"{path}: missing {key!r}")
    if meta["detection"] not in DETECTIONS:
        raise ValueError(f"{path}: detection must be one of {DETECTIONS}, got {meta['detection']!r}")
    state = meta["input_state"]
    if not isinstance(state, list) or not state or not all(_is_integer(k) and k >= 0 for k in state):
        raise ValueError(f"{path}: input_state must be a list of non-negative integers, got {state!r:.80}")
    if not 1 <= sum(state) <= MAX_PHOTONS:
        raise ValueError(f"{path}: input_state must send between 1 and {MAX_PHOTONS} photons in all, got {sum(state)}")
    for key in ("device", "counts_file", "recorded_at", "notes"):
        if key in meta and (not isinstance(meta[key], str) or not meta[key] or "\0" in meta[key]):
            raise ValueError(f"{path}: {key!r} must be a non-empty string, got {meta[key]!r:.80}")
    circuit = _circuit(meta["circuit"], len(state), str(path))
    if circuit.n_modes != len(state):
        raise ValueError(f"{path}: the circuit has {circuit.n_modes} modes but input_state has {len(state)}")
    min_detected = meta.get("min_detected", 0)
    if not _is_integer(min_detected) or not 0 <= min_detected <= sum(state):
        raise ValueError(f"{path}: min_detected must be an integer in [0, {sum(state)}], got {min_detected!r}")
    counts_path = path.parent / meta.get("counts_file", path.with_suffix(".csv").name)
    if not counts_path.resolve().is_relative_to(path.parent.resolve()):
        raise ValueError(f"{path}: counts_file must name a file in the folder of the description, got "
                         f"{meta['counts_file']!r:.80}")
    counts = _read_counts(counts_path, circuit.n_modes, path, sum(state), meta["detection"], min_detected)
    notes = {key: meta[key] for key in ("recorded_at", "notes") if key in meta}
    return RecordedShots(counts=counts, circuit=circuit, input_state=tuple(state),
                         detection=meta["detection"], device=meta.get("device", "unknown device"),
                         min_detected=min_detected, path=path, notes=notes)


def is_shots_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JSON file declaring a ``qlatent.shots/…`` format (any version: another
    version is then refused by :func:`read_shots_file` by name, not read as a sample store's file)."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(meta, dict) and str(meta.get("format", "")).startswith(FORMAT.rsplit("/", 1)[0] + "/")


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
