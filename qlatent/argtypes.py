"""The command line's two number types (argparse ``type=``): whole numbers and bounded real numbers.

Both refuse what Python's own parsers would quietly take (``int`` reads ``"+1"``, ``"1_0"`` and
other scripts' digits; ``float`` reads ``"nan"`` and ``"inf"``), and their messages name the
accepted range, so that every option of ``qlatent`` and ``qlatent samples`` reads a number the
same way.
"""

from __future__ import annotations

import argparse
import decimal
import math
import re
from collections.abc import Callable

#: A whole number as typed: ASCII digits, optionally in ``_``-separated thousands or with a
#: positive exponent (``1_000_000``, ``1e6``, ``2.5e3``; not ``1_0``, ``-1`` or ``1e-3``).
_WHOLE = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:_[0-9]{3})+)(?:\.[0-9]*)?(?:[eE]\+?[0-9]{1,4})?")


#: The largest whole number an option takes unless it names its own maximum: what an int64 holds
#: (a seed of 10^4300 passed the parser and failed later on Python's integer-string limit).
MAX_WHOLE = 2**63 - 1


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[minimum, maximum]`` (``maximum`` None: :data:`MAX_WHOLE`,
    unnamed in messages).

    Digits, ``_``-separated thousands and an exponent are accepted when the value is whole
    (``1e6``, ``2.5e3``; not ``1.5``). The value is read exactly (:class:`decimal.Decimal`), so ``1e400`` is refused
    as above ``maximum`` rather than overflowing a float.
    """

    def parse(text: str) -> int:
        span = f">= {minimum:,}" if maximum is None else f"in [{minimum:,}, {maximum:,}]"
        refused = argparse.ArgumentTypeError(f"must be a whole number {span}, got {text!r:.40}")
        if not _WHOLE.fullmatch(text.strip()):
            raise refused
        value = decimal.Decimal(text.strip().replace("_", ""))
        if value != value.to_integral_value() or not minimum <= value <= (MAX_WHOLE if maximum is None else maximum):
            raise refused
        return int(value)

    parse.__name__ = "whole number"  # argparse names the type in "invalid <name> value"
    return parse


#: A real number as typed: ASCII digits with an optional sign, point and exponent (not ``nan``,
#: ``inf``, ``1_0`` or other scripts' digits, which ``float`` takes).
_REAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def real_number(low: float, high: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (no upper bound when ``high`` is None).

    ``-0`` reads as ``0.0`` (so it cannot name a second cache entry), and a non-zero number that
    float64 rounds to zero (``1e-400``) is refused rather than read as 0.
    """

    def parse(text: str) -> float:
        value = math.nan
        if _REAL.fullmatch(text.strip()):
            value = float(text) + 0.0  # + 0.0 turns -0.0 into 0.0
            if value == 0.0 and decimal.Decimal(text.strip()) != 0:
                value = math.nan
        if not (low <= value <= (math.inf if high is None else high)) or not math.isfinite(value):
            span = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise argparse.ArgumentTypeError(f"must be a number {span}, got {text!r:.40}")
        return value

    parse.__name__ = "number"
    return parse
