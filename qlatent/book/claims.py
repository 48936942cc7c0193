"""Every claim of the paper at a glance: the paper's effect, ours, our budget and the verdict.

:func:`claims_table` gathers the verdicts of every chapter (:mod:`qlatent.book.verdicts`) from its
largest committed recording — the verdict table the recording keeps, or, for a recording made
before chapters kept one, the same computation on its tables — so the page never types a result.
A section whose chapter has no recording is listed as **not run**. :func:`relative_effects` sets
our effect beside the paper's, both as a share of the claimed side's value (budgets differ, so
absolute levels differ while relative gaps are steadier), with 95 % intervals; :func:`forest_plot`
draws them.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from qlatent.book.verdicts import SECTIONS, comparison, not_run

#: The name of the verdict table a chapter saves and records.
VERDICT_TABLE = "verdicts"
#: Two-sided normal quantile of the paper's 95 % interval (its ± are standard errors over runs).
_Z95 = 1.959963984540054


def recorded_verdicts(chapter: str) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The verdicts of ``chapter``'s largest recording and the parameters it ran with; ``(None, {})``
    without a recording.

    Raises
    ------
    qlatent.recording.RecordingError
        If the recording fails its checksums.
    """
    from qlatent.book.evidence import evidence
    from qlatent.book.verdicts import chapter_verdicts

    source = evidence(chapter, {})
    if not source.recorded:
        return None, {}
    saved = source.tables.get(VERDICT_TABLE)
    verdicts = saved.assign(source=source.label) if saved is not None else chapter_verdicts(source)
    return verdicts, dict(source.parameters)


def _statement(section: str) -> str:
    from qlatent.paper import statements

    said = {"hardware": ("table2", "hardware"), "App. H": ("table2", "appendix_h"),
            "App. F": ("flows_diffusion", "ddgan"), "App. G": ("flows_diffusion", "flow_matching")}
    if section in said:
        experiment, key = said[section]
        return statements(experiment)[key]
    return f"the paper's {section} claims"


