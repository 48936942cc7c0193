"""Conditional flow matching from an arbitrary source: any latent distribution can be the flow's start.

A flow-matching model learns a velocity field ``v_θ(t, x)`` whose ODE ``dx/dt = v_θ(t, x)``
carries the source distribution at ``t = 0`` onto the data at ``t = 1``. Its training objective
needs only *samples* of the source, so the caller supplies ``x0`` — here drawn from the injected
latent distribution (Gaussian, Bernoulli, or photon counts) — and nothing assumes a Gaussian.

Objective (Tong et al. 2024, sec. 3.2–3.3; Lipman et al. 2023, eq. 9 and sec. 4.1)::

    (x0, x1) ~ π(x0, x1)                 coupling: independent, or mini-batch optimal transport
    t ~ U[0, 1],  ε ~ N(0, I)
    x_t = (1 − t) x0 + t x1 + σ ε        the Gaussian path around the straight line, constant σ
    u_t = x1 − x0                        its conditional velocity (σ constant, so no σ' term)
    L(θ) = E ‖v_θ(t, x_t) − u_t‖²        per-sample squared norm, averaged over the batch

With the independent coupling this is I-CFM, with the exact mini-batch OT plan (POT's
``ot.emd`` on squared Euclidean costs) OT-CFM. Lipman's own path ``(1 − (1 − σ_min) t) x0 + t x1``
with target ``x1 − (1 − σ_min) x0`` is derived for a standard Gaussian source; it is deliberately
not offered.

Photon counts are not a continuous density. Before a latent sample becomes the source ``x0`` it
goes through :class:`SourceMap`, each step an option of :class:`SourceConfig`:

1. *dequantisation*: Gaussian or uniform noise added to every coordinate (a flow is a
   diffeomorphism: from a finite set of source points it can only reach a finite set of outputs);
2. *standardisation*: per-coordinate mean 0 and standard deviation 1, statistics fitted on
   ``n_fit`` source samples at the first training step and saved with the model;
3. a *linear map* from the latent size to the data size: ``"none"`` (sizes must agree),
   ``"fixed"`` (a seeded random matrix with orthonormal rows), ``"pca"`` (the principal axes of
   the fitted samples, whitened) or ``"learned"`` (a matrix with orthonormal rows trained with the
   velocity field; an unconstrained learned map would shrink the source to a point, where the
   loss is zero and the model useless).

A linear map cannot raise dimension: a latent smaller than the data would put the source on a
subspace, which no flow leaves, so that combination is refused.

Sampling integrates the learned ODE from ``t = 0`` to ``1``: fixed-step Euler, midpoint or RK4,
or an adaptive Dormand–Prince solver from :mod:`torchdiffeq` (:func:`integrate`).

References
----------
- Lipman, Chen, Ben-Hamu, Nickel, Le, *Flow Matching for Generative Modeling*, ICLR 2023
  (arXiv:2210.02747).
- Tong, Fatras, Malkin, Huguet, Zhang, Rector-Brooks, Wolf, Bengio, *Improving and generalizing
  flow-based generative models with minibatch optimal transport*, TMLR 2024 (arXiv:2302.00482).
- Theis, van den Oord, Bethge, *A note on the evaluation of generative models*, ICLR 2016
  (dequantisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from qlatent.models.latent_input import LatentInput, move_optimizer_state
from qlatent.models.mlp import build_mlp, check_activation, check_hidden

COUPLINGS = ("independent", "ot")
PROJECTIONS = ("none", "fixed", "pca", "learned")
DEQUANTIZATIONS = ("none", "gaussian", "uniform")
FIXED_STEP_METHODS = ("euler", "midpoint", "rk4")
ADAPTIVE_METHODS = ("dopri5", "bosh3", "adaptive_heun")
SOLVERS = FIXED_STEP_METHODS + ADAPTIVE_METHODS


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


@dataclass(frozen=True)
class SourceConfig:
    """How latent samples become the flow's source ``x0`` (see the module docstring).

    Parameters
    ----------
    dequantization
        ``"none"``, ``"gaussian"`` (noise of standard deviation ``noise_scale``) or ``"uniform"``
        (noise uniform on ``[0, noise_scale)``, the classic dequantisation of integers with scale 1).
    noise_scale
        Scale of the dequantisation noise, in latent units (counts: photons).
    standardize
        Per-coordinate standardisation with statistics of ``n_fit`` dequantised samples.
    projection
        ``"none"``, ``"fixed"``, ``"pca"`` or ``"learned"``: the linear map to the data size.
    n_fit
        Samples drawn (from the run's generator, at the first step) to fit the statistics.

    Raises
    ------
    ValueError
        On an unknown option, a negative or non-finite ``noise_scale``, noise without a kind or a
        kind without noise, or a non-positive ``n_fit``.
    """

    dequantization: str = "gaussian"
    noise_scale: float = 0.1
    standardize: bool = True
    projection: str = "fixed"
    n_fit: int = 10_000

    def __post_init__(self) -> None:
        _choice("dequantization", self.dequantization, DEQUANTIZATIONS)
        _choice("projection", self.projection, PROJECTIONS)
        if not isinstance(self.standardize, bool):
            raise TypeError(f"standardize must be a bool, got {type(self.standardize).__name__}")
        if not math.isfinite(self.noise_scale) or self.noise_scale < 0:
            raise ValueError(f"noise_scale must be finite and non-negative, got {self.noise_scale}")
        if (self.dequantization == "none") != (self.noise_scale == 0):
            raise ValueError(f"dequantization={self.dequantization!r} with noise_scale={self.noise_scale}: "
                             "use dequantization='none' exactly when noise_scale is 0")
        _positive_int("n_fit", self.n_fit)
        object.__setattr__(self, "noise_scale", float(self.noise_scale))


def check_sizes(latent_dim: int, data_dim: int, projection: str) -> None:
    """Refuse a latent size and a data size that the chosen linear map cannot reconcile.

    Raises
    ------
    ValueError
        If the latent is smaller than the data (no linear map gives a full-dimensional source),
        or the sizes differ and ``projection`` is ``"none"``.
    """
    if latent_dim < data_dim:
        raise ValueError(f"latent size {latent_dim} is smaller than data size {data_dim}: no option reconciles them. "
                         "A linear map would put the source on a subspace of the data space, and the flow of "
                         "an ODE never leaves it; use a latent with at least as many coordinates as the data")
    if latent_dim != data_dim and projection == "none":
        raise ValueError(f"latent size {latent_dim} differs from data size {data_dim} and projection='none' "
                         "maps nothing; use projection='fixed', 'pca' or 'learned'")


@dataclass(frozen=True)
class FlowMatchingConfig:
    """Sizes, objective and optimisation of a flow-matching model.

    Parameters
    ----------
    latent_dim, data_dim
        Latent size (the source before its linear map) and data size.
    source
        The source pipeline.
    coupling
        ``"independent"`` (I-CFM) or ``"ot"`` (exact mini-batch optimal transport, OT-CFM).
    sigma
        Standard deviation σ of the Gaussian probability path (0: straight lines).
    hidden, activation
        The velocity MLP, input ``(x, t)`` of width ``data_dim + 1``.
    learning_rate
        Adam's learning rate (betas 0.9, 0.999).

    Raises
    ------
    ValueError
        On sizes no projection reconciles (:func:`check_sizes`), an unknown coupling or
        activation, a negative σ or a non-positive learning rate.
    """

    latent_dim: int
    data_dim: int
    source: SourceConfig = field(default_factory=SourceConfig)
    coupling: str = "ot"
    sigma: float = 0.0
    hidden: tuple[int, ...] = (64, 64, 64)
    activation: str = "silu"
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        _positive_int("latent_dim", self.latent_dim)
        _positive_int("data_dim", self.data_dim)
        if not isinstance(self.source, SourceConfig):
            raise TypeError(f"source must be a SourceConfig, got {type(self.source).__name__}")
        check_sizes(self.latent_dim, self.data_dim, self.source.projection)
        _choice("coupling", self.coupling, COUPLINGS)
        if not math.isfinite(self.sigma) or self.sigma < 0:
            raise ValueError(f"sigma must be finite and non-negative, got {self.sigma}")
        object.__setattr__(self, "hidden", check_hidden("hidden", self.hidden))
        check_activation(self.activation)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")


def conditional_path(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor, sigma: float,
                     noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A point ``x_t`` of the Gaussian path between paired ``x0`` and ``x1``, and its target velocity.

    ``x_t = (1 − t) x0 + t x1 + σ ε`` and ``u_t = x1 − x0`` (Tong et al. 2024, eqs. 14–15 with
    constant σ). Shapes: ``x0``, ``x1``, ``noise`` (n, d); ``t`` (n, 1) or (n,).
    """
    t = t.reshape(-1, *([1] * (x0.ndim - 1)))
    return (1.0 - t) * x0 + t * x1 + sigma * noise, x1 - x0


def ot_plan(x0: torch.Tensor, x1: torch.Tensor) -> np.ndarray:
    """The exact optimal-transport plan between two uniform empirical batches, squared Euclidean cost.

    Returns a (n0, n1) float64 array whose rows sum to 1/n0 and columns to 1/n1 (POT ``ot.emd``).
    """
    import ot

    a = np.full(x0.shape[0], 1.0 / x0.shape[0])
    b = np.full(x1.shape[0], 1.0 / x1.shape[0])
    cost = torch.cdist(x0.detach().double().cpu(), x1.detach().double().cpu()).pow(2).numpy()
    return ot.emd(a, b, cost / max(cost.max(), 1e-300))


def ot_pairs(x0: torch.Tensor, x1: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs drawn from the mini-batch OT plan (Tong et al. 2024, Algorithm 2).

    When the plan is a permutation (equal batch sizes, where the exact plan is a vertex of the
    Birkhoff polytope), every ``x0`` keeps its partner; otherwise ``n0`` pairs are drawn from the
    plan with ``generator``.
    """
    if not (bool(torch.isfinite(x0).all()) and bool(torch.isfinite(x1).all())):
        return x0, x1  # no plan exists; the loss is not finite and training stops on it
    plan = ot_plan(x0, x1)
    n0 = x0.shape[0]
    if plan.shape[0] == plan.shape[1] and np.allclose(plan.max(axis=1), 1.0 / n0):
        partner = torch.as_tensor(plan.argmax(axis=1), device=x1.device)
        return x0, x1[partner]
    flat = torch.as_tensor(plan.ravel(), dtype=torch.float64)
    index = torch.multinomial(flat, n0, replacement=True, generator=generator)
    rows, cols = (index // plan.shape[1]).to(x0.device), (index % plan.shape[1]).to(x1.device)
    return x0[rows], x1[cols]


def integrate(velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x0: torch.Tensor,
              method: str = "rk4", n_steps: int = 50, rtol: float = 1e-5, atol: float = 1e-5,
              t0: float = 0.0, t1: float = 1.0) -> torch.Tensor:
    """Integrate ``dx/dt = velocity(t, x)`` from ``t0`` to ``t1`` starting at ``x0``.

    Parameters
    ----------
    velocity
        ``velocity(t, x)`` with ``t`` a 0-d tensor and ``x`` of the shape of ``x0``.
    x0
        Initial states, shape (n, d).
    method
        Fixed step: ``"euler"``, ``"midpoint"`` or ``"rk4"`` (``n_steps`` equal steps; global
        error O(h), O(h²), O(h⁴)); adaptive (:func:`torchdiffeq.odeint`): ``"dopri5"``,
        ``"bosh3"``, ``"adaptive_heun"`` with tolerances ``rtol``, ``atol``.
    n_steps
        Steps of a fixed-step method (ignored by adaptive ones).

    Returns
    -------
    torch.Tensor
        States at ``t1``, shape of ``x0``.

    Raises
    ------
    ValueError
        On an unknown method, a non-positive ``n_steps`` or tolerance.
    """
    _choice("method", method, SOLVERS)
    n_steps = _positive_int("n_steps", n_steps)
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be positive, got {rtol}, {atol}")
    if method in ADAPTIVE_METHODS:
        from torchdiffeq import odeint

        times = torch.tensor([t0, t1], dtype=x0.dtype, device=x0.device)
        return odeint(velocity, x0, times, method=method, rtol=rtol, atol=atol)[-1]
    h = (t1 - t0) / n_steps
    x = x0
    for k in range(n_steps):
        t = torch.tensor(t0 + k * h, dtype=x0.dtype, device=x0.device)
        if method == "euler":
            x = x + h * velocity(t, x)
        elif method == "midpoint":
            x = x + h * velocity(t + h / 2, x + (h / 2) * velocity(t, x))
        else:
            k1 = velocity(t, x)
            k2 = velocity(t + h / 2, x + (h / 2) * k1)
            k3 = velocity(t + h / 2, x + (h / 2) * k2)
            k4 = velocity(t + h, x + h * k3)
            x = x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


class SourceMap(nn.Module):
    """Latent samples → the flow's source ``x0``: dequantise, standardise, map to the data size.

    The statistics (mean, standard deviation, principal axes) are buffers, so they travel with the
    model's state; :meth:`fit` sets them once from source samples.
    """

    def __init__(self, latent_dim: int, data_dim: int, config: SourceConfig) -> None:
        super().__init__()
        self.config = config
        self.latent_dim, self.data_dim = latent_dim, data_dim
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("mean", torch.zeros(latent_dim))
        self.register_buffer("std", torch.ones(latent_dim))
        self.register_buffer("matrix", torch.eye(data_dim, latent_dim))
        if config.projection == "fixed":
            gaussian = torch.randn(latent_dim, data_dim, dtype=torch.float64)
            q, r = torch.linalg.qr(gaussian)  # orthonormal columns; sign fix makes it Haar-distributed
            self.matrix.copy_((q * torch.sign(torch.diagonal(r))).T.float())
        self.learned = None
        if config.projection == "learned":
            from torch.nn.utils.parametrizations import orthogonal

            self.learned = orthogonal(nn.Linear(latent_dim, data_dim, bias=False))

    def dequantize(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Add the configured noise, drawn from ``generator`` on the CPU."""
        kind, scale = self.config.dequantization, self.config.noise_scale
        if kind == "none":
            return z
        draw = torch.randn if kind == "gaussian" else torch.rand
        return z + scale * draw(z.shape, generator=generator).to(z.device)

    @torch.no_grad()
    def fit(self, z: torch.Tensor, generator: torch.Generator) -> None:
        """Fit the standardisation and the principal axes on latent samples ``z`` (n, latent_dim)."""
        values = self.dequantize(z, generator).double()
        if self.config.standardize:
            std = values.std(dim=0, unbiased=False)
            self.mean.copy_(values.mean(dim=0).float())
            self.std.copy_(torch.where(std > 0, std, torch.ones_like(std)).float())
        if self.config.projection == "pca":
            centred = (values - self.mean.double()) / self.std.double()
            centred = centred - centred.mean(dim=0)
            eigenvalues, eigenvectors = torch.linalg.eigh(centred.T @ centred / centred.shape[0])
            top = torch.argsort(eigenvalues, descending=True)[: self.data_dim]
            if eigenvalues[top].min() <= 1e-12 * max(float(eigenvalues.max()), 1e-300):
                raise ValueError(f"the source has fewer than {self.data_dim} directions of non-zero variance; "
                                 "projection='pca' cannot whiten it (add dequantisation noise)")
            self.matrix.copy_((eigenvectors[:, top] / eigenvalues[top].sqrt()).T.float())
        self.fitted.fill_(True)

    def forward(self, z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if not bool(self.fitted):
            raise RuntimeError("the source map is not fitted yet: train at least one step (or call fit_source)")
        x = (self.dequantize(z, generator) - self.mean) / self.std
        if self.learned is not None:
            return self.learned(x)
        if self.config.projection == "none":
            return x
        return x @ self.matrix.T


class FlowMatching(LatentInput):
    """Velocity MLP trained by conditional flow matching from an injected latent source.

    Parameters
    ----------
    config
        Sizes, source pipeline, coupling and optimisation.
    seed
        Seed of the initial weights and of the fixed projection (applied under
        :func:`torch.random.fork_rng`, so the global RNG is left as it was).

    Notes
    -----
    One :meth:`train_step` draws a data batch ``x1`` and as many latent samples, maps them to
    ``x0`` (:class:`SourceMap`; at the first step it is fitted on ``n_fit`` extra samples), pairs
    them by the coupling, and takes one Adam step on the CFM loss. Every random draw comes from
    the run's generator.
    """

    def __init__(self, config: FlowMatchingConfig, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.config, self.seed = config, seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.velocity = build_mlp(config.data_dim + 1, config.data_dim, config.hidden, config.activation)
            self.source = SourceMap(config.latent_dim, config.data_dim, config.source)
        self.optimizer = torch.optim.Adam(list(self.velocity.parameters()) + list(self.source.parameters()),
                                          lr=config.learning_rate)
        self.device = torch.device("cpu")
        self.last_nfe = 0

    @property
    def latent_dim(self) -> int:
        """The latent size the source map takes."""
        return self.config.latent_dim

    def to(self, device: str | torch.device) -> FlowMatching:
        """Move the networks, buffers and optimiser state to ``device``; returns ``self``."""
        self.device = torch.device(device)
        self.velocity.to(self.device)
        self.source.to(self.device)
        move_optimizer_state(self.optimizer, self.device)
        return self

    def field(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The learned velocity ``v_θ(t, x)``; ``t`` a 0-d tensor or one time per row."""
        t = t.to(x.dtype).reshape(-1, 1).expand(x.shape[0], 1)
        return self.velocity(torch.cat([x, t], dim=1))

    def fit_source(self, latent: Any, generator: torch.Generator) -> None:
        """Fit the source map's statistics on ``n_fit`` samples of ``latent``."""
        self.check_latent(latent)
        self.source.fit(self._latents(self.config.source.n_fit, latent, generator), generator)

    def draw_source(self, n: int, latent: Any, generator: torch.Generator) -> torch.Tensor:
        """``n`` source points ``x0`` of shape (n, data_dim) on the model's device."""
        return self.source(self._latents(n, latent, generator), generator)

    def loss(self, x0: torch.Tensor, x1: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The CFM loss on one batch: couple, draw ``t`` and ε from ``generator``, regress the velocity."""
        if self.config.coupling == "ot":
            x0, x1 = ot_pairs(x0, x1, generator)
        t = torch.rand(x1.shape[0], 1, generator=generator).to(x1.device)
        noise = torch.randn(x1.shape, generator=generator).to(x1.device)
        xt, ut = conditional_path(x0, x1, t, self.config.sigma, noise)
        return (self.field(t, xt) - ut).pow(2).sum(dim=1).mean()

    def train_step(self, draw_batch: Callable[[], torch.Tensor], latent: Any,
                   generator: torch.Generator) -> dict[str, float]:
        """One Adam step on the CFM loss; returns ``{"cfm_loss": value}``."""
        self.velocity.train()
        if not bool(self.source.fitted):
            self.fit_source(latent, generator)
        x1 = draw_batch()
        if x1.ndim != 2 or x1.shape[1] != self.config.data_dim:
            raise ValueError(f"data batch has shape {tuple(x1.shape)}, expected (batch, {self.config.data_dim})")
        loss = self.loss(self.draw_source(x1.shape[0], latent, generator), x1, generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"cfm_loss": float(loss.detach())}

    @torch.no_grad()
    def sample(self, n: int, latent: Any, generator: torch.Generator, method: str = "rk4", n_steps: int = 50,
               rtol: float = 1e-5, atol: float = 1e-5, batch_size: int = 8192) -> torch.Tensor:
        """``n`` generated points: source draws pushed through the learned ODE from t = 0 to 1.

        Returns a float32 CPU tensor (n, data_dim); :attr:`last_nfe` holds the number of velocity
        evaluations per point. See :func:`integrate` for ``method``, ``n_steps``, ``rtol``, ``atol``.
        """
        n, batch_size = _positive_int("n", n), _positive_int("batch_size", batch_size)
        self.check_latent(latent)
        self.velocity.eval()
        evaluations = 0

        def counted(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            nonlocal evaluations
            evaluations += 1
            return self.field(t, x)

        chunks = []
        for start in range(0, n, batch_size):
            x0 = self.draw_source(min(batch_size, n - start), latent, generator)
            chunks.append(integrate(counted, x0, method, n_steps, rtol, atol).cpu())
        self.last_nfe = evaluations // len(chunks)
        self.velocity.train()
        return torch.cat(chunks).float()

    def state_dict(self) -> dict[str, Any]:
        """Velocity weights, source statistics (and learned map), optimiser state."""
        return {"velocity": self.velocity.state_dict(), "source": self.source.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.velocity.load_state_dict(state["velocity"])
        self.source.load_state_dict(state["source"])
        self.optimizer.load_state_dict(state["optimizer"])

    def describe(self) -> dict[str, Any]:
        """Everything that defines the model, for the run manifest."""
        return {"model": "flow-matching", "init_seed": self.seed, **asdict(self.config)}
