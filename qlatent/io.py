"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    The temporary file keeps the target's suffix (libraries such as ``numpy.savez`` add one
    otherwise). On any exception the temporary file is removed and ``target`` is untouched. An
    ``OSError`` that names no file or the temporary one (a full disk while ``numpy.savez``
    writes) is raised naming ``target``, so its message says which file could not be written.
    """
    target = Path(target)
    with _naming(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f"{target.suffix}.tmp{target.suffix}",
                                        dir=target.parent)
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _naming(target, tmp):
            yield tmp
            os.chmod(tmp, _default_file_mode())  # mkstemp makes 0600; give the usual umask-based mode
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _naming(target: Path, tmp: Path | None = None) -> Iterator[None]:
    """Re-raise an ``OSError`` naming no file (or ``tmp``) as the same error naming ``target``."""
    try:
        yield
    except OSError as error:
        if error.errno is None or error.filename not in (None, str(tmp), tmp):
            raise
        raise OSError(error.errno, error.strerror, str(target)) from error


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``target`` atomically."""
    atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
