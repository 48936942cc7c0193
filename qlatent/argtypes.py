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


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[minimum, maximum]`` (no upper bound when ``maximum`` is None).

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
        if value != value.to_integral_value() or value < minimum or (maximum is not None and value > maximum):
            raise refused
        return int(value)

    parse.__name__ = "whole number"  # argparse names the type in "invalid <name> value"
    return parse


def real_number(low: float, high: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (low <= value <= (math.inf if high is None else high)) or not math.isfinite(value):
            span = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise argparse.ArgumentTypeError(f"must be a number {span}, got {text!r:.40}")
        return value

    parse.__name__ = "number"
    return parse
