"""Multilayer perceptrons for generators and critics, built from a short description.

One builder serves both networks so that their depth, width and activation are parameters of
an experiment rather than code: the paper's network sizes are unknown (see the notes), so every
choice here is ours and recorded in the run manifest.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
    "gelu": lambda: nn.GELU(),
    "silu": lambda: nn.SiLU(),
}


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def check_hidden(name: str, hidden: Sequence[int]) -> tuple[int, ...]:
    """Validate a tuple of hidden-layer widths (may be empty: a single linear map)."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"{name} must be a sequence of layer widths, got {type(hidden).__name__}")
    return tuple(_positive_int(f"{name}[{i}]", width) for i, width in enumerate(hidden))


def check_activation(activation: str) -> str:
    """Validate an activation name against :data:`ACTIVATIONS`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    return activation


def build_mlp(in_dim: int, out_dim: int, hidden: Sequence[int] = (64, 64), activation: str = "leaky_relu",
              *, batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Build ``Linear → [BatchNorm] → activation → [Dropout]`` blocks and a final linear layer.

    Parameters
    ----------
    in_dim, out_dim
        Input and output widths.
    hidden
        Widths of the hidden layers; ``()`` gives one linear map.
    activation
        Name of the hidden activation (a key of :data:`ACTIVATIONS`; ``leaky_relu`` has slope 0.2).
    batch_norm
        Insert ``BatchNorm1d`` after each hidden linear layer. Never use it in a WGAN-GP critic: the
        gradient penalty is defined per sample, and batch norm couples the samples of a batch
        (Gulrajani et al. 2017, sec. 4).
    dropout
        Dropout probability after each hidden activation, in ``[0, 1)``.

    Returns
    -------
    torch.nn.Sequential
        Initialised with PyTorch's default initialisation, drawn from the global RNG: seed it in a
        scoped way (see :class:`qlatent.models.gan.WGANGP`).

    Raises
    ------
    ValueError
        On a non-positive width, an unknown activation or a dropout outside ``[0, 1)``.
    """
    in_dim = _positive_int("in_dim", in_dim)
    out_dim = _positive_int("out_dim", out_dim)
    hidden = check_hidden("hidden", hidden)
    make_activation = ACTIVATIONS[check_activation(activation)]
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(make_activation())
        if dropout > 0.0:
            layers.append(nn.Dropout(float(dropout)))
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)
