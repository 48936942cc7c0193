"""MolGAN: a WGAN-GP on padded molecular graphs with an optional reward-network RL term.

The generator maps a latent vector to node logits ``(B, V, T)`` and symmetrised edge logits
``(B, V, V, Y)``: MolGAN's MLP (``generator="molgan"``) or the paper's modification
(``generator="reinjection"``, :class:`ReinjectionGenerator`: widths that never shrink, LeakyReLU,
and an affine map of ``z`` added into every hidden layer, so the hidden map can be inverted by
solving linear systems, :func:`recover_latent`); a categorical relaxation (softmax, Gumbel-softmax or
its straight-through version) turns them into the continuous graph the critic scores. Critic and reward network are
relational graph convolutions with MolGAN's gated sum readout (:mod:`qlatent.models.rgcn`). The
latent distribution is never part of the model: every call that needs latent samples takes a
distribution object (``sample(n, generator)``, ``dim``, ``name``) and the run's
``torch.Generator``, which is also the only source of Gumbel noise and interpolation weights.
The model plugs into :class:`qlatent.training.loop.Trainer`.

Where we differ from the released MolGAN code (``nicola-decao/MolGAN``), and why:

- **Symmetric Gumbel noise.** MolGAN adds independent noise to edge ``(i, j)`` and ``(j, i)``, so a
  sampled adjacency need not be symmetric. We draw one noise value per unordered pair, so relaxed
  and discrete edges are symmetric like the logits.
- **No self-bonds.** The diagonal of the edge tensor is fixed to "no bond" (real graphs have no
  self-bonds); the generator's diagonal logits are not used.
- **Gradient penalty.** By default one gradient norm per sample over nodes and edges together, the
  Lipschitz constraint of Gulrajani et al.; ``gradient_penalty="per_entry"`` is MolGAN's variant (a
  norm per node and per edge slot, each pushed towards 1). Either way it is the gradient of the
  critic's scalar output, at interpolates between real graphs and the relaxed graphs the critic
  scored (MolGAN's code interpolates with the plain softmax whatever the relaxation).
- **Schedule.** One :meth:`MolGAN.train_step` is ``n_critic`` critic updates then one generator
  update (MolGAN alternates 1 generator and ``n_critic − 1`` critic iterations). The generator is
  fixed during the critic updates, so the graphs of all of them are made in one batched pass, from
  latents drawn in the order of one update after another (:data:`ARITHMETIC_VERSION` 2).
- **Omitted**: mini-batch discrimination (it couples the samples of a batch, so the per-sample
  gradient penalty no longer constrains a per-sample function; MolGAN's example script turns it
  off too) and MolGAN's non-adjacency decoders.

References
----------
- De Cao, Kipf, *MolGAN: An implicit generative model for small molecular graphs*,
  arXiv:1805.11973 (2018): sec. 3.1 (generator), 3.2 (critic, WGAN-GP), 3.3 (reward network and
  the mix λ·L_WGAN + (1 − λ)·L_RL, eq. 9).
- Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville, *Improved Training of Wasserstein GANs*,
  NeurIPS 2017 (arXiv:1704.00028), eq. (3).
- Jang, Gu, Poole, *Categorical Reparameterization with Gumbel-Softmax*, ICLR 2017
  (arXiv:1611.01144), eq. (1)-(2) and sec. 2.2 (straight-through).
- Bacarreza et al., *Quantum latent distributions in deep generative models*, arXiv:2508.19857:
  Theorem 1 (an invertible generator with a Lipschitz, efficiently computable inverse keeps a
  hard latent distribution hard) and Appendix E (the modified MolGAN generator).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from qlatent.checks import adam_betas
from qlatent.models.latent_input import LatentInput, move_optimizer_state
from qlatent.models.mlp import build_mlp, check_activation, check_hidden
from qlatent.models.rgcn import GraphCritic
from qlatent.models.wgan import critic_update, input_gradients, per_sample_norm
from qlatent.training.bank import TensorBank

if TYPE_CHECKING:
    from rdkit import Chem

    from qlatent.chem.graphs import AtomEncoder

#: Categorical relaxations of the generator's logits.
SAMPLINGS = ("softmax", "gumbel", "gumbel-hard")
#: Forms of the gradient penalty.
PENALTIES = ("sample", "per_entry")
#: Ways to turn logits into discrete graphs.
DECODE_MODES = ("argmax", "categorical")
#: Generator architectures: MolGAN's MLP, or the paper's re-injection network.
GENERATORS = ("molgan", "reinjection")
#: Hidden widths of the paper's modified generator (Appendix E): never shrinking, steps of 112.
PAPER_GENERATOR_HIDDEN = (64, 176, 288, 400, 512)
#: Version of the floating-point arithmetic of a training step, part of :meth:`MolGAN.describe` and
#: so of every run's key: a run is never resumed from a checkpoint made by other arithmetic.
#: 1: one generator pass and separate critic passes on real and generated graphs per critic update.
#: 2: one generator pass for all the critic updates of a step, real and generated graphs scored in
#: one critic pass, R-GCN products by weight blocks (same draws, same mathematics; results differ
#: by rounding only, ``tests/test_molgan_arithmetic.py``).
ARITHMETIC_VERSION = 2

RewardFn = Callable[[list], np.ndarray]
Graph = tuple[torch.Tensor, torch.Tensor]


def _int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _positive(name: str, value: float) -> float:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return float(value)


@dataclass(frozen=True)
class MolGANConfig:
    """Sizes, relaxation, losses and optimisation of a MolGAN.

    Defaults follow MolGAN (paper sizes, released code's optimiser and relaxation) except the form
    of the gradient penalty and the update schedule (see the module notes).

    Parameters
    ----------
    latent_dim
        Generator input width d_z (MolGAN draws it from a Gaussian; here any injected latent).
    n_atom_types
        ``T``, node types with padding (``AtomEncoder.n_types``; 5 for QM9's C, N, O, F).
    n_bond_types
        ``Y``, edge types with "no bond" (4: none, single, double, triple).
    max_atoms
        ``V``, padded graph size (9 for QM9).
    generator
        ``"molgan"`` (MolGAN's MLP with ``activation``) or ``"reinjection"`` (the paper's
        modification, :class:`ReinjectionGenerator`: LeakyReLU of slope ``leaky_slope`` and an
        affine map of ``z`` added into every hidden layer).
    generator_hidden
        Generator widths ((128, 256, 512) in MolGAN; :data:`PAPER_GENERATOR_HIDDEN` =
        (64, 176, 288, 400, 512) in the paper). With ``"reinjection"`` they must never shrink and
        the first must be at least ``latent_dim`` (Theorem 1's construction).
    leaky_slope
        Negative slope of the re-injection generator's LeakyReLU (> 0 keeps it invertible; the
        paper does not state it, 0.2 is ours). Unused by ``"molgan"``.
    conv_hidden, aggregation_dim, dense_hidden
        Critic and reward network: R-GCN widths ((64, 32); MolGAN's ``example.py`` uses (128, 64)),
        gated aggregation width (128) and dense head widths ((128, 64)) before the scalar output.
    activation
        Activation of every hidden layer of the critic, the reward network and the ``"molgan"``
        generator (tanh in MolGAN).
    dropout
        Dropout probability in every network (0 in MolGAN's example script); must be 0 with the
        ``"reinjection"`` generator, whose hidden map must stay a fixed invertible function.
    sampling
        ``"softmax"`` (MolGAN's released default), ``"gumbel"`` (Gumbel-softmax) or
        ``"gumbel-hard"`` (one-hot forward, Gumbel-softmax gradient).
    temperature
        Softmax temperature τ of the relaxation.
    gp_weight
        Weight of the gradient penalty (10).
    gradient_penalty
        ``"sample"`` (one norm per graph) or ``"per_entry"`` (MolGAN's code); see the module notes.
    n_critic
        Critic updates per generator update (5).
    lr_generator, lr_critic, lr_reward
        Adam learning rates (1e-3 in MolGAN).
    betas
        Adam's (β1, β2); MolGAN used TensorFlow's defaults (0.9, 0.999).
    feature_matching
        Replace the generator's WGAN loss by squared differences of the mean critic features
        (last hidden layer) of real and generated graphs (MolGAN's option, off in its example).
    rl_lambda
        λ of ``λ·L_WGAN + (1 − λ)·L_RL``; 1 disables the reward network altogether.
    rl_balance
        Scale ``L_RL`` by ``|L_WGAN / L_RL|`` (no gradient) so both terms have the same size, as
        MolGAN's code does.
    rl_warmup_steps
        Steps during which the generator ignores ``L_RL`` while the reward network already trains
        (MolGAN: the first epoch).

    Raises
    ------
    ValueError
        On a size below its minimum, a non-positive rate, temperature or ``leaky_slope``, a
        negative ``gp_weight``, ``rl_lambda`` outside [0, 1], betas outside [0, 1), an unknown
        option name, or (``"reinjection"``) shrinking widths, a first width below ``latent_dim``
        or dropout.
    TypeError
        On a count that is not an int.
    """

    latent_dim: int
    n_atom_types: int
    n_bond_types: int = 4
    max_atoms: int = 9
    generator: str = "molgan"
    generator_hidden: tuple[int, ...] = (128, 256, 512)
    leaky_slope: float = 0.2
    conv_hidden: tuple[int, ...] = (64, 32)
    aggregation_dim: int = 128
    dense_hidden: tuple[int, ...] = (128, 64)
    activation: str = "tanh"
    dropout: float = 0.0
    sampling: str = "softmax"
    temperature: float = 1.0
    gp_weight: float = 10.0
    gradient_penalty: str = "sample"
    n_critic: int = 5
    lr_generator: float = 1e-3
    lr_critic: float = 1e-3
    lr_reward: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    feature_matching: bool = False
    rl_lambda: float = 1.0
    rl_balance: bool = True
    rl_warmup_steps: int = 0

    def __post_init__(self) -> None:
        for name, minimum in (("latent_dim", 1), ("n_atom_types", 2), ("n_bond_types", 2), ("max_atoms", 2),
                              ("aggregation_dim", 1), ("n_critic", 1), ("rl_warmup_steps", 0)):
            object.__setattr__(self, name, _int(name, getattr(self, name), minimum))
        for name in ("generator_hidden", "conv_hidden", "dense_hidden"):
            object.__setattr__(self, name, check_hidden(name, getattr(self, name)))
        if not self.conv_hidden:
            raise ValueError("conv_hidden needs at least one R-GCN layer width")
        check_activation(self.activation)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, got {self.generator!r}")
        object.__setattr__(self, "leaky_slope", _positive("leaky_slope", self.leaky_slope))
        if self.generator == "reinjection":
            _check_reinjection(self.latent_dim, self.generator_hidden, self.dropout)
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if self.gradient_penalty not in PENALTIES:
            raise ValueError(f"gradient_penalty must be one of {PENALTIES}, got {self.gradient_penalty!r}")
        for name in ("temperature", "lr_generator", "lr_critic", "lr_reward"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        if not self.gp_weight >= 0:
            raise ValueError(f"gp_weight must be non-negative, got {self.gp_weight}")
        if not 0.0 <= self.rl_lambda <= 1.0:
            raise ValueError(f"rl_lambda must be in [0, 1] (1 disables RL), got {self.rl_lambda}")
        object.__setattr__(self, "betas", adam_betas(self.betas))

    @property
    def uses_rl(self) -> bool:
        """Whether the reward network exists (``rl_lambda < 1``)."""
        return self.rl_lambda < 1.0

    @classmethod
    def paper(cls, latent_dim: int, n_atom_types: int, **overrides: Any) -> MolGANConfig:
        """The paper's modified MolGAN (Appendix E) with our choices where the paper is silent.

        Stated by the paper: the re-injection generator with widths :data:`PAPER_GENERATOR_HIDDEN`
        and LeakyReLU, the R-GCN critic, Adam with learning rate 1e-4 (batch 256 and 20,000
        iterations belong to the training loop). Ours, and overridable: everything else keeps this
        class's defaults (5 critic updates, gradient-penalty weight 10, Adam betas (0.9, 0.999),
        softmax relaxation at temperature 1, no RL term, LeakyReLU slope 0.2, critic sizes of
        MolGAN's paper).
        """
        settings: dict[str, Any] = {"generator": "reinjection", "generator_hidden": PAPER_GENERATOR_HIDDEN,
                                    "lr_generator": 1e-4, "lr_critic": 1e-4, "lr_reward": 1e-4}
        settings.update(overrides)
        return cls(latent_dim=latent_dim, n_atom_types=n_atom_types, **settings)


def _check_reinjection(latent_dim: int, widths: tuple[int, ...], dropout: float) -> None:
    """Refuse re-injection settings that break Theorem 1's construction (widths that shrink, ...)."""
    if not widths:
        raise ValueError("the reinjection generator needs at least one hidden layer (generator_hidden is empty)")
    if widths[0] < latent_dim:
        raise ValueError(f"generator_hidden[0]={widths[0]} is narrower than latent_dim={latent_dim}: the first "
                         "layer of the reinjection generator could not be inverted")
    for k in range(1, len(widths)):
        if widths[k] < widths[k - 1]:
            raise ValueError(f"generator_hidden must never shrink for the reinjection generator, got "
                             f"generator_hidden[{k}]={widths[k]} < generator_hidden[{k - 1}]={widths[k - 1]}")
    if dropout > 0.0:
        raise ValueError(f"dropout={dropout} with the reinjection generator: its hidden map must be a fixed "
                         "invertible function; use dropout=0")


def gumbel_noise(shape: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """Standard Gumbel samples ``−log(−log U)``, ``U ~ U[0, 1)`` from ``generator`` (CPU, float32).

    Unlike :func:`torch.nn.functional.gumbel_softmax`, which draws from torch's global RNG, every
    value comes from the caller's generator. ``U`` is clamped at the smallest normal float so the
    noise is always finite.
    """
    uniform = torch.rand(tuple(shape), generator=generator, dtype=torch.float32)
    return -torch.log(-torch.log(uniform.clamp_min(torch.finfo(torch.float32).tiny)))


def symmetric_gumbel_noise(batch: int, n_nodes: int, n_types: int, generator: torch.Generator) -> torch.Tensor:
    """Gumbel noise ``(batch, n, n, k)`` with one value per unordered node pair (symmetric in i, j)."""
    noise = gumbel_noise((batch, n_nodes, n_nodes, n_types), generator)
    upper = torch.ones(n_nodes, n_nodes, dtype=torch.bool).triu()
    return torch.where(upper[None, :, :, None], noise, noise.transpose(1, 2))


def relax(logits: torch.Tensor, sampling: str, temperature: float = 1.0,
          noise: torch.Tensor | None = None) -> torch.Tensor:
    """Continuous categorical sample over the last axis of ``logits``.

    Parameters
    ----------
    logits
        Unnormalised log-probabilities, categories on the last axis.
    sampling
        ``"softmax"``: ``softmax(logits/τ)`` (no noise); ``"gumbel"``: ``softmax((logits + g)/τ)``;
        ``"gumbel-hard"``: the one-hot argmax of the latter in the forward pass with its gradient
        (straight-through, Jang et al. sec. 2.2).
    temperature
        τ > 0.
    noise
        Gumbel noise ``g`` of the same shape, required by the Gumbel modes.

    Raises
    ------
    ValueError
        On an unknown mode or missing/misshapen noise.
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if sampling == "softmax":
        return torch.softmax(logits / temperature, dim=-1)
    if noise is None or noise.shape != logits.shape:
        raise ValueError(f"sampling={sampling!r} needs Gumbel noise of shape {tuple(logits.shape)}, got "
                         f"{None if noise is None else tuple(noise.shape)}")
    soft = torch.softmax((logits + noise) / temperature, dim=-1)
    if sampling == "gumbel":
        return soft
    hard = F.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def _no_self_bonds(edges: torch.Tensor) -> torch.Tensor:
    """Set every diagonal edge slot of ``(B, V, V, Y)`` to the one-hot "no bond"."""
    n_nodes, n_types = edges.shape[1], edges.shape[-1]
    eye = torch.eye(n_nodes, dtype=edges.dtype, device=edges.device)[None, :, :, None]
    no_bond = F.one_hot(torch.zeros((), dtype=torch.long, device=edges.device), n_types).to(edges.dtype)
    return edges * (1.0 - eye) + eye * no_bond


def gradient_penalty(critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], real: Graph, fake: Graph,
                     eps: torch.Tensor, kind: str = "sample") -> torch.Tensor:
    """WGAN-GP penalty on the critic's scalar output at interpolates of real and generated graphs.

    ``x̂ = ε·x_real + (1 − ε)·x_fake`` for the node and the edge tensor with one ``ε`` per graph;
    the gradient of ``critic(x̂)`` (one scalar per graph) is taken with respect to both tensors.

    Parameters
    ----------
    critic
        ``critic(nodes, edges) -> (B,)`` scores.
    real, fake
        ``(nodes (B, V, T), edges (B, V, V, Y))`` as floats (one-hot or relaxed).
    eps
        ``(B,)`` interpolation weights in [0, 1].
    kind
        ``"sample"``: ``E_b[(‖(∇_nodes, ∇_edges)_b‖₂ − 1)²]`` (Gulrajani et al. eq. 3).
        ``"per_entry"``: MolGAN's code, ``E_b[mean_ij (‖∇_edges[b,i,j]‖ − 1)² + mean_i (‖∇_nodes[b,i]‖ − 1)²]``.

    Returns
    -------
    torch.Tensor
        The penalty (a scalar, differentiable with respect to the critic's parameters). Where an
        input gradient is exactly zero (a flat or saturated critic, or one ignoring an input) the
        penalty is its value at zero (1 for ``"sample"``, 2 for ``"per_entry"``) and its parameter
        gradients are finite (:func:`qlatent.models.wgan.per_sample_norm`).

    Raises
    ------
    ValueError
        On an unknown ``kind``.
    """
    if kind not in PENALTIES:
        raise ValueError(f"gradient_penalty kind must be one of {PENALTIES}, got {kind!r}")
    node_eps = eps.view(-1, 1, 1)
    edge_eps = eps.view(-1, 1, 1, 1)
    nodes = (node_eps * real[0] + (1.0 - node_eps) * fake[0]).detach().requires_grad_(True)
    edges = (edge_eps * real[1] + (1.0 - edge_eps) * fake[1]).detach().requires_grad_(True)
    grad_nodes, grad_edges = input_gradients(critic(nodes, edges), (nodes, edges))
    if kind == "sample":
        return ((per_sample_norm(grad_nodes, grad_edges) - 1.0) ** 2).mean()
    # vector_norm, like per_sample_norm: its derivative at a zero gradient is 0, never NaN
    edge_term = ((torch.linalg.vector_norm(grad_edges, dim=-1) - 1.0) ** 2).mean(dim=(1, 2))
    node_term = ((torch.linalg.vector_norm(grad_nodes, dim=-1) - 1.0) ** 2).mean(dim=1)
    return (edge_term + node_term).mean()


class _GraphHead(nn.Module):
    """Shared output step: one flat vector per graph to node logits and symmetric edge logits."""

    def __init__(self, config: MolGANConfig) -> None:
        super().__init__()
        self.n_nodes, self.n_atom_types, self.n_bond_types = config.max_atoms, config.n_atom_types, config.n_bond_types
        self.out_width = self.n_nodes * self.n_atom_types + self.n_nodes ** 2 * self.n_bond_types

    def _graph_logits(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        split = self.n_nodes * self.n_atom_types
        node_logits = out[:, :split].reshape(-1, self.n_nodes, self.n_atom_types)
        edges = out[:, split:].reshape(-1, self.n_nodes, self.n_nodes, self.n_bond_types)
        return node_logits, (edges + edges.transpose(1, 2)) / 2


class GraphGenerator(_GraphHead):
    """MLP from the latent to node logits ``(B, V, T)`` and symmetric edge logits ``(B, V, V, Y)``.

    One MLP with a final linear layer of width ``V·T + V·V·Y`` (MolGAN's two linear heads on the
    shared trunk); edge logits are symmetrised as ``(e + eᵀ)/2`` over the two node axes.
    """

    def __init__(self, config: MolGANConfig) -> None:
        super().__init__(config)
        self.mlp = build_mlp(config.latent_dim, self.out_width, config.generator_hidden, config.activation,
                             dropout=config.dropout)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``(B, d_z)`` to ``(node_logits, edge_logits)``."""
        return self._graph_logits(self.mlp(z))


class ReinjectionGenerator(_GraphHead):
    """The paper's modified MolGAN generator: an affine map of ``z`` added into every hidden layer.

    With widths ``w_1 ≤ … ≤ w_L`` and σ = LeakyReLU(slope):

    ``h_1 = σ(A_1 z + c_1)``,  ``h_l = σ(W_l h_{l−1} + A_l z + c_l)`` for ``l = 2 … L``,

    then one linear map of ``h_L`` to the ``V·T + V·V·Y`` logits (edges symmetrised as in
    :class:`GraphGenerator`). ``A_l z + c_l`` is ``inject[l−1]`` (a linear layer with bias) and
    ``W_l`` is ``hidden[l−2]`` (no bias, so each layer has one bias). Because σ is invertible and
    ``[W_l A_l]`` has at least as many rows as columns when ``w_l ≥ w_{l−1} + d_z`` (true for the
    paper's widths 64, 176, 288, 400, 512 and ``d_z ≤ 112``), the map from ``z`` to any hidden
    layer can be undone by solving linear systems (:func:`recover_latent`) — the construction of
    the paper's Theorem 1.
    """

    def __init__(self, config: MolGANConfig) -> None:
        super().__init__(config)
        _check_reinjection(config.latent_dim, config.generator_hidden, config.dropout)
        widths = config.generator_hidden
        self.latent_dim, self.slope = config.latent_dim, config.leaky_slope
        self.inject = nn.ModuleList(nn.Linear(config.latent_dim, width) for width in widths)
        self.hidden = nn.ModuleList(nn.Linear(widths[k - 1], widths[k], bias=False) for k in range(1, len(widths)))
        self.activation = nn.LeakyReLU(config.leaky_slope)
        self.out = nn.Linear(widths[-1], self.out_width)

    def preactivations(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The pre-activations ``u_l`` (before LeakyReLU) of every hidden layer, ``(B, w_l)`` each."""
        values = [self.inject[0](z)]
        for k, layer in enumerate(self.hidden, start=1):
            values.append(layer(self.activation(values[-1])) + self.inject[k](z))
        return values

    def hidden_layers(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The hidden activations ``h_l = σ(u_l)``, ``(B, w_l)`` each."""
        return [self.activation(u) for u in self.preactivations(z)]

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``(B, d_z)`` to ``(node_logits, edge_logits)``."""
        return self._graph_logits(self.out(self.activation(self.preactivations(z)[-1])))


def inverse_leaky_relu(values: torch.Tensor, slope: float) -> torch.Tensor:
    """Undo ``LeakyReLU(slope)`` (slope > 0): ``v`` where ``v ≥ 0``, ``v / slope`` elsewhere."""
    if not slope > 0:
        raise ValueError(f"LeakyReLU is invertible only for a positive slope, got {slope}")
    return torch.where(values >= 0, values, values / slope)


def recover_latent(generator: ReinjectionGenerator, hidden: torch.Tensor, layer: int = 1) -> torch.Tensor:
    """Recover the latents ``z`` from the activations of hidden layer ``layer`` (Theorem 1's inverse).

    Layer 1: ``u_1 = σ⁻¹(h_1) = A_1 z + c_1``, solved for ``z`` by least squares (exact when
    ``A_1`` has full column rank; ``w_1 ≥ d_z`` is enforced by the config). Layer ``l > 1``:
    ``σ⁻¹(h_l) − c_l = [W_l A_l] [h_{l−1}; z]`` is solved jointly for ``(h_{l−1}, z)``, then the
    recursion goes down one layer with the recovered ``h_{l−1}`` (the ``z`` of every layer agrees
    for activations the generator made). Computed in float64. Each layer of the recursion
    amplifies rounding errors in ``hidden`` (about tenfold per layer for the paper's widths at
    initialisation: float32 activations of layer 5 give ``z`` to about 1e-2, float64 ones to
    1e-10), so run the generator in float64 to recover from deep layers.

    Parameters
    ----------
    generator
        A :class:`ReinjectionGenerator`.
    hidden
        Activations ``h_layer`` of shape ``(B, w_layer)``.
    layer
        Which hidden layer, 1 … L.

    Returns
    -------
    torch.Tensor
        ``(B, d_z)`` latents, float64.

    Raises
    ------
    TypeError
        If ``generator`` is not a re-injection generator.
    ValueError
        On a layer out of range, a misshapen ``hidden``, or a layer whose system has fewer
        equations than unknowns (``w_l < w_{l−1} + d_z``; the message names the widths).
    """
    if not isinstance(generator, ReinjectionGenerator):
        raise TypeError(f"recover_latent needs a ReinjectionGenerator, got {type(generator).__name__}")
    n_layers = len(generator.inject)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= n_layers:
        raise ValueError(f"layer must be an int in 1..{n_layers}, got {layer!r}")
    width = generator.inject[layer - 1].out_features
    if hidden.ndim != 2 or hidden.shape[1] != width:
        raise ValueError(f"hidden layer {layer} has width {width}; expected activations (B, {width}), "
                         f"got {tuple(hidden.shape)}")
    d_z = generator.latent_dim

    def preimage(k: int, activations: torch.Tensor) -> torch.Tensor:
        return (inverse_leaky_relu(activations, generator.slope) - generator.inject[k].bias.double()).T

    with torch.no_grad():
        current = hidden.detach().double()
        for k in range(layer - 1, 0, -1):
            weight = generator.hidden[k - 1].weight.double()
            system = torch.cat([weight, generator.inject[k].weight.double()], dim=1)
            if system.shape[0] < system.shape[1]:
                raise ValueError(f"hidden layer {k + 1} has width {system.shape[0]} < width of layer {k} "
                                 f"({weight.shape[1]}) + latent_dim ({d_z}): (h_{k}, z) cannot be recovered from it")
            current = torch.linalg.lstsq(system, preimage(k, current)).solution.T[:, :-d_z]
        return torch.linalg.lstsq(generator.inject[0].weight.double(), preimage(0, current)).solution.T


def _decode(nodes: torch.Tensor, adjacency: torch.Tensor, encoder: AtomEncoder) -> list[Chem.Mol | None]:
    """Decode integer graphs to molecules with RDKit's per-molecule error log muted.

    Untrained generators make mostly invalid graphs; each is ``None`` here (and counted by the
    metrics), so RDKit's valence messages would only flood the output.
    """
    from rdkit import rdBase

    from qlatent.chem.graphs import graphs_to_mols

    with rdBase.BlockLogs():
        return graphs_to_mols(nodes.cpu().numpy(), adjacency.cpu().numpy(), encoder)


def _reward_name(reward_fn: Callable[..., Any]) -> str:
    return str(getattr(reward_fn, "name", None) or getattr(reward_fn, "__qualname__", None)
               or type(reward_fn).__name__)


class MolGAN(LatentInput):
    """Generator, critic and (if ``rl_lambda < 1``) reward network of MolGAN, trained together.

    Parameters
    ----------
    config
        Sizes, relaxation, losses and optimisation settings.
    seed
        Seed of the weight initialisation, applied inside :func:`torch.random.fork_rng` (the global
        RNG is left as it was; two models with the same seed have identical weights).
    reward_fn
        ``reward_fn(mols) -> array (n,)`` in [0, 1] for a list of RDKit molecules with ``None`` for
        invalid graphs, e.g. a normalised score of :mod:`qlatent.metrics.molecules`. Required when
        ``rl_lambda < 1``, ignored otherwise. Its ``name`` attribute (else its qualified name) is
        recorded in :meth:`describe`.
    encoder
        The node vocabulary, to decode graphs to molecules (rewards, :meth:`sample_molecules`);
        ``encoder.n_types`` must equal ``config.n_atom_types``.

    Raises
    ------
    ValueError
        If RL is on without a reward function or encoder, or the encoder's vocabulary size differs
        from ``n_atom_types``.

    Notes
    -----
    One :meth:`train_step`: ``n_critic`` times, a real batch and a latent batch, the critic loss
    ``E[D(G(z))] − E[D(x)] + gp_weight·GP``; then one generator update on
    ``λ·L_WGAN + (1 − λ)·α·L_RL`` with ``L_WGAN = −E[D(G(z))]`` (or feature matching),
    ``L_RL = −E[R(G(z))]`` and ``α = |L_WGAN/L_RL|`` (if ``rl_balance``), while the reward network
    ``R`` regresses (squared error) the reward of the last real batch and of the discrete graphs
    (argmax of the relaxed generated graphs) on their relaxed tensors.
    """

    def __init__(self, config: MolGANConfig, seed: int, reward_fn: RewardFn | None = None,
                 encoder: AtomEncoder | None = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if encoder is not None and encoder.n_types != config.n_atom_types:
            raise ValueError(f"encoder has {encoder.n_types} node types (padding included), but the "
                             f"config has n_atom_types={config.n_atom_types}")
        if config.uses_rl and (reward_fn is None or encoder is None):
            raise ValueError(f"rl_lambda={config.rl_lambda} < 1 needs a reward_fn and an encoder to "
                             "decode generated graphs")
        self.config, self.seed, self.encoder = config, seed, encoder
        self.reward_fn = reward_fn if config.uses_rl else None
        critic_args = (config.n_atom_types, config.n_bond_types, config.conv_hidden, config.aggregation_dim,
                       config.dense_hidden, config.activation, config.dropout)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.generator = (GraphGenerator(config) if config.generator == "molgan"
                              else ReinjectionGenerator(config))
            self.critic = GraphCritic(*critic_args, output="linear")
            self.reward_net = GraphCritic(*critic_args, output="sigmoid") if config.uses_rl else None
        self.opt_generator = torch.optim.Adam(self.generator.parameters(), lr=config.lr_generator, betas=config.betas)
        self.opt_critic = torch.optim.Adam(self.critic.parameters(), lr=config.lr_critic, betas=config.betas)
        self.opt_reward = (torch.optim.Adam(self.reward_net.parameters(), lr=config.lr_reward, betas=config.betas)
                           if self.reward_net is not None else None)
        self.steps = 0
        self.device = torch.device("cpu")

    @property
    def latent_dim(self) -> int:
        """Input width of the generator."""
        return self.config.latent_dim

    def _networks(self) -> list[tuple[str, nn.Module, torch.optim.Optimizer]]:
        pairs = [("generator", self.generator, self.opt_generator), ("critic", self.critic, self.opt_critic)]
        if self.reward_net is not None:
            pairs.append(("reward_net", self.reward_net, self.opt_reward))
        return pairs

    def to(self, device: str | torch.device) -> MolGAN:
        """Move every network (and any optimiser state) to ``device``; returns ``self``."""
        self.device = torch.device(device)
        for _, network, optimizer in self._networks():
            network.to(self.device)
            move_optimizer_state(optimizer, self.device)
        return self

    def _noise(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        nodes = gumbel_noise((batch, c.max_atoms, c.n_atom_types), generator)
        edges = symmetric_gumbel_noise(batch, c.max_atoms, c.n_bond_types, generator)
        return nodes.to(self.device), edges.to(self.device)

    def relaxed_graphs(self, z: torch.Tensor, generator: torch.Generator) -> Graph:
        """The continuous graphs the critic scores: relaxed nodes ``(B, V, T)`` and edges ``(B, V, V, Y)``.

        Gumbel noise (if the relaxation uses it) comes from ``generator``; the edge diagonal is the
        one-hot "no bond".
        """
        noise = self._relaxation_noise(z.shape[0], generator)
        return self._relax(self.generator(z), noise)

    def _relaxation_noise(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor | None, ...]:
        """The relaxation's Gumbel noise for ``batch`` graphs (none for the plain softmax)."""
        return (None, None) if self.config.sampling == "softmax" else self._noise(batch, generator)

    def _relax(self, logits: tuple[torch.Tensor, torch.Tensor], noise: tuple[torch.Tensor | None, ...]) -> Graph:
        c = self.config
        nodes = relax(logits[0], c.sampling, c.temperature, noise[0])
        edges = relax(logits[1], c.sampling, c.temperature, noise[1])
        return nodes, _no_self_bonds(edges)

    def one_hot(self, nodes: torch.Tensor, adjacency: torch.Tensor) -> Graph:
        """Integer graphs ``(B, V)``, ``(B, V, V)`` as float one-hot tensors; ``ValueError`` on bad input."""
        c = self.config
        if nodes.ndim != 2 or nodes.shape[1] != c.max_atoms or tuple(adjacency.shape) != (
                nodes.shape[0], c.max_atoms, c.max_atoms):
            raise ValueError(f"expected nodes (B, {c.max_atoms}) and adjacency (B, {c.max_atoms}, {c.max_atoms}), "
                             f"got {tuple(nodes.shape)} and {tuple(adjacency.shape)}")
        for name, tensor, upper in (("nodes", nodes, c.n_atom_types), ("adjacency", adjacency, c.n_bond_types)):
            if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
                raise ValueError(f"{name} must hold integer type indices, got dtype {tensor.dtype}")
            if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= upper):
                raise ValueError(f"{name} indices must lie in 0..{upper - 1}, got range "
                                 f"{int(tensor.min())}..{int(tensor.max())}")
        return (F.one_hot(nodes.long(), c.n_atom_types).float(),
                F.one_hot(adjacency.long(), c.n_bond_types).float())

    def _real_batch(self, draw_batch: Callable[[], Any]) -> tuple[Graph, Graph]:
        batch = draw_batch()
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("draw_batch must return (nodes, adjacency) integer tensors, e.g. from a GraphBank")
        nodes, adjacency = batch
        return (nodes, adjacency), self.one_hot(nodes, adjacency)

    def _rewards(self, nodes: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        mols = _decode(nodes, adjacency, self.encoder)
        values = np.asarray(self.reward_fn(mols), dtype=np.float64)
        if values.shape != (len(mols),):
            raise ValueError(f"reward_fn returned shape {values.shape}, expected ({len(mols)},)")
        if not (np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0):
            raise ValueError(f"reward_fn must return finite values in [0, 1], got range "
                             f"{values.min()}..{values.max()}")
        return torch.as_tensor(values, dtype=torch.float32, device=self.device)

    def train_step(self, draw_batch: Callable[[], Any], latent: Any, generator: torch.Generator) -> dict[str, float]:
        """``n_critic`` critic updates, then one generator (and reward network) update.

        Parameters
        ----------
        draw_batch
            Returns a fresh real batch ``(nodes (B, V), adjacency (B, V, V))`` of integer indices on
            the model's device.
        latent
            The latent distribution (``sample(n, generator)``, ``dim``, ``name``).
        generator
            The run's random generator; latents, Gumbel noise and interpolation weights come from it.

        Returns
        -------
        dict
            ``critic_loss``, ``wasserstein`` (E[D(x)] − E[D(G(z))]) and ``gradient_penalty``
            averaged over the critic updates, and ``generator_loss``; with RL also ``reward_loss``
            (the reward network's squared error), ``rl_loss`` (−E[R(G(z))]) and the mean rewards
            ``reward_real`` and ``reward_fake``.
        """
        c = self.config
        for _, network, _ in self._networks():
            network.train()
        self.critic.requires_grad_(True)
        critic_losses, distances, penalties = [], [], []
        # Every random draw of the critic updates first, in the order of one update after another
        # (real batch, latents, relaxation noise, interpolation weights), so the stream is the
        # one-at-a-time schedule's; the generator, fixed during them, then makes all their graphs
        # in one batched forward pass (ARITHMETIC_VERSION 2).
        draws = []
        for _ in range(c.n_critic):
            (real_nodes, real_adjacency), real = self._real_batch(draw_batch)
            batch = real[0].shape[0]
            z = self._latents(batch, latent, generator)
            noise = self._relaxation_noise(batch, generator)
            eps = torch.rand(batch, generator=generator).to(self.device)
            draws.append((real, z, noise, eps))
        with torch.no_grad():
            logits = self.generator(torch.cat([z for _, z, _, _ in draws]))
        sizes = [z.shape[0] for _, z, _, _ in draws]
        for (real, _, noise, eps), node_logits, edge_logits in zip(draws, logits[0].split(sizes),
                                                                  logits[1].split(sizes)):
            fake = self._relax((node_logits, edge_logits), noise)
            # real and generated graphs scored in one pass of the critic
            scores = self.critic(torch.cat((real[0], fake[0])), torch.cat((real[1], fake[1])))
            distance = scores[:eps.shape[0]].mean() - scores[eps.shape[0]:].mean()
            penalty = gradient_penalty(self.critic, real, fake, eps, c.gradient_penalty)
            critic_losses.append(critic_update(self.opt_critic, distance, penalty, c.gp_weight))
            distances.append(distance.detach())
            penalties.append(penalty.detach())

        self.critic.requires_grad_(False)
        fake = self.relaxed_graphs(self._latents(batch, latent, generator), generator)
        if c.feature_matching:
            _, real_features = self.critic(*real, return_features=True)
            _, fake_features = self.critic(*fake, return_features=True)
            wgan_loss = (real_features.mean(0) - fake_features.mean(0)).pow(2).sum()
        else:
            wgan_loss = -self.critic(*fake).mean()
        names = ["critic_loss", "wasserstein", "gradient_penalty", "generator_loss"]
        extra: list[torch.Tensor] = []
        generator_loss = wgan_loss
        self.opt_generator.zero_grad(set_to_none=True)
        if self.reward_net is not None:
            reward_real = self._rewards(real_nodes, real_adjacency)
            reward_fake = self._rewards(fake[0].detach().argmax(-1), fake[1].detach().argmax(-1))
            self.reward_net.requires_grad_(True)
            reward_loss = ((self.reward_net(*real) - reward_real) ** 2).mean() + \
                ((self.reward_net(fake[0].detach(), fake[1].detach()) - reward_fake) ** 2).mean()
            self.opt_reward.zero_grad(set_to_none=True)
            reward_loss.backward()
            self.reward_net.requires_grad_(False)
            rl_loss = -self.reward_net(*fake).mean()
            la = c.rl_lambda if self.steps >= c.rl_warmup_steps else 1.0
            if la < 1.0:
                alpha = (wgan_loss / rl_loss).abs().detach() if c.rl_balance else 1.0
                generator_loss = la * wgan_loss + (1.0 - la) * alpha * rl_loss
            names += ["reward_loss", "rl_loss", "reward_real", "reward_fake"]
            extra = [reward_loss.detach(), rl_loss.detach(), reward_real.mean(), reward_fake.mean()]
        generator_loss.backward()
        self.opt_generator.step()
        if self.opt_reward is not None:
            self.opt_reward.step()
            self.reward_net.requires_grad_(True)
        self.critic.requires_grad_(True)
        self.steps += 1
        values = torch.stack([torch.stack(critic_losses).mean(), torch.stack(distances).mean(),
                              torch.stack(penalties).mean(), generator_loss.detach(), *extra]).tolist()
        return dict(zip(names, values))

    @torch.no_grad()
    def sample_graphs(self, n: int, latent: Any, generator: torch.Generator, mode: str = "argmax",
                      batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` discrete graphs: int64 CPU tensors nodes ``(n, V)`` and adjacency ``(n, V, V)``.

        Parameters
        ----------
        n
            Number of graphs.
        latent
            The latent distribution.
        generator
            Source of the latents (and of the Gumbel noise in ``"categorical"`` mode).
        mode
            ``"argmax"``: the most likely type per slot, so every bit of diversity comes from the
            latent. ``"categorical"``: one categorical draw per slot (Gumbel-max, symmetric over node
            pairs), MolGAN's evaluation setting (``sample=True`` in its code).
        batch_size
            Graphs generated per forward pass.

        Returns
        -------
        tuple of torch.Tensor
            Symmetric adjacency with a zero diagonal. The generator runs in evaluation mode; its
            previous mode is restored. The random draws are made chunk by chunk, so the graphs
            depend on ``batch_size`` as well as on the generator's state.

        Raises
        ------
        ValueError
            On a non-positive count, an unknown mode or a latent of the wrong dimension.
        """
        for name, value in (("n", n), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if mode not in DECODE_MODES:
            raise ValueError(f"mode must be one of {DECODE_MODES}, got {mode!r}")
        self.check_latent(latent)
        was_training = self.generator.training
        self.generator.eval()
        node_chunks, edge_chunks = [], []
        try:
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                node_logits, edge_logits = self.generator(self._latents(size, latent, generator))
                if mode == "categorical":
                    node_noise, edge_noise = self._noise(size, generator)
                    node_logits, edge_logits = node_logits + node_noise, edge_logits + edge_noise
                adjacency = edge_logits.argmax(-1)
                adjacency.diagonal(dim1=1, dim2=2).zero_()
                node_chunks.append(node_logits.argmax(-1).cpu())
                edge_chunks.append(adjacency.cpu())
        finally:
            self.generator.train(was_training)
        return torch.cat(node_chunks), torch.cat(edge_chunks)

    sample = sample_graphs

    def sample_molecules(self, n: int, latent: Any, generator: torch.Generator,
                         encoder: AtomEncoder | None = None, mode: str = "argmax") -> list[Chem.Mol | None]:
        """Draw ``n`` graphs with :meth:`sample_graphs` and decode them; invalid graphs give ``None``.

        ``encoder`` defaults to the model's; ``ValueError`` if there is none or its vocabulary size
        differs from ``n_atom_types``.
        """
        encoder = encoder if encoder is not None else self.encoder
        if encoder is None:
            raise ValueError("sample_molecules needs an AtomEncoder (pass encoder= or give one to the model)")
        if encoder.n_types != self.config.n_atom_types:
            raise ValueError(f"encoder has {encoder.n_types} node types (padding included), but the "
                             f"model has n_atom_types={self.config.n_atom_types}")
        return _decode(*self.sample_graphs(n, latent, generator, mode=mode), encoder)

    def state_dict(self) -> dict[str, Any]:
        """Weights and optimiser states of every network, and the number of steps taken."""
        state: dict[str, Any] = {"steps": self.steps}
        for name, network, optimizer in self._networks():
            state[name] = network.state_dict()
            state[f"opt_{name}"] = optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for name, network, optimizer in self._networks():
            network.load_state_dict(state[name])
            optimizer.load_state_dict(state[f"opt_{name}"])
        self.steps = int(state["steps"])

    def describe(self) -> dict[str, Any]:
        """Everything that defines the model, for the run manifest."""
        described: dict[str, Any] = {"model": "molgan", "init_seed": self.seed, "arithmetic": ARITHMETIC_VERSION,
                                     **asdict(self.config)}
        if self.reward_fn is not None:
            described["reward"] = _reward_name(self.reward_fn)
        if self.encoder is not None:
            described["atom_types"] = [list(t) for t in self.encoder.atom_types]
        return described


class GraphBank(TensorBank):
    """Padded molecular graphs served in shuffled ``(nodes, adjacency)`` batches for the Trainer.

    A :class:`~qlatent.training.bank.TensorBank` of two int64 arrays, checked on entry; its
    :meth:`describe` carries a sha256 of the graphs, so a run's manifest pins its training set.

    Parameters
    ----------
    nodes
        ``(N, V)`` node-type indices (0 = padding).
    adjacency
        ``(N, V, V)`` symmetric bond-type indices.
    name
        Label for the run manifest.

    Raises
    ------
    ValueError
        On mismatched shapes, non-integer or negative indices, or an asymmetric adjacency.
    """

    def __init__(self, nodes: np.ndarray | torch.Tensor, adjacency: np.ndarray | torch.Tensor,
                 name: str = "graphs") -> None:
        nodes, adjacency = torch.as_tensor(nodes), torch.as_tensor(adjacency)
        if nodes.ndim != 2 or adjacency.shape != (nodes.shape[0], nodes.shape[1], nodes.shape[1]):
            raise ValueError(f"expected nodes (N, V) and adjacency (N, V, V), got {tuple(nodes.shape)} "
                             f"and {tuple(adjacency.shape)}")
        for label, tensor in (("nodes", nodes), ("adjacency", adjacency)):
            if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
                raise ValueError(f"{label} must hold integer type indices, got dtype {tensor.dtype}")
            if tensor.numel() and int(tensor.min()) < 0:
                raise ValueError(f"{label} indices must be non-negative, got minimum {int(tensor.min())}")
        if not torch.equal(adjacency, adjacency.transpose(1, 2)):
            raise ValueError("adjacency must be symmetric in its two node axes")
        super().__init__(nodes.to(torch.int64), adjacency.to(torch.int64), name=name)

    @classmethod
    def from_dataset(cls, dataset: Any, split: str = "train") -> GraphBank:
        """The graphs of one split of a :class:`qlatent.data.qm9.QM9Dataset`."""
        rows = dataset.split_index(split)
        return cls(dataset.nodes[rows], dataset.adjacency[rows], name=f"qm9-{split}")

