"""WGAN-GP with MLP generator and critic: construction, the gradient penalty, steps, sampling, learning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qlatent.latent import GaussianLatent
from qlatent.models.gan import WGANGP, WGANGPConfig
from qlatent.models.mlp import ACTIVATIONS, build_mlp
from qlatent.models.wgan import input_gradients, per_sample_norm
from qlatent.training.bank import TensorBank
from qlatent.training.loop import Trainer, TrainerConfig

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def small_config(**overrides) -> WGANGPConfig:
    settings = dict(latent_dim=2, data_dim=3, generator_hidden=(8,), critic_hidden=(8,), n_critic=2)
    settings.update(overrides)
    return WGANGPConfig(**settings)


# --- the MLP builder ---------------------------------------------------------------------------

def test_build_mlp_layers_and_shapes():
    net = build_mlp(3, 2, (5, 4), "tanh", batch_norm=True, dropout=0.1)
    kinds = [type(layer) for layer in net]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout, nn.Linear, nn.BatchNorm1d, nn.Tanh,
                     nn.Dropout, nn.Linear]
    assert net(torch.zeros(6, 3)).shape == (6, 2)
    assert [type(layer) for layer in build_mlp(3, 1, ())] == [nn.Linear]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_build_mlp_every_activation(name):
    assert build_mlp(2, 1, (3,), name)(torch.ones(4, 2)).shape == (4, 1)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(in_dim=0, out_dim=1), ValueError, "in_dim must be positive"),
    (dict(in_dim=2, out_dim=-1), ValueError, "out_dim must be positive"),
    (dict(in_dim=2, out_dim=1, hidden=(4, 0)), ValueError, r"hidden\[1\] must be positive"),
    (dict(in_dim=2, out_dim=1, hidden="64"), TypeError, "sequence of layer widths"),
    (dict(in_dim=2.0, out_dim=1), TypeError, "in_dim must be an int"),
    (dict(in_dim=2, out_dim=1, activation="swish"), ValueError, "unknown activation 'swish'"),
    (dict(in_dim=2, out_dim=1, dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
])
def test_build_mlp_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_mlp(**kwargs)


# --- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "error", "match"), [
    (dict(latent_dim=0), ValueError, "latent_dim must be positive"),
    (dict(data_dim=-2), ValueError, "data_dim must be positive"),
    (dict(n_critic=0), ValueError, "n_critic must be positive"),
    (dict(n_critic=1.5), TypeError, "n_critic must be an int"),
    (dict(lr_generator=0.0), ValueError, "lr_generator must be positive"),
    (dict(lr_critic=-1e-4), ValueError, "lr_critic must be positive"),
    (dict(gp_weight=-1.0), ValueError, "gp_weight must be non-negative"),
    (dict(betas=(0.5, 1.0)), ValueError, r"betas must be two numbers in \[0, 1\)"),
    (dict(betas=(0.5,)), ValueError, "betas must be two numbers"),
    (dict(dropout=-0.1), ValueError, r"dropout must be in \[0, 1\)"),
    (dict(activation="sigmoid"), ValueError, "unknown activation"),
    (dict(critic_hidden=(0,)), ValueError, r"critic_hidden\[0\] must be positive"),
    (dict(optimizer="sgd"), ValueError, "optimizer must be one of adam, rmsprop, got 'sgd'"),
    (dict(constraint="spectral"), ValueError, "constraint must be one of gradient-penalty, weight-clipping"),
    (dict(init="orthogonal"), ValueError, "init must be one of default, xavier-uniform"),
    (dict(clip_value=0.0), ValueError, "clip_value must be positive"),
])
def test_config_rejects_bad_values(overrides, error, match):
    with pytest.raises(error, match=match):
        small_config(**overrides)


def test_seed_must_be_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        WGANGP(small_config(), seed=1.0)


# --- initialisation ----------------------------------------------------------------------------

def test_same_seed_gives_bit_identical_weights_and_leaves_global_rng_alone():
    before = torch.get_rng_state()
    a, b, c = WGANGP(small_config(), seed=7), WGANGP(small_config(), seed=7), WGANGP(small_config(), seed=8)
    assert torch.equal(torch.get_rng_state(), before)
    for net in ("generator", "critic"):
        pa, pb, pc = (dict(getattr(m, net).named_parameters()) for m in (a, b, c))
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
        assert not all(torch.equal(pa[k], pc[k]) for k in pa)


def test_critic_never_has_batch_norm():
    model = WGANGP(small_config(generator_batch_norm=True), seed=0)
    assert any(isinstance(layer, nn.BatchNorm1d) for layer in model.generator)
    assert not any(isinstance(layer, nn.BatchNorm1d) for layer in model.critic)
    assert model.describe()["generator_batch_norm"] is True and model.describe()["init_seed"] == 0


# --- the gradient penalty ----------------------------------------------------------------------

def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    """D(x) = w·x + b has ∇D = w everywhere, so the penalty is (‖w‖ − 1)² exactly."""
    model = WGANGP(small_config(critic_hidden=()), seed=3)
    weight = model.critic[0].weight.detach()
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    penalty = model.gradient_penalty(real, fake, torch.Generator().manual_seed(0))
    assert torch.allclose(penalty, (weight.norm() - 1.0) ** 2, rtol=1e-6)


def test_gradient_penalty_matches_a_per_sample_computation():
    model = WGANGP(small_config(critic_hidden=(8, 8)), seed=4)
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    penalty = model.gradient_penalty(real, fake, torch.Generator().manual_seed(11))
    eps = torch.rand((5, 1), generator=torch.Generator().manual_seed(11))
    expected = []
    for i in range(5):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(model.critic(x)[0, 0], x)
        expected.append((grad.norm() - 1.0) ** 2)
    assert torch.allclose(penalty, torch.stack(expected).mean(), rtol=1e-6)
    assert penalty.requires_grad  # create_graph: the penalty trains the critic


class _ConstantCritic(nn.Module):
    """A critic that ignores its input: its input gradient is exactly zero (and unused by autograd)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([0.5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], 1)


