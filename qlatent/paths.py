"""Absolute locations of the project's folders, so nothing depends on the working directory.

The project root is, in order: the ``QLATENT_ROOT`` environment variable; the checkout that
holds this package (an editable install, the normal case); the current directory.
Generated data lives under ``data/results`` and ``data/cache`` (both git-ignored) unless
``QLATENT_RESULTS`` / ``QLATENT_CACHE`` point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The repository root: the folder holding ``_config.yml`` and ``notebooks/``."""
    explicit = os.environ.get("QLATENT_ROOT")
    if explicit:
        return Path(explicit).resolve()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "_config.yml").is_file():
        return checkout
    return Path.cwd().resolve()


def notebooks_dir() -> Path:
    """Source notebooks (never executed in place)."""
    return project_root() / "notebooks"


def profiles_file() -> Path:
    """The file naming each profile's notebooks and parameters."""
    return notebooks_dir() / "profiles.yml"


def executed_dir() -> Path:
    """Where executed notebooks are written for the book to render."""
    return project_root() / "book" / "executed"


def build_dir() -> Path:
    """Jupyter Book output (``_build/html`` inside it)."""
    return project_root() / "_build"


def results_dir() -> Path:
    """Raw results written by notebooks, one sub-folder per experiment."""
    explicit = os.environ.get("QLATENT_RESULTS")
    return Path(explicit).resolve() if explicit else project_root() / "data" / "results"


def cache_dir() -> Path:
    """Re-creatable caches (featurised datasets, sample stores, numba)."""
    explicit = os.environ.get("QLATENT_CACHE")
    return Path(explicit).resolve() if explicit else project_root() / "data" / "cache"
