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


#: What a cell shows where a source has no such row: the paper did not report it, or we did not run it.
NOT_REPORTED = "not reported"
NOT_RUN = "not run"
#: What :func:`readable` shows for a missing number.
MISSING = "—"


def _count(row: Any, column: str) -> int | None:
    value = row.get(column) if hasattr(row, "get") else None
    return int(value) if value is not None and not pd.isna(value) else None


def summary_cell(row: Any, unscored: str = "no score") -> str:
    """One of our cells: ``mean ± se (n=seeds)``, followed by ``"; <unscored> in k of n seeds"`` when
    ``k`` runs produced no score (``n_unscored``, ``n_runs`` of :func:`qlatent.stats.summarize_runs`;
    summaries without them show no count), or only that when no run did."""
    n_unscored, n_runs = _count(row, "n_unscored"), _count(row, "n_runs")
    n_seeds = int(row["n_seeds"])
    if n_seeds == 0:
        return f"{unscored} in {n_runs} of {n_runs} seeds" if n_runs else f"{unscored} in every seed"
    text = mean_se(row["mean"], row["se"], n_seeds)
    if n_unscored:
        text += f"; {unscored} in {n_unscored} of {n_runs} seeds"
    return text


def side_by_side(keys: Sequence[str], metric: str, paper: pd.DataFrame | None,
                 summaries: Mapping[str, pd.DataFrame], paper_runs: int | None = None,
                 paper_label: str = "paper", unscored: str = "no score") -> pd.DataFrame:
    """One row per ``keys`` combination (e.g. dataset, latent), one column per source of ``metric``.

    ``paper`` holds the reported rows (``value``, ``se``, and ``value_text``/``se_text`` when read by
    :func:`qlatent.paper.reported`: then cells show the digits the paper printed), shown under
    ``paper_label`` with ``(n=paper_runs)``; each summary (from
    :func:`qlatent.stats.summarize_runs`) holds ``mean``, ``se`` and ``n_seeds`` (and
    ``n_unscored``, ``n_runs``: runs without a score are named with the ``unscored`` phrase, see
    :func:`summary_cell`). A row a source lacks reads :data:`NOT_REPORTED` (the paper) or
    :data:`NOT_RUN` (ours); no cell is ever blank or ``NaN``.
    """
    columns: dict[str, pd.Series] = {}
    index: list[tuple[Any, ...]] = []
    missing: dict[str, str] = {}
    if paper is not None and not paper.empty:
        rows = paper[paper["metric"] == metric]
        cells = {tuple(row[k] for k in keys): reported_cell(row, paper_runs) for _, row in rows.iterrows()}
        columns[paper_label] = pd.Series(cells, dtype=object)
        missing[paper_label] = NOT_REPORTED
        index += list(cells)
    for label, summary in summaries.items():
        if summary is None or summary.empty:
            continue
        rows = summary[summary["metric"] == metric]
        cells = {tuple(row[k] for k in keys): summary_cell(row, unscored) for _, row in rows.iterrows()}
        columns[label] = pd.Series(cells, dtype=object)
        missing[label] = NOT_RUN
        index += list(cells)
    ordered = list(dict.fromkeys(index))
    table = pd.DataFrame({label: series.reindex(ordered).fillna(missing[label]) for label, series in columns.items()})
    table.index = pd.MultiIndex.from_tuples(ordered, names=list(keys)) if len(keys) > 1 else \
        pd.Index([key[0] for key in ordered], name=keys[0])
    return table


def reported_cell(row: Any, n: int | None = None) -> str:
    """A reported number as the paper printed it (``value_text ± se_text``, falling back to
    :func:`mean_se` without them), with ``" (n=runs)"`` if ``n``."""
    value_text = row.get("value_text") if hasattr(row, "get") else None
    if not value_text:
        return mean_se(row["value"], row.get("se"), n)
    se_text = row.get("se_text")
    return value_text + (f" ± {se_text}" if se_text else "") + (f" (n={n})" if n else "")


