"""Shots in the forms devices and simulators return them, turned into the rows of a ``qlatent.shots/1`` file.

A device rarely returns one row per shot. The common forms, and the function for each:

* a **pattern → count table** (ORCA's and Perceval's results, a ``collections.Counter``):
  :func:`shots_from_pattern_counts`;
* **Perceval's** ``BSCount`` (``Sampler.sample_count(...)["results"]``) or ``BasicState`` keys:
  :func:`shots_from_perceval`;
* a **CSV of patterns**, one shot per row or one pattern per row with a count:
  :func:`shots_from_csv`.

Each returns ``(n_shots, n_modes)`` integer counts for :func:`qlatent.qpu.shots.write_shots_file`.
A table is expanded to one row per shot **in a seeded random order**: the ``recorded:`` backend
serves a request's first ``n_samples`` accepted shots, and shots grouped by pattern would make
those a biased sample. A pattern is a sequence of non-negative integers (photons or clicks per
mode, in mode order), or a string of them separated by commas or spaces, optionally in Perceval's
ket brackets (``"|1,0,1>"``).
"""

from __future__ import annotations

import csv
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

_SEPARATORS = re.compile(r"[,\s]+")


def parse_pattern(pattern: Any) -> tuple[int, ...]:
    """Photons per mode from a pattern: a sequence of non-negative integers, a Perceval
    ``BasicState``, or a string such as ``"1,0,1"``, ``"1 0 1"`` or ``"|1,0,1>"``.

    Raises
    ------
    ValueError
        On an empty pattern, a negative, fractional or non-numeric entry, or a string whose modes are
        not separated (``"101"`` is ambiguous once a mode holds 10 photons).
    """
    if isinstance(pattern, str):
        text = pattern.strip().removeprefix("|").removesuffix(">").strip()
        entries = [entry for entry in _SEPARATORS.split(text) if entry]
        if len(entries) == 1 and len(entries[0]) > 1:
            raise ValueError(f"pattern {pattern!r}: separate the modes' counts with commas or spaces")
        if not all(entry.isascii() and entry.isdigit() for entry in entries):
            raise ValueError(f"pattern {pattern!r}: expected non-negative integers per mode")
        values = [int(entry) for entry in entries]
    else:
        try:
            raw = list(pattern)
        except TypeError:
            raise ValueError(f"pattern {pattern!r:.60} is neither a sequence of counts nor a string") from None
        if not all(isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0
                   for value in raw):
            raise ValueError(f"pattern {raw!r:.60}: expected non-negative integers per mode")
        values = [int(value) for value in raw]
    if not values:
        raise ValueError(f"pattern {pattern!r}: no modes")
    return tuple(values)


def shots_from_pattern_counts(pattern_counts: Mapping[Any, Any] | Iterable[tuple[Any, Any]], *,
                              seed: int | np.random.Generator) -> np.ndarray:
    """One row per shot from a pattern → count table, in a seeded random order.

    Parameters
    ----------
    pattern_counts
        A mapping or anything with ``items()`` (a Perceval ``BSCount``), or pairs, of pattern
        (see :func:`parse_pattern`) to the number of shots that gave it: a non-negative integer.
        A pattern may appear more than once in pairs (counts add).
    seed
        Seed or ``Generator`` of the order of the rows (the recorded backend serves the first shots).

    Returns
    -------
    numpy.ndarray
        ``(n_shots, n_modes)`` int64.

    Raises
    ------
    ValueError
        No shots, a bad pattern, patterns of different lengths, or a count that is negative, not an
        integer (probabilities are not counts: a ``BSDistribution`` must be sampled first) or a bool.
    """
    items = pattern_counts.items() if hasattr(pattern_counts, "items") else pattern_counts
    rows: list[tuple[int, ...]] = []
    repeats: list[int] = []
    for pattern, count in items:
        parsed = parse_pattern(pattern)
        if isinstance(count, bool) or not isinstance(count, numbers.Integral):
            raise ValueError(f"pattern {parsed}: count {count!r} is not an integer number of shots "
                             "(probabilities are not counts)")
        if count < 0:
            raise ValueError(f"pattern {parsed}: negative count {count}")
        if rows and len(parsed) != len(rows[0]):
            raise ValueError(f"pattern {parsed} has {len(parsed)} modes, but {rows[0]} has {len(rows[0])}")
        rows.append(parsed)
        repeats.append(int(count))
    if not rows or sum(repeats) == 0:
        raise ValueError("no shots: the table is empty or every count is 0")
    shots = np.repeat(np.asarray(rows, dtype=np.int64), repeats, axis=0)
    return shots[np.random.default_rng(seed).permutation(len(shots))]


def shots_from_perceval(result: Any, *, seed: int | np.random.Generator) -> np.ndarray:
    """One row per shot from a Perceval result: a ``BSCount`` (``BasicState`` → count), or the dict
    ``Sampler.sample_count(n)`` returns (its ``"results"`` entry is used).

    Raises
    ------
    ValueError
        As :func:`shots_from_pattern_counts`; a dict without ``"results"`` or a result that is not
        a mapping is named.
    """
    if isinstance(result, Mapping) and "results" in result:
        result = result["results"]
    if not callable(getattr(result, "items", None)):  # BSCount is dict-like, not a Mapping
        raise ValueError(f"expected a Perceval BSCount or a sample_count() result, got {type(result).__name__}")
    return shots_from_pattern_counts(result, seed=seed)


def shots_from_csv(path: str | os.PathLike[str], *, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Shots from a CSV with a header row naming a ``pattern`` column and, optionally, a ``count`` column.

    Without ``count`` each row is one shot, kept in file order. With ``count`` each row is a pattern
    and its number of shots, expanded as :func:`shots_from_pattern_counts` (``seed`` required).
    Patterns are strings as :func:`parse_pattern` reads them (quote them: ``"1,0,1"``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Naming the file (and the pattern row, counted after the header, skipping blank and ``#``
        lines): no ``pattern`` column, a bad pattern or count, patterns of different lengths, no
        rows, or counts without a ``seed``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"patterns file {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"patterns file {path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    reader = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    columns = [name.strip() for name in reader.fieldnames or []]
    if "pattern" not in columns:
        raise ValueError(f"{path}: needs a header row with a 'pattern' column, got {columns}")
    reader.fieldnames = columns
    with_counts = "count" in columns
    if with_counts and seed is None:
        raise ValueError(f"{path}: has a 'count' column; pass seed= to order the expanded shots")
    pairs = []
    for number, row in enumerate(reader, start=1):
        try:
            pattern = parse_pattern(row["pattern"] or "")
            count = row["count"].strip() if with_counts else "1"
            if not (count.isascii() and count.isdigit()):
                raise ValueError(f"count {count!r} is not a non-negative integer")
        except (ValueError, AttributeError) as error:
            raise ValueError(f"{path}, pattern row {number}: {error}") from None
        pairs.append((pattern, int(count)))
    if not pairs:
        raise ValueError(f"{path}: no patterns")
    if with_counts:
        try:
            return shots_from_pattern_counts(pairs, seed=seed)  # type: ignore[arg-type]
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    widths = {len(pattern) for pattern, _ in pairs}
    if len(widths) > 1:
        raise ValueError(f"{path}: patterns of different lengths {sorted(widths)}")
    return np.asarray([pattern for pattern, _ in pairs], dtype=np.int64)
