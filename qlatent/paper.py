"""Numbers and claims reported in the literature (``data/paper/reported.yml``), to set beside ours.

Every reported number lives in that file with its source and provenance; chapters read them here
and never type a number themselves. The paper's ranking is never asserted in code: the direction
of each comparison is computed from the reported numbers (:func:`reported_comparisons`), and an
ordering becomes a claim only where the paper's own standard errors support it
(:data:`SIGNIFICANT_SES`). Reported numbers keep the digits the paper printed (``value_text``,
``se_text``), so ``0.020`` is shown as ``0.020``, not ``0.02``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
import yaml

from qlatent.paths import project_root
from qlatent.readers import BadFileError, StrictLoader, load_yaml

_REQUIRED = ("latent", "metric", "value")

#: An ordering of two reported values is a claim of the paper only when their difference exceeds this
#: many combined standard errors, ``sqrt(se_a² + se_b²)`` (about a two-sided 5 % z-test).
SIGNIFICANT_SES = 2.0


#: What each provenance tag of ``data/paper/reported.yml`` stands for, as a reader reads it.
PROVENANCE_TAGS = {
    "[S]": "(as summarised in the papernotes digest of the paper)",
    "[Q]": "(as quoted from the paper in the independent MerLin reproduction)",
    "[R]": "(from the authors' released code)",
}
_TAG = re.compile(r"\s*(\[[A-Z]\])+")


def spell_out(text: str) -> str:
    """``text`` with its provenance tags (``[Q]``, ``[S]``, ``[R]``, also run together as ``[Q][S]``)
    spelled out in words (:data:`PROVENANCE_TAGS`), so no page shows an undefined tag.

    Raises
    ------
    ValueError
        On a tag :data:`PROVENANCE_TAGS` does not define.
    """
    def words(match: re.Match) -> str:
        tags = re.findall(r"\[[A-Z]\]", match.group(0))
        unknown = [tag for tag in tags if tag not in PROVENANCE_TAGS]
        if unknown:
            raise ValueError(f"undefined provenance tag(s) {', '.join(unknown)} in {text!r}")
        return " " + " and ".join(PROVENANCE_TAGS[tag].strip("()") for tag in tags).join("()")

    return _TAG.sub(words, text)


class _Printed:
    """Mixin: a number that remembers how the file printed it (``printed``, e.g. ``"0.020"``)."""

    printed: str


class _PrintedFloat(float, _Printed):
    pass


class _PrintedInt(int, _Printed):
    pass


class _Loader(StrictLoader):
    """The strict safe loader (YAML 1.2 floats, no repeated key), keeping the printed text of every
    number beside its value."""


def _printed_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    number = _PrintedFloat(yaml.SafeLoader.construct_yaml_float(loader, node))
    number.printed = node.value
    return number


def _printed_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    number = _PrintedInt(yaml.SafeLoader.construct_yaml_int(loader, node))
    number.printed = node.value
    return number


_Loader.add_constructor("tag:yaml.org,2002:float", _printed_float)
_Loader.add_constructor("tag:yaml.org,2002:int", _printed_int)


def printed(value: Any) -> str:
    """The text of a reported number as the file (and so the paper) printed it; ``""`` for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return getattr(value, "printed", None) or f"{value:g}"


