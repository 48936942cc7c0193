"""The paper's modified MolGAN generator: re-injection of z into every hidden layer, widths that
never shrink, and Theorem 1's inverse (z recovered from a hidden layer by solving linear systems)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qlatent.chem.graphs import AtomEncoder
from qlatent.latent import GaussianLatent
from qlatent.models.molgan import (
    PAPER_GENERATOR_HIDDEN,
    GraphBank,
    GraphGenerator,
    MolGAN,
    MolGANConfig,
    ReinjectionGenerator,
    inverse_leaky_relu,
    recover_latent,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")

ENCODER = AtomEncoder.from_atom_types([(6, 0), (7, 0), (8, 0), (9, 0)])


def paper_generator(latent_dim: int = 16, seed: int = 0, **overrides) -> ReinjectionGenerator:
    config = MolGANConfig.paper(latent_dim, ENCODER.n_types, **overrides)
    model = MolGAN(config, seed=seed)
    assert isinstance(model.generator, ReinjectionGenerator)
    return model.generator


def leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x >= 0, x, slope * x)


def test_paper_config_is_the_papers_generator_and_optimiser():
    c = MolGANConfig.paper(32, 5)
    assert c.generator == "reinjection" and c.generator_hidden == PAPER_GENERATOR_HIDDEN == (64, 176, 288, 400, 512)
    assert (c.lr_generator, c.lr_critic) == (1e-4, 1e-4)
    assert MolGANConfig.paper(32, 5, n_critic=3, leaky_slope=0.1).n_critic == 3
    assert MolGANConfig(latent_dim=4, n_atom_types=5).generator == "molgan"  # the original stays available
    assert isinstance(MolGAN(MolGANConfig(latent_dim=4, n_atom_types=5), seed=0).generator, GraphGenerator)


def test_forward_matches_the_layer_equations_written_out_in_numpy():
    """h_1 = σ(A_1 z + c_1), h_l = σ(W_l h_{l-1} + A_l z + c_l), logits = out(h_L), edges symmetrised."""
    generator = paper_generator(latent_dim=8, generator_hidden=(10, 12, 20), leaky_slope=0.3)
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(2))
    weights = {name: value.detach().double().numpy() for name, value in generator.state_dict().items()}
    zn = z.double().numpy()
    h = leaky(zn @ weights["inject.0.weight"].T + weights["inject.0.bias"], 0.3)
    for k in (1, 2):
        h = leaky(h @ weights[f"hidden.{k - 1}.weight"].T + zn @ weights[f"inject.{k}.weight"].T
                  + weights[f"inject.{k}.bias"], 0.3)
    out = h @ weights["out.weight"].T + weights["out.bias"]
    with torch.no_grad():
        nodes, edges = generator(z)
    np.testing.assert_allclose(nodes.double().numpy(), out[:, :45].reshape(5, 9, 5), atol=1e-5)
    raw = out[:, 45:].reshape(5, 9, 9, 4)
    np.testing.assert_allclose(edges.double().numpy(), (raw + raw.transpose(0, 2, 1, 3)) / 2, atol=1e-5)
    assert {name.split(".")[0] for name in weights} == {"inject", "hidden", "out"}
    assert "hidden.0.bias" not in weights  # one bias per layer, in the injection


def test_changing_z_moves_each_preactivation_by_exactly_the_affine_map():
    """With h_{l-1} held fixed, u_l(z') - u_l(z) = A_l (z' - z) in every hidden layer: z is re-injected."""
    generator = paper_generator(latent_dim=16)
    gen = torch.Generator().manual_seed(3)
    z, z_new = torch.randn(4, 16, generator=gen), torch.randn(4, 16, generator=gen)
    with torch.no_grad():
        hidden = generator.hidden_layers(z)
        u = generator.preactivations(z)
        for layer in range(1, len(PAPER_GENERATOR_HIDDEN) + 1):
            inject = generator.inject[layer - 1]
            previous = generator.hidden[layer - 2](hidden[layer - 2]) if layer > 1 else 0.0
            moved = previous + inject(z_new)  # the layer's pre-activation with only z changed
            expected = (z_new - z) @ inject.weight.T
            torch.testing.assert_close(moved - u[layer - 1], expected, atol=1e-5, rtol=1e-5)
            assert expected.abs().max() > 0.1  # the injection is not negligible
            assert u[layer - 1].shape == (4, PAPER_GENERATOR_HIDDEN[layer - 1])


@pytest.mark.parametrize("latent_dim", [16, 32, 48])
def test_latent_is_recovered_from_every_hidden_layer(latent_dim):
    """Theorem 1's construction: invert LeakyReLU, solve the linear systems, get z back.

    Exact (to float64 rounding) from every layer of a float64 generator; from the float32
    generator's first layer to float32 rounding.
    """
    generator = paper_generator(latent_dim=latent_dim, seed=latent_dim)
    z = torch.randn(64, latent_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        first = generator.hidden_layers(z)[0]
        hidden = generator.double().hidden_layers(z.double())
    for layer in range(1, len(PAPER_GENERATOR_HIDDEN) + 1):
        recovered = recover_latent(generator, hidden[layer - 1], layer=layer)
        assert recovered.dtype == torch.float64
        np.testing.assert_allclose(recovered.numpy(), z.double().numpy(), atol=1e-8)
    np.testing.assert_allclose(recover_latent(generator, first).numpy(), z.double().numpy(), atol=1e-5)


def test_inverse_leaky_relu_undoes_leaky_relu():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    torch.testing.assert_close(inverse_leaky_relu(torch.nn.functional.leaky_relu(x, 0.1), 0.1), x)
    with pytest.raises(ValueError, match="positive slope, got 0"):
        inverse_leaky_relu(x, 0.0)


def test_recover_latent_errors():
    generator = paper_generator(latent_dim=16)
    with pytest.raises(ValueError, match=r"layer must be an int in 1..5, got 6"):
        recover_latent(generator, torch.zeros(2, 64), layer=6)
    with pytest.raises(ValueError,
                       match=r"hidden layer 2 has width 176; expected activations \(B, 176\), got \(2, 64\)"):
        recover_latent(generator, torch.zeros(2, 64), layer=2)
    with pytest.raises(TypeError, match="needs a ReinjectionGenerator, got GraphGenerator"):
        recover_latent(MolGAN(MolGANConfig(latent_dim=4, n_atom_types=5), seed=0).generator, torch.zeros(2, 4))
    narrow = paper_generator(latent_dim=16, generator_hidden=(16, 20))
    with pytest.raises(ValueError, match=r"hidden layer 2 has width 20 < width of layer 1 \(16\) \+ latent_dim \(16\)"):
        recover_latent(narrow, torch.zeros(2, 20), layer=2)


@pytest.mark.parametrize("overrides, match", [
    ({"generator_hidden": (64, 176, 100)}, r"never shrink.*generator_hidden\[2\]=100 < generator_hidden\[1\]=176"),
    ({"generator_hidden": (8, 16)}, r"generator_hidden\[0\]=8 is narrower than latent_dim=16"),
    ({"generator_hidden": ()}, "at least one hidden layer"),
    ({"dropout": 0.1}, "dropout=0.1 with the reinjection generator"),
    ({"leaky_slope": 0.0}, "leaky_slope must be positive"),
    ({"generator": "mlp"}, "generator must be one of"),
])
def test_reinjection_config_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        MolGANConfig.paper(16, 5, **overrides)


def test_paper_molgan_trains_and_samples_molecules():
    """A short run of the modified MolGAN through the same train_step and sampling as MolGAN."""
    from rdkit import Chem

    from qlatent.chem.graphs import mol_to_graph

    pairs = [mol_to_graph(Chem.MolFromSmiles(s), ENCODER) for s in ["CCO", "C=O", "CC#N", "OCC(F)N"] * 4]
    bank = GraphBank(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))
    model = MolGAN(MolGANConfig.paper(8, ENCODER.n_types, generator_hidden=(16, 32), conv_hidden=(8,),
                                      aggregation_dim=8, dense_hidden=(8,), n_critic=2), seed=0, encoder=ENCODER)
    latent = GaussianLatent(8)
    gen = torch.Generator().manual_seed(0)
    draw = lambda: bank.batch(8, gen)  # noqa: E731
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    logs = [model.train_step(draw, latent, gen) for _ in range(3)]
    assert all(np.isfinite(list(log.values())).all() for log in logs)
    assert any(not torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    assert len(model.sample_molecules(10, latent, gen)) == 10
    assert model.describe()["generator"] == "reinjection"
