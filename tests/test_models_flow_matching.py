"""Flow matching from an arbitrary source: targets and losses, couplings, ODE solvers, a toy flow, bad input."""

import itertools
import math

import numpy as np
import pytest
import torch
from conftest import TurnsNaN

from qlatent.latent import BernoulliLatent, GaussianLatent, UniformLatent
from qlatent.models.flow_matching import (
    FlowMatching,
    FlowMatchingConfig,
    SourceConfig,
    conditional_path,
    integrate,
    ot_pairs,
    ot_plan,
)
from qlatent.training.bank import TensorBank
from qlatent.training.loop import Trainer, TrainerConfig, TrainingDivergedError

pytestmark = pytest.mark.usefixtures("torch_one_thread")
RAW = SourceConfig(dequantization="none", noise_scale=0.0, standardize=False, projection="none")


@pytest.mark.parametrize("sigma", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(7, 1), (5, 2), (4, 3)])
def test_conditional_path_and_target_against_the_derivative_of_the_path(sigma, shape):
    gen = torch.Generator().manual_seed(1)
    x0, x1, noise = (torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(3))
    t = torch.rand(shape[0], generator=gen, dtype=torch.float64)

    def psi(s):  # Tong et al. 2024, eq. 14: mu_t = t x1 + (1 - t) x0, sigma_t = sigma, x = mu_t + sigma_t eps
        s = s[:, None]
        return s * x1 + (1 - s) * x0 + sigma * noise

    xt, ut = conditional_path(x0, x1, t, sigma, noise)
    torch.testing.assert_close(xt, psi(t))
    h = 1e-6  # the target velocity is the time derivative of the conditional flow at fixed (x0, x1, eps)
    torch.testing.assert_close(ut, (psi(t + h) - psi(t - h)) / (2 * h), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("sigma", [0.0, 0.2])
def test_loss_is_the_mean_squared_regression_error_on_the_drawn_path(sigma):
    config = FlowMatchingConfig(3, 3, source=RAW, coupling="independent", sigma=sigma, hidden=(8,))
    model = FlowMatching(config, seed=0)
    x0, x1 = torch.randn(6, 3), torch.randn(6, 3) + 2.0
    loss = model.loss(x0, x1, torch.Generator().manual_seed(5))
    replay = torch.Generator().manual_seed(5)  # the loss draws t, then eps, from the generator
    t = torch.rand(6, 1, generator=replay)
    eps = torch.randn(6, 3, generator=replay)
    xt = t * x1 + (1 - t) * x0 + sigma * eps
    v = model.velocity(torch.cat([xt, t], dim=1)).detach()
    expected = sum(float(((v[i] - (x1[i] - x0[i])) ** 2).sum()) for i in range(6)) / 6
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)


def test_ot_pairs_minimise_the_total_squared_distance_over_all_permutations():
    gen = torch.Generator().manual_seed(2)
    x0, x1 = torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen)
    paired0, paired1 = ot_pairs(x0, x1, gen)
    assert torch.equal(paired0, x0) and sorted(map(tuple, paired1.tolist())) == sorted(map(tuple, x1.tolist()))
    best = min(sum(float(((x0[i] - x1[p[i]]) ** 2).sum()) for i in range(6)) for p in itertools.permutations(range(6)))
    assert float(((paired0 - paired1) ** 2).sum()) == pytest.approx(best, rel=1e-6)


def test_ot_plan_of_unequal_batches_has_uniform_marginals_and_pairs_follow_it():
    gen = torch.Generator().manual_seed(3)
    x0, x1 = torch.randn(4, 2, generator=gen), torch.randn(6, 2, generator=gen)
    plan = ot_plan(x0, x1)
    np.testing.assert_allclose(plan.sum(axis=1), 1 / 4)
    np.testing.assert_allclose(plan.sum(axis=0), 1 / 6)
    a, b = ot_pairs(x0, x1, gen)
    for row0, row1 in zip(a, b):
        i = int(torch.where((x0 == row0).all(dim=1))[0][0])
        j = int(torch.where((x1 == row1).all(dim=1))[0][0])
        assert plan[i, j] > 0


