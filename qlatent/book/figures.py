"""Figures drawn from saved tables (a recording's or this run's), so a plot never re-trains a model.

Each function takes tidy tables as the chapters save them and returns a Matplotlib figure; the
chapter saves and shows it. Latents are ordered as ``order`` gives them, then as they appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


def _present(order: Sequence[str], values: pd.Series) -> list[str]:
    seen = set(values)
    return [name for name in dict.fromkeys([*order, *values]) if name in seen]


def points_panel(panel: pd.DataFrame, density: pd.DataFrame, column: str, seeds: Sequence[int],
                 order: Sequence[Any] = (), title: str = "", label: str = "{value}, seed {seed}") -> Any:
    """Generated points (``x``, ``y``) over the data's density (grey): one row per seed in ``seeds``
    that ``panel`` holds, one column per value of ``column`` (e.g. latent, depth), ordered by
    ``order``; ``label`` formats each panel's title from ``value`` and ``seed``. Seeds the panel
    lacks are skipped; when none is left, the panel's smallest seed is shown.

    Raises
    ------
    ValueError
        If ``panel`` is empty.
    """
    import matplotlib.pyplot as plt

    from qlatent.plotting import points_over_density

    if panel.empty:
        raise ValueError("the panel holds no generated points")
    shown = [seed for seed in seeds if seed in set(panel["seed"])] or [int(panel["seed"].min())]
    values = _present(list(order), panel[column])
    fig, axes = plt.subplots(len(shown), len(values), figsize=(2.4 * len(values), 2.4 * len(shown)), squeeze=False)
    reference = density[["x", "y"]].to_numpy()
    for row, seed in enumerate(shown):
        for index, value in enumerate(values):
            points = panel[(panel["seed"] == seed) & (panel[column] == value)][["x", "y"]].to_numpy()
            points_over_density(axes[row, index], points, reference, title=label.format(value=value, seed=seed))
    if title:
        fig.suptitle(title, y=1.0)
    return fig


def metric_by(scores: pd.DataFrame, x: str, metrics: Sequence[str], xlabel: str, title: str = "") -> Any:
    """One panel per metric: its mean ± standard error over seeds against ``x`` (tidy ``scores``:
    ``x``, ``seed``, ``metric``, ``value``)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, len(metrics), figsize=(3.7 * len(metrics), 3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        sns.lineplot(data=scores[scores["metric"] == metric], x=x, y="value", errorbar="se", marker="o", ax=ax)
        ax.set(title=metric, xlabel=xlabel, ylabel="")
    if title:
        fig.suptitle(title, y=1.04)
    return fig


def training_curves(curves: pd.DataFrame, column: str, order: Sequence[str], ylabel: str, title: str = "") -> Any:
    """``column`` along training per latent (mean, band: standard error over seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from qlatent.plotting import latent_palette

    shown = _present(order, curves["latent"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    sns.lineplot(data=curves, x="step", y=column, hue="latent", hue_order=shown, palette=latent_palette(shown),
                 errorbar="se", ax=ax)
    ax.set(title=title, xlabel="generator step", ylabel=ylabel)
    return fig