def claims_table(verdicts: dict[str, pd.DataFrame | None] | None = None,
                 parameters: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per claim of the paper, in the paper's order (:data:`qlatent.book.verdicts.SECTIONS`):
    ``section``, ``chapter``, ``claim`` (:func:`qlatent.book.verdicts.comparison`), ``verdict``,
    ``evidence``, ``source``, ``budget`` (:func:`qlatent.book.evidence.budget`, compact) and the statistics
    behind the verdict.

    ``verdicts`` maps a chapter to its verdict table and ``parameters`` to the parameters of the run
    behind it (default: :func:`recorded_verdicts` of each chapter). A section with no row in its
    chapter's table — no recording, or a table without that section — is one **not run** row.
    """
    from qlatent.book.evidence import budget

    chapters = list(dict.fromkeys(chapter for _, chapter in SECTIONS))
    if verdicts is None:
        loaded = {chapter: recorded_verdicts(chapter) for chapter in chapters}
        verdicts = {chapter: found[0] for chapter, found in loaded.items()}
        parameters = {chapter: found[1] for chapter, found in loaded.items()}
    parameters = parameters or {}
    rows = []
    for section, chapter in SECTIONS:
        table = verdicts.get(chapter)
        part = table[table["section"] == section] if table is not None and "section" in table else None
        if part is None or part.empty:
            reason = "no recording of this chapter" if table is None else "not in this chapter's recording"
            part = pd.DataFrame([not_run(section, reason, _statement(section))])
        ran = table is not None and chapter in parameters
        spent = budget(section, parameters[chapter], compact=True) if ran else ""
        rows.append(part.assign(chapter=chapter, budget=spent))
    table = pd.concat(rows, ignore_index=True)
    table["claim"] = [comparison(row) for _, row in table.iterrows()]
    if "source" not in table:
        table["source"] = ""
    table["source"] = table["source"].fillna("")
    return table


def _number(row: Any, key: str) -> float:
    value = row.get(key) if hasattr(row, "get") else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def relative_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Per row of :func:`claims_table`: ``ours`` (our mean advantage of the claimed side over its
    mean value), ``ours_low``/``ours_high`` (its 95 % t-interval, :func:`qlatent.stats.interval`,
    scaled the same way), ``paper`` (the paper's difference over its value of that side) and
    ``paper_low``/``paper_high`` (± 1.96 of the paper's combined standard error, its ``paper_margin``
    over :data:`qlatent.paper.SIGNIFICANT_SES`). NaN where a side is unknown. Same index as ``table``."""
    from qlatent.paper import SIGNIFICANT_SES
    from qlatent.stats import interval

    rows = []
    for _, row in table.iterrows():
        level, reference = abs(_number(row, "better_level")), abs(_number(row, "paper_reference"))
        mean = _number(row, "mean")
        tests = {key: _number(row, key) for key in ("mean", "sd", "n", "se", "df")}
        if not math.isfinite(tests["se"]):
            tests.pop("se"), tests.pop("df")
        tests["n"] = int(tests["n"]) if math.isfinite(tests.get("n", math.nan)) else 0
        low, high = interval(tests) if math.isfinite(mean) else (math.nan, math.nan)
        scale = 1 / level if level > 0 else math.nan
        paper = _number(row, "paper_difference") / reference if reference > 0 else math.nan
        half = _Z95 * _number(row, "paper_margin") / SIGNIFICANT_SES / reference if reference > 0 else math.nan
        rows.append({"ours": mean * scale, "ours_low": low * scale, "ours_high": high * scale,
                     "paper": paper, "paper_low": paper - half, "paper_high": paper + half})
    return pd.DataFrame(rows, index=table.index)


def _percent(value: float) -> str:
    return f"{100 * value:+.0f} %" if math.isfinite(value) else ""


def claims_html(table: pd.DataFrame, pages: dict[str, str] | None = None) -> str:
    """The claims table as an HTML table: section (a link to its chapter's page, ``pages`` maps a
    chapter to its page, default ``<chapter>.html``), claim, the paper's relative effect, ours with
    its interval, our budget, the verdict and its evidence. Every text is escaped."""
    effects = relative_effects(table)
    header = ["Section", "Claim", "Paper", "Ours (95 % interval)", "Our budget", "Verdict", "Evidence"]
    body = []
    for index, row in table.iterrows():
        effect = effects.loc[index]
        ours = _percent(effect["ours"])
        if ours and math.isfinite(effect["ours_low"]):
            ours += f" ({_percent(effect['ours_low'])} to {_percent(effect['ours_high'])})"
        page = (pages or {}).get(row["chapter"], f"{row['chapter']}.html")
        cells = [f'<a href="{html.escape(page)}">{html.escape(str(row["section"]))}</a>',
                 html.escape(str(row["claim"])), html.escape(_percent(effect["paper"]) or "in words"),
                 html.escape(ours or "—"), html.escape(str(row["budget"]) or "—"),
                 f"<strong>{html.escape(str(row['verdict']))}</strong>", html.escape(str(row["evidence"]))]
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in header) + "</tr>"
    return f'<table class="claims">\n<thead>{head}</thead>\n<tbody>\n' + "\n".join(body) + "\n</tbody>\n</table>"


def vocabulary_markdown() -> str:
    """The verdict vocabulary (:data:`qlatent.stats.VERDICTS`) as a Markdown list, each with its meaning."""
    from qlatent.stats import VERDICTS

    return "\n".join(f"* **{verdict}**: {meaning}." for verdict, meaning in VERDICTS.items())


def forest_plot(table: pd.DataFrame) -> Any:
    """Our relative effect against the paper's for every comparison with both (:func:`relative_effects`),
    each with its 95 % interval, one row per comparison; returns the Matplotlib figure.

    Raises
    ------
    ValueError
        If no comparison has both effects.
    """
    import matplotlib.pyplot as plt

    effects = relative_effects(table)
    shown = effects[np.isfinite(effects["ours"]) & np.isfinite(effects["paper"])]
    if shown.empty:
        raise ValueError("no comparison has both our effect and the paper's")
    labels = [f"{table.loc[index, 'section']}: {table.loc[index, 'claim']}" for index in shown.index]
    y = np.arange(len(shown))[::-1]
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(shown) + 1.6))
    for column, offset, style, colour, name in (("paper", 0.15, "x", "0.35", "paper (± 1.96 s.e.)"),
                                                 ("ours", -0.15, "o", "tab:red", "ours (95 % t-interval over seeds)")):
        centre = 100 * shown[column].to_numpy()
        spread = np.abs(100 * shown[[f"{column}_low", f"{column}_high"]].to_numpy().T - centre)
        ax.errorbar(centre, y + offset, xerr=np.nan_to_num(spread), fmt=style, color=colour, capsize=2, label=name)
    ax.axvline(0, color="0.6", lw=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("advantage of the side the paper puts ahead, % of its value (> 0: the paper's way)")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
