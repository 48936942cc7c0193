"""What every generative model does with its injected latent distribution and its optimisers."""

from __future__ import annotations

from typing import Any

import torch


class LatentInput:
    """Mixin for models with a ``latent_dim`` input and a ``device``: draw and check latent batches."""

    latent_dim: int
    device: torch.device

    def check_latent(self, latent: Any) -> None:
        """Raise ``ValueError`` if ``latent.dim`` is not the generator's input width."""
        if latent.dim != self.latent_dim:
            raise ValueError(f"latent distribution {latent.name!r} has dimension {latent.dim}, "
                             f"but the generator takes latent_dim={self.latent_dim}")

    def _latents(self, n: int, latent: Any, generator: torch.Generator) -> torch.Tensor:
        z = latent.sample(n, generator)
        if tuple(z.shape) != (n, self.latent_dim):
            raise ValueError(f"latent distribution {latent.name!r} returned shape {tuple(z.shape)}, "
                             f"expected ({n}, {self.latent_dim})")
        return z.to(self.device, torch.float32)


def move_optimizer_state(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Move an optimiser's tensors (not its step counters) to ``device``, e.g. after loading on CPU."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value) and key != "step":
                state[key] = value.to(device)
