"""What made a result: package versions, git commit, device, and a fingerprint of qlatent's own code."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

from qlatent import __version__
from qlatent.paths import project_root

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPORTED_PACKAGES = ("numpy", "scipy", "numba", "torch", "perceval-quandela", "rdkit", "pandas", "pot")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over every ``.py`` file of the qlatent package (paths and contents).

    Used to decide whether a notebook must re-execute: any change to the package's code changes
    this fingerprint, even when ``__version__`` stays the same during development.
    """
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def git_commit() -> str | None:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or None outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_root(),
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def package_versions(names: tuple[str, ...] = _REPORTED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that shape our numbers (None when absent)."""
    versions: dict[str, str | None] = {"qlatent": __version__, "python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_info() -> dict[str, object]:
    """Everything a manifest records about where a result was computed."""
    return {
        "qlatent_code": code_fingerprint(),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "machine": platform.machine(),
        "platform": platform.platform(),
    }