def _plain(value: Any) -> Any:
    """``value`` with every remembered-text number turned back into a plain ``int`` or ``float``."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _PrintedFloat):
        return float(value)
    if isinstance(value, _PrintedInt):
        return int(value)
    return value


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    entries = load_yaml(path, "reported numbers file", _Loader)
    if not isinstance(entries, dict):
        raise BadFileError(f"reported numbers file {path} must map experiment names to entries")
    return entries


def _entries() -> dict[str, Any]:
    path = project_root() / "data" / "paper" / "reported.yml"
    try:
        stat = path.stat()
    except OSError:  # load_yaml names the file and the problem
        return _load(str(path), -1, -1)
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


def _experiment(experiment: str) -> dict[str, Any]:
    entries = _entries()
    if experiment not in entries:
        raise KeyError(f"no entry {experiment!r} in data/paper/reported.yml; known: {', '.join(entries)}")
    return entries[experiment]


def source(experiment: str) -> str:
    """Where the reported numbers of ``experiment`` come from, with their provenance, as one line."""
    entry = _experiment(experiment)
    return spell_out(f"{entry['source']}; provenance: {entry['provenance']}")


def n_runs(experiment: str) -> int | None:
    """Runs behind each reported row (``None`` where unknown)."""
    return _plain(_experiment(experiment).get("n_runs"))


def reported(experiment: str) -> pd.DataFrame:
    """The reported rows of ``experiment``: context columns (dataset, size, ...), ``latent``, ``metric``,
    ``value`` and ``se`` (NaN where no ± is reported), and ``value_text`` and ``se_text``: the same
    numbers as printed (``"0.020"``; ``""`` where no ± is reported). May be empty.

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
    texts = [{"value_text": printed(row["value"]), "se_text": printed(row.get("se"))} for row in rows]
    table = pd.DataFrame([{key: (float(value) if isinstance(value, _PrintedFloat) else
                                 int(value) if isinstance(value, _PrintedInt) else value)
                           for key, value in row.items()} for row in rows])
    if table.empty:
        return pd.DataFrame(columns=[*_REQUIRED, "se", "value_text", "se_text"])
    if "se" not in table:
        table["se"] = float("nan")
    table["se"] = table["se"].astype(float)
    return table.join(pd.DataFrame(texts, index=table.index))


#: Kinds of :class:`Claim`: the paper puts ``better`` ahead of ``worse``; its numbers show no
#: significant difference between them; or it reports no spread, so its numbers support no claim.
CLAIM_KINDS = ("ordering", "no difference", "no claim")


@dataclass(frozen=True)
class Claim:
    """One comparison the paper makes about ``better`` and ``worse`` on ``metric`` within ``context``.

    ``kind`` (one of :data:`CLAIM_KINDS`): ``"ordering"``, ``better`` beats ``worse``;
    ``"no difference"``, the paper's numbers show no significant difference between the two (the
    names then only say which side is the reference); ``"no claim"``, the paper's numbers cannot
    say (no standard error). ``paper_difference`` is the reported advantage of ``better`` (worse −
    better for a lower-is-better metric, better − worse otherwise; may be negative for a
    ``"no difference"`` claim), ``None`` for a claim stated without numbers; ``paper_reference``
    the reported value of ``better``; ``paper_margin`` the smallest difference the paper's numbers
    call significant (:data:`SIGNIFICANT_SES` combined standard errors).
    """

    context: dict[str, Any]
    metric: str
    better: Any
    worse: Any
    statement: str
    paper_difference: float | None = None
    paper_reference: float | None = None
    axis: str = "latent"
    kind: str = "ordering"
    paper_margin: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"kind must be one of {CLAIM_KINDS}, got {self.kind!r}")

    def label(self) -> str:
        where = ", ".join(f"{key} {value}" for key, value in self.context.items())
        return f"{self.better} vs {self.worse} on {self.metric}" + (f" ({where})" if where else "")


