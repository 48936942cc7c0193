"""The DDGAN: its schedule and posterior against closed forms, training through the Trainer, bad input."""

import math

import numpy as np
import pytest
import torch
from conftest import TurnsNaN

from qlatent.latent import GaussianLatent
from qlatent.models.ddgan import DDGAN, DDGANConfig, DiffusionSchedule, vp_betas
from qlatent.training.bank import TensorBank
from qlatent.training.loop import Trainer, TrainerConfig, TrainingDivergedError

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SMALL = dict(image_shape=(1, 2, 2), n_timesteps=3, generator_hidden=(16,), discriminator_hidden=(16,), time_embedding=4)


def test_vp_betas_integrate_the_linear_beta_of_the_vp_sde():
    from scipy.integrate import quad

    beta_min, beta_max, eps, n = 0.1, 20.0, 1e-3, 4
    betas = vp_betas(n, beta_min, beta_max, eps)
    for k in range(1, n + 1):
        t_prev, t_k = eps + (1 - eps) * (k - 1) / n, eps + (1 - eps) * k / n
        # VP-SDE: x_t has mean exp(-1/2 ∫ beta(s) ds) x_0, so alpha_bar(t_k)/alpha_bar(t_{k-1}) = exp(-∫ beta)
        integral, _ = quad(lambda s: beta_min + s * (beta_max - beta_min), t_prev, t_k)
        assert float(betas[k - 1]) == pytest.approx(1 - math.exp(-integral), rel=1e-10)


def _posterior_by_conditioning(schedule, x0, xk, k):
    """q(x_{k-1} | x_k, x_0) by Bayes: prior N(a x0, s2) for x_{k-1}, likelihood N(sqrt(alpha_k) x_{k-1}, beta_k)."""
    betas = schedule.betas.tolist()
    alpha_bar_prev = math.prod(1 - b for b in betas[: k - 1])
    beta_k = betas[k - 1]
    prior_mean, prior_var = math.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev
    if prior_var == 0:
        return prior_mean, 0.0
    precision = 1 / prior_var + (1 - beta_k) / beta_k
    mean = (prior_mean / prior_var + math.sqrt(1 - beta_k) * xk / beta_k) / precision
    return mean, 1 / precision


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_posterior_matches_gaussian_conditioning(k):
    schedule = DiffusionSchedule(vp_betas(4))
    x0 = torch.tensor([[0.7, -0.3]], dtype=torch.float64)
    xk = torch.tensor([[0.1, 1.5]], dtype=torch.float64)
    mean, variance = schedule.posterior(x0, xk, torch.tensor([k]))
    for i in range(2):
        expected_mean, expected_var = _posterior_by_conditioning(schedule, float(x0[0, i]), float(xk[0, i]), k)
        assert float(mean[0, i]) == pytest.approx(expected_mean, rel=1e-9, abs=1e-12)
        assert float(variance[0, i]) == pytest.approx(expected_var, rel=1e-9, abs=1e-15)


def test_posterior_at_the_first_level_returns_the_prediction_itself():
    schedule = DiffusionSchedule(vp_betas(4))
    x0, xk = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    sample = schedule.posterior_sample(x0, xk, torch.ones(5, dtype=torch.int64), torch.Generator().manual_seed(0))
    torch.testing.assert_close(sample, x0)


def test_forward_pairs_and_posterior_samples_have_the_closed_form_moments():
    schedule = DiffusionSchedule(vp_betas(4))
    n, x0_value, k = 200_000, 0.6, 3
    gen = torch.Generator().manual_seed(0)
    x0 = torch.full((n, 1), x0_value, dtype=torch.float64)
    levels = torch.full((n,), k)
    previous, current = schedule.q_pair(x0, levels, gen)
    alpha_bar = schedule.alpha_bars.tolist()
    a_prev, a_k, beta_k = alpha_bar[k - 2], alpha_bar[k - 1], float(schedule.betas[k - 1])

    def close(sample_value, expected, sd):  # within 5 standard errors of the sample mean
        assert abs(sample_value - expected) < 5 * sd / math.sqrt(n)

    close(float(current.mean()), math.sqrt(a_k) * x0_value, math.sqrt(1 - a_k))
    close(float(current.var()), 1 - a_k, (1 - a_k) * math.sqrt(2))  # sd of (x - mu)^2 for a Gaussian: sqrt(2) var
    covariance = float(((previous - previous.mean()) * (current - current.mean())).mean())
    close(covariance, math.sqrt(1 - beta_k) * (1 - a_prev), math.sqrt((1 - a_prev) * (1 - a_k)) * 1.5)
    # drawing x_{k-1} from the posterior given x_k ~ q(x_k | x_0) gives back q(x_{k-1} | x_0)
    redrawn = schedule.posterior_sample(x0, current, levels, gen)
    close(float(redrawn.mean()), math.sqrt(a_prev) * x0_value, math.sqrt(1 - a_prev))
    close(float(redrawn.var()), 1 - a_prev, (1 - a_prev) * math.sqrt(2))


