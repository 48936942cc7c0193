"""What every chapter shows beside the paper: side-by-side tables, budget notes, verdict lists.

Chapters compute and save tidy tables (``runs``: context columns, ``latent``, ``seed``, ``metric``,
``value``); these helpers turn saved tables into what the book prints, so no chapter formats
numbers by hand and none repeats another's code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def _number(value: float, significant: int) -> str:
    """``value`` with ``significant`` digits in positional notation; whole numbers from 100 up."""
    import numpy as np

    if abs(value) >= 100:
        return f"{value:.0f}"
    text = np.format_float_positional(value, precision=significant, fractional=False, trim="-")
    return text.rstrip(".")


def mean_se(mean: float, se: float, n: int | None = None) -> str:
    """``"0.036 ± 0.001"`` or ``"2522 ± 65"`` (no ``±`` without a standard error), with ``" (n=12)"`` if ``n``."""
    if mean is None or not math.isfinite(mean):
        return ""
    text = _number(mean, 3)
    if se is not None and math.isfinite(se):
        text += f" ± {_number(se, 2 if abs(se) >= 1 else 1)}"
    return text + (f" (n={n})" if n else "")


def side_by_side(keys: Sequence[str], metric: str, paper: pd.DataFrame | None,
                 summaries: Mapping[str, pd.DataFrame], paper_runs: int | None = None,
                 paper_label: str = "paper") -> pd.DataFrame:
    """One row per ``keys`` combination (e.g. dataset, latent), one column per source of ``metric``.

    ``paper`` holds the reported rows (``value``, ``se``), shown under ``paper_label``; each summary (from
    :func:`qlatent.stats.summarize_runs`) holds ``mean``, ``se`` and ``n_seeds``. Cells read
    ``mean ± se (n=seeds)``; empty where a source has no such row (e.g. the paper's unknown rows).
    """
    columns: dict[str, pd.Series] = {}
    index: list[tuple[Any, ...]] = []
    if paper is not None and not paper.empty:
        rows = paper[paper["metric"] == metric]
        cells = {tuple(row[k] for k in keys): mean_se(row["value"], row.get("se"), paper_runs)
                 for _, row in rows.iterrows()}
        columns[paper_label] = pd.Series(cells, dtype=object)
        index += list(cells)
    for label, summary in summaries.items():
        if summary is None or summary.empty:
            continue
        rows = summary[summary["metric"] == metric]
        cells = {tuple(row[k] for k in keys): mean_se(row["mean"], row["se"], int(row["n_seeds"]))
                 for _, row in rows.iterrows()}
        columns[label] = pd.Series(cells, dtype=object)
        index += list(cells)
    ordered = list(dict.fromkeys(index))
    table = pd.DataFrame({label: series.reindex(ordered) for label, series in columns.items()})
    table.index = pd.MultiIndex.from_tuples(ordered, names=list(keys)) if len(keys) > 1 else \
        pd.Index([key[0] for key in ordered], name=keys[0])
    return table.fillna("")


def budget_note(label: str, ours: Mapping[str, float], paper: Mapping[str, float]) -> str:
    """``"standard: 2,000 of 40,000 iterations (5 %), 8 of 12 seeds (67 %)"`` for the shared keys."""
    parts = []
    for key, theirs in paper.items():
        if key in ours and theirs:
            mine = ours[key]
            parts.append(f"{mine:,.0f} of {theirs:,.0f} {key} ({100 * mine / theirs:.0f} %)")
    return f"{label}: " + ", ".join(parts)


def verdict_markdown(verdicts: pd.DataFrame) -> str:
    """The verdict sentences as a Markdown list (one bullet per claim)."""
    return "\n".join(f"* {sentence}" for sentence in verdicts["sentence"])