def reported_comparisons(experiment: str, reference: str, lower_is_better: dict[str, bool],
                         context: tuple[str, ...] = (), significant_ses: float = SIGNIFICANT_SES) -> list[Claim]:
    """The paper's comparisons of ``reference`` with every other latent, per context and metric.

    For each group of rows sharing the ``context`` columns and a metric in ``lower_is_better``,
    ``reference`` is set against each other latent, and the paper's own numbers decide what kind of
    claim that is: an ``"ordering"`` (the better of the two is ``better``) only when the
    difference exceeds ``significant_ses`` combined standard errors ``sqrt(se_a² + se_b²)``;
    ``"no difference"`` (``better`` is ``reference``) when it does not; ``"no claim"`` when a side
    has no standard error. Claims stated in words (``claims`` in the file, latent axis only) are
    added as orderings and replace the claim the numbers alone would give for the same comparison.

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment``.
    ValueError
        If ``significant_ses`` is not positive.
    """
    if not significant_ses > 0:
        raise ValueError(f"significant_ses must be positive, got {significant_ses}")
    table = reported(experiment)
    claims: list[Claim] = []
    if not table.empty:
        keys = [column for column in context if column in table] + ["metric"]
        for group, rows in table.groupby(keys, sort=False):
            values = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
            metric = values.pop("metric")
            if metric not in lower_is_better or reference not in set(rows["latent"]):
                continue
            ours = rows[rows["latent"] == reference].iloc[0]
            for _, row in rows[rows["latent"] != reference].iterrows():
                sign = 1.0 if lower_is_better[metric] else -1.0
                advantage = sign * (float(row["value"]) - float(ours["value"]))  # > 0: reference ahead
                margin = significant_ses * math.hypot(float(ours["se"]), float(row["se"]))
                numbers = (f"{ours['value_text']} ± {ours['se_text'] or '?'} vs "
                           f"{row['value_text']} ± {row['se_text'] or '?'}")
                if not math.isfinite(margin):
                    claims.append(Claim(values, metric, reference, row["latent"],
                                        f"the paper reports {reference} and {row['latent']} on {metric} "
                                        f"({numbers}) without a standard error for both, so its numbers "
                                        "support no claim", paper_difference=advantage,
                                        paper_reference=float(ours["value"]), kind="no claim"))
                elif abs(advantage) > margin:
                    ahead = advantage > 0
                    better, worse = (reference, row["latent"]) if ahead else (row["latent"], reference)
                    claims.append(Claim(values, metric, better, worse,
                                        f"the paper reports {better} ahead of {worse} on {metric} ({numbers}: "
                                        f"a difference of {abs(advantage):.3g}, more than {significant_ses:g} "
                                        f"combined standard errors, {margin:.2g})",
                                        paper_difference=abs(advantage),
                                        paper_reference=float((ours if ahead else row)["value"]),
                                        axis="latent", paper_margin=margin))
                else:
                    claims.append(Claim(values, metric, reference, row["latent"],
                                        f"the paper's numbers show no significant difference between {reference} "
                                        f"and {row['latent']} on {metric} ({numbers}: a difference of "
                                        f"{abs(advantage):.3g}, within {significant_ses:g} combined standard "
                                        f"errors, {margin:.2g})", paper_difference=advantage,
                                        paper_reference=float(ours["value"]), axis="latent",
                                        kind="no difference", paper_margin=margin))
    stated_ones = []
    for stated in _plain(_experiment(experiment).get("claims") or []):
        if stated.get("axis", "latent") != "latent" or stated["metric"] not in lower_is_better:
            continue
        where = {key: stated[key] for key in context if key in stated}
        stated_ones += [Claim(where, stated["metric"], stated["better"], worse, spell_out(stated["statement"]))
                        for worse in stated["worse"]]
    # What the paper says in words about a comparison supersedes what its numbers alone would say.
    said = {_comparison_key(claim) for claim in stated_ones}
    return [claim for claim in claims if _comparison_key(claim) not in said] + stated_ones


def _comparison_key(claim: Claim) -> tuple:
    return (tuple(sorted(claim.context.items())), claim.metric, frozenset((claim.better, claim.worse)))


def statements(experiment: str) -> dict[str, str]:
    """What the paper states without numbers for ``experiment`` (e.g. per model family), keyed by subject,
    provenance tags spelled out (:func:`spell_out`).

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment``.
    """
    return {key: spell_out(text) for key, text in (_experiment(experiment).get("statements") or {}).items()}


def budgets(experiment: str) -> dict[str, dict[str, Any]]:
    """Published training budgets to set ours against, keyed by subject (e.g. ``"training"``).

    Each is a dict with ``source`` (where it is published) and any of ``iterations``,
    ``batch_size`` and ``seeds`` (runs); ``{}`` where the paper gives none.

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment``.
    """
    return {key: {name: spell_out(item) if name == "source" else item for name, item in value.items()}
            for key, value in _plain(_experiment(experiment).get("budgets") or {}).items()}


def stated_claims(experiment: str, axis: str) -> list[dict[str, Any]]:
    """The claims of ``experiment`` stated without numbers along ``axis`` (e.g. ``"depth"``), provenance
    tags spelled out (:func:`spell_out`)."""
    return [{**claim, "statement": spell_out(claim["statement"])}
            for claim in _plain(_experiment(experiment).get("claims") or []) if claim.get("axis", "latent") == axis]


def beside_reported(ours: pd.DataFrame, experiment: str, label: str = "paper",
                    on: tuple[str, ...] = ("latent", "metric")) -> pd.DataFrame:
    """Our rows with the reported value (and its s.e.) beside them, matched on ``on`` (NaN where none)."""
    theirs = reported(experiment)
    keep = [column for column in on if column in theirs] + ["value", "se"]
    theirs = theirs[keep].rename(columns={"value": label, "se": f"{label}_se"})
    return ours.merge(theirs, on=[column for column in on if column in theirs], how="left")
