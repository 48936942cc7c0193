"""The synthetic quantum dataset: deterministic, cached with its recipe, conflicts refused."""

import numpy as np
import pytest

from qlatent.data.synthetic import (
    SyntheticRecipe,
    SyntheticRecipeConflict,
    load_synthetic,
    network_weights,
    push_forward,
)

SMALL = dict(n_photons=2, n_modes=4, n_samples=500, data_dim=3, hidden=(8,))


@pytest.fixture
def roots(tmp_path):
    return {"cache_root": tmp_path / "synthetic", "store": tmp_path / "samples"}


def test_deterministic_from_seed_and_cached(roots, tmp_path):
    recipe = SyntheticRecipe(**SMALL, seed=3)
    first = load_synthetic(recipe, **roots)
    assert first.data.shape == (500, 3) and first.data.dtype == np.float32
    assert first.counts.shape == (500, 4) and (first.counts.sum(axis=1) == 2).all()
    again = load_synthetic(recipe, **roots)  # from the cache
    np.testing.assert_array_equal(first.data, again.data)
    fresh = load_synthetic(recipe, cache_root=tmp_path / "other", store=tmp_path / "other-samples")
    np.testing.assert_array_equal(first.data, fresh.data)  # rebuilt from nothing: identical
    assert first.metadata["recipe"] == recipe.to_dict()
    assert first.metadata["network"] == "MLP 4 -> 8 -> 3"


def test_other_seed_other_dataset(roots):
    a = load_synthetic(SyntheticRecipe(**SMALL, seed=1), **roots)
    b = load_synthetic(SyntheticRecipe(**SMALL, seed=2), **roots)
    assert not np.array_equal(a.data, b.data)


def test_push_forward_is_the_fixed_network():
    recipe = SyntheticRecipe(**SMALL, seed=5, activation="leaky_relu")
    counts = np.array([[1, 1, 0, 0], [2, 0, 0, 0], [0, 0, 1, 1]])
    (w1, b1), (w2, b2) = network_weights(recipe)
    x = (counts - counts.mean(0)) / np.where(counts.std(0) > 0, counts.std(0), 1)
    hidden = x @ w1 + b1
    expected = np.where(hidden > 0, hidden, 0.2 * hidden) @ w2 + b2
    np.testing.assert_allclose(push_forward(counts, recipe), expected, rtol=1e-6)


def test_seed_collision_with_other_recipe_is_refused(roots):
    load_synthetic(SyntheticRecipe(**SMALL, seed=7), **roots)
    other = SyntheticRecipe(**{**SMALL, "data_dim": 2}, seed=7)
    with pytest.raises(SyntheticRecipeConflict, match=r"seed 7\) was built from recipe .*\"data_dim\": 3.*not .*\"data_dim\": 2"):
        load_synthetic(other, **roots)


def test_corrupt_cache_is_rebuilt_with_a_warning(roots):
    recipe = SyntheticRecipe(**SMALL, seed=9)
    good = load_synthetic(recipe, **roots)
    path = roots["cache_root"] / "synthetic-seed9.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = load_synthetic(recipe, **roots)
    np.testing.assert_array_equal(good.data, rebuilt.data)


def test_split_is_seeded_and_disjoint(roots):
    dataset = load_synthetic(SyntheticRecipe(**SMALL, seed=4), **roots)
    train, test = dataset.split(0.2, seed=0)
    assert len(train) == 400 and len(test) == 100
    np.testing.assert_array_equal(dataset.split(0.2, seed=0)[1], test)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        dataset.split(1.0, seed=0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_photons": 5, "n_modes": 4}, "n_photons=5 exceeds n_modes=4"),
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"photon_model": "bosonic"}, "unknown photon_model 'bosonic'"),
        ({"activation": "relu6"}, "unknown activation 'relu6'"),
        ({"hidden": (8, 0)}, "hidden widths must be positive"),
        ({"gain": float("nan")}, "gain must be positive and finite"),
    ],
)
def test_bad_recipes(changes, message):
    with pytest.raises(ValueError, match=message):
        SyntheticRecipe(**{**SMALL, **changes})


def test_bad_dataset_name(roots):
    with pytest.raises(ValueError, match="must be a plain file name"):
        load_synthetic(SyntheticRecipe(**SMALL), name="../x", **roots)
