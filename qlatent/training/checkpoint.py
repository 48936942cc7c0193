"""Training checkpoints: one file per saved step, written atomically, the newest ones kept.

A checkpoint is a dictionary of tensors and plain Python values (model and optimiser states,
the step, the random generator's state, the data order), saved with :func:`torch.save` through
:func:`qlatent.io.atomic_path`: a crash while saving leaves the previous checkpoint intact and
never a truncated file under a checkpoint's name. Loading uses ``weights_only=True``, so a
checkpoint cannot run code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from qlatent.io import atomic_path

_NAME = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_path(directory: str | Path, step: int) -> Path:
    """The file of the checkpoint taken after ``step`` steps."""
    return Path(directory) / f"step_{step:08d}.pt"


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint in ``directory``, oldest first (empty if it does not exist)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in directory.iterdir() if (match := _NAME.match(path.name))]
    return sorted(found)


def save_checkpoint(directory: str | Path, step: int, state: dict[str, Any], keep: int | None = None) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically, then delete all but the ``keep`` newest."""
    target = checkpoint_path(directory, step)
    with atomic_path(target) as tmp:
        torch.save(state, tmp)
    if keep is not None:
        for _, old in list_checkpoints(directory)[:-keep]:
            old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain values only)."""
    return torch.load(path, map_location=map_location, weights_only=True)
