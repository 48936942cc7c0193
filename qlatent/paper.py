"""Numbers and claims reported in the literature (``data/paper/reported.yml``), to set beside ours.

Every reported number lives in that file with its source and provenance; chapters read them here
and never type a number themselves. The paper's ranking is never asserted in code: the direction
of each comparison is computed from the reported numbers (:func:`reported_comparisons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from qlatent.paths import project_root

_REQUIRED = ("latent", "metric", "value")


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _entries() -> dict[str, Any]:
    path = project_root() / "data" / "paper" / "reported.yml"
    return _load(str(path), path.stat().st_mtime)


def _experiment(experiment: str) -> dict[str, Any]:
    entries = _entries()
    if experiment not in entries:
        raise KeyError(f"no entry {experiment!r} in data/paper/reported.yml; known: {', '.join(entries)}")
    return entries[experiment]


def source(experiment: str) -> str:
    """Where the reported numbers of ``experiment`` come from, with their provenance, as one line."""
    entry = _experiment(experiment)
    return f"{entry['source']}; provenance: {entry['provenance']}"


def n_runs(experiment: str) -> int | None:
    """Runs behind each reported row (``None`` where unknown)."""
    return _experiment(experiment).get("n_runs")


def reported(experiment: str) -> pd.DataFrame:
    """The reported rows of ``experiment``: context columns (dataset, size, ...), ``latent``, ``metric``,
    ``value`` and ``se`` (NaN where no ± is reported). May be empty.

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment``.
    ValueError
        If a row lacks ``latent``, ``metric`` or ``value``.
    """
    rows = _experiment(experiment).get("rows") or []
    for row in rows:
        missing = [column for column in _REQUIRED if row.get(column) is None]
        if missing:
            raise ValueError(f"a row of {experiment!r} in data/paper/reported.yml lacks {', '.join(missing)}: {row}")
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=[*_REQUIRED, "se"])
    if "se" not in table:
        table["se"] = float("nan")
    return table


@dataclass(frozen=True)
class Claim:
    """One comparison the paper makes: ``better`` beats ``worse`` on ``metric`` within ``context``.

    ``paper_difference`` is the reported advantage (worse − better for a lower-is-better metric,
    better − worse otherwise), ``None`` for a claim stated without numbers.
    """

    context: dict[str, Any]
    metric: str
    better: Any
    worse: Any
    statement: str
    paper_difference: float | None = None
    paper_reference: float | None = None
    axis: str = "latent"

    def label(self) -> str:
        where = ", ".join(f"{key} {value}" for key, value in self.context.items())
        return f"{self.better} vs {self.worse} on {self.metric}" + (f" ({where})" if where else "")


def reported_comparisons(experiment: str, reference: str, lower_is_better: dict[str, bool],
                         context: tuple[str, ...] = ()) -> list[Claim]:
    """The paper's comparisons of ``reference`` with every other latent, per context and metric.

    For each group of rows sharing the ``context`` columns and a metric in ``lower_is_better``, the
    paper's ranking of ``reference`` against each other latent is read from the reported values:
    the better of the two becomes ``better``. Stated claims without numbers (``claims`` in the
    file, latent axis only) are added as they are.
    """
    table = reported(experiment)
    claims: list[Claim] = []
    if not table.empty:
        keys = [column for column in context if column in table] + ["metric"]
        for group, rows in table.groupby(keys, sort=False):
            values = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
            metric = values.pop("metric")
            if metric not in lower_is_better or reference not in set(rows["latent"]):
                continue
            ours = float(rows.loc[rows["latent"] == reference, "value"].iloc[0])
            for _, row in rows[rows["latent"] != reference].iterrows():
                other = float(row["value"])
                sign = 1.0 if lower_is_better[metric] else -1.0
                reference_ahead = sign * (other - ours) > 0
                better, worse = (reference, row["latent"]) if reference_ahead else (row["latent"], reference)
                claims.append(Claim(values, metric, better, worse,
                                    f"the paper reports {better} ahead of {worse} on {metric}",
                                    paper_difference=abs(other - ours),
                                    paper_reference=ours, axis="latent"))
    for stated in _experiment(experiment).get("claims") or []:
        if stated.get("axis", "latent") != "latent" or stated["metric"] not in lower_is_better:
            continue
        where = {key: stated[key] for key in context if key in stated}
        for worse in stated["worse"]:
            claims.append(Claim(where, stated["metric"], stated["better"], worse, stated["statement"]))
    return claims


def statements(experiment: str) -> dict[str, str]:
    """What the paper states without numbers for ``experiment`` (e.g. per model family), keyed by subject.

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment``.
    """
    return dict(_experiment(experiment).get("statements") or {})


def budgets(experiment: str) -> dict[str, dict[str, Any]]:
    """Published training budgets to set ours against (``iterations``, ``batch_size``, ``source``), keyed by subject."""
    return {key: dict(value) for key, value in (_experiment(experiment).get("budgets") or {}).items()}


def stated_claims(experiment: str, axis: str) -> list[dict[str, Any]]:
    """The claims of ``experiment`` stated without numbers along ``axis`` (e.g. ``"depth"``)."""
    return [claim for claim in _experiment(experiment).get("claims") or [] if claim.get("axis", "latent") == axis]


def beside_reported(ours: pd.DataFrame, experiment: str, label: str = "paper",
                    on: tuple[str, ...] = ("latent", "metric")) -> pd.DataFrame:
    """Our rows with the reported value (and its s.e.) beside them, matched on ``on`` (NaN where none)."""
    theirs = reported(experiment)
    keep = [column for column in on if column in theirs] + ["value", "se"]
    theirs = theirs[keep].rename(columns={"value": label, "se": f"{label}_se"})
    return ours.merge(theirs, on=[column for column in on if column in theirs], how="left")
