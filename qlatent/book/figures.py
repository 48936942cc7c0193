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


def curves_grid(curves: pd.DataFrame, columns: Sequence[str], order: Sequence[str], row: str, title: str = "") -> Any:
    """Training curves: one panel per ``columns`` entry (columns of the grid) and value of ``row``
    (rows), per latent (mean, band: standard error over seeds)."""
    import seaborn as sns

    from qlatent.plotting import latent_palette

    long = curves.melt(id_vars=["step", row, "latent", "seed"], value_vars=list(columns), var_name="metric",
                       value_name="value")
    shown = _present(order, long["latent"])
    grid = sns.relplot(data=long, x="step", y="value", hue="latent", hue_order=shown, palette=latent_palette(shown),
                       col="metric", row=row, kind="line", errorbar="se", height=2.8, aspect=1.3,
                       facet_kws={"sharey": False})
    grid.set_axis_labels("generator iteration", "")
    grid.set_titles("{col_name}, " + row + " {row_name}")
    if title:
        grid.figure.suptitle(title, y=1.03)
    return grid.figure


def by_size(summary: pd.DataFrame, paper: pd.DataFrame, lower_is_better: dict[str, bool], title: str = "") -> Any:
    """Each metric of ``lower_is_better`` against the latent size, per latent: ours (circles, mean ±
    standard error over seeds, from :func:`qlatent.stats.summarize_runs` with ``size`` and
    ``latent``) and the paper's rows (crosses, value ± its s.e.)."""
    import matplotlib.pyplot as plt

    from qlatent.plotting import latent_palette

    palette = latent_palette(list(dict.fromkeys([*summary["latent"], *paper["latent"]])))
    fig, axes = plt.subplots(1, len(lower_is_better), figsize=(4.4 * len(lower_is_better), 3.6), squeeze=False)
    for ax, (metric, lower) in zip(axes[0], lower_is_better.items()):
        for rows, column, style, source in ((summary, "mean", dict(marker="o"), "ours"),
                                            (paper, "value", dict(marker="x", linestyle="--", markersize=8), "paper")):
            part = rows[rows["metric"] == metric]
            for latent, group in part.groupby("latent", sort=False):
                group = group.sort_values("size")
                ax.errorbar(group["size"], group[column], yerr=group["se"], capsize=3, color=palette.get(latent),
                            label=f"{latent} ({source})", **style)
        ax.set(xlabel="latent size", title=f"{metric} ({'lower' if lower else 'higher'} is better)")
        ax.set_xticks(sorted(set(summary["size"]) | set(paper["size"])))
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, fontsize=8, bbox_to_anchor=(1.0, 0.5), loc="center left")
    if title:
        fig.suptitle(title, y=1.03)
    return fig


def molecule_grid(molecules: pd.DataFrame, order: Sequence[str], slots: int = 12, title: str = "") -> Any:
    """Up to ``slots`` distinct molecules per latent (column ``smiles``), most frequent first, each
    with its count; one row per latent.

    Raises
    ------
    ValueError
        If ``molecules`` is empty.
    """
    import matplotlib.pyplot as plt

    from qlatent.plotting import molecule_strip

    if molecules.empty:
        raise ValueError("no molecules to draw")
    present = _present(order, molecules["latent"])
    fig, axes = plt.subplots(len(present), 1, figsize=(12, 2.3 * len(present)), squeeze=False)
    for ax, latent in zip(axes[:, 0], present):
        smiles = molecules.loc[molecules["latent"] == latent, "smiles"]
        counts = smiles.value_counts().head(slots)
        ax.imshow(molecule_strip(list(counts.index), size=(160, 130), slots=slots))
        ax.set_yticks([])
        ax.set_xticks([(i + 0.5) * 160 for i in range(len(counts))], [f"x{n}" for n in counts.values])
        ax.set_title(f"{latent}: {smiles.nunique()} distinct among {len(smiles)} valid molecules", fontsize=10,
                     loc="left")
    if title:
        fig.suptitle(title, y=1.0)
    return fig


