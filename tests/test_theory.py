"""Theorem 1's conditions, computed on the paper's QM9 generator: inverse by linear solves, and
Lipschitz constants of g and g⁻¹ checked against computations that do not share the module's code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qlatent.models.molgan import MolGAN, MolGANConfig
from qlatent.theory import (
    collapsing_pair,
    hidden_map,
    interference_distance,
    interference_distance_table,
    inversion_errors,
    inversion_table,
    jacobian_singular_values,
    lipschitz_bounds,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def generator(latent_dim: int = 16, seed: int = 0, **overrides):
    return MolGAN(MolGANConfig.paper(latent_dim, 5, **overrides), seed=seed).generator


def latents(n: int, dim: int, seed: int = 1) -> np.ndarray:
    """Centred photon counts: half filling, as the paper's boson latents."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(dim // 2, np.full(dim, 1 / dim), size=n).astype(float)
    return counts - counts.mean(axis=0)


def test_the_papers_generator_is_inverted_to_float_precision_for_every_latent():
    g = generator()
    z = latents(500, 16)
    errors = inversion_errors(g, z)
    assert errors.shape == (500,)
    assert errors.max() < 1e-9
    # Not vacuous: a perturbed last layer is no longer inverted
    wrong = hidden_map(g, z) + 1e-3
    from qlatent.models.molgan import recover_latent

    assert (recover_latent(g, wrong, layer=5) - torch.as_tensor(z)).abs().max() > 1e-6


def test_hidden_map_is_the_generators_last_hidden_layer():
    g = generator()
    z = latents(8, 16)
    with torch.no_grad():
        float32 = g.hidden_layers(torch.as_tensor(z, dtype=torch.float32))[-1].double()
    np.testing.assert_allclose(hidden_map(g, z).numpy(), float32.numpy(), atol=1e-4)


def test_jacobian_matches_central_differences():
    g = generator(latent_dim=8, generator_hidden=(16, 32, 48))
    z = latents(3, 8)
    step = 1e-6
    for latent, values in zip(z, jacobian_singular_values(g, z)):
        columns = [(hidden_map(g, (latent + step * e)[None]) - hidden_map(g, (latent - step * e)[None]))[0].numpy()
                   / (2 * step) for e in np.eye(8)]
        np.testing.assert_allclose(values, np.linalg.svd(np.stack(columns, axis=1), compute_uv=False), rtol=1e-6)


def test_with_slope_one_the_generator_is_affine_and_the_estimates_are_exact():
    """σ = identity: g(z) = M z + b, so L(g) = σ_max(M) and L(g⁻¹) = 1/σ_min(M) exactly."""
    g = generator(latent_dim=6, generator_hidden=(8, 16, 24), leaky_slope=1.0)
    origin = hidden_map(g, np.zeros((1, 6)))[0].numpy()
    matrix = np.stack([hidden_map(g, e[None])[0].numpy() - origin for e in np.eye(6)], axis=1)
    singular = np.linalg.svd(matrix, compute_uv=False)
    bounds = lipschitz_bounds(g, latents(4, 6))
    assert bounds.forward_lower == pytest.approx(singular[0], rel=1e-9)
    assert bounds.inverse_lower == pytest.approx(1 / singular[-1], rel=1e-9)
    assert bounds.forward_upper >= singular[0] * (1 - 1e-12)
    assert bounds.inverse_upper >= 1 / singular[-1] * (1 - 1e-12)


def test_every_pair_of_latents_respects_the_upper_bounds():
    g = generator()
    z = latents(200, 16, seed=3)
    bounds = lipschitz_bounds(g, z)
    assert 0 < bounds.forward_lower <= bounds.forward_upper
    assert 0 < bounds.inverse_lower <= bounds.inverse_upper
    h = hidden_map(g, z).numpy()
    a, b = np.triu_indices(len(z), k=1)
    keep = np.linalg.norm(z[a] - z[b], axis=1) > 0
    dz = np.linalg.norm(z[a] - z[b], axis=1)[keep]
    dh = np.linalg.norm(h[a] - h[b], axis=1)[keep]
    assert (dh / dz).max() <= bounds.forward_upper
    assert (dz / dh).max() <= bounds.inverse_upper


