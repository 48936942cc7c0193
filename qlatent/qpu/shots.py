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
acceptance rate is reported, over the shots read), and refuses a request whose number of modes
differs from the shots' length, naming both. The counts file is read only as far as the request
needs (a block at a time, by NumPy's C reader), so memory follows the request, not the file;
both files must be regular files (a FIFO is refused without waiting for a writer), are hashed
whole, and are refused if they change while they are read. The stored set keeps their
checksums, and a replay of it checks them, so a file rewritten under the same name is never
answered with the old shots.

Every entry is checked as JSON reads it, never coerced: integers are JSON integers (not ``true``,
not ``1.0``, not ``"1"``), angles and matrix entries finite numbers, the free-text entries and
``counts_file`` non-empty strings, and an entry the format does not name, or one given twice, is
refused (a misspelt optional entry would otherwise be ignored, a repeated one take its last value).
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import io
import json
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qlatent.qpu.limits import SamplingLimits
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
#: Bytes of a counts file read and parsed at a time: reading stops soon after the shots a request
#: needs, and memory beyond the kept shots stays a few times this.
READ_BLOCK_BYTES = 1 << 20
#: Memory parsing one block may hold beside the kept shots (the text, NumPy's int64 array, copies).
PARSE_MEMORY_BYTES = 24 * READ_BLOCK_BYTES
#: The largest shots description read (bytes): it is metadata (a circuit of a few hundred modes
#: fits many times over); a larger file is refused before it is read.
MAX_DESCRIPTION_BYTES = 16 << 20
#: What a block of counts lines in the plain form holds besides comment lines: NumPy's C reader
#: parses such a block; any other is read line by line, naming the fault.
_PLAIN_BYTES = b"0123456789, \t\r\n"
_COMMENT_LINES = re.compile(rb"^[ \t]*#[^\n]*", re.MULTILINE)
_LONG_COUNT = re.compile(rb"[0-9]{6}")  # more digits than MAX_PHOTONS has: its message comes from the line reader
_FILE_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
               stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


@dataclass(frozen=True, kw_only=True)
class ShotsDescription:
    """A checked ``qlatent.shots/1`` description (the JSON half of the pair), without its shots.

    ``circuit`` is an :class:`~qlatent.photonics.interferometers.Interferometer`; ``sha256`` the
    checksum of the description's bytes as read.
    """

    circuit: Any
    input_state: tuple[int, ...]
    detection: str
    device: str
    min_detected: int
    path: Path
    counts_path: Path
    notes: dict[str, Any]
    sha256: str

    @property
    def n_modes(self) -> int:
        """Modes (time bins) per shot."""
        return int(self.circuit.n_modes)


@dataclass(frozen=True, kw_only=True)
class RecordedShots(ShotsDescription):
    """Shots read from a ``qlatent.shots/1`` file pair, checked against the description.

    ``counts`` is ``(n_shots, n_modes)`` unsigned integers: the file's shots in order, or, when
    read for a request (:func:`read_shots_file` with ``max_shots``), the first ``max_shots`` with
    at least ``min_detected`` photons, found among the first ``n_read`` shots of the file.
    ``checksums`` holds the SHA-256 of the ``description`` and of the whole ``counts`` file.
    """

    counts: np.ndarray
    n_read: int
    checksums: dict[str, str]


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


def _open_regular(path: Path, what: str) -> int:
    """A blocking read-only descriptor of ``path`` if it is a regular file; anything else is refused
    without waiting (opening a FIFO for reading would wait for a writer forever, a device never ends).

    Raises ``FileNotFoundError`` or ``ValueError``, naming ``what`` and the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise ValueError(f"{what} {path} cannot be read ({error.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ValueError(f"{what} {path} is {_FILE_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not a "
                         "regular file: copy the shots into a file first")
    os.set_blocking(fd, True)
    return fd


def _changed_while_read(handle: Any, path: Path, before: os.stat_result, n_bytes: int) -> bool:
    """Whether the open file grew, shrank or was rewritten while ``n_bytes`` were read from it, or
    ``path`` now names another file."""
    after = os.fstat(handle.fileno())
    try:
        now = os.stat(path)
    except OSError:
        return True
    return ((before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or n_bytes != after.st_size
            or (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns)
            != (after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns))


def _read_description(path: Path) -> tuple[Any, str]:
    """The description's JSON, checked for repeated keys, and the SHA-256 of its bytes."""
    fd = _open_regular(path, "shots description")
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        try:
            data = handle.read(MAX_DESCRIPTION_BYTES + 1)
        except OSError as error:
            raise ValueError(f"shots description {path} cannot be read ({error.strerror})") from None
        if max(len(data), before.st_size) > MAX_DESCRIPTION_BYTES:
            raise ValueError(f"shots description {path} holds {max(len(data), before.st_size)} bytes, more than "
                             f"the {MAX_DESCRIPTION_BYTES} a description may hold (it is metadata; the shots go "
                             "in its counts file)")
        if _changed_while_read(handle, path, before, len(data)):
            raise ValueError(f"shots description {path} changed while it was read (is it still being written?); "
                             "read it again once it is complete")
    try:
        meta = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_repeated_keys)
    except _RepeatedKeyError as error:
        raise ValueError(f"{path}: {error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path}: not a JSON description of shots ({error})") from None
    return meta, hashlib.sha256(data).hexdigest()


