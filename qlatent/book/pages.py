"""Page furniture computed from saved tables: the bottom line's sentences, the agreement with an
independent reproduction, the "choices" table and the "How this page was made" block.

Chapters glue these sentences (``myst_nb.glue``) into the bottom-line admonition at the top of the
page, so the admonition's words are prose and its numbers are computed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from qlatent.book.evidence import Evidence
from qlatent.book.verdicts import comparison


def collapsed(text: str, summary: str) -> str:
    """Markdown ``text`` in a collapsed ``<details>`` block titled ``summary``."""
    return f"<details><summary>{html.escape(summary)}</summary>\n\n{text}\n\n</details>\n"


def verdict_counts(verdicts: pd.DataFrame) -> str:
    """``"2 reproduce, 4 opposite direction, not significant and 9 too few seeds to tell, of 15"``:
    how many comparisons got each verdict, in :data:`qlatent.stats.VERDICTS` order."""
    from qlatent.stats import REPRODUCES, VERDICTS

    counts = verdicts["verdict"].value_counts()
    parts = [f"{counts[name]} {'reproduce' if name == REPRODUCES and counts[name] > 1 else name}"
             for name in VERDICTS if name in counts]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
    return f"{listed}, of {len(verdicts)}"


def against_the_paper(verdicts: pd.DataFrame) -> str:
    """The comparisons where our seeds point against the paper (**contradicts** or **opposite direction,
    not significant**) with their evidence, ``"; "``-separated; ``""`` when there is none."""
    from qlatent.stats import CONTRADICTS, OPPOSITE_DIRECTION

    rows = verdicts[verdicts["verdict"].isin([CONTRADICTS, OPPOSITE_DIRECTION])]
    return "; ".join(f"{comparison(row)} ({row['evidence']})" for _, row in rows.iterrows())


def agreement(ours: pd.DataFrame, theirs: pd.DataFrame, metric: str, ses: float | None = None) -> pd.DataFrame:
    """Our means of ``metric`` per latent against another source's (e.g. an independent reproduction).

    ``ours`` is a :func:`qlatent.stats.summarize_runs` table (``latent``, ``metric``, ``mean``,
    ``se``), ``theirs`` a :func:`qlatent.paper.reported` table (``value``, ``se``). Columns
    ``latent``, ``ours``, ``theirs``, ``difference`` (ours − theirs), ``combined_se``
    (``sqrt(se₁² + se₂²)``) and ``agrees``: the difference within ``ses`` combined standard errors
    (default :data:`qlatent.paper.SIGNIFICANT_SES`, the rule the paper's own orderings use).
    Latents missing on either side are left out.
    """
    from qlatent.paper import SIGNIFICANT_SES

    limit = SIGNIFICANT_SES if ses is None else ses
    left = ours[ours["metric"] == metric].set_index("latent")
    right = theirs[theirs["metric"] == metric].set_index("latent")
    latents = [latent for latent in right.index if latent in left.index]
    table = pd.DataFrame({"latent": latents, "ours": left.loc[latents, "mean"].to_numpy(dtype=float),
                          "theirs": right.loc[latents, "value"].to_numpy(dtype=float)})
    table["difference"] = table["ours"] - table["theirs"]
    table["combined_se"] = (left.loc[latents, "se"].to_numpy(dtype=float) ** 2
                            + right.loc[latents, "se"].to_numpy(dtype=float) ** 2) ** 0.5
    table["agrees"] = table["difference"].abs() <= limit * table["combined_se"]
    return table


def agreement_sentence(table: pd.DataFrame, metric: str, other: str) -> str:
    """``"agrees with <other> on between_modes for 3 of 4 latents (within 2 combined standard
    errors; ours − theirs: gaussian −0.021, ...)"`` from :func:`agreement`."""
    from qlatent.paper import SIGNIFICANT_SES

    differences = ", ".join(f"{row.latent} {row.difference:+.2g}" for row in table.itertuples())
    return (f"agrees with {other} on {metric} for {int(table['agrees'].sum())} of {len(table)} latents (within "
            f"{SIGNIFICANT_SES:g} combined standard errors; ours − theirs: {differences})")


def choices_table(source: Evidence, choices: Mapping[str, Sequence[str] | str]) -> pd.DataFrame:
    """The chapter's own choices with the values of the run the verdicts come from: ``choices`` maps a
    description to the parameter name(s) behind it; the value column is headed by the source's label.
    A parameter the run did not record reads ``"not recorded"``."""
    values = {}
    for description, names in choices.items():
        names = [names] if isinstance(names, str) else list(names)
        values[description] = ", ".join(f"{name} = {source.parameters[name]!r}" if name in source.parameters
                                        else f"{name}: not recorded" for name in names)
    return pd.DataFrame({source.label: values})


def how_made(source: Evidence, parameters: Mapping[str, Any]) -> str:
    """The "How this page was made" block (Markdown, collapsed): the command that made the evidence
    (``qlatent record CHAPTER --profile P`` for a recording, ``qlatent run CHAPTER`` otherwise) with
    its exact parameters, the recording's provenance, and the command and parameters of this build's
    own execution (a pipeline check when a recording supplies the evidence)."""
    chapter = source.chapter
    own = json.dumps(dict(parameters), sort_keys=True, default=str)
    if source.recorded:
        made = (f"The verdicts and the figures behind them come from `qlatent record {chapter} --profile "
                f"{source.profile}`, run with these parameters:\n\n```json\n"
                f"{json.dumps(dict(source.parameters), sort_keys=True, default=str)}\n```\n\n{source.note}\n\n"
                f"This build also executed the notebook (`qlatent run {chapter}`, profile "
                f"`{parameters.get('profile', 'custom')}`) as a check that the pipeline runs; its numbers are "
                f"not evidence. Its parameters:\n\n```json\n{own}\n```")
    else:
        made = (f"No recording of this chapter exists: everything on this page comes from this build's execution, "
                f"`qlatent run {chapter}` (profile `{parameters.get('profile', 'custom')}`), with these "
                f"parameters:\n\n```json\n{own}\n```\n\n`qlatent record {chapter} --profile standard` makes the "
                "long run this page would then use.")
    return collapsed(made, "How this page was made")


def parameters_of(chapter: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The values in ``namespace`` (a notebook's ``globals()``) of every parameter ``chapter``'s
    parameters cell declares, in its order: the parameters as injected, written once in the cell.

    Raises
    ------
    KeyError
        If a declared parameter is missing from ``namespace``.
    """
    from qlatent.runner.execution import declared_parameters, resolve_notebook

    name, path = resolve_notebook(chapter)
    return {key: namespace[key] for key in declared_parameters(name, path)}


def config_from(cls: type, parameters: Mapping[str, Any]) -> Any:
    """An experiment's config dataclass ``cls`` from a chapter's parameters: every key naming a field
    (lists become tuples where the field's default is a tuple); other keys are ignored."""
    import dataclasses

    fields = {item.name: item for item in dataclasses.fields(cls)}
    values = {}
    for key, value in parameters.items():
        if key in fields:
            default = fields[key].default
            values[key] = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value
    return cls(**values)
