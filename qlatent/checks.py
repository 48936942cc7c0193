"""Small argument checks shared by the experiment configurations."""

from __future__ import annotations

from typing import Any


def require_positive_int(name: str, value: Any) -> int:
    """Return ``value`` after checking it is an int ≥ 1; otherwise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def require_positive_ints(owner: Any, names: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first attribute of ``owner`` in ``names`` that is not an int ≥ 1."""
    for name in names:
        require_positive_int(name, getattr(owner, name))
