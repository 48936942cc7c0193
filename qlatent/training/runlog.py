"""What a training run leaves in its directory besides checkpoints: a metrics CSV and a manifest.

Both files are rewritten atomically (:mod:`qlatent.io`), so a reader never sees half a row or
half a manifest. The manifest is written when a run starts (``status: running``), when it stops
on an error (``status: diverged``) and, last of all, when it ends (``status: complete``).
"""

from __future__ import annotations

import csv
import io
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


class MetricsLog:
    """Rows of numbers keyed by ``step``, kept in memory and rewritten to a CSV file atomically.

    Floats are written with ``repr`` so that reading the file back gives the same numbers bit
    for bit (a resumed run compares equal to an uninterrupted one).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, float | int | None]] = []

    def load(self, up_to_step: int) -> None:
        """Read the file (if any), keeping only rows with ``step <= up_to_step`` (rows logged after
        the checkpoint a run resumes from are recomputed)."""
        self.rows = []
        if self.path.is_file():
            with self.path.open(newline="") as handle:
                for raw in csv.DictReader(handle):
                    row = {key: _parse(value) for key, value in raw.items()}
                    if row["step"] <= up_to_step:
                        self.rows.append(row)

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
