"""Which run a chapter's verdicts and the figures behind them come from, and what it cost.

A chapter's verdicts use its largest recording (``data/recorded/<chapter>/<profile>/``) when there
is one, and this execution's saved tables otherwise (:func:`evidence`); every figure supporting a
verdict is drawn from the same source. Recordings made before a chapter kept sample tables lack
them: :func:`sample_table` then returns ``None`` with a one-line note instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Per section of the paper: the entry of ``data/paper/reported.yml`` and the budget there to compare
#: with, and the parameters that give our iterations and seeds (a seeds mapping counts its smallest
#: list). A section without an entry has no published budget.
BUDGETS: dict[str, tuple[str, str, dict[str, str]]] = {
    "Fig. 1": ("mixture", "fig2", {"iterations": "depth_steps", "seeds": "seeds"}),
    "Fig. 2": ("mixture", "fig2", {"iterations": "compare_step", "seeds": "seeds"}),
    "App. C": ("mixture", "longer", {"iterations": "latent_steps"}),
    "Table I": ("table1", "training", {"iterations": "n_steps", "seeds": "seeds"}),
    "Table II": ("table2", "training", {"iterations": "n_steps", "seeds": "seeds"}),
    "size trend": ("table2", "training", {"iterations": "n_steps", "seeds": "seeds"}),
    "loop circuits": ("table2", "training", {"iterations": "n_steps", "seeds": "loop_seeds"}),
    "App. F": ("flows_diffusion", "ddgan", {"iterations": "ddgan_steps", "seeds": "seeds"}),
}


#: Recorded profiles, largest first (:func:`qlatent.recording.largest_recording`'s order).
RECORDED_PROFILES = ("paper", "standard")


@dataclass(frozen=True)
class Evidence:
    """The run a chapter's verdicts come from.

    ``label`` is how the book names it (``"recorded standard"``, ``"this run (quick)"``),
    ``recorded`` whether it is a committed recording, ``parameters`` the notebook parameters it ran
    with, ``tables`` its saved tables by name, ``note`` the recording's one-paragraph description
    (empty for this run).
    """

    chapter: str
    label: str
    profile: str
    recorded: bool
    parameters: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]
    note: str = ""


def evidence(chapter: str, parameters: Mapping[str, Any], store: Any = None,
             tables: Sequence[str] = ()) -> Evidence:
    """The largest recording of ``chapter``, or else this execution: ``parameters`` and the
    ``tables`` read from ``store`` (a :class:`qlatent.results.ResultStore`; with ``store`` None and
    no recording, an empty source named after the profile). An execution under a recorded profile
    (:data:`RECORDED_PROFILES`) at least as large as the recording's is the evidence itself: that is
    how ``qlatent record`` makes the recording's own verdict table.

    Raises
    ------
    qlatent.recording.RecordingError
        If a recording exists but fails its checksums.
    """
    from qlatent.recording import largest_recording
    from qlatent.report import source_label

    recording = largest_recording(chapter, RECORDED_PROFILES)
    profile = str(parameters.get("profile", "custom"))
    # An execution of a recorded profile at least as large as the recording's is itself the evidence
    # (it is the run being recorded): never the older recording.
    ranked = RECORDED_PROFILES
    at_least = recording is not None and profile in ranked and ranked.index(profile) <= ranked.index(recording.profile)
    if recording is not None and not at_least:
        return Evidence(chapter, source_label(recording.profile, recorded=True), recording.profile, True,
                        recording.manifest["parameters"], recording.tables, recording.describe())
    saved = {name: store.load_table(name) for name in tables} if store is not None else {}
    return Evidence(chapter, source_label(profile), profile, False, dict(parameters), saved)


def sample_table(source: Evidence, name: str, what: str) -> tuple[pd.DataFrame | None, str]:
    """Table ``name`` of ``source`` (generated points, SMILES, images: ``what`` names them), or
    ``None`` and one line saying the source does not keep it (a recording made before sample tables
    were recorded); the line is empty when the table is there."""
    table = source.tables.get(name)
    if table is not None and len(table):
        return table, ""
    return None, (f"The {source.label} run keeps no {what} (its recording predates sample tables); "
                  "re-recording the chapter adds them.")


def _count(value: Any) -> int:
    if isinstance(value, Mapping):
        return min(len(seeds) for seeds in value.values()) if value else 0
    return len(value) if isinstance(value, (list, tuple)) else int(value)


def budget(section: str, parameters: Mapping[str, Any], compact: bool = False) -> str:
    """Our budget for ``section`` (a key of :data:`BUDGETS`) as a share of the paper's, e.g.
    ``"1,000 of 20,000 iterations (5 %), 5 of 20 seeds (25 %)"`` (``compact``: ``"5 % of the
    iterations, 25 % of the seeds"``); ``""`` where the paper publishes none."""
    from qlatent.paper import budgets
    from qlatent.report import budget_share

    if section not in BUDGETS:
        return ""
    experiment, key, names = BUDGETS[section]
    paper = {name: value for name, value in budgets(experiment).get(key, {}).items() if name != "source"}
    ours = {name: _count(parameters[parameter]) if name == "seeds" else parameters[parameter]
            for name, parameter in names.items() if parameter in parameters and name in paper}
    if compact:
        return ", ".join(f"{100 * ours[name] / paper[name]:.2g} % of the {name}" for name in paper
                         if name in ours and paper[name])
    return budget_share(ours, paper)


def sample_rows(table: pd.DataFrame, keys: Sequence[str], n: int) -> pd.DataFrame:
    """The first ``n`` rows of each ``keys`` group of ``table``, in order: a small sample table a
    recording can keep (generated molecules, points) within its size budget.

    Raises
    ------
    ValueError
        If ``n`` is not positive.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if table.empty:
        return table
    return table.groupby(list(keys), sort=False, dropna=False).head(n).reset_index(drop=True)
