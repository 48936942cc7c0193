"""Theorem 1 of the paper, computed: the QM9 generator's inverse and the Lipschitz constants of both.

Theorem 1 of Bacarreza et al. (arXiv:2508.19857, sec. II) needs a generator ``g`` whose inverse
exists, is efficiently computable and is Lipschitz. For the paper's re-injection generator
(:class:`qlatent.models.molgan.ReinjectionGenerator`: widths that never shrink, LeakyReLU, ``z``
added into every hidden layer) the map ``g: z ↦ h_L`` to its last hidden layer is that network:

* :func:`inversion_errors` runs ``g`` in float64 and undoes it by solving linear systems
  (:func:`qlatent.models.molgan.recover_latent`), returning ``|g⁻¹(g(z)) − z|`` per latent;
* :func:`lipschitz_bounds` estimates the Lipschitz constants of ``g`` and of ``g⁻¹`` on the image
  of ``g``, from below (the largest local stretch seen at the given latents, from the Jacobian's
  singular values) and from above (operator norms of the layers, valid everywhere).

A layer that shrinks (``w_l < w_{l−1} + d_z``) has a null space: two different inputs give the same
output, so no inverse exists layer by layer (:func:`collapsing_pair` builds such a pair).

Why a boson-sampling latent is more than its marginals: :func:`interference_distance` is the total
variation distance between the exact output distributions of indistinguishable photons and of
partially distinguishable (or lossy) ones through the same interferometer
(:func:`qlatent.photonics.output_probabilities`; Tichy 2014, eq. 60, for the partial model).

Everything here is float64 and deterministic: the inputs are a generator and latents.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from qlatent.models.molgan import ReinjectionGenerator, recover_latent


def _check_generator(generator: object) -> ReinjectionGenerator:
    if not isinstance(generator, ReinjectionGenerator):
        raise TypeError(f"needs a ReinjectionGenerator (the paper's invertible generator), "
                        f"got {type(generator).__name__}")
    return generator


def _latents(generator: ReinjectionGenerator, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    latents = torch.as_tensor(np.asarray(z, dtype=np.float64) if not torch.is_tensor(z) else z, dtype=torch.float64)
    if latents.ndim != 2 or latents.shape[1] != generator.latent_dim or latents.shape[0] == 0:
        raise ValueError(f"latents must have shape (B, {generator.latent_dim}) with B ≥ 1, got {tuple(latents.shape)}")
    if not torch.isfinite(latents).all():
        raise ValueError("latents must be finite")
    return latents


def _float64_copy(generator: ReinjectionGenerator) -> ReinjectionGenerator:
    return copy.deepcopy(generator).double().eval()


def hidden_map(generator: ReinjectionGenerator, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``g(z) = h_L``, the last hidden layer of the generator, computed on a float64 copy of it.

    Parameters
    ----------
    generator
        A :class:`~qlatent.models.molgan.ReinjectionGenerator` (copied; its weights are not changed).
    z
        Latents, shape ``(B, d_z)``.

    Returns
    -------
    torch.Tensor
        ``(B, w_L)`` float64 activations.

    Raises
    ------
    TypeError
        If ``generator`` is not a re-injection generator.
    ValueError
        On latents of the wrong shape, an empty batch or non-finite values.
    """
    generator = _check_generator(generator)
    latents = _latents(generator, z)
    with torch.no_grad():
        return _float64_copy(generator).hidden_layers(latents)[-1]