def test_gradient_penalty_of_a_constant_critic_is_one():
    """‖∇D‖ = 0 everywhere: (0 − 1)² = 1, not autograd's "input not used in the graph" error."""
    model = WGANGP(small_config(), seed=0)
    model.critic = _ConstantCritic()
    penalty = model.gradient_penalty(torch.randn(8, 3), torch.randn(8, 3), torch.Generator().manual_seed(0))
    assert float(penalty.detach()) == 1.0


def test_input_gradients_and_their_norm_at_zero():
    """The pieces of every penalty: an ignored input gets an exact zero gradient, and the norm of a zero
    gradient has a zero (not NaN) derivative with respect to the weights it depends on."""
    weight = torch.ones(3, requires_grad=True)
    x, unused = torch.randn(4, 3, requires_grad=True), torch.randn(4, 2, requires_grad=True)
    grad_x, grad_unused = input_gradients((0.0 * weight * x).sum(1), (x, unused))
    assert torch.equal(grad_unused, torch.zeros(4, 2)) and torch.equal(grad_x, torch.zeros(4, 3))
    norm = per_sample_norm(grad_x, grad_unused)
    assert torch.equal(norm.detach(), torch.zeros(4))
    ((norm - 1.0) ** 2).mean().backward()
    assert torch.equal(weight.grad, torch.zeros(3))
    assert torch.equal(per_sample_norm(torch.tensor([[3.0]]), torch.tensor([[[4.0]]])), torch.tensor([5.0]))
    assert torch.equal(input_gradients(torch.ones(4), (x,))[0], torch.zeros(4, 3))  # no graph at all


