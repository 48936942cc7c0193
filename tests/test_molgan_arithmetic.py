"""MolGAN's arithmetic version 2 (batched generator pass, real and generated graphs in one critic pass,
R-GCN by weight blocks) trains to the numbers of version 1 up to rounding, and keys runs apart.

Version 1 is the code of ``benchmarks/bench_molgan.py``'s ``OLD_COMMIT``, read from git.
Tolerance: over 300 seeded steps at learning rate 1e-3, every step's losses agree within 1e-4
(measured: 3e-6) and at least 99.9 % of the generated graphs' node and bond types are the same
(measured: all).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from conftest import REPO

import qlatent.models.molgan as molgan
from qlatent.latent import GaussianLatent
from qlatent.models.rgcn import RelationalGraphConv, relation_matrix

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_molgan import load_old_molgan  # noqa: E402


def _train(module, steps: int):
    config = module.MolGANConfig(latent_dim=8, n_atom_types=5, generator="reinjection", generator_hidden=(16, 32),
                                 conv_hidden=(16, 8), aggregation_dim=16, dense_hidden=(16,), n_critic=3,
                                 lr_generator=1e-3, lr_critic=1e-3)
    model, generator, latent = module.MolGAN(config, seed=0), torch.Generator().manual_seed(0), GaussianLatent(8)
    pool = torch.Generator().manual_seed(1)
    nodes = torch.randint(0, 5, (512, 9), generator=pool)
    adjacency = torch.triu(torch.randint(0, 4, (512, 9, 9), generator=pool), 1)
    adjacency = adjacency + adjacency.transpose(1, 2)

    def draw():
        rows = torch.randint(0, 512, (32,), generator=generator)
        return nodes[rows], adjacency[rows]

    losses = [model.train_step(draw, latent, generator) for _ in range(steps)]
    return losses, model.sample_graphs(2000, latent, torch.Generator().manual_seed(5))


def test_version_2_trains_to_the_numbers_of_version_1(torch_one_thread):
    old_losses, old_graphs = _train(load_old_molgan(), 300)
    new_losses, new_graphs = _train(molgan, 300)
    for name in old_losses[0]:
        old = np.array([row[name] for row in old_losses])
        new = np.array([row[name] for row in new_losses])
        np.testing.assert_allclose(new, old, rtol=1e-4, atol=1e-4, err_msg=name)
    for old, new in zip(old_graphs, new_graphs):
        assert (old == new).float().mean() >= 0.999


def test_relational_convolution_is_the_sum_over_bond_types_and_neighbours():
    torch.manual_seed(0)
    layer = RelationalGraphConv(5, 3, n_bond_types=4, activation="tanh")
    annotations, edges = torch.randn(2, 6, 5), torch.softmax(torch.randn(2, 6, 6, 4), dim=-1)
    weight, bias = layer.linear.weight.view(4, 3, 5), layer.linear.bias.view(4, 3)
    expected = annotations @ weight[0].T + bias[0]
    for r in (1, 2, 3):  # A_r (H W_r^T + b_r), eq. (2) of Schlichtkrull et al. with MolGAN's bias per type
        expected = expected + edges[..., r] @ (annotations @ weight[r].T + bias[r])
    torch.testing.assert_close(layer(annotations, edges), torch.tanh(expected))
    torch.testing.assert_close(layer.propagate(annotations, relation_matrix(edges)), torch.tanh(expected))


def test_the_arithmetic_version_keys_the_run(monkeypatch):
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import TrainerConfig, run_key

    model = molgan.MolGAN(molgan.MolGANConfig(latent_dim=4, n_atom_types=5), seed=0)
    data, settings = TensorBank(torch.zeros(8, 9, dtype=torch.int64)), TrainerConfig(n_steps=1, batch_size=4, seed=0)
    key = run_key(model, GaussianLatent(4), data, settings)
    assert model.describe()["arithmetic"] == molgan.ARITHMETIC_VERSION
    monkeypatch.setattr(molgan, "ARITHMETIC_VERSION", molgan.ARITHMETIC_VERSION + 1)
    assert run_key(model, GaussianLatent(4), data, settings) != key


@pytest.mark.parametrize("sampling", ["gumbel", "gumbel-hard"])
def test_version_2_keeps_the_random_stream_with_gumbel_noise(sampling, torch_one_thread):
    """The draws are made in version 1's order (batch, latents, noise, weights per critic update)."""
    nodes = torch.randint(0, 5, (16, 9), generator=torch.Generator().manual_seed(1))
    batch = (nodes, torch.zeros(16, 9, 9, dtype=torch.int64))
    results = []
    for module in (load_old_molgan(), molgan):
        config = module.MolGANConfig(latent_dim=4, n_atom_types=5, generator_hidden=(8,), conv_hidden=(8,),
                                     aggregation_dim=8, dense_hidden=(8,), n_critic=2, sampling=sampling)
        model, generator = module.MolGAN(config, seed=0), torch.Generator().manual_seed(0)
        results.append([model.train_step(lambda: batch, GaussianLatent(4), generator)
                        for _ in range(3)] + [generator.get_state()])
    assert torch.equal(results[0][-1], results[1][-1])
    for old, new in zip(results[0][:-1], results[1][:-1]):
        assert new == pytest.approx(old, rel=1e-5, abs=1e-5)
