"""Training checkpoints: one file per saved step, written atomically, pruned to the newest and the requested lengths.

A checkpoint is a dictionary of tensors and plain Python values (model and optimiser states,
the step, the random generator's state, the data order), saved with :func:`torch.save` through
:func:`qlatent.io.atomic_path`: a crash while saving leaves the previous checkpoint intact and
never a truncated file under a checkpoint's name. Loading uses ``weights_only=True``, so a
checkpoint cannot run code. A file damaged afterwards (a full disk, a copy cut short, a bad
sector) is reported by :class:`CorruptCheckpointError` naming it, and :func:`set_aside` moves such
a file out of the way without deleting it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import torch

from qlatent.io import atomic_path

_NAME = re.compile(r"^step_(\d{8})\.pt$")

#: Suffix added to a damaged file's name when it is set aside.
CORRUPT_SUFFIX = ".corrupt"


class CorruptCheckpointError(ValueError):
    """A checkpoint that cannot be read back, or reads back as something other than a checkpoint.

    Attributes
    ----------
    paths
        The files concerned (as named when the error was raised).
    """

    def __init__(self, message: str, paths: Sequence[str | Path]) -> None:
        self.paths = [Path(path) for path in paths]
        super().__init__(message)


def checkpoint_path(directory: str | Path, step: int) -> Path:
    """The file of the checkpoint taken after ``step`` steps."""
    return Path(directory) / f"step_{step:08d}.pt"


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint in ``directory``, oldest first (empty if it does not exist).

    Files set aside as damaged (``step_NNNNNNNN.pt.corrupt``) are not checkpoints any more.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in directory.iterdir() if (match := _NAME.match(path.name))]
    return sorted(found)


def save_checkpoint(directory: str | Path, step: int, state: dict[str, Any], keep: int | None = None,
                    keep_steps: Collection[int] = ()) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically, then prune the older ones.

    Parameters
    ----------
    directory, step, state
        Where, after how many steps, and what (a dictionary of tensors and plain values).
    keep
        How many of the newest checkpoints at or before ``step`` to keep (``None``: all). Checkpoints
        after ``step`` are never deleted: a run directory holds one deterministic trajectory, so they
        are where a longer run resumes after a shorter one retrained up to ``step``.
    keep_steps
        Steps whose checkpoints are kept however old (the lengths runs were asked for, so that a
        run of that length reloads rather than retrains).
    """
    target = checkpoint_path(directory, step)
    with atomic_path(target) as tmp:
        torch.save(state, tmp)
    if keep is not None:
        older = [(saved, path) for saved, path in list_checkpoints(directory) if saved <= step][:-keep]
        for saved, old in older:
            if saved not in keep_steps:
                old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain values only).

    Raises
    ------
    FileNotFoundError, PermissionError, IsADirectoryError
        When the file cannot be opened (nothing is known about its content).
    CorruptCheckpointError
        When the file is empty, truncated or otherwise unreadable (whatever :func:`torch.load`
        raised: ``EOFError``, ``RuntimeError``, ``UnpicklingError``, ``KeyError`` ...), or holds
        something other than a dictionary; the message names the file.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as error:  # torch.load reports damage through many exception types
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if path.is_file() and path.stat().st_size == 0:
            detail = "the file is empty"
        else:
            detail = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        raise CorruptCheckpointError(f"checkpoint {path} cannot be read ({detail})", [path]) from error
    if not isinstance(state, dict):
        raise CorruptCheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a checkpoint's dictionary",
                                     [path])
    return state


def set_aside(path: str | Path) -> Path:
    """Rename a damaged file to ``<name>.corrupt`` (``.corrupt.1``, ``.corrupt.2`` ... if taken) beside it.

    The file is kept, never deleted, so that it can be inspected or recovered; returns its new path.
    """
    path = Path(path)
    target = path.with_name(path.name + CORRUPT_SUFFIX)
    count = 0
    while target.exists():
        count += 1
        target = path.with_name(f"{path.name}{CORRUPT_SUFFIX}.{count}")
    os.replace(path, target)
    return target