def readable(table: pd.DataFrame, digits: int = 4, missing: str = MISSING) -> pd.DataFrame:
    """``table`` for display: numbers rounded to ``digits`` decimals, every missing value shown as
    ``missing`` (never ``NaN``); index and columns kept. Returns a new frame of objects."""
    def cell(value: Any) -> Any:
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NA:
            return missing
        if isinstance(value, float):
            rounded = round(value, digits)
            return int(rounded) if rounded == int(rounded) and abs(rounded) < 1e15 else rounded
        return value

    return table.astype(object).map(cell)


def source_label(profile: str, recorded: bool = False) -> str:
    """How the book names a source of results: ``"recorded standard"`` or ``"this run (quick)"``."""
    return f"recorded {profile}" if recorded else f"this run ({profile})"


def figure_name(prefix: str, label: str) -> str:
    """The saved name of a figure drawn from one source (:func:`source_label`): ``prefix_standard``
    for a recording, ``prefix_run`` for this execution, whatever its profile (so a `standard`
    execution never overwrites the `standard` recording's figure).

    Raises
    ------
    ValueError
        If ``label`` is not a :func:`source_label`.
    """
    if label.startswith("recorded "):
        return f"{prefix}_{label.split()[1].strip(',()')}"
    if label.startswith("this run"):
        return f"{prefix}_run"
    raise ValueError(f"not a source label (recorded <profile> or this run (<profile>)): {label!r}")


def budget_share(ours: Mapping[str, float], paper: Mapping[str, float]) -> str:
    """``"2,000 of 40,000 iterations (5 %), 8 of 12 seeds (67 %)"`` for the keys both give (``""`` if none)."""
    parts = []
    for key, theirs in paper.items():
        if key in ours and theirs:
            mine = ours[key]
            share = 100 * mine / theirs
            parts.append(f"{mine:,.0f} of {theirs:,.0f} {key.replace('_', ' ')} "
                         f"({share:.0f} %)" if share >= 1 or share == 0 else
                         f"{mine:,.0f} of {theirs:,.0f} {key.replace('_', ' ')} ({share:.1g} %)")
    return ", ".join(parts)


def budget_note(label: str, ours: Mapping[str, float], paper: Mapping[str, float]) -> str:
    """``"standard: 2,000 of 40,000 iterations (5 %), 8 of 12 seeds (67 %)"`` for the shared keys."""
    return f"{label}: " + budget_share(ours, paper)


def verdict_markdown(verdicts: pd.DataFrame) -> str:
    """The verdict sentences as a Markdown list (one bullet per claim tested). Claims with the verdict
    ``"not run"`` (a side absent from these runs) are gathered into one last bullet naming each
    (``better vs worse`` and its context), so they are listed, not lost, without crowding the list."""
    if "verdict" not in verdicts:
        return "\n".join(f"* {sentence}" for sentence in verdicts["sentence"])
    tested = verdicts[verdicts["verdict"] != "not run"]
    lines = [f"* {sentence}" for sentence in tested["sentence"]]
    skipped = verdicts[verdicts["verdict"] == "not run"]
    if len(skipped):
        context = [column for column in verdicts.columns if column not in _VERDICT_COLUMNS]
        names = []
        for _, row in skipped.iterrows():
            where = ", ".join(f"{key} {_plain(row[key])}" for key in context
                              if not (isinstance(row[key], float) and math.isnan(row[key])))
            names.append(f"{row['better']} vs {row['worse']} on {row['metric']}" + (f" ({where})" if where else ""))
        lines.append(f"* **not run** here ({len(skipped)} of the paper's comparisons: a side, size or setting "
                     f"absent from these runs): " + "; ".join(names) + ".")
    return "\n".join(lines)


_VERDICT_COLUMNS = {"metric", "better", "worse", "axis", "kind", "paper_difference", "verdict", "evidence",
                    "sentence", "part", "section", "n", "mean", "sd", "se", "df", "p_t", "p_wilcoxon", "d_z",
                    "favourable", "mdd", "expected_difference", "margin", "better_level", "n_seeds",
                    "unscored_better", "unscored_worse", "p_rank", "paper_reference", "paper_margin", "d",
                    "n_first", "n_second"}


def _plain(value: Any) -> Any:
    """``16`` for a size that a table with missing cells turned into ``16.0``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
