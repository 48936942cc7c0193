"""What a training run leaves in its directory besides checkpoints: a metrics CSV and a manifest.

Both files are rewritten atomically (:mod:`qlatent.io`), so a reader never sees half a row or
half a manifest. The manifest is written when a run starts (``status: running``), when it stops
on an error (``status: diverged``) and, last of all, when it ends (``status: complete``).
A file damaged afterwards is detected on reading (:func:`read_metrics`, :func:`manifest_problem`)
rather than failing with a bare parsing error.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from qlatent.io import atomic_write_json, atomic_write_text
from qlatent.provenance import environment_info


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse(text: str) -> float | int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


Row = dict[str, float | int | None]


def read_metrics(path: str | Path) -> tuple[list[Row], str | None]:
    """The rows of a metrics CSV up to its first damaged line, and what that damage is.

    Parameters
    ----------
    path
        A file written by :class:`MetricsLog` (a missing file reads as no rows, undamaged).

    Returns
    -------
    rows
        ``{column: value}`` per intact row, in file order (``None`` for an empty cell).
    problem
        ``None`` for an intact file, else a sentence saying what is wrong: not UTF-8, an empty
        file or a bad header, a last row cut off (every row the log writes ends with a line
        break), a row with the wrong number of cells, a cell that is not a number, or steps
        that do not increase. Rows from the damaged line on are not returned.
    """
    path = Path(path)
    if not path.is_file():
        return [], None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return [], f"it is not UTF-8 text ({error})"
    if not text:
        return [], "the file is empty"
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        return [], f"it is not CSV ({error})"
    cut = not text.endswith("\n")
    header = records[0]
    if not header or header[0] != "step" or len(set(header)) != len(header) or "" in header:
        return [], f"its first line {','.join(header)[:80]!r} is not a metrics header (step, then unique names)"
    if cut and len(records) == 1:
        return [], "the header line is cut off"
    rows: list[Row] = []
    for number, record in enumerate(records[1:], start=2):
        if cut and number == len(records):
            return rows, f"its last row (line {number}) is cut off"
        if len(record) != len(header):
            return rows, f"line {number} has {len(record)} cells, the header {len(header)}"
        try:
            row = {name: _parse(value) for name, value in zip(header, record)}
        except ValueError:
            return rows, f"line {number} holds a cell that is not a number"
        step = row["step"]
        if not isinstance(step, int) or (rows and step <= rows[-1]["step"]) or step < 0:
            return rows, f"line {number} has step {record[0]!r}, not a step after the previous row's"
        rows.append(row)
    return rows, None


def same_rows(first: list[Row], second: list[Row]) -> bool:
    """Whether two lists of rows would write the same cells (an empty cell and a missing key alike)."""
    def cells(rows: list[Row]) -> list[dict[str, str]]:
        return [{key: _format(value) for key, value in row.items() if value is not None} for row in rows]
    return cells(first) == cells(second)


def manifest_problem(path: str | Path) -> str | None:
    """What is wrong with a run manifest: ``None`` if it is missing or a JSON object, else a sentence."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return f"it is not JSON ({type(error).__name__}: {error})"
    return None if isinstance(manifest, dict) else f"it holds a JSON {type(manifest).__name__}, not an object"


def previous_session(path: str | Path) -> tuple[int | None, list[int]]:
    """What an intact run manifest says of the sessions before: the step the last one reached and
    every length (``n_steps``) asked of the run directory; ``(None, [])`` for a missing, damaged
    or older manifest (entries of the wrong type are ignored)."""
    path = Path(path)
    if manifest_problem(path) is not None or not path.is_file():
        return None, []
    manifest = json.loads(path.read_bytes().decode("utf-8"))

    def is_count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    reached = manifest.get("steps_completed")
    lengths = manifest.get("lengths")
    return (reached if is_count(reached) else None,
            sorted({value for value in lengths if is_count(value)}) if isinstance(lengths, list) else [])


class MetricsLog:
    """Rows of numbers keyed by ``step``, kept in memory and rewritten to a CSV file atomically.

    Floats are written with ``repr`` so that reading the file back gives the same numbers bit
    for bit (a resumed run compares equal to an uninterrupted one).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: list[Row] = []
        #: How many intact rows of the file :meth:`load` left out (logged after ``up_to_step``).
        self.rows_beyond = 0

    def load(self, up_to_step: int) -> str | None:
        """Read the file (if any), keeping only intact rows with ``step <= up_to_step`` (rows logged
        after the checkpoint a run resumes from are recomputed).

        Returns
        -------
        str or None
            What is damaged in the file (:func:`read_metrics`), or ``None`` if it is intact.
        """
        rows, problem = read_metrics(self.path)
        self.rows = [row for row in rows if row["step"] <= up_to_step]
        self.rows_beyond = len(rows) - len(self.rows)
        return problem

    def append(self, row: dict[str, float | int]) -> None:
        """Add a row (it must contain ``step``) and rewrite the file."""
        if "step" not in row:
            raise ValueError("a metrics row needs a 'step' entry")
        self.rows.append(dict(row))
        self.write()

    def columns(self) -> list[str]:
        """``step`` first, then every other key in order of first appearance."""
        names = ["step"]
        for row in self.rows:
            names.extend(key for key in row if key not in names)
        return names

    def write(self) -> None:
        """Rewrite the whole file atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = self.columns()
        writer.writerow(names)
        for row in self.rows:
            writer.writerow([_format(row.get(name)) for name in names])
        atomic_write_text(self.path, buffer.getvalue())


def write_manifest(path: str | Path, *, status: str, parameters: dict[str, Any], seeds: dict[str, int],
                   device: str, runtime_s: float, step: int, **extra: Any) -> None:
    """Write the run manifest: parameters, seeds, environment (git commit, package versions),
    device, runtime, completed steps and ``status``."""
    manifest = {
        "parameters": parameters,
        "seeds": seeds,
        "environment": environment_info(),
        "device": device,
        "runtime_s": round(runtime_s, 3),
        "steps_completed": step,
        **extra,
        "status": status,
    }
    atomic_write_json(path, manifest)
