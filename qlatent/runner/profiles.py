"""Profiles: named sets of notebooks with the parameters to inject into each.

The profiles file (``notebooks/profiles.yml``) maps a profile name to a description and an
ordered mapping of notebook name → parameters::

    quick:
      description: minutes on 2 CPU cores
      notebooks:
        01_interference: {n_delays: 41}

It is read by :func:`qlatent.readers.load_yaml`: numbers as YAML 1.2 writes them (``1e-3`` is a
float), and a profile, notebook or parameter given twice in one mapping is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qlatent.readers import BadFileError, load_yaml
from qlatent.runner.errors import RunnerError


@dataclass(frozen=True)
class Profile:
    """One profile: its notebooks in book order, each with its parameter overrides."""

    name: str
    description: str
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_profiles(path: Path) -> dict[str, Profile]:
    """Read and check the profiles file.

    Raises
    ------
    RunnerError
        One line naming the file: missing, a directory, not UTF-8, not valid YAML, a key repeated
        in one mapping, or a profile that is not ``{description, notebooks: {name: parameters}}``.
    """
    try:
        raw = load_yaml(path, "profiles file")
    except BadFileError as error:
        raise RunnerError(str(error)) from None
    if not isinstance(raw, dict) or not raw:
        raise RunnerError(f"profiles file {path} must map profile names to profiles")
    profiles = {}
    for name, body in raw.items():
        if not isinstance(body, dict) or not isinstance(body.get("notebooks"), dict):
            raise RunnerError(f"profile {name!r} in {path} must have a 'notebooks' mapping")
        unknown_keys = set(body) - {"description", "notebooks"}
        if unknown_keys:
            raise RunnerError(f"profile {name!r} in {path} has unknown keys: "
                              f"{', '.join(sorted(map(str, unknown_keys)))}")
        notebooks = {}
        for notebook, parameters in body["notebooks"].items():
            parameters = {} if parameters is None else parameters
            if not isinstance(parameters, dict):
                raise RunnerError(f"profile {name!r} in {path}: parameters of {notebook!r} must be a mapping")
            notebooks[str(notebook)] = parameters
        profiles[str(name)] = Profile(str(name), str(body.get("description", "")), notebooks)
    return profiles


def get_profile(path: Path, name: str) -> Profile:
    """The named profile, or :class:`RunnerError` listing the known ones."""
    profiles = load_profiles(path)
    if name not in profiles:
        raise RunnerError(f"unknown profile {name!r}; known profiles: {', '.join(profiles)}")
    return profiles[name]