def _parse_lines(lines: list[str], first_number: int, after_shots: bool, shots: ShotsDescription) -> np.ndarray:
    """Shots of counts-file lines, each checked in Python; every fault in a counts file is named here
    (file, line and value). ``after_shots``: shots came before these lines."""
    path, n_modes, n_photons = shots.counts_path, shots.n_modes, sum(shots.input_state)
    rows: list[list[int]] = []
    for number, line in enumerate(lines, start=first_number):
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
        if len(row) != n_modes:
            if not after_shots and not rows:
                raise ValueError(f"{where}: shots have {len(row)} modes, but the circuit in {shots.path.name} has "
                                 f"{n_modes}")
            raise ValueError(f"{where}: a shot of {len(row)} modes after shots of {n_modes} modes")
        detected = sum(row)
        if detected > n_photons:
            raise ValueError(f"{where}: a shot holds {detected} photons, more than the {n_photons} sent in")
        if shots.detection == "threshold" and max(row) > 1:
            raise ValueError(f"{where}: threshold detection records clicks (0 or 1), got a count of {max(row)}")
        if detected < shots.min_detected:
            raise ValueError(f"{where}: a shot holds {detected} detected photons, below the file's "
                             f"min_detected={shots.min_detected}")
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), n_modes)


def _is_plain(data: bytes) -> bool:
    """Whether a block of lines holds only comment lines and ASCII digits, commas and blanks, no
    count longer than :data:`MAX_PHOTONS`."""
    body = _COMMENT_LINES.sub(b"", data) if b"#" in data else data
    return not body.translate(None, _PLAIN_BYTES) and not _LONG_COUNT.search(body)


