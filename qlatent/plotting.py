"""One look for every figure in the book."""

from __future__ import annotations


def use_book_style() -> None:
    """Seaborn's ``ticks`` theme with a colour-blind-safe palette, sized for a book page."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="ticks", palette="colorblind",
                  rc={"figure.figsize": (6.4, 4.0), "figure.dpi": 110, "axes.spines.right": False,
                      "axes.spines.top": False})
