import numpy as np

from qlatent.plotting import molecule_strip, use_book_style


def test_molecule_strip_is_one_rgb_image():
    strip = molecule_strip(["CCO", "c1ccccc1", "C#N"], size=(100, 80))
    assert strip.shape == (80, 300, 3) and strip.dtype == np.uint8
    assert strip.min() < 255  # something was drawn
    assert molecule_strip([], size=(100, 80)).shape == (80, 100, 3)
    padded = molecule_strip(["CCO"], size=(100, 80), slots=4)
    assert padded.shape == (80, 400, 3) and (padded[:, 100:] == 255).all()


def test_book_style_applies():
    import matplotlib as mpl

    use_book_style()
    assert mpl.rcParams["axes.spines.top"] is False


def test_each_latent_has_one_distinct_colour_everywhere():
    import pytest

    from qlatent.plotting import LATENT_COLOUR_INDEX, latent_colour, latent_palette

    colours = {name: latent_colour(name) for name in LATENT_COLOUR_INDEX}
    assert len(set(colours.values())) == len(colours)
    # Bernoulli and boson were near-identical oranges once: keep every pair well apart.
    for a, first in colours.items():
        for b, second in colours.items():
            if a < b:
                assert np.abs(np.subtract(first, second)).sum() > 0.3, (a, b)
    assert latent_colour("pt2 (simulated PT-2)") == colours["pt2"]
    # The colour does not depend on which other latents a figure shows, nor on their order.
    assert latent_palette(["boson"])["boson"] == latent_palette(["gaussian", "bernoulli", "boson"])["boson"]
    palette = latent_palette(["boson", "something else", "other"])
    assert len(set(palette.values())) == 3
    with pytest.raises(KeyError, match="no colour for latent 'nope'"):
        latent_colour("nope")