def test_solvers_integrate_a_linear_field_to_its_matrix_exponential():
    matrix = torch.tensor([[-0.5, 1.2], [-0.8, 0.3]], dtype=torch.float64)
    x0 = torch.randn(10, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = x0 @ torch.linalg.matrix_exp(matrix).T

    def field(t, x):
        return x @ matrix.T

    errors = {}
    for method, steps in [("euler", 100), ("euler", 200), ("midpoint", 100), ("midpoint", 200), ("rk4", 20)]:
        errors[method, steps] = float((integrate(field, x0, method, steps) - exact).abs().max())
    assert errors["euler", 100] / errors["euler", 200] == pytest.approx(2.0, rel=0.05)  # first order
    assert errors["midpoint", 100] / errors["midpoint", 200] == pytest.approx(4.0, rel=0.05)  # second order
    assert errors["rk4", 20] < 1e-7
    adaptive = integrate(field, x0, "dopri5", rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(adaptive, exact, rtol=1e-7, atol=1e-7)


def test_solvers_follow_a_time_dependent_field():
    x0 = torch.linspace(-1, 1, 5, dtype=torch.float64)[:, None]
    # dx/dt = (a + b t) x  =>  x(1) = x0 exp(a + b / 2)
    exact = x0 * math.exp(0.3 + 0.5 * -1.4)
    for method in ("rk4", "dopri5"):
        result = integrate(lambda t, x: (0.3 - 1.4 * t) * x, x0, method, 40, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(result, exact, rtol=1e-8, atol=1e-8)


def _shifted_uniform_flow(tmp_path, n_steps=150):
    shift = 3.0
    data = torch.rand(4000, 1, generator=torch.Generator().manual_seed(9)) + shift
    model = FlowMatching(FlowMatchingConfig(1, 1, source=RAW, coupling="ot", hidden=(32, 32), learning_rate=3e-3),
                         seed=0)
    trainer = Trainer(model, UniformLatent(1, 0.0, 1.0), TensorBank(data.numpy()),
                      TrainerConfig(n_steps=n_steps, batch_size=128, seed=0, progress=False, log_every=50), tmp_path)
    trainer.fit()
    return model, shift


def test_toy_flow_moves_a_uniform_source_onto_a_shifted_uniform_within_the_sampling_bound(tmp_path):
    model, shift = _shifted_uniform_flow(tmp_path)
    n = 4000
    generated = np.sort(model.sample(n, UniformLatent(1, 0.0, 1.0), torch.Generator().manual_seed(1),
                                     method="rk4", n_steps=20).numpy()[:, 0])
    # Kolmogorov distance to the target U[shift, shift + 1]. Had the flow been exact, the points would
    # be n exact draws of the target, whose distance exceeds the DKW bound with probability < alpha.
    cdf = np.clip(generated - shift, 0.0, 1.0)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    alpha = 1e-3
    assert ks < math.sqrt(math.log(2 / alpha) / (2 * n))
    # the mean moves by the shift, within 4 standard errors of a uniform (sd 1/sqrt(12))
    assert abs(generated.mean() - (shift + 0.5)) < 4 / math.sqrt(12 * n)


def test_sizes_no_option_reconciles_are_refused():
    with pytest.raises(ValueError, match="latent size 1 is smaller than data size 2: no option reconciles them"):
        FlowMatchingConfig(1, 2)
    with pytest.raises(ValueError, match="latent size 16 differs from data size 2 and projection='none'"):
        FlowMatchingConfig(16, 2, source=RAW)
    with pytest.raises(ValueError, match="use dequantization='none' exactly when noise_scale is 0"):
        SourceConfig(dequantization="gaussian", noise_scale=0.0)
    with pytest.raises(ValueError, match="coupling must be one of independent, ot"):
        FlowMatchingConfig(2, 2, coupling="sinkhorn")
    with pytest.raises(ValueError, match="method must be one of"):
        integrate(lambda t, x: x, torch.zeros(1, 1), "leapfrog")


def test_model_refuses_a_latent_of_another_size_and_sampling_before_fitting():
    model = FlowMatching(FlowMatchingConfig(4, 2, hidden=(8,)), seed=0)
    with pytest.raises(ValueError, match="has dimension 3, but the generator takes latent_dim=4"):
        model.sample(5, GaussianLatent(3), torch.Generator())
    with pytest.raises(RuntimeError, match="source map is not fitted yet"):
        model.sample(5, GaussianLatent(4), torch.Generator())


def test_source_map_options():
    gen = torch.Generator().manual_seed(0)
    latent = BernoulliLatent([0.2, 0.5, 0.7, 0.5, 0.9, 0.5])
    fixed = FlowMatching(FlowMatchingConfig(6, 2, source=SourceConfig(projection="fixed")), seed=1)
    rows = fixed.source.matrix
    torch.testing.assert_close(rows @ rows.T, torch.eye(2), rtol=0, atol=1e-6)  # orthonormal rows
    pca = FlowMatching(FlowMatchingConfig(6, 2, source=SourceConfig(projection="pca", n_fit=20000)), seed=1)
    pca.fit_source(latent, gen)
    x0 = pca.draw_source(20000, latent, gen).double()
    torch.testing.assert_close(torch.cov(x0.T), torch.eye(2, dtype=torch.float64), rtol=0, atol=0.05)  # whitened
    standardised = FlowMatching(FlowMatchingConfig(6, 6, source=SourceConfig(projection="none", n_fit=20000)), seed=1)
    standardised.fit_source(latent, gen)
    x0 = standardised.draw_source(20000, latent, gen)
    torch.testing.assert_close(x0.mean(0), torch.zeros(6), rtol=0, atol=0.05)
    torch.testing.assert_close(x0.std(0), torch.ones(6), rtol=0, atol=0.05)


def test_learned_map_keeps_orthonormal_rows_while_training(tmp_path):
    model = FlowMatching(FlowMatchingConfig(5, 2, source=SourceConfig(projection="learned"), hidden=(8,)), seed=0)
    before = model.source.learned.weight.detach().clone()
    Trainer(model, GaussianLatent(5), TensorBank(np.random.default_rng(0).normal(size=(256, 2))),
            TrainerConfig(n_steps=20, batch_size=64, seed=0, progress=False), tmp_path).fit()
    weight = model.source.learned.weight.detach()
    assert not torch.allclose(weight, before)
    torch.testing.assert_close(weight @ weight.T, torch.eye(2), rtol=0, atol=1e-5)


def test_without_dequantisation_a_discrete_source_gives_as_many_outputs_as_atoms(tmp_path):
    latent = BernoulliLatent([0.5, 0.5])  # four atoms
    data = np.random.default_rng(0).normal(size=(512, 2)).astype(np.float32)
    for config, at_most in ((RAW, 4), (SourceConfig(projection="none"), None)):
        model = FlowMatching(FlowMatchingConfig(2, 2, source=config, hidden=(8,)), seed=0)
        Trainer(model, latent, TensorBank(data), TrainerConfig(n_steps=5, batch_size=64, seed=0, progress=False),
                tmp_path / config.dequantization).fit()
        distinct = len(np.unique(model.sample(200, latent, torch.Generator().manual_seed(0)).numpy(), axis=0))
        assert distinct == 4 if at_most else distinct == 200


def test_nan_loss_stops_training_keeping_the_last_good_checkpoint(tmp_path):
    model = FlowMatching(FlowMatchingConfig(3, 2, source=SourceConfig(projection="fixed", n_fit=64), hidden=(8,)), 0)
    trainer = Trainer(model, TurnsNaN(3, good=12), TensorBank(np.zeros((128, 2), dtype=np.float32)),
                      TrainerConfig(n_steps=30, batch_size=32, seed=0, progress=False, checkpoint_every=5), tmp_path)
    kept = r"training diverged at step 12: cfm_loss = nan; last good checkpoint kept: .*step_00000010"
    with pytest.raises(TrainingDivergedError, match=kept):
        trainer.fit()


def test_resumed_run_ends_identical_to_an_uninterrupted_one(tmp_path):
    data = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)

    def run(folder, steps):
        model = FlowMatching(FlowMatchingConfig(4, 2, source=SourceConfig(n_fit=100), hidden=(8,)), seed=2)
        Trainer(model, BernoulliLatent([0.5] * 4), TensorBank(data),
                TrainerConfig(n_steps=steps, batch_size=50, seed=1, progress=False, checkpoint_every=5),
                folder).fit()
        return model

    straight = run(tmp_path / "a", 12)
    run(tmp_path / "b", 7)
    resumed = run(tmp_path / "b", 12)
    for key, value in straight.velocity.state_dict().items():
        assert torch.equal(value, resumed.velocity.state_dict()[key])
    assert torch.equal(straight.source.mean, resumed.source.mean)