def property_histograms(reference: pd.DataFrame, generated: pd.DataFrame, order: Sequence[str],
                        columns: Sequence[str] = ("qed", "logp", "sa")) -> Any:
    """Densities of molecular properties (``columns``): the training set's (grey bars) and the
    generated molecules' per latent (step lines)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from qlatent.plotting import latent_palette

    present = _present(order, generated["latent"]) if len(generated) else []
    fig, axes = plt.subplots(1, len(columns), figsize=(4.4 * len(columns), 3.6), squeeze=False)
    for ax, column in zip(axes[0], columns):
        ax.hist(reference[column], bins=30, density=True, color="0.85", label="QM9 training set")
        if present:
            sns.histplot(data=generated, x=column, hue="latent", hue_order=present, palette=latent_palette(present),
                         stat="density", common_norm=False, element="step", fill=False, bins=30, ax=ax,
                         legend=column == columns[-1])
    axes[0, 0].legend(loc="upper left", fontsize=8)
    if axes[0, -1].get_legend() is not None:
        sns.move_legend(axes[0, -1], "upper left", bbox_to_anchor=(1.02, 1))
    return fig


def curves_by(curves: pd.DataFrame, column: str, order: Sequence[str], col: str, ylabel: str, title: str = "") -> Any:
    """``column`` along training per latent, one panel per value of ``col`` (e.g. dataset; mean, band:
    standard error over seeds)."""
    import seaborn as sns

    from qlatent.plotting import latent_palette

    shown = _present(order, curves["latent"])
    grid = sns.relplot(data=curves, x="step", y=column, hue="latent", hue_order=shown, col=col,
                       palette=latent_palette(shown), kind="line", errorbar="se", height=3.3, aspect=1.2,
                       facet_kws={"sharey": False})
    grid.set_axis_labels("generator iteration", ylabel)
    if title:
        grid.figure.suptitle(title, y=1.03)
    return grid.figure


def paired_gap(gaps: pd.DataFrame, hue: str, ylabel: str, title: str = "") -> Any:
    """A paired per-seed gap along training (tidy ``step``, ``seed``, ``value`` and ``hue``, as
    :func:`qlatent.stats.paired_gap_along_training` gives it): mean ± standard error, zero marked."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    sns.lineplot(data=gaps, x="step", y="value", hue=hue, errorbar="se", marker="o", ax=ax)
    ax.axhline(0, color="0.6", lw=1)
    ax.set(title=title, xlabel="generator iteration", ylabel=ylabel)
    return fig


def points_by(points: pd.DataFrame, column: str, values: Sequence[Any], reference: Any, colour: Any,
              title: str = "") -> Any:
    """Generated 2-D points (``x``, ``y``; the smallest seed of each) over ``reference`` points (grey,
    an ``(n, 2)`` array), one panel per value of ``column`` in ``values`` that ``points`` holds;
    ``colour(value)`` gives each panel's colour."""
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [value for value in values if value in set(points[column])]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.1 * len(shown), 3.1), sharex=True, sharey=True, squeeze=False)
    for ax, value in zip(axes[0], shown):
        subset = points[points[column] == value]
        subset = subset[subset["seed"] == subset["seed"].min()]
        ax.scatter(np.asarray(reference)[:, 0], np.asarray(reference)[:, 1], s=3, color="0.8")
        ax.scatter(subset["x"], subset["y"], s=3, color=colour(value))
        ax.set(title=str(value), xticks=[], yticks=[])
    if title:
        fig.suptitle(title, y=1.02)
    return fig


def image_rows(images: pd.DataFrame, order: Sequence[str], rows: int = 2, title: str = "") -> Any:
    """Generated images per latent (the smallest seed), tiled in ``rows`` rows: ``images`` has
    ``latent``, ``seed``, ``index``, ``channels``, ``height``, ``width`` and pixel columns
    ``p0``, ``p1``, ... in [−1, 1]."""
    import matplotlib.pyplot as plt
    import numpy as np

    pixels = [name for name in images.columns if name.startswith("p") and name[1:].isdigit()]
    shown = _present(order, images["latent"])
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 1.9), squeeze=False)
    for ax, latent in zip(axes[0], shown):
        subset = images[images["latent"] == latent]
        subset = subset[subset["seed"] == subset["seed"].min()].sort_values("index")
        channels, height, width = (int(subset[axis].iloc[0]) for axis in ("channels", "height", "width"))
        grid = np.clip((subset[pixels].to_numpy().reshape(-1, channels, height, width).transpose(0, 2, 3, 1) + 1) / 2,
                       0, 1)
        per_row = int(np.ceil(len(grid) / rows))
        canvas = np.ones((rows * (height + 1), per_row * (width + 1), channels))
        for i, image in enumerate(grid):
            r, c = divmod(i, per_row)
            canvas[r * (height + 1):r * (height + 1) + height, c * (width + 1):c * (width + 1) + width] = image
        ax.imshow(canvas.squeeze(), cmap="gray_r" if channels == 1 else None, vmin=0, vmax=1)
        ax.set(title=latent, xticks=[], yticks=[])
    if title:
        fig.suptitle(title, y=1.04)
    return fig


def class_shares(runs: pd.DataFrame, order: Sequence[str], prefix: str = "share_") -> Any:
    """Heat map of the share of generated images per predicted class (metrics ``share_<class>``), mean
    over seeds, one row per latent."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    shares = runs[runs["metric"].str.startswith(prefix)].assign(
        **{"class": lambda table: table["metric"].str.removeprefix(prefix)})
    heat = shares.pivot_table(index="latent", columns="class", values="value")
    heat = heat.reindex(_present(order, pd.Series(heat.index)))
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    sns.heatmap(heat, annot=True, fmt=".2f", cmap="viridis", vmin=0, ax=ax, cbar_kws={"label": "share"})
    ax.set(xlabel="class predicted by the feature classifier", ylabel="")
    return fig
