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
