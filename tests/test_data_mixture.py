"""The blobs-on-a-circle mixture: its moments and the between-modes scores on hand-made points."""

import numpy as np
import pytest

from qlatent.data.mixture import MixtureRecipe, sample_mixture
from qlatent.metrics.mixture import assign_modes, between_modes, mixture_scores, modes_covered

RECIPE = MixtureRecipe()


def test_mixture_moments_match_the_polar_recipe():
    n = 70_000
    points, labels = sample_mixture(n, RECIPE, seed=0)
    assert points.shape == (n, 2) and points.dtype == np.float32
    radius = np.hypot(points[:, 0], points[:, 1])
    # r ~ N(5, 0.2²): sample mean and standard deviation within five standard errors.
    assert abs(radius.mean() - 5.0) < 5 * 0.2 / np.sqrt(n)
    assert abs(radius.std() - 0.2) < 5 * 0.2 / np.sqrt(2 * n)
    # θ − θ_k ~ N(0, 0.05²) per component.
    offset = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - RECIPE.angles()[labels])))
    assert abs(offset.mean()) < 5 * 0.05 / np.sqrt(n) and abs(offset.std() - 0.05) < 5 * 0.05 / np.sqrt(2 * n)
    # Components equally likely: each count within five binomial standard deviations of n/7.
    counts = np.bincount(labels, minlength=7)
    assert np.all(np.abs(counts - n / 7) < 5 * np.sqrt(n * (1 / 7) * (6 / 7)))
    # The mean of the mixture is the origin (seven blobs evenly spaced), up to sampling error.
    assert np.all(np.abs(points.mean(axis=0)) < 5 * 5.0 / np.sqrt(n))


def test_true_points_fall_between_modes_at_the_chi_square_rate():
    # The squared polar distance of a true point is chi-square with 2 degrees of freedom: P(> 9) = e^-4.5.
    n = 100_000
    points, labels = sample_mixture(n, RECIPE, seed=1)
    expected = np.exp(-4.5)
    assert abs(between_modes(points, RECIPE) - expected) < 5 * np.sqrt(expected * (1 - expected) / n)
    modes = assign_modes(points, RECIPE)
    assert np.mean(modes[modes >= 0] == labels[modes >= 0]) == 1.0
    assert modes_covered(points, RECIPE) == 7


def test_hand_made_points():
    centres = RECIPE.centres()
    inside = centres[:3]
    midway = 5.0 * np.array([[np.cos(np.pi / 7), np.sin(np.pi / 7)]])  # halfway between blobs 0 and 1
    origin = np.zeros((1, 2))
    points = np.concatenate([inside, midway, origin])
    assert list(assign_modes(points, RECIPE)) == [0, 1, 2, -1, -1]
    assert between_modes(points, RECIPE) == pytest.approx(2 / 5)
    # Radially 3.5σ out of blob 0 is outside; 2.5σ is inside.
    assert assign_modes([[5.0 + 3.5 * 0.2, 0.0], [5.0 + 2.5 * 0.2, 0.0]], RECIPE).tolist() == [-1, 0]
    # All points on one blob: one mode covered.
    assert modes_covered(np.repeat(inside[:1], 70, axis=0), RECIPE) == 1


def test_scores_bundle_and_mmd_is_small_for_the_same_distribution():
    a, _ = sample_mixture(3000, RECIPE, seed=2)
    b, _ = sample_mixture(3000, RECIPE, seed=3)
    scores = mixture_scores(a, b, RECIPE)
    assert set(scores) == {"between_modes", "modes_covered", "mmd"}
    far = mixture_scores(np.zeros((3000, 2)) + 0.1 * b, b, RECIPE)
    assert far["mmd"] > 100 * abs(scores["mmd"]) and far["between_modes"] == 1.0


@pytest.mark.parametrize(("arguments", "message"), [
    (dict(n_components=0), "n_components must be a positive integer"),
    (dict(radius=-1.0), "radius must be a positive finite number"),
    (dict(angular_std=float("nan")), "angular_std must be a positive finite number"),
])
def test_bad_recipes(arguments, message):
    with pytest.raises(ValueError, match=message):
        MixtureRecipe(**arguments)


def test_bad_points():
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\)"):
        between_modes(np.zeros((3, 3)), RECIPE)
    with pytest.raises(ValueError, match="min_share must be in"):
        modes_covered(np.zeros((3, 2)), RECIPE, min_share=0.0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        sample_mixture(0, RECIPE, seed=0)
