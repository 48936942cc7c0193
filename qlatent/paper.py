"""Numbers reported in the literature (``data/paper/reported.yml``), to set beside ours."""

from __future__ import annotations

import pandas as pd
import yaml

from qlatent.paths import project_root

_COLUMNS = ["latent", "metric", "value", "source"]


def reported(experiment: str) -> pd.DataFrame:
    """The reported numbers of ``experiment`` (columns latent, metric, value, source; may be empty).

    Raises
    ------
    KeyError
        If the file has no entry for ``experiment`` (an empty list means "none known").
    ValueError
        If an entry lacks one of the columns.
    """
    entries = yaml.safe_load((project_root() / "data" / "paper" / "reported.yml").read_text())
    if experiment not in entries:
        raise KeyError(f"no entry {experiment!r} in data/paper/reported.yml; known: {', '.join(entries)}")
    table = pd.DataFrame(entries[experiment] or [], columns=_COLUMNS)
    if table[_COLUMNS].isna().any().any():
        raise ValueError(f"an entry of {experiment!r} in data/paper/reported.yml lacks one of {_COLUMNS}")
    return table


def beside_reported(ours: pd.DataFrame, experiment: str, label: str = "paper") -> pd.DataFrame:
    """Our per-(latent, metric) means with the reported value beside them (NaN where none is known)."""
    theirs = reported(experiment).rename(columns={"value": label, "source": f"{label}_source"})
    return ours.merge(theirs, on=["latent", "metric"], how="left")
