"""The WGAN-GP critic update shared by every adversarial model (Gulrajani et al. 2017, Algorithm 1),
and the two pieces every gradient penalty is built from (input gradients and their per-sample norm)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def input_gradients(scores: torch.Tensor, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients of ``scores.sum()`` with respect to each of ``inputs``, kept in the graph.

    Parameters
    ----------
    scores
        The critic's output, one score per sample (any shape; it is summed, and samples do not
        interact, so each sample's slice of a gradient is that sample's own gradient).
    inputs
        Tensors with ``requires_grad`` the scores were computed from.

    Returns
    -------
    tuple of torch.Tensor
        One gradient per input, shaped like it, built with ``create_graph=True`` so that a penalty
        on it trains the critic. A critic that ignores an input (a constant critic) gives an exact
        zero gradient for it rather than autograd's "not used in the graph" error.
    """
    inputs = tuple(inputs)
    if not scores.requires_grad:  # a critic without parameters or inputs in its graph
        return tuple(torch.zeros_like(x) for x in inputs)
    return torch.autograd.grad(scores.sum(), inputs, create_graph=True, materialize_grads=True)


def per_sample_norm(*gradients: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of each sample's gradients taken together: ``(B,)`` from tensors ``(B, ...)``.

    Computed with :func:`torch.linalg.vector_norm`, whose derivative at a zero vector is zero, so a
    flat or saturated critic (an input gradient exactly zero) gives finite parameter gradients;
    ``sqrt`` of a sum of squares would give NaN there (0/0).
    """
    return torch.linalg.vector_norm(torch.cat([g.flatten(1) for g in gradients], dim=1), dim=1)


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