def _images(n=64):
    return np.random.default_rng(0).uniform(-1, 1, size=(n, 1, 2, 2)).astype(np.float32)


def test_training_through_the_trainer_and_sampling_shapes(tmp_path):
    model = DDGAN(DDGANConfig(3, **SMALL, ema_decay=0.9), seed=0)
    rows = Trainer(model, GaussianLatent(3), TensorBank(_images()),
                   TrainerConfig(n_steps=6, batch_size=16, seed=0, progress=False, log_every=3), tmp_path).fit()
    assert [row["step"] for row in rows] == [3, 6]
    assert {"discriminator_loss", "r1_penalty", "generator_loss"} <= set(rows[0])
    samples = model.sample(10, GaussianLatent(3), torch.Generator().manual_seed(0))
    assert samples.shape == (10, 1, 2, 2) and samples.abs().max() <= 1.0
    ema = dict(model.ema.named_parameters())
    assert all(not torch.equal(ema[name], weight) for name, weight in model.generator.named_parameters())


def test_resumed_run_ends_identical_to_an_uninterrupted_one(tmp_path):
    def run(folder, steps):
        model = DDGAN(DDGANConfig(3, **SMALL, ema_decay=0.5), seed=1)
        Trainer(model, GaussianLatent(3), TensorBank(_images()),
                TrainerConfig(n_steps=steps, batch_size=16, seed=2, progress=False, checkpoint_every=3), folder).fit()
        return model.state_dict()

    straight = run(tmp_path / "a", 8)
    run(tmp_path / "b", 5)
    resumed = run(tmp_path / "b", 8)
    for part in ("generator", "discriminator", "ema"):
        for key, value in straight[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)


def test_nan_loss_stops_training_keeping_the_last_good_checkpoint(tmp_path):
    model = DDGAN(DDGANConfig(3, **SMALL), seed=0)
    trainer = Trainer(model, TurnsNaN(3, good=2 * 7), TensorBank(_images()),  # two latent draws per step
                      TrainerConfig(n_steps=20, batch_size=16, seed=0, progress=False, checkpoint_every=4), tmp_path)
    kept = r"step 8: discriminator_loss = nan; last good checkpoint kept: .*step_00000004"
    with pytest.raises(TrainingDivergedError, match=kept):
        trainer.fit()


def test_r1_penalty_of_a_flat_discriminator_is_zero_with_finite_gradients():
    """A discriminator whose first layer is all zeros has ‖∇_{x_{k−1}} D‖ = 0 exactly, a gradient that
    still depends on its weights: the R1 penalty is 0 and every discriminator gradient is finite."""
    model = DDGAN(DDGANConfig(3, **SMALL, r1_gamma=1.0), seed=0)
    with torch.no_grad():
        model.discriminator.net[0].weight.zero_()
    images = torch.as_tensor(_images(16))
    losses = model.train_step(lambda: images, GaussianLatent(3), torch.Generator().manual_seed(0))
    assert losses["r1_penalty"] == 0.0
    assert all(math.isfinite(v) for v in losses.values())
    for name, parameter in model.discriminator.named_parameters():
        assert parameter.grad is not None and bool(torch.isfinite(parameter.grad).all()), name
        assert bool(torch.isfinite(parameter).all()), name


def test_bad_input_is_refused():
    model = DDGAN(DDGANConfig(3, **SMALL), seed=0)
    with pytest.raises(ValueError, match=r"image batch has shape \(4, 1, 3, 3\), expected \(batch, 1, 2, 2\)"):
        model.train_step(lambda: torch.zeros(4, 1, 3, 3), GaussianLatent(3), torch.Generator())
    with pytest.raises(ValueError, match="has dimension 5, but the generator takes latent_dim=3"):
        model.sample(2, GaussianLatent(5), torch.Generator())
    with pytest.raises(ValueError, match=r"image_shape must be \(channels, height, width\)"):
        DDGANConfig(3, image_shape=(8, 8))
    with pytest.raises(ValueError, match="need 0 < beta_min <= beta_max"):
        DDGANConfig(3, image_shape=(1, 8, 8), beta_min=5.0, beta_max=1.0)
    with pytest.raises(ValueError, match="ema_decay must be in"):
        DDGANConfig(3, image_shape=(1, 8, 8), ema_decay=1.0)
