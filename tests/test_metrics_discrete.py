"""The paper's Table I metric and our distances for discrete data, on hand-made cases."""

import numpy as np
import pytest

from qlatent.metrics.discrete import covariance_error, discrete_scores, integer_l1, marginal_tvd, total_tvd


def test_integer_l1_on_hand_made_rows():
    assert integer_l1([[0.0, 1.0, 2.0]]) == 0.0
    # |0.1| + |0.4| + |0.5| + |0.25| over four coordinates.
    assert integer_l1([[0.1, 1.6], [2.5, -0.25]]) == pytest.approx((0.1 + 0.4 + 0.5 + 0.25) / 4)
    assert integer_l1(np.full((3, 2), 0.5)) == 0.5


def test_integer_l1_rewards_the_wrong_integers_which_the_distances_catch():
    reference = np.array([[1, 0], [0, 1]] * 50, dtype=float)
    wrong = np.array([[3, 3]] * 100, dtype=float)
    assert integer_l1(wrong) == 0.0
    assert marginal_tvd(wrong, reference) == 1.0
    assert total_tvd(wrong, reference) == 1.0


def test_marginal_and_total_tvd_by_hand():
    reference = np.array([[0, 1], [1, 0], [0, 1], [1, 0]], dtype=float)
    generated = np.array([[0.2, 0.9], [0.1, 1.2], [1.0, 0.0], [0.9, -0.1]])  # rounds to 01, 01, 10, 10
    assert marginal_tvd(generated, reference) == 0.0
    assert total_tvd(generated, reference) == 0.0
    skewed = np.array([[0, 1], [0, 1], [0, 1], [1, 0]], dtype=float)
    # Column 0: P(1) 1/4 vs 1/2 → TVD 1/4; column 1 the same. Row sums are all 1 in both.
    assert marginal_tvd(skewed, reference) == pytest.approx(0.25)
    assert total_tvd(skewed, reference) == 0.0
    assert total_tvd([[1, 1], [0, 0], [1, 1], [0, 0]], reference) == 1.0


def test_covariance_error_is_zero_for_the_same_rows_and_relative():
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 3, size=(500, 4)).astype(float)
    assert covariance_error(reference, reference) == 0.0
    doubled = 2 * reference  # covariance × 4: relative error 3
    assert covariance_error(doubled, reference) == pytest.approx(3.0)


def test_scores_bundle():
    rows = np.array([[0, 1], [1, 0], [1, 1]], dtype=float)
    assert set(discrete_scores(rows, rows)) == {"l1_integer", "marginal_tvd", "total_tvd", "covariance_error"}


@pytest.mark.parametrize(("generated", "reference", "message"), [
    (np.zeros((0, 2)), np.zeros((3, 2)), "generated must have shape"),
    (np.zeros(3), np.zeros((3, 2)), "generated must have shape"),
    (np.full((2, 2), np.nan), np.zeros((3, 2)), "generated contains NaN"),
    (np.zeros((3, 2)), np.zeros((3, 3)), "generated rows have 2 coordinates, reference rows 3"),
])
def test_bad_input(generated, reference, message):
    with pytest.raises(ValueError, match=message):
        marginal_tvd(generated, reference)


def test_covariance_needs_variation_in_the_reference():
    with pytest.raises(ValueError, match="zero covariance"):
        covariance_error([[0, 1], [1, 0]], [[1, 1], [1, 1]])
