"""A Wasserstein GAN (gradient penalty or weight clipping) whose latent distribution is injected.

The generator is an MLP g: R^{d_z} → R^d and the critic an MLP D: R^d → R without batch norm.
The latent distribution is never part of the model: every call that needs latent samples takes a
distribution object (``sample(n, generator)``, ``dim``, ``name``) and the run's
``torch.Generator``, so a Gaussian, a uniform or a photon-count latent drop in unchanged.

The critic is kept (approximately) 1-Lipschitz either by the gradient penalty of Gulrajani et al.
(the default) or by clipping its weights to ``[-c, c]`` after every update, as in the original
WGAN of Arjovsky et al. — the paper's Table I (App. D) trains with RMSProp, the original WGAN's
optimiser, but does not say which constraint it used, so both are here.

References
----------
Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville, *Improved Training of Wasserstein GANs*,
NeurIPS 2017 (arXiv:1704.00028), Algorithm 1 and eq. (3).
Arjovsky, Chintala, Bottou, *Wasserstein GAN*, ICML 2017 (arXiv:1701.07875), Algorithm 1
(weight clipping, c = 0.01, RMSProp).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from qlatent.checks import adam_betas
from qlatent.models.latent_input import LatentInput, move_optimizer_state
from qlatent.models.mlp import build_mlp, check_activation, check_hidden
from qlatent.models.wgan import critic_update, input_gradients, per_sample_norm

OPTIMIZERS = ("adam", "rmsprop")
CONSTRAINTS = ("gradient-penalty", "weight-clipping")
INITS = ("default", "xavier-uniform")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class WGANGPConfig:
    """Sizes and optimisation settings of a WGAN-GP.

    Parameters
    ----------
    latent_dim, data_dim
        Generator input width d_z and data width d.
    generator_hidden, critic_hidden
        Hidden-layer widths of the two MLPs.
    activation
        Hidden activation of both networks (see :data:`qlatent.models.mlp.ACTIVATIONS`).
    generator_batch_norm
        Batch norm in the generator's hidden layers (never in the critic).
    dropout
        Dropout probability in both networks' hidden layers.
    gp_weight
        λ of the gradient penalty (10 in the reference).
    n_critic
        Critic updates per generator update (5 in the reference).
    lr_generator, lr_critic
        Learning rates (1e-4 in the reference).
    betas
        Adam's (β1, β2): (0, 0.9) in the reference, (0.5, 0.9) also common; unused by RMSProp.
    optimizer
        ``"adam"`` or ``"rmsprop"`` (PyTorch's defaults otherwise: RMSProp α = 0.99, ε = 1e-8).
    constraint
        ``"gradient-penalty"`` (λ = ``gp_weight``) or ``"weight-clipping"`` (every critic weight
        and bias clamped to ``[-clip_value, clip_value]`` after each critic update).
    clip_value
        ``c`` of weight clipping (0.01 in Arjovsky et al.).
    init
        ``"default"`` (PyTorch's) or ``"xavier-uniform"`` (Xavier-uniform weights, zero biases: the
        authors' released mixture code).

    Raises
    ------
    ValueError
        On a non-positive size, rate, ``n_critic`` or ``clip_value``, a negative ``gp_weight``,
        betas outside [0, 1), or an unknown optimizer, constraint or init.
    """

    latent_dim: int
    data_dim: int
    generator_hidden: tuple[int, ...] = (64, 64)
    critic_hidden: tuple[int, ...] = (64, 64)
    activation: str = "leaky_relu"
    generator_batch_norm: bool = False
    dropout: float = 0.0
    gp_weight: float = 10.0
    n_critic: int = 5
    lr_generator: float = 1e-4
    lr_critic: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    optimizer: str = "adam"
    constraint: str = "gradient-penalty"
    clip_value: float = 0.01
    init: str = "default"

    def __post_init__(self) -> None:
        for name, allowed in (("optimizer", OPTIMIZERS), ("constraint", CONSTRAINTS), ("init", INITS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        _positive("clip_value", self.clip_value)
        for name in ("latent_dim", "data_dim", "n_critic"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            _positive(name, value)
        object.__setattr__(self, "generator_hidden", check_hidden("generator_hidden", self.generator_hidden))
        object.__setattr__(self, "critic_hidden", check_hidden("critic_hidden", self.critic_hidden))
        check_activation(self.activation)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.gp_weight >= 0:
            raise ValueError(f"gp_weight must be non-negative, got {self.gp_weight}")
        _positive("lr_generator", self.lr_generator)
        _positive("lr_critic", self.lr_critic)
        object.__setattr__(self, "betas", adam_betas(self.betas))


def make_optimizer(name: str, parameters: Any, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam with ``betas`` or RMSProp (PyTorch defaults) over ``parameters``."""
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr)
    return torch.optim.Adam(parameters, lr=lr, betas=betas)


def xavier_uniform_init(network: torch.nn.Module, seed: int) -> None:
    """Xavier-uniform weights (Glorot & Bengio 2010, eq. 16) and zero biases for every linear layer, seeded."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in network.modules():
            if isinstance(layer, torch.nn.Linear):
                fan_out, fan_in = layer.weight.shape
                bound = (6.0 / (fan_in + fan_out)) ** 0.5
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 2 * bound - bound)
                layer.bias.zero_()


class WGANGP(LatentInput):
    """MLP generator and critic trained with the Wasserstein objective (gradient penalty or weight clipping).

    Parameters
    ----------
    config
        Sizes and optimisation settings.
    seed
        Seed of the weight initialisation. It is applied inside :func:`torch.random.fork_rng`, so
        two models with the same seed have bit-identical weights and the global RNG is left as
        it was.

    Notes
    -----
    One :meth:`train_step` is one iteration of Algorithm 1 of Gulrajani et al.: ``n_critic``
    critic updates on ``E[D(g(z))] − E[D(x)] + λ E[(‖∇D(x̂)‖₂ − 1)²]`` with
    ``x̂ = εx + (1 − ε)g(z)``, ``ε ~ U[0, 1]`` per sample, then one generator update on
    ``−E[D(g(z))]``. With weight clipping the penalty term is absent and the critic's parameters
    are clamped after each of its updates (Arjovsky et al., Algorithm 1). Every random draw (real
    batches, latents, ε) comes from the caller's ``torch.Generator``.
    """

    def __init__(self, config: WGANGPConfig, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.config = config
        self.seed = seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.generator = build_mlp(config.latent_dim, config.data_dim, config.generator_hidden,
                                       config.activation, batch_norm=config.generator_batch_norm,
                                       dropout=config.dropout)
            self.critic = build_mlp(config.data_dim, 1, config.critic_hidden, config.activation,
                                    dropout=config.dropout)
        if config.init == "xavier-uniform":
            for network in (self.generator, self.critic):
                xavier_uniform_init(network, seed)
        self.opt_generator = make_optimizer(config.optimizer, self.generator.parameters(), config.lr_generator,
                                            config.betas)
        self.opt_critic = make_optimizer(config.optimizer, self.critic.parameters(), config.lr_critic, config.betas)
        self.device = torch.device("cpu")

    @property
    def latent_dim(self) -> int:
        """Input width of the generator."""
        return self.config.latent_dim

    def to(self, device: str | torch.device) -> WGANGP:
        """Move both networks (and any optimiser state) to ``device``; returns ``self``."""
        self.device = torch.device(device)
        self.generator.to(self.device)
        self.critic.to(self.device)
        for optimizer in (self.opt_generator, self.opt_critic):
            move_optimizer_state(optimizer, self.device)
        return self

    def _check_real(self, real: torch.Tensor) -> None:
        if real.ndim != 2 or real.shape[1] != self.config.data_dim:
            raise ValueError(f"real batch has shape {tuple(real.shape)}, expected (batch, {self.config.data_dim})")

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``E[(‖∇_x̂ D(x̂)‖₂ − 1)²]`` on random interpolates of ``real`` and ``fake`` (eq. 3).

        The gradient is that of the critic's scalar output with respect to its input, one norm
        per sample. A critic whose input gradient is exactly zero (flat, saturated or constant)
        gives the penalty 1 with finite parameter gradients.
        """
        eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator).to(real.device)
        x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
        (grad,) = input_gradients(self.critic(x_hat), (x_hat,))
        return ((per_sample_norm(grad) - 1.0) ** 2).mean()

    def train_step(self, draw_batch: Callable[[], torch.Tensor], latent: Any,
                   generator: torch.Generator) -> dict[str, float]:
        """One generator update after ``n_critic`` critic updates.

        Parameters
        ----------
        draw_batch
            Returns a fresh real batch of shape (batch, data_dim) on the model's device.
        latent
            The latent distribution (``sample(n, generator)``, ``dim``, ``name``).
        generator
            The run's random generator; every draw of this step comes from it.

        Returns
        -------
        dict
            ``critic_loss``, ``wasserstein`` (E[D(x)] − E[D(g(z))]) and ``gradient_penalty``
            averaged over the critic updates, and ``generator_loss``.
        """
        self.generator.train()
        self.critic.train()
        self.critic.requires_grad_(True)
        critic_losses, distances, penalties = [], [], []
        clipping = self.config.constraint == "weight-clipping"
        for _ in range(self.config.n_critic):
            real = draw_batch()
            self._check_real(real)
            with torch.no_grad():
                fake = self.generator(self._latents(real.shape[0], latent, generator))
            distance = self.critic(real).mean() - self.critic(fake).mean()
            if clipping:
                penalty = torch.zeros((), device=real.device)
                critic_losses.append(critic_update(self.opt_critic, distance, penalty, 0.0))
                with torch.no_grad():
                    for parameter in self.critic.parameters():
                        parameter.clamp_(-self.config.clip_value, self.config.clip_value)
            else:
                penalty = self.gradient_penalty(real, fake, generator)
                critic_losses.append(critic_update(self.opt_critic, distance, penalty, self.config.gp_weight))
            distances.append(distance.detach())
            penalties.append(penalty.detach())
        self.critic.requires_grad_(False)
        generator_loss = -self.critic(self.generator(self._latents(real.shape[0], latent, generator))).mean()
        self.opt_generator.zero_grad(set_to_none=True)
        generator_loss.backward()
        self.opt_generator.step()
        self.critic.requires_grad_(True)
        values = torch.stack([torch.stack(critic_losses).mean(), torch.stack(distances).mean(),
                              torch.stack(penalties).mean(), generator_loss.detach()]).tolist()
        return dict(zip(("critic_loss", "wasserstein", "gradient_penalty", "generator_loss"), values))

    @torch.no_grad()
    def sample(self, n: int, latent: Any, generator: torch.Generator, batch_size: int = 4096) -> torch.Tensor:
        """Draw ``n`` generated points g(z), z ~ ``latent``, as a float32 CPU tensor (n, data_dim).

        The generator runs in evaluation mode (dropout off, batch norm on running statistics);
        its previous mode is restored afterwards.
        """
        for name, value in (("n", n), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.check_latent(latent)
        was_training = self.generator.training
        self.generator.eval()
        try:
            chunks = [self.generator(self._latents(min(batch_size, n - start), latent, generator)).cpu()
                      for start in range(0, n, batch_size)]
        finally:
            self.generator.train(was_training)
        return torch.cat(chunks)

    def state_dict(self) -> dict[str, Any]:
        """Weights and optimiser states of both networks."""
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_generator": self.opt_generator.state_dict(), "opt_critic": self.opt_critic.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_generator.load_state_dict(state["opt_generator"])
        self.opt_critic.load_state_dict(state["opt_critic"])

    def describe(self) -> dict[str, Any]:
        """Everything that defines the model, for the run manifest."""
        model = "wgan-clip" if self.config.constraint == "weight-clipping" else "wgan-gp"
        return {"model": model, "init_seed": self.seed, **asdict(self.config)}