def test_a_generator_that_is_not_injective_has_no_inverse_bound():
    g = generator(latent_dim=4, generator_hidden=(8, 16))
    with torch.no_grad():
        g.hidden[0].weight.zero_()
        g.inject[1].weight.zero_()
    with pytest.raises(ValueError, match=r"rank 0 < 12 unknowns: the generator is not injective"):
        lipschitz_bounds(g, latents(2, 4))


def test_a_shrinking_layer_maps_two_inputs_to_one_output():
    rng = np.random.default_rng(0)
    weight, x = rng.normal(size=(3, 5)), rng.normal(size=5)
    other = collapsing_pair(weight, x)
    assert np.linalg.norm(other - x) == pytest.approx(np.linalg.norm(x))
    np.testing.assert_allclose(weight @ other, weight @ x, atol=1e-12)
    with pytest.raises(ValueError, match="from 5 to 5 units does not shrink"):
        collapsing_pair(rng.normal(size=(5, 5)), x)
    with pytest.raises(ValueError, match=r"weight must be \(out, in\) and x \(in,\)"):
        collapsing_pair(weight, x[:4])


@pytest.mark.parametrize(
    ("z", "message"),
    [(np.zeros((2, 5)), r"latents must have shape \(B, 16\)"), (np.zeros((0, 16)), "with B ≥ 1"),
     (np.full((1, 16), np.nan), "latents must be finite")],
)
def test_bad_latents(z, message):
    with pytest.raises(ValueError, match=message):
        inversion_errors(generator(), z)


def test_only_the_reinjection_generator_is_accepted():
    plain = MolGAN(MolGANConfig(latent_dim=4, n_atom_types=5), seed=0).generator
    with pytest.raises(TypeError, match="needs a ReinjectionGenerator.*got GraphGenerator"):
        hidden_map(plain, np.zeros((1, 4)))


BALANCED = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def test_hong_ou_mandel_distance_is_one_half():
    """Indistinguishable (½, 0, ½) against distinguishable (¼, ½, ¼) on (2,0), (1,1), (0,2)."""
    assert interference_distance(BALANCED, [1, 1]) == pytest.approx(0.5)
    assert interference_distance(BALANCED, [1, 1], indistinguishability=1.0) == pytest.approx(0.0, abs=1e-15)
    # partial overlap x (HOM visibility x²): P(1,1) = (1 − x²)/2 where the ideal has 0, so TVD = (1 − x²)/2
    assert interference_distance(BALANCED, [1, 1], indistinguishability=0.6) == pytest.approx(0.32)


def test_loss_erases_the_difference():
    """η: both photons survive with η², and only then do they differ (by ½): TVD = η²/2."""
    assert interference_distance(BALANCED, [1, 1], transmission=0.5) == pytest.approx(0.125)
    assert interference_distance(BALANCED, [1, 1], transmission=0.0) == pytest.approx(0.0, abs=1e-15)


def test_distance_table_grows_from_zero_with_one_photon():
    table = interference_distance_table([1, 2, 3], seeds=[0, 1])
    assert list(table.columns) == ["n_photons", "n_modes", "seed", "transmission", "tvd"]
    assert table[table.n_photons == 1].tvd.max() == pytest.approx(0.0, abs=1e-12)
    assert (table[table.n_photons > 1].tvd > 0.05).all() and (table.tvd <= 1).all()
    with pytest.raises(ValueError, match="modes_per_photon must be ≥ 1, got 0"):
        interference_distance_table([1], seeds=[0], modes_per_photon=0)


def test_inversion_table_reports_tiny_errors_and_ordered_bounds():
    table = inversion_table([16], seeds=[0, 1], n_latents=20)
    assert len(table) == 2 and (table.max_inversion_error < 1e-9).all()
    assert (table.forward_lower <= table.forward_upper).all() and (table.inverse_lower <= table.inverse_upper).all()