def inversion_errors(generator: ReinjectionGenerator, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """``max_i |g⁻¹(g(z))_i − z_i|`` for each latent: Theorem 1's inverse, by linear solves.

    ``g`` is :func:`hidden_map`; ``g⁻¹`` is :func:`qlatent.models.molgan.recover_latent` from the last
    hidden layer (LeakyReLU undone, then one least-squares solve per layer, float64).

    Returns
    -------
    numpy.ndarray
        ``(B,)`` absolute errors in the latent's units (float64 rounding: about 1e-12 for the
        paper's widths at initialisation).
    """
    generator = _check_generator(generator)
    latents = _latents(generator, z)
    recovered = recover_latent(generator, hidden_map(generator, latents), layer=len(generator.inject))
    return (recovered - latents).abs().amax(dim=1).numpy()


@dataclass(frozen=True)
class LipschitzBounds:
    """Lipschitz constants of ``g`` (latent → last hidden layer) and of ``g⁻¹`` on ``g``'s image.

    ``*_lower`` is the largest local stretch seen at the given latents (a lower bound on the
    constant); ``*_upper`` is a bound from the layers' operator norms that holds everywhere.
    """

    forward_lower: float
    forward_upper: float
    inverse_lower: float
    inverse_upper: float


def jacobian_singular_values(generator: ReinjectionGenerator, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """Singular values of the Jacobian ``∂g/∂z`` at each latent, largest first.

    ``g`` is piecewise linear: at a latent where no pre-activation is exactly zero its Jacobian is
    the product of the layers' matrices with LeakyReLU's slopes (1 or ``slope``) on the diagonal,
    which automatic differentiation of the float64 copy computes exactly.

    Returns
    -------
    numpy.ndarray
        ``(B, d_z)``, float64, dimensionless.
    """
    generator = _check_generator(generator)
    latents = _latents(generator, z)
    network = _float64_copy(generator)
    jacobians = torch.func.vmap(torch.func.jacfwd(lambda latent: network.hidden_layers(latent[None])[-1][0]))(latents)
    return torch.linalg.svdvals(jacobians).detach().numpy()


def lipschitz_bounds(generator: ReinjectionGenerator, z: np.ndarray | torch.Tensor) -> LipschitzBounds:
    """Lower and upper estimates of the Lipschitz constants of ``g`` and ``g⁻¹`` (Theorem 1's conditions).

    Forward, upper: LeakyReLU is 1-Lipschitz, so ``‖δh_1‖ ≤ ‖A_1‖‖δz‖`` and
    ``‖δh_l‖ ≤ ‖W_l‖‖δh_{l−1}‖ + ‖A_l‖‖δz‖`` (spectral norms). Inverse, upper: on ``g``'s image,
    ``z`` is the ``z``-block of ``[W_L A_L]⁺ (σ⁻¹(h_L) − c_L)`` and ``σ⁻¹`` is ``1/slope``-Lipschitz,
    so ``L(g⁻¹) ≤ ‖P_z [W_L A_L]⁺‖ / slope`` (``‖A_1⁺‖ / slope`` for one layer). Lower bounds: the
    largest and the inverse of the smallest Jacobian singular value over ``z``
    (:func:`jacobian_singular_values`).

    Parameters
    ----------
    generator
        A :class:`~qlatent.models.molgan.ReinjectionGenerator`.
    z
        Latents ``(B, d_z)`` at which the local stretch is measured.

    Returns
    -------
    LipschitzBounds
        Dimensionless ratios ‖δoutput‖ / ‖δinput‖ (Euclidean norms).

    Raises
    ------
    ValueError
        If the last layer's system ``[W_L A_L]`` (or ``A_1``) is rank-deficient: ``g`` is then not
        injective (a shrinking layer), and no Lipschitz inverse exists.
    """
    generator = _check_generator(generator)
    singular = jacobian_singular_values(generator, z)
    with torch.no_grad():
        bound = torch.linalg.matrix_norm(generator.inject[0].weight.double(), ord=2).item()
        for k, layer in enumerate(generator.hidden, start=1):
            bound = (torch.linalg.matrix_norm(layer.weight.double(), ord=2).item() * bound
                     + torch.linalg.matrix_norm(generator.inject[k].weight.double(), ord=2).item())
        last = len(generator.inject) - 1
        system = generator.inject[0].weight.double() if last == 0 else torch.cat(
            [generator.hidden[last - 1].weight.double(), generator.inject[last].weight.double()], dim=1)
        rank = int(torch.linalg.matrix_rank(system).item())
        if rank < system.shape[1]:
            raise ValueError(f"the last hidden layer's system has rank {rank} < {system.shape[1]} unknowns: "
                             "the generator is not injective, so g⁻¹ does not exist")
        z_block = torch.linalg.pinv(system)[-generator.latent_dim:]
        inverse_bound = torch.linalg.matrix_norm(z_block, ord=2).item() / generator.slope
    return LipschitzBounds(forward_lower=float(singular[:, 0].max()), forward_upper=float(bound),
                           inverse_lower=float((1.0 / singular[:, -1]).max()), inverse_upper=float(inverse_bound))


def collapsing_pair(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A second input with the same image as ``x`` under a shrinking linear layer ``x ↦ W x``.

    A layer of ``out < in`` rows has a null space of dimension at least ``in − out``: adding a
    null vector (the last right-singular vector of ``W``, scaled to ``‖x‖``) changes the input and
    not the output, so nothing downstream can tell the two apart — why Theorem 1's construction
    needs widths that never shrink.

    Parameters
    ----------
    weight
        ``(out, in)`` matrix with ``out < in``.
    x
        ``(in,)`` input.

    Returns
    -------
    numpy.ndarray
        ``(in,)`` input ``x'`` with ``‖x' − x‖ = ‖x‖`` (or 1 when ``x = 0``) and ``W x' = W x`` up to rounding.

    Raises
    ------
    ValueError
        If the layer does not shrink (``out ≥ in``), or on shapes that do not match.
    """
    weight, x = np.asarray(weight, dtype=np.float64), np.asarray(x, dtype=np.float64)
    if weight.ndim != 2 or x.shape != (weight.shape[1],):
        raise ValueError(f"weight must be (out, in) and x (in,), got {weight.shape} and {x.shape}")
    if weight.shape[0] >= weight.shape[1]:
        raise ValueError(f"a layer from {weight.shape[1]} to {weight.shape[0]} units does not shrink; "
                         "pass a wide matrix (out < in)")
    null = np.linalg.svd(weight)[2][-1]
    return x + (np.linalg.norm(x) or 1.0) * null


def _distance(patterns_a: np.ndarray, probs_a: np.ndarray, patterns_b: np.ndarray, probs_b: np.ndarray) -> float:
    """½ Σ |p − q| over the union of two pattern lists."""
    union: dict[tuple[int, ...], list[float]] = {}
    for pattern, p in zip(patterns_a, probs_a):
        union.setdefault(tuple(int(n) for n in pattern), [0.0, 0.0])[0] += float(p)
    for pattern, q in zip(patterns_b, probs_b):
        union.setdefault(tuple(int(n) for n in pattern), [0.0, 0.0])[1] += float(q)
    return 0.5 * sum(abs(p - q) for p, q in union.values())


def interference_distance(unitary: np.ndarray, input_state: np.ndarray | list[int], *,
                          indistinguishability: float = 0.0, transmission: float = 1.0) -> float:
    """TVD between indistinguishable photons and photons of pairwise overlap ``indistinguishability``.

    Both go through ``unitary`` with the same uniform ``transmission``; 0 means the photons'
    statistics carry no trace of multi-photon interference, 1 means disjoint supports. Exact
    (enumerates every output pattern: small sizes only).

    Parameters
    ----------
    unitary
        ``(m, m)`` interferometer.
    input_state
        Photons per input mode, length ``m``.
    indistinguishability
        Pairwise internal-state overlap ``x`` in [0, 1] of the compared photons (0: distinguishable).
    transmission
        Uniform transmission ``η`` in [0, 1] of every photon, for both distributions.

    Returns
    -------
    float
        Total variation distance in [0, 1].

    Raises
    ------
    ValueError
        Invalid matrix, state or options, or a distribution too large to enumerate
        (see :func:`qlatent.photonics.output_probabilities`).
    """
    from qlatent.photonics import output_probabilities

    ideal = output_probabilities(unitary, input_state, transmission=transmission)
    other = output_probabilities(unitary, input_state, model="partial", indistinguishability=indistinguishability,
                                 transmission=transmission)
    return _distance(*ideal, *other)


def interference_distance_table(photon_numbers: list[int], seeds: list[int], modes_per_photon: int = 2,
                                transmissions: tuple[float, ...] = (1.0,)) -> pd.DataFrame:
    """:func:`interference_distance` (distinguishable vs indistinguishable) as photons grow.

    ``n`` photons in the first ``n`` of ``modes_per_photon · n`` modes of a Haar-random
    interferometer drawn from each seed (:func:`qlatent.photonics.haar_unitary`).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_photons``, ``n_modes``, ``seed``, ``transmission``, ``tvd``.
    """
    from qlatent.photonics import haar_unitary

    if modes_per_photon < 1:
        raise ValueError(f"modes_per_photon must be ≥ 1, got {modes_per_photon}")
    rows = []
    for n in photon_numbers:
        n_modes = modes_per_photon * n
        for seed in seeds:
            unitary = haar_unitary(n_modes, seed=seed)
            state = [1] * n + [0] * (n_modes - n)
            for eta in transmissions:
                rows.append({"n_photons": n, "n_modes": n_modes, "seed": seed, "transmission": eta,
                             "tvd": interference_distance(unitary, state, transmission=eta)})
    return pd.DataFrame(rows)


def inversion_table(latent_dims: list[int], seeds: list[int], n_latents: int, n_atom_types: int = 5,
                    latent_seed: int = 0) -> pd.DataFrame:
    """Theorem 1's conditions on the paper's QM9 generator, per latent size and initialisation seed.

    For each ``(latent_dim, seed)``: the generator of :meth:`MolGANConfig.paper
    <qlatent.models.molgan.MolGANConfig.paper>` initialised from ``seed``, ``n_latents`` centred
    half-filling photon-count latents (multinomial, from ``latent_seed``), the largest inversion error
    (:func:`inversion_errors`) and the Lipschitz estimates (:func:`lipschitz_bounds`).

    Returns
    -------
    pandas.DataFrame
        Columns ``latent_dim``, ``seed``, ``n_latents``, ``max_inversion_error``, ``forward_lower``,
        ``forward_upper``, ``inverse_lower``, ``inverse_upper``.
    """
    from qlatent.models.molgan import MolGAN, MolGANConfig

    rng = np.random.default_rng(latent_seed)
    rows = []
    for dim in latent_dims:
        counts = rng.multinomial(dim // 2, np.full(dim, 1 / dim), size=n_latents).astype(float)
        z = counts - counts.mean(axis=0)
        for seed in seeds:
            generator = MolGAN(MolGANConfig.paper(dim, n_atom_types), seed=seed).generator
            bounds = lipschitz_bounds(generator, z)
            rows.append({"latent_dim": dim, "seed": seed, "n_latents": n_latents,
                         "max_inversion_error": float(inversion_errors(generator, z).max()),
                         "forward_lower": bounds.forward_lower, "forward_upper": bounds.forward_upper,
                         "inverse_lower": bounds.inverse_lower, "inverse_upper": bounds.inverse_upper})
    return pd.DataFrame(rows)