def test_a_flat_critic_gets_the_penalty_weight_and_finite_gradients():
    """A critic whose first layer is all zeros has an input gradient exactly zero that still depends on
    its weights: the critic loss is −W + λ·1 and every parameter gradient is finite."""
    model = WGANGP(small_config(n_critic=1, gp_weight=10.0), seed=0)
    with torch.no_grad():
        model.critic[0].weight.zero_()
    data = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
    losses = model.train_step(lambda: data, GaussianLatent(2), torch.Generator().manual_seed(0))
    assert losses["gradient_penalty"] == 1.0
    assert losses["critic_loss"] == pytest.approx(-losses["wasserstein"] + 10.0 * 1.0, rel=1e-6)
    for name, parameter in model.critic.named_parameters():
        assert parameter.grad is not None and bool(torch.isfinite(parameter.grad).all()), name
        assert bool(torch.isfinite(parameter).all()), name


# --- one step ----------------------------------------------------------------------------------

def test_train_step_draws_n_critic_batches_and_reports_consistent_losses():
    model = WGANGP(small_config(n_critic=3, gp_weight=5.0), seed=0)
    data, calls = torch.randn(64, 3), []

    def draw_batch():
        calls.append(1)
        return data[:16]

    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    losses = model.train_step(draw_batch, GaussianLatent(2), torch.Generator().manual_seed(0))
    assert len(calls) == 3
    assert set(losses) == {"critic_loss", "wasserstein", "gradient_penalty", "generator_loss"}
    assert losses["critic_loss"] == pytest.approx(-losses["wasserstein"] + 5.0 * losses["gradient_penalty"],
                                                  rel=1e-5)
    assert any(not torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    assert all(p.requires_grad for p in model.critic.parameters())


def test_train_step_rejects_a_batch_of_the_wrong_width():
    model = WGANGP(small_config(), seed=0)
    with pytest.raises(ValueError, match=r"real batch has shape \(4, 2\), expected \(batch, 3\)"):
        model.train_step(lambda: torch.zeros(4, 2), GaussianLatent(2), torch.Generator())


# --- latent checks and sampling ----------------------------------------------------------------

def test_latent_dimension_mismatch_names_both():
    model = WGANGP(small_config(latent_dim=2), seed=0)
    with pytest.raises(ValueError, match=r"'gaussian' has dimension 5, but the generator takes latent_dim=2"):
        model.check_latent(GaussianLatent(5))
    with pytest.raises(ValueError, match="has dimension 5"):
        model.sample(10, GaussianLatent(5), torch.Generator())


def test_latent_returning_the_wrong_shape_is_refused():
    class Liar(GaussianLatent):
        def sample(self, n, generator):
            return torch.zeros(n + 1, self.dim)

    model = WGANGP(small_config(), seed=0)
    with pytest.raises(ValueError, match=r"returned shape \(11, 2\), expected \(10, 2\)"):
        model.sample(10, Liar(2), torch.Generator())


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_sample_rejects_bad_counts(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        WGANGP(small_config(), seed=0).sample(n, GaussianLatent(2), torch.Generator())


def test_sample_is_seeded_in_eval_mode_and_restores_the_mode():
    model = WGANGP(small_config(generator_batch_norm=True, dropout=0.5), seed=0)
    latent = GaussianLatent(2)
    first = model.sample(50, latent, torch.Generator().manual_seed(1), batch_size=20)
    second = model.sample(50, latent, torch.Generator().manual_seed(1), batch_size=20)
    assert first.shape == (50, 3) and first.dtype == torch.float32 and first.device.type == "cpu"
    assert torch.equal(first, second)  # dropout off, batch norm on running statistics
    assert model.generator.training
    model.generator.eval()
    model.sample(5, latent, torch.Generator())
    assert not model.generator.training


def test_state_dict_round_trip():
    source, target = WGANGP(small_config(), seed=1), WGANGP(small_config(), seed=2)
    source.train_step(lambda: torch.randn(8, 3), GaussianLatent(2), torch.Generator().manual_seed(0))
    target.load_state_dict(source.state_dict())
    latent = GaussianLatent(2)
    assert torch.equal(source.sample(20, latent, torch.Generator().manual_seed(5)),
                       target.sample(20, latent, torch.Generator().manual_seed(5)))
    assert target.opt_critic.state_dict()["state"].keys() == source.opt_critic.state_dict()["state"].keys()


# --- learning ----------------------------------------------------------------------------------

def test_wgan_gp_moves_the_generated_mean_to_a_gaussian_target(tmp_path):
    """200 generator steps on N((3, −2), 0.5² I): the mean error must at least halve.

    Seeded; measured on this machine the error goes from 3.6 to 0.22 (seeds 0–2: ≤ 0.3), so
    halving is a wide margin.
    """
    target = torch.tensor([3.0, -2.0])
    data = target + 0.5 * torch.randn(2000, 2, generator=torch.Generator().manual_seed(123))
    config = WGANGPConfig(latent_dim=2, data_dim=2, generator_hidden=(32, 32), critic_hidden=(32, 32),
                          lr_generator=1e-3, lr_critic=1e-3, n_critic=5)
    model, latent = WGANGP(config, seed=0), GaussianLatent(2)

    def mean_error() -> float:
        return float((model.sample(4000, latent, torch.Generator().manual_seed(1)).mean(0) - target).norm())

    before = mean_error()
    trainer = Trainer(model, latent, TensorBank(data), TrainerConfig(n_steps=200, batch_size=64, seed=0,
                      checkpoint_every=200, log_every=50, progress=False), tmp_path)
    rows = trainer.fit()
    after = mean_error()
    assert before > 2.0
    assert after < 0.5 * before
    assert [row["step"] for row in rows] == [50, 100, 150, 200]


# --- the paper's Table I options: RMSProp, weight clipping, Xavier init ---------------------------

def test_rmsprop_optimizer_is_used_for_both_networks():
    model = WGANGP(small_config(optimizer="rmsprop", lr_critic=5e-4), seed=0)
    assert isinstance(model.opt_generator, torch.optim.RMSprop) and isinstance(model.opt_critic, torch.optim.RMSprop)
    assert model.opt_critic.param_groups[0]["lr"] == 5e-4
    assert isinstance(WGANGP(small_config(), seed=0).opt_critic, torch.optim.Adam)


def test_weight_clipping_keeps_every_critic_parameter_in_the_box_and_skips_the_penalty():
    model = WGANGP(small_config(constraint="weight-clipping", clip_value=0.05, lr_critic=0.5), seed=0)
    data = 10 * torch.randn(64, 3)
    losses = model.train_step(lambda: data[:16], GaussianLatent(2), torch.Generator().manual_seed(0))
    bound = torch.tensor(0.05, dtype=torch.float32)  # the clip value as the float32 weights hold it
    for parameter in model.critic.parameters():
        assert parameter.abs().max() <= bound
    # The large step pushed some weights to the bound: clipping did act.
    assert any((parameter.abs() == bound).any() for parameter in model.critic.parameters())
    assert losses["gradient_penalty"] == 0.0
    assert losses["critic_loss"] == pytest.approx(-losses["wasserstein"], rel=1e-6)
    assert model.describe()["model"] == "wgan-clip"


def test_gradient_penalty_critic_is_not_clipped():
    model = WGANGP(small_config(lr_critic=0.5), seed=0)
    model.train_step(lambda: 10 * torch.ones(16, 3), GaussianLatent(2), torch.Generator().manual_seed(0))
    assert max(parameter.abs().max().item() for parameter in model.critic.parameters()) > 0.01


def test_xavier_uniform_init_has_zero_biases_and_the_glorot_bound():
    model = WGANGP(small_config(init="xavier-uniform", generator_hidden=(400,)), seed=3)
    first = model.generator[0]
    bound = (6.0 / (2 + 400)) ** 0.5
    assert torch.all(first.bias == 0)
    assert first.weight.abs().max().item() <= bound
    # Uniform on [-bound, bound]: the largest of 800 draws is close to the bound.
    assert first.weight.abs().max().item() > 0.98 * bound
    again = WGANGP(small_config(init="xavier-uniform", generator_hidden=(400,)), seed=3)
    assert torch.equal(again.generator[0].weight, first.weight)
