"""Small argument checks shared by the experiment configurations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def require_positive_int(name: str, value: Any) -> int:
    """Return ``value`` after checking it is an int ≥ 1; otherwise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def require_seed(seed: Any) -> int:
    """Return ``seed`` after checking it is a non-negative int (a run's seed); otherwise ``ValueError``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def adam_betas(value: Any) -> tuple[float, float]:
    """Return Adam's ``(beta1, beta2)`` as floats after checking both lie in [0, 1); otherwise ``ValueError``."""
    try:
        betas = tuple(float(b) for b in value)
    except TypeError:
        raise ValueError(f"betas must be two numbers in [0, 1), got {value!r}") from None
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {value!r}")
    return betas  # type: ignore[return-value]


def require_positive_ints(owner: Any, names: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first attribute of ``owner`` in ``names`` that is not an int ≥ 1."""
    for name in names:
        require_positive_int(name, getattr(owner, name))


class ParameterError(ValueError):
    """A run parameter's value is refused; ``parameter`` and ``value`` name it (a sweep reports them).

    Raised by experiments' ``validate`` hooks (see :func:`qlatent.sweep.spec.check_runs`), through
    :func:`refusing`.
    """

    def __init__(self, parameter: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


@contextlib.contextmanager
def refusing(parameter: str, value: Any) -> Iterator[None]:
    """Turn a ``ValueError``/``TypeError`` raised inside into a :class:`ParameterError` naming ``parameter``."""
    try:
        yield
    except ParameterError:
        raise
    except (ValueError, TypeError) as error:
        raise ParameterError(parameter, value, str(error)) from error
