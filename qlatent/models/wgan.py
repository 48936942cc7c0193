"""The WGAN-GP critic update shared by every adversarial model (Gulrajani et al. 2017, Algorithm 1)."""

from __future__ import annotations

import torch


def critic_update(optimizer: torch.optim.Optimizer, distance: torch.Tensor, penalty: torch.Tensor,
                  gp_weight: float) -> torch.Tensor:
    """One optimiser step on the critic loss ``−distance + λ·penalty``; returns the loss, detached.

    ``distance`` is the critic's estimate ``E[D(real)] − E[D(fake)]`` of the Wasserstein-1 distance
    and ``penalty`` the gradient penalty, both still attached to the critic's graph.
    """
    loss = -distance + gp_weight * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()
