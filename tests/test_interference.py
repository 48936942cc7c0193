"""The interference chapter's numbers against closed forms."""

import math

import numpy as np
import pytest
from scipy.stats import unitary_group

from qlatent.experiments import interference


@pytest.fixture(scope="module")
def random_unitary():
    return unitary_group.rvs(5, random_state=1234)


def test_hom_coincidence_matches_closed_form():
    delays = np.linspace(-3, 3, 13)
    table = interference.hom_table(delays, coherence_time=1.3)
    expected = (1 - np.exp(-(delays / 1.3) ** 2)) / 2
    np.testing.assert_allclose(table["p_coincidence"], expected, atol=1e-12)
    np.testing.assert_allclose(table["p_coincidence"] + table["p_bunched"], 1.0, atol=1e-12)
    assert table["p_coincidence"].min() == pytest.approx(0.0, abs=1e-12)  # the dip at zero delay


@pytest.mark.parametrize("overlap", [0.0, 0.3, 0.5, 1.0])
def test_hom_closed_form_values(overlap):
    distribution = interference.output_distribution(interference.balanced_beam_splitter(), [1, 1], overlap)
    assert distribution.get((1, 1), 0.0) == pytest.approx((1 - overlap) / 2, abs=1e-12)


def test_full_bunching_is_n_factorial(random_unitary):
    table = interference.output_distribution_table(random_unitary, n_photons=3)
    for model in ("indistinguishable", "distinguishable"):
        assert table[table["model"] == model]["probability"].sum() == pytest.approx(1.0, abs=1e-12)
    ratios = interference.full_bunching_ratios(table)
    assert len(ratios) == 5
    np.testing.assert_allclose(ratios["ratio"], math.factorial(3), rtol=1e-9)


def test_distinguishable_probabilities_are_classical(random_unitary):
    # Distinguishable photons: all three in mode k with probability prod_i |U_ki|^2.
    table = interference.output_distribution_table(random_unitary, n_photons=3)
    full = table[(table["model"] == "distinguishable") & (table["pattern"] == "3,0,0,0,0")]
    assert full["probability"].item() == pytest.approx(np.prod(np.abs(random_unitary[0, :3]) ** 2), rel=1e-9)


def test_bunching_sweep_endpoints_match_distributions(random_unitary):
    table = interference.output_distribution_table(random_unitary, n_photons=3)
    bunched = table[table["max_occupation"] >= 2].groupby("model")["probability"].sum()
    sweep = interference.bunching_table(random_unitary, 3, [0.0, 0.5, 1.0])
    assert sweep["p_bunched"].iloc[0] == pytest.approx(bunched["distinguishable"], abs=1e-12)
    assert sweep["p_bunched"].iloc[-1] == pytest.approx(bunched["indistinguishable"], abs=1e-12)
    assert bunched["indistinguishable"] > bunched["distinguishable"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="coherence_time must be positive"):
        interference.wavepacket_overlap(1.0, 0.0)
    with pytest.raises(ValueError, match="indistinguishability must be in"):
        interference.output_distribution(np.eye(2), [1, 1], 1.5)
    with pytest.raises(ValueError, match="4 photons in 3 modes"):
        interference.first_modes_input(4, 3)
