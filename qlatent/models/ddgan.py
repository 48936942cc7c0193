"""A denoising-diffusion GAN (DDGAN) whose generator latent ``z`` is injected, never hard-coded.

A DDGAN (Xiao et al. 2022) runs a diffusion with only a few denoising steps ``T`` (2–4). The
forward process adds Gaussian noise, ``q(x_k | x_{k−1}) = N(√(1 − β_k) x_{k−1}, β_k I)``, so that
``q(x_k | x_0) = N(√ᾱ_k x_0, (1 − ᾱ_k) I)`` with ``ᾱ_k = ∏_{j≤k} (1 − β_j)``. With so few steps
the true denoising distribution ``q(x_{k−1} | x_k)`` is far from Gaussian, so it is modelled
implicitly: a generator ``G(x_k, k, z)`` predicts a clean sample ``x_0'`` from the noisy one, the
time and a latent ``z``, and ``x_{k−1}`` is drawn from the Gaussian posterior
``q(x_{k−1} | x_k, x_0')`` (:meth:`DiffusionSchedule.posterior`). A time-conditioned
discriminator ``D(x_{k−1}, k, x_k)`` tells real pairs of the forward process from generated ones;
both are trained with the non-saturating GAN loss and an R1 penalty on real data
(Xiao et al., eqs. 4–8 and Algorithm 1 of the appendix).

The latent ``z`` is the only place a latent distribution enters: the starting noise ``x_T`` is the
diffusion's own ``N(0, I)`` (the forward process's limit) whatever ``z`` is. So a quantum latent
changes the generator's source of stochasticity, exactly as in a GAN.

Noise schedule: the discretised variance-preserving SDE of Xiao et al. (their ``var_func_vp``):
``ᾱ(t) = exp(−½ t² (β_max − β_min) − t β_min)`` at ``t_k = ε + (1 − ε) k / T`` with ε = 10⁻³,
``β_k = 1 − ᾱ(t_k) / ᾱ(t_{k−1})``; CIFAR-10 used ``T = 4``, ``β_min = 0.1``, ``β_max = 20``.

The networks here are MLPs on flattened images (sizes are ours, for 8×8 digits on a CPU); the
paper's DDGAN for CIFAR-10 used Xiao et al.'s NCSN++ U-Net, whose settings it does not report.

References
----------
Xiao, Kreis, Vahdat, *Tackling the Generative Learning Trilemma with Denoising Diffusion GANs*,
ICLR 2022 (arXiv:2112.07804). Ho, Jain, Abbeel, *Denoising Diffusion Probabilistic Models*,
NeurIPS 2020, eqs. 6–7 (the posterior).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from qlatent.checks import adam_betas
from qlatent.models.latent_input import LatentInput, move_optimizer_state
from qlatent.models.mlp import build_mlp, check_activation, check_hidden
from qlatent.models.wgan import input_gradients


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def vp_betas(n_timesteps: int, beta_min: float = 0.1, beta_max: float = 20.0, eps: float = 1e-3) -> torch.Tensor:
    """The ``T`` noise levels β_1 … β_T of the discretised VP-SDE (Xiao et al., appendix), float64.

    Raises
    ------
    ValueError
        If ``n_timesteps`` < 1, ``0 < beta_min <= beta_max`` fails or ``eps`` is not in (0, 1).
    """
    _positive_int("n_timesteps", n_timesteps)
    if not 0 < beta_min <= beta_max:
        raise ValueError(f"need 0 < beta_min <= beta_max, got {beta_min}, {beta_max}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    t = eps + (1 - eps) * torch.arange(n_timesteps + 1, dtype=torch.float64) / n_timesteps
    alpha_bar = torch.exp(-0.5 * t**2 * (beta_max - beta_min) - t * beta_min)
    return 1 - alpha_bar[1:] / alpha_bar[:-1]


class DiffusionSchedule:
    """Forward process, pairs and posterior of a ``T``-step Gaussian diffusion with given β_1 … β_T.

    Levels are ``k = 0 … T`` (``k = 0`` the data); methods taking ``k`` take one level per sample,
    an int64 tensor of shape (n,) with values in 1 … T.
    """

    def __init__(self, betas: torch.Tensor) -> None:
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or len(betas) == 0 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(f"betas must be a non-empty 1-D sequence in (0, 1), got {betas.tolist()}")
        self.betas = betas
        self.alphas = 1 - betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)
        self.alpha_bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]])

    @property
    def n_timesteps(self) -> int:
        return len(self.betas)

    def _at(self, values: torch.Tensor, k: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[k − 1]`` per sample, shaped to broadcast against ``like``."""
        picked = values.to(like.device)[k.to(like.device) - 1].to(like.dtype)
        return picked.reshape(-1, *([1] * (like.ndim - 1)))

    def q_sample(self, x0: torch.Tensor, k: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_k = √ᾱ_k x_0 + √(1 − ᾱ_k) ε`` (a draw of ``q(x_k | x_0)`` given the noise ε)."""
        return self._at(self.alpha_bars.sqrt(), k, x0) * x0 + self._at((1 - self.alpha_bars).sqrt(), k, x0) * noise

    def q_pair(self, x0: torch.Tensor, k: torch.Tensor,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A forward pair ``(x_{k−1}, x_k)``: ``x_{k−1} ~ q(x_{k−1} | x_0)``, then one noising step."""
        first = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
        second = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
        scale_prev = self._at(self.alpha_bars_prev.sqrt(), k, x0)
        previous = scale_prev * x0 + self._at((1 - self.alpha_bars_prev).sqrt(), k, x0) * first
        current = self._at(self.alphas.sqrt(), k, x0) * previous + self._at(self.betas.sqrt(), k, x0) * second
        return previous, current

    def posterior(self, x0: torch.Tensor, xk: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of ``q(x_{k−1} | x_k, x_0) = N(μ̃, β̃ I)`` (Ho et al. 2020, eq. 7).

        ``μ̃ = √ᾱ_{k−1} β_k / (1 − ᾱ_k) · x_0 + √α_k (1 − ᾱ_{k−1}) / (1 − ᾱ_k) · x_k`` and
        ``β̃ = (1 − ᾱ_{k−1}) / (1 − ᾱ_k) · β_k``; the variance is zero at ``k = 1``.
        """
        denominator = 1 - self.alpha_bars
        coef_x0 = self.alpha_bars_prev.sqrt() * self.betas / denominator
        coef_xk = self.alphas.sqrt() * (1 - self.alpha_bars_prev) / denominator
        variance = (1 - self.alpha_bars_prev) / denominator * self.betas
        mean = self._at(coef_x0, k, x0) * x0 + self._at(coef_xk, k, xk) * xk
        return mean, self._at(variance, k, xk).expand_as(xk)

    def posterior_sample(self, x0: torch.Tensor, xk: torch.Tensor, k: torch.Tensor,
                         generator: torch.Generator) -> torch.Tensor:
        """A draw of ``q(x_{k−1} | x_k, x_0)``, noise from ``generator``."""
        mean, variance = self.posterior(x0, xk, k)
        noise = torch.randn(xk.shape, generator=generator).to(xk.device, xk.dtype)
        return mean + variance.sqrt() * noise


@dataclass(frozen=True)
class DDGANConfig:
    """Sizes, schedule and optimisation of a DDGAN.

    Parameters
    ----------
    latent_dim
        Width of the generator's latent ``z``.
    image_shape
        (channels, height, width) of the data.
    n_timesteps
        Denoising steps T (Xiao et al.: 4 for CIFAR-10, 2 for 2-D toy data).
    beta_min, beta_max
        VP-SDE noise range (:func:`vp_betas`).
    generator_hidden, discriminator_hidden
        Hidden widths of the two MLPs.
    time_embedding
        Width of the learned embedding of the level ``k`` fed to both networks.
    activation
        Hidden activation of both networks.
    r1_gamma
        γ of the R1 penalty ``γ/2 · E‖∇_{x_{k−1}} D‖²`` on real pairs (0.05 for CIFAR-10).
    lr_generator, lr_discriminator, betas
        Adam settings (Xiao et al. for CIFAR-10: 1.6e-4, 1.25e-4, (0.5, 0.9)).
    ema_decay
        Decay of an exponential moving average of the generator's weights, used for sampling
        (Xiao et al.: 0.9999 for CIFAR-10); 0 samples with the trained weights themselves.

    Raises
    ------
    ValueError
        On a non-positive size, rate or step count, a negative ``r1_gamma`` or betas outside [0, 1).
    """

    latent_dim: int
    image_shape: tuple[int, int, int]
    n_timesteps: int = 4
    beta_min: float = 0.1
    beta_max: float = 20.0
    generator_hidden: tuple[int, ...] = (256, 256)
    discriminator_hidden: tuple[int, ...] = (256, 256)
    time_embedding: int = 16
    activation: str = "leaky_relu"
    r1_gamma: float = 0.05
    lr_generator: float = 1.6e-4
    lr_discriminator: float = 1.25e-4
    betas: tuple[float, float] = (0.5, 0.9)
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        for name in ("latent_dim", "n_timesteps", "time_embedding"):
            _positive_int(name, getattr(self, name))
        shape = tuple(self.image_shape)
        if len(shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {self.image_shape}")
        for i, size in enumerate(shape):
            _positive_int(f"image_shape[{i}]", size)
        object.__setattr__(self, "image_shape", shape)
        vp_betas(self.n_timesteps, self.beta_min, self.beta_max)
        object.__setattr__(self, "generator_hidden", check_hidden("generator_hidden", self.generator_hidden))
        object.__setattr__(self, "discriminator_hidden",
                           check_hidden("discriminator_hidden", self.discriminator_hidden))
        check_activation(self.activation)
        if not self.r1_gamma >= 0:
            raise ValueError(f"r1_gamma must be non-negative, got {self.r1_gamma}")
        for name in ("lr_generator", "lr_discriminator"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        object.__setattr__(self, "betas", adam_betas(self.betas))

    @property
    def data_dim(self) -> int:
        return math.prod(self.image_shape)


class _TimeConditioned(nn.Module):
    """An MLP on ``[inputs…, embedding(k)]``; ``k`` in 1 … T."""

    def __init__(self, in_dim: int, out_dim: int, hidden: tuple[int, ...], activation: str, n_timesteps: int,
                 embedding: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_timesteps, embedding)
        self.net = build_mlp(in_dim + embedding, out_dim, hidden, activation)

    def forward(self, k: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([*inputs, self.embedding(k - 1)], dim=1))


class DDGAN(LatentInput):
    """Denoising-diffusion GAN with MLP generator and discriminator, latent injected at each step.

    Parameters
    ----------
    config
        Sizes, schedule and optimisation.
    seed
        Seed of the initial weights (applied under :func:`torch.random.fork_rng`).

    Notes
    -----
    One :meth:`train_step` is one iteration of Xiao et al.'s Algorithm 1: a discriminator update on
    ``softplus(−D(x_{k−1}, k, x_k)) + softplus(D(x'_{k−1}, k, x_k)) + γ/2 ‖∇D(real)‖²`` and a
    generator update on ``softplus(−D(x'_{k−1}, k, x_k))``, with fresh levels, pairs and latents,
    ``x'_{k−1} ~ q(x_{k−1} | x_k, G(x_k, k, z))``. Every random draw comes from the run's generator.
    """

    def __init__(self, config: DDGANConfig, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.config, self.seed = config, seed
        self.schedule = DiffusionSchedule(vp_betas(config.n_timesteps, config.beta_min, config.beta_max))
        d = config.data_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.generator = _TimeConditioned(d + config.latent_dim, d, config.generator_hidden, config.activation,
                                              config.n_timesteps, config.time_embedding)
            self.discriminator = _TimeConditioned(2 * d, 1, config.discriminator_hidden, config.activation,
                                                  config.n_timesteps, config.time_embedding)
        self.ema = copy.deepcopy(self.generator).requires_grad_(False) if config.ema_decay > 0 else None
        self.opt_generator = torch.optim.Adam(self.generator.parameters(), lr=config.lr_generator, betas=config.betas)
        self.opt_discriminator = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_discriminator,
                                                  betas=config.betas)
        self.device = torch.device("cpu")

    @property
    def latent_dim(self) -> int:
        """Width of the generator's latent input."""
        return self.config.latent_dim

    def to(self, device: str | torch.device) -> DDGAN:
        """Move both networks and the optimiser states to ``device``; returns ``self``."""
        self.device = torch.device(device)
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        if self.ema is not None:
            self.ema.to(self.device)
        for optimizer in (self.opt_generator, self.opt_discriminator):
            move_optimizer_state(optimizer, self.device)
        return self

    def denoise(self, xk: torch.Tensor, k: torch.Tensor, z: torch.Tensor, average: bool = False) -> torch.Tensor:
        """The generator's prediction ``x_0' = tanh(G(x_k, k, z))`` of the clean sample (flat, in [−1, 1]).

        With ``average`` the moving average of the weights is used, when there is one.
        """
        network = self.ema if average and self.ema is not None else self.generator
        return torch.tanh(network(k, xk, z))

    def _levels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(1, self.config.n_timesteps + 1, (n,), generator=generator).to(self.device)

    def _fake_previous(self, xk: torch.Tensor, k: torch.Tensor, latent: Any, generator: torch.Generator,
                       average: bool = False) -> torch.Tensor:
        x0 = self.denoise(xk, k, self._latents(xk.shape[0], latent, generator), average)
        return self.schedule.posterior_sample(x0, xk, k, generator)

    def _flat_batch(self, batch: torch.Tensor) -> torch.Tensor:
        if tuple(batch.shape[1:]) != self.config.image_shape:
            raise ValueError(f"image batch has shape {tuple(batch.shape)}, expected (batch, "
                             f"{', '.join(map(str, self.config.image_shape))})")
        return batch.reshape(batch.shape[0], -1)

    def train_step(self, draw_batch: Callable[[], torch.Tensor], latent: Any,
                   generator: torch.Generator) -> dict[str, float]:
        """One discriminator and one generator update on one real batch.

        Returns
        -------
        dict
            ``discriminator_loss`` (with the penalty), ``r1_penalty``, ``generator_loss``.
        """
        real = self._flat_batch(draw_batch())
        n = real.shape[0]
        self.discriminator.requires_grad_(True)
        k = self._levels(n, generator)
        previous, current = self.schedule.q_pair(real, k, generator)
        previous.requires_grad_(True)
        real_logits = self.discriminator(k, previous, current)
        (gradient,) = input_gradients(real_logits, (previous,))
        penalty = self.config.r1_gamma / 2 * gradient.pow(2).sum(dim=1).mean()
        with torch.no_grad():
            fake_previous = self._fake_previous(current, k, latent, generator)
        discriminator_loss = F.softplus(-real_logits).mean() + \
            F.softplus(self.discriminator(k, fake_previous, current)).mean() + penalty
        self.opt_discriminator.zero_grad(set_to_none=True)
        discriminator_loss.backward()
        self.opt_discriminator.step()

        self.discriminator.requires_grad_(False)
        k = self._levels(n, generator)
        _, current = self.schedule.q_pair(real, k, generator)
        generator_loss = F.softplus(-self.discriminator(k, self._fake_previous(current, k, latent, generator),
                                                        current)).mean()
        self.opt_generator.zero_grad(set_to_none=True)
        generator_loss.backward()
        self.opt_generator.step()
        if self.ema is not None:
            with torch.no_grad():
                for average, weight in zip(self.ema.parameters(), self.generator.parameters()):
                    average.lerp_(weight, 1.0 - self.config.ema_decay)
        self.discriminator.requires_grad_(True)
        values = torch.stack([discriminator_loss.detach(), penalty.detach(), generator_loss.detach()]).tolist()
        return dict(zip(("discriminator_loss", "r1_penalty", "generator_loss"), values))

    @torch.no_grad()
    def sample(self, n: int, latent: Any, generator: torch.Generator, batch_size: int = 4096) -> torch.Tensor:
        """``n`` images: ``x_T ~ N(0, I)``, then ``T`` denoising steps, each with a fresh ``z ~ latent``.

        The generator's moving-average weights are used when ``ema_decay`` > 0.

        Returns a float32 CPU tensor of shape (n, channels, height, width).
        """
        n, batch_size = _positive_int("n", n), _positive_int("batch_size", batch_size)
        self.check_latent(latent)
        chunks = []
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            x = torch.randn(size, self.config.data_dim, generator=generator).to(self.device)
            for level in range(self.config.n_timesteps, 0, -1):
                k = torch.full((size,), level, dtype=torch.int64, device=self.device)
                x = self._fake_previous(x, k, latent, generator, average=True)
            chunks.append(x.cpu())
        return torch.cat(chunks).float().reshape(n, *self.config.image_shape)

    def state_dict(self) -> dict[str, Any]:
        """Weights and optimiser states of both networks."""
        state = {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                 "opt_generator": self.opt_generator.state_dict(),
                 "opt_discriminator": self.opt_discriminator.state_dict()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_generator.load_state_dict(state["opt_generator"])
        self.opt_discriminator.load_state_dict(state["opt_discriminator"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])

    def describe(self) -> dict[str, Any]:
        """Everything that defines the model, for the run manifest."""
        return {"model": "ddgan", "init_seed": self.seed, **asdict(self.config)}
