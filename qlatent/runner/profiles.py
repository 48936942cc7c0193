"""Profiles: named sets of notebooks with the parameters to inject into each.

The profiles file (``notebooks/profiles.yml``) maps a profile name to a description and an
ordered mapping of notebook name → parameters::

    quick:
      description: minutes on 2 CPU cores
      notebooks:
        01_interference: {n_delays: 41}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qlatent.runner.errors import RunnerError


@dataclass(frozen=True)
class Profile:
    """One profile: its notebooks in book order, each with its parameter overrides."""

    name: str
    description: str
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_profiles(path: Path) -> dict[str, Profile]:
    """Read and check the profiles file; any malformation raises :class:`RunnerError` naming it."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RunnerError(f"profiles file not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RunnerError(f"profiles file {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict) or not raw:
        raise RunnerError(f"profiles file {path} must map profile names to profiles")
    profiles = {}
    for name, body in raw.items():
        if not isinstance(body, dict) or not isinstance(body.get("notebooks"), dict):
            raise RunnerError(f"profile {name!r} in {path} must have a 'notebooks' mapping")
        unknown_keys = set(body) - {"description", "notebooks"}
        if unknown_keys:
            raise RunnerError(f"profile {name!r} in {path} has unknown keys: {', '.join(sorted(map(str, unknown_keys)))}")
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