def _parse_block(data: bytes, text: str, first_number: int, after_shots: bool, shots: ShotsDescription) -> np.ndarray:
    """Shots of a block of whole lines (``data`` and its ``text``): parsed by NumPy's C reader when
    the block is plain (:func:`_is_plain`) and every shot passes the checks, else line by line by
    :func:`_parse_lines` (which names the fault). Lines end at ``\\r\\n``, ``\\r`` or ``\\n``."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_plain(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": a block of comments
            try:
                block = np.loadtxt(io.StringIO(text), dtype=np.int64, delimiter=",",
                                   comments="#", ndmin=2)
            except ValueError:  # rows of different lengths
                block = None
        if block is not None and block.size == 0:
            return np.empty((0, shots.n_modes), dtype=np.int64)
        if block is not None and block.shape[1] == shots.n_modes:
            detected = block.sum(axis=1)
            if (detected <= sum(shots.input_state)).all() and (detected >= shots.min_detected).all() \
                    and (shots.detection != "threshold" or block.max() <= 1):
                return block
    return _parse_lines(text.splitlines(), first_number, after_shots, shots)


def _read_counts(shots: ShotsDescription, max_shots: int | None, min_detected: int) -> tuple[np.ndarray, int, str]:
    """``(kept shots, shots read, SHA-256 of the whole file)`` of a description's counts file.

    Reads :data:`READ_BLOCK_BYTES` at a time and stops parsing once ``max_shots`` shots with at
    least ``min_detected`` photons are kept (the rest of the file is only hashed); shots below
    ``min_detected`` are dropped as they are read, so memory stays the kept shots plus one block.
    """
    path = shots.counts_path
    dtype = counts_dtype(sum(shots.input_state))
    digest = hashlib.sha256()
    kept: list[np.ndarray] = []
    n_kept = n_read = n_lines = n_bytes = parsed = 0
    pending = b""
    with os.fdopen(_open_regular(path, "counts file"), "rb") as handle:
        before = os.fstat(handle.fileno())
        while True:
            try:
                block = handle.read(READ_BLOCK_BYTES)
            except OSError as error:
                raise ValueError(f"counts file {path} cannot be read ({error.strerror})") from None
            digest.update(block)
            if max_shots is not None and n_kept >= max_shots:
                n_bytes += len(block)
                if not block:
                    break
                continue
            data = pending + block if block else pending + b"\n" * bool(pending)
            # a line ends at "\r\n", "\r" or "\n"; a final "\r" may be the first half of a "\r\n"
            ends = data[:-1] if block and data.endswith(b"\r") else data
            cut = max(ends.rfind(b"\n"), ends.rfind(b"\r")) + 1
            data, pending = data[:cut], data[cut:]
            start, parsed = parsed, parsed + len(data)  # where ``data`` starts in the file
            n_bytes += len(block)
            if n_lines == 0 and data.startswith(codecs.BOM_UTF8):  # a spreadsheet's byte-order mark is not a count
                data, start = data[len(codecs.BOM_UTF8):], start + len(codecs.BOM_UTF8)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"counts file {path} is not UTF-8 text ({error.reason} at byte "
                                 f"{start + error.start})") from None
            rows = _parse_block(data, text, n_lines + 1, n_read > 0, shots)
            n_lines += len(text.splitlines())
            passed = rows.sum(axis=1) >= min_detected
            if max_shots is not None and n_kept + int(passed.sum()) >= max_shots:
                last = int(np.flatnonzero(passed)[max_shots - n_kept - 1])  # the shot that completes the request
                rows, passed = rows[: last + 1], passed[: last + 1]
            n_read += len(rows)
            kept.append(rows[passed].astype(dtype))
            n_kept += int(passed.sum())
            if not block:
                break
        if _changed_while_read(handle, path, before, n_bytes):
            raise ValueError(f"counts file {path} changed while it was read (is it still being written?); "
                             "read it again once it is complete")
    if n_read == 0 and max_shots != 0:
        raise ValueError(f"{path} holds no shots")
    counts = np.concatenate(kept) if kept else np.empty((0, shots.n_modes), dtype=dtype)
    return counts, n_read, digest.hexdigest()


def _check_size(shots: ShotsDescription, limits: SamplingLimits) -> None:
    """Refuse a counts file whose size allows more shots than ``limits.max_memory_gb`` holds, read
    whole (the shortest shot of ``m`` modes is ``m`` one-digit counts and their separators)."""
    from qlatent.qpu.limits import format_bytes

    if limits.max_memory_gb is None:
        return
    try:
        size = os.stat(shots.counts_path).st_size
    except OSError:
        return  # the read names the missing or unreadable file
    itemsize = counts_dtype(sum(shots.input_state)).itemsize
    most = size // (2 * shots.n_modes) * shots.n_modes * itemsize + PARSE_MEMORY_BYTES
    limit = limits.max_memory_gb * (1 << 30)
    if most > limit:
        raise ValueError(f"counts file {shots.counts_path} ({format_bytes(size)}) may hold shots needing up to "
                         f"{format_bytes(most)} of memory read whole, past the limit of {format_bytes(limit)}: "
                         "read only the shots needed (max_shots=), or raise limits=SamplingLimits(max_memory_gb=)")


def read_shots_description(path: str | os.PathLike[str]) -> ShotsDescription:
    """Read and check the description of a ``qlatent.shots/1`` pair (the format is in the module
    notes), without reading its shots.

    Raises
    ------
    FileNotFoundError
        If the JSON does not exist.
    ValueError
        Naming the file and the value: another format, a missing or unknown entry, a key given
        twice in one JSON object, an entry of the wrong JSON type (an ``input_state`` entry that
        is not a non-negative JSON integer, or more than :data:`MAX_PHOTONS` photons in all; a
        ``counts_file``, ``device``, ``recorded_at`` or ``notes`` that is not a non-empty string),
        a bad circuit, a file that is not a regular file (a FIFO, a device), that changed while
        it was read, or an unreadable file.
    """
    path = Path(path)
    meta, sha256 = _read_description(path)
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
    notes = {key: meta[key] for key in ("recorded_at", "notes") if key in meta}
    return ShotsDescription(circuit=circuit, input_state=tuple(state), detection=meta["detection"],
                            device=meta.get("device", "unknown device"), min_detected=min_detected, path=path,
                            counts_path=counts_path, notes=notes, sha256=sha256)


def read_shots_file(path: str | os.PathLike[str], *, max_shots: int | None = None, min_detected: int = 0,
                    limits: SamplingLimits | None = None) -> RecordedShots:
    """Read and check a ``qlatent.shots/1`` pair (the format is in the module notes).

    The counts file is parsed a block at a time (by NumPy's C reader; a block with a fault is
    re-read line by line to name it) and only as far as the shots asked for; it is always hashed
    whole, and refused if it changes while it is read.

    Parameters
    ----------
    path
        The description (``<name>.json``).
    max_shots
        Stop parsing once this many shots with at least ``min_detected`` detected photons are
        kept (lines past the block of :data:`READ_BLOCK_BYTES` holding the last of them are not
        checked); ``None`` reads every shot. ``0`` parses no shot (the checksums only).
    min_detected
        Drop shots with fewer detected photons as they are read (a request's post-selection);
        ``n_read`` counts the shots read, dropped or kept, so ``len(counts) / n_read`` is the
        acceptance.
    limits
        Its ``max_memory_gb`` bounds the shots read whole (``max_shots=None``): a counts file
        whose size allows more (a shot of ``m`` modes takes at least ``2m`` bytes) is refused
        before it is parsed. Default: :class:`~qlatent.qpu.limits.SamplingLimits` ``()``.

    Raises
    ------
    FileNotFoundError
        If the JSON or the counts file does not exist.
    ValueError
        As :func:`read_shots_description`, and naming the counts file and line: a shot whose
        length differs from the circuit's modes, a count that is not ASCII digits, more photons
        in a shot than were sent in, counts above 1 with threshold detection, a shot below the
        file's own ``min_detected``, no shot at all, a file that is not UTF-8, not a regular file
        (a FIFO, a device), that changed while it was read (still being written), or too large
        for ``limits`` read whole.
    """
    if max_shots is not None and (not _is_integer(max_shots) or max_shots < 0):
        raise ValueError(f"max_shots must be a non-negative integer or None, got {max_shots!r}")
    description = read_shots_description(path)
    if max_shots is None:
        _check_size(description, limits or SamplingLimits())
    counts, n_read, counts_sha256 = _read_counts(description, max_shots, min_detected)
    fields = {field.name: getattr(description, field.name) for field in dataclasses.fields(ShotsDescription)}
    return RecordedShots(**fields, counts=counts, n_read=n_read,
                         checksums={"description": description.sha256, "counts": counts_sha256})


def shots_checksums(path: str | os.PathLike[str]) -> dict[str, str]:
    """SHA-256 of a ``qlatent.shots/1`` pair: ``{"description": ..., "counts": ...}`` (the
    whole files as read; no shot is parsed). Raises as :func:`read_shots_description`."""
    return read_shots_file(path, max_shots=0).checksums


def is_shots_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JSON file declaring a ``qlatent.shots/…`` format (any version: another
    version is then refused by :func:`read_shots_file` by name, not read as a sample store's file).
    A file over :data:`MAX_DESCRIPTION_BYTES` is not parsed: it counts as one when its first
    64 KiB name the format (and :func:`read_shots_file` then refuses it by its size)."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DESCRIPTION_BYTES + 1)
        if len(data) > MAX_DESCRIPTION_BYTES:
            return f'"{FORMAT.rsplit("/", 1)[0]}/'.encode() in data[: 1 << 16]
        meta = json.loads(data.decode("utf-8"))
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
        As :func:`read_shots_description`, or for a bad ``n_samples`` or ``min_detected``.
    """
    shots = read_shots_description(path)
    return SampleRequest(f"recorded:{Path(path)}", shots.circuit, shots.input_state, n_samples,
                         detection=shots.detection, min_detected=min_detected)
