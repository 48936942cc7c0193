"""One look for every figure in the book."""

from __future__ import annotations


def use_book_style() -> None:
    """Seaborn's ``ticks`` theme with a colour-blind-safe palette, sized for a book page."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="ticks", palette="colorblind",
                  rc={"figure.figsize": (6.4, 4.0), "figure.dpi": 110, "axes.spines.right": False,
                      "axes.spines.top": False})


#: Every chapter draws each latent in the same colour (indices into seaborn's ``colorblind`` palette),
#: chosen so no two latents share a hue family.
LATENT_COLOUR_INDEX = {"gaussian": 0, "bernoulli": 2, "distinguishable": 4, "boson": 3, "pt2": 5}
_SPARE = (9, 6, 8, 1, 7)


def latent_colour(name: str):
    """The RGB colour of latent ``name`` in every figure; a label that starts with a latent's name
    (``"pt2 (simulated PT-2)"``, ``"boson (paper)"``) takes that latent's colour.

    Raises
    ------
    KeyError
        If ``name`` is no known latent nor starts with one (use :func:`latent_palette` for others).
    """
    import seaborn as sns

    colours = sns.color_palette("colorblind", 10)
    key = name if name in LATENT_COLOUR_INDEX else next(
        (latent for latent in LATENT_COLOUR_INDEX if str(name).startswith(latent + " ")), None)
    if key is None:
        raise KeyError(f"no colour for latent {name!r}; known: {', '.join(LATENT_COLOUR_INDEX)}")
    return colours[LATENT_COLOUR_INDEX[key]]


def latent_palette(names) -> dict:
    """``{name: colour}`` for ``names`` (e.g. a ``hue_order``): known latents by :func:`latent_colour`,
    any other name a spare colour of the same palette, in order."""
    import seaborn as sns

    colours = sns.color_palette("colorblind", 10)
    palette, spare = {}, iter(_SPARE)
    for name in dict.fromkeys(names):
        try:
            palette[name] = latent_colour(name)
        except KeyError:
            palette[name] = colours[next(spare)]
    return palette


def molecule_strip(smiles: list[str], size: tuple[int, int] = (160, 130), slots: int | None = None):
    """RDKit drawings of ``smiles`` side by side, as one RGB array for ``imshow``.

    Drawn one molecule at a time with :func:`rdkit.Chem.Draw.MolToImage`, which always returns a
    PIL image (grid helpers return IPython objects inside notebooks). With ``slots`` the strip is
    padded with blank cells to that many, so strips of different lengths share one scale.
    """
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import Draw

    blank = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    images = [np.asarray(Draw.MolToImage(Chem.MolFromSmiles(s), size=size).convert("RGB")) for s in smiles]
    images += [blank] * max((slots or 0) - len(images), 0)
    return np.hstack(images) if images else blank


def points_over_density(ax, points, reference, title: str = "", limit: float = 6.5) -> None:
    """Generated ``points`` (n, 2) as dots over a grey 2-D histogram of ``reference`` points (the data)."""
    import numpy as np

    bins = np.linspace(-limit, limit, 121)
    ax.hist2d(reference[:, 0], reference[:, 1], bins=[bins, bins], cmap="Greys", density=True, vmax=None)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color="C3", linewidths=0)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xticks=[], yticks=[], aspect="equal")
    if title:
        ax.set_title(title, fontsize=9)
