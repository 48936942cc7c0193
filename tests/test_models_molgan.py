"""MolGAN: graph shapes and symmetry, seeded Gumbel sampling, an R-GCN re-derived by hand,
permutation invariance, the gradient penalty on analytic critics, the λ mix, and a resumable
Trainer run that ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from rdkit import Chem
from scipy import stats

from qlatent.chem.graphs import AtomEncoder, canonical_smiles, graphs_to_mols, mol_to_graph
from qlatent.latent import GaussianLatent
from qlatent.models.molgan import (
    GraphBank,
    MolGAN,
    MolGANConfig,
    gradient_penalty,
    gumbel_noise,
    relax,
    symmetric_gumbel_noise,
)
from qlatent.models.rgcn import GraphCritic, RelationalGraphConv
from qlatent.training.loop import Trainer, TrainerConfig

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SMILES = ["CCO", "C=O", "CC#N", "OCC(F)N", "C1CC1", "CC(=O)O", "N#CC=C", "FC(F)F"]
ENCODER = AtomEncoder.from_atom_types([(6, 0), (7, 0), (8, 0), (9, 0)])
SMALL = dict(generator_hidden=(16,), conv_hidden=(8, 4), aggregation_dim=8, dense_hidden=(8,))


def molecule_graphs(repeat: int = 1) -> tuple[np.ndarray, np.ndarray]:
    pairs = [mol_to_graph(Chem.MolFromSmiles(s), ENCODER) for s in SMILES] * repeat
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def config(**overrides) -> MolGANConfig:
    return MolGANConfig(**{"latent_dim": 4, "n_atom_types": ENCODER.n_types, **SMALL, **overrides})


def random_soft_graph(batch: int, n_nodes: int, n_atom: int, n_bond: int,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    nodes = torch.softmax(torch.randn(batch, n_nodes, n_atom, generator=g), -1)
    edges = torch.randn(batch, n_nodes, n_nodes, n_bond, generator=g)
    return nodes, torch.softmax(edges + edges.transpose(1, 2), -1)


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("overrides, error, match", [
    ({"latent_dim": 0}, ValueError, "latent_dim must be >= 1"),
    ({"latent_dim": 2.0}, TypeError, "latent_dim must be an int"),
    ({"n_atom_types": 1}, ValueError, "n_atom_types must be >= 2"),
    ({"conv_hidden": ()}, ValueError, "conv_hidden needs at least one"),
    ({"generator_hidden": (16, 0)}, ValueError, r"generator_hidden\[1\] must be positive"),
    ({"sampling": "gumbel_hard"}, ValueError, "sampling must be one of"),
    ({"gradient_penalty": "joint"}, ValueError, "gradient_penalty must be one of"),
    ({"temperature": 0.0}, ValueError, "temperature must be positive"),
    ({"rl_lambda": 1.5}, ValueError, r"rl_lambda must be in \[0, 1\]"),
    ({"gp_weight": -1.0}, ValueError, "gp_weight must be non-negative"),
    ({"betas": (0.9, 1.0)}, ValueError, "betas must be two numbers"),
    ({"dropout": 1.0}, ValueError, "dropout must be in"),
    ({"activation": "swish"}, ValueError, "unknown activation"),
    ({"rl_warmup_steps": -1}, ValueError, "rl_warmup_steps must be >= 0"),
])
def test_config_rejects_bad_values(overrides, error, match):
    with pytest.raises(error, match=match):
        config(**overrides)


def test_molgan_defaults_are_molgans_sizes():
    c = MolGANConfig(latent_dim=32, n_atom_types=5)
    assert (c.generator_hidden, c.conv_hidden, c.aggregation_dim, c.dense_hidden) == (
        (128, 256, 512), (64, 32), 128, (128, 64))
    assert (c.n_bond_types, c.max_atoms, c.n_critic, c.gp_weight, c.rl_lambda) == (4, 9, 5, 10.0, 1.0)


def test_model_rejects_missing_reward_and_wrong_encoder():
    with pytest.raises(ValueError, match="needs a reward_fn and an encoder"):
        MolGAN(config(rl_lambda=0.5), seed=0, encoder=ENCODER)
    with pytest.raises(ValueError, match="encoder has 5 node types.*n_atom_types=6"):
        MolGAN(config(n_atom_types=6), seed=0, encoder=ENCODER)
    with pytest.raises(TypeError, match="seed must be an int"):
        MolGAN(config(), seed=1.0)


# ---------------------------------------------------------------- generator and sampling


@pytest.mark.parametrize("sampling", ["softmax", "gumbel", "gumbel-hard"])
def test_relaxed_graphs_shapes_symmetry_and_diagonal(sampling):
    model = MolGAN(config(sampling=sampling), seed=0)
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    node_logits, edge_logits = model.generator(z)
    assert node_logits.shape == (6, 9, 5) and edge_logits.shape == (6, 9, 9, 4)
    assert torch.equal(edge_logits, edge_logits.transpose(1, 2))
    nodes, edges = model.relaxed_graphs(z, torch.Generator().manual_seed(2))
    assert nodes.shape == (6, 9, 5) and edges.shape == (6, 9, 9, 4)
    assert torch.equal(edges, edges.transpose(1, 2))
    torch.testing.assert_close(nodes.sum(-1), torch.ones(6, 9))
    torch.testing.assert_close(edges.sum(-1), torch.ones(6, 9, 9))
    diagonal = edges.diagonal(dim1=1, dim2=2).permute(0, 2, 1)
    assert torch.equal(diagonal, torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(6, 9, 4))
    if sampling == "gumbel-hard":
        assert set(nodes.unique().tolist()) <= {0.0, 1.0} and set(edges.unique().tolist()) <= {0.0, 1.0}


def test_straight_through_has_the_soft_gradient():
    logits = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    noise = gumbel_noise((5, 3), torch.Generator().manual_seed(1))
    weights = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    (grad_hard,) = torch.autograd.grad((relax(logits, "gumbel-hard", 0.7, noise) * weights).sum(), logits)
    (grad_soft,) = torch.autograd.grad((relax(logits, "gumbel", 0.7, noise) * weights).sum(), logits)
    torch.testing.assert_close(grad_hard, grad_soft)


def test_relax_needs_noise_for_gumbel():
    with pytest.raises(ValueError, match="needs Gumbel noise of shape"):
        relax(torch.zeros(2, 3), "gumbel")
    with pytest.raises(ValueError, match="sampling must be one of"):
        relax(torch.zeros(2, 3), "argmax")


@pytest.mark.parametrize("sampling", ["gumbel", "gumbel-hard"])
def test_gumbel_sampling_reproducible_and_independent_of_global_rng(sampling):
    model = MolGAN(config(sampling=sampling), seed=0)
    z = torch.randn(4, 4, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    global_state = torch.get_rng_state()
    first = model.relaxed_graphs(z, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), global_state)
    torch.manual_seed(456)
    second = model.relaxed_graphs(z, torch.Generator().manual_seed(7))
    other = model.relaxed_graphs(z, torch.Generator().manual_seed(8))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.equal(first[1], other[1])


def test_gumbel_max_draws_the_softmax_categorical():
    """argmax(logits + g) is a categorical draw with probabilities softmax(logits): χ² at n = 40k."""
    n = 40_000
    logits = torch.tensor([1.5, 0.0, -1.0, 0.5])
    noise = gumbel_noise((n, 4), torch.Generator().manual_seed(3))
    counts = torch.bincount(relax(logits.expand(n, 4), "gumbel-hard", 1.0, noise).argmax(-1), minlength=4)
    expected = torch.softmax(logits.double(), 0).numpy() * n
    assert stats.chisquare(counts.numpy(), expected).pvalue > 1e-3


def test_symmetric_noise_is_symmetric_and_finite():
    noise = symmetric_gumbel_noise(3, 9, 4, torch.Generator().manual_seed(0))
    assert torch.equal(noise, noise.transpose(1, 2)) and bool(torch.isfinite(noise).all())
    upper = noise[:, *torch.triu_indices(9, 9, 1)]
    assert upper.unique().numel() == upper.numel()


@pytest.mark.parametrize("mode", ["argmax", "categorical"])
def test_sampled_graphs_are_symmetric_with_empty_diagonal(mode):
    model = MolGAN(config(), seed=0)
    nodes, adjacency = model.sample_graphs(50, GaussianLatent(4), torch.Generator().manual_seed(0), mode=mode,
                                           batch_size=16)
    assert nodes.shape == (50, 9) and adjacency.shape == (50, 9, 9)
    assert nodes.dtype == adjacency.dtype == torch.int64
    assert torch.equal(adjacency, adjacency.transpose(1, 2))
    assert not adjacency.diagonal(dim1=1, dim2=2).any()
    assert int(nodes.max()) < 5 and int(adjacency.max()) < 4
    again = model.sample_graphs(50, GaussianLatent(4), torch.Generator().manual_seed(0), mode=mode, batch_size=16)
    assert torch.equal(nodes, again[0]) and torch.equal(adjacency, again[1])


def test_sample_graphs_rejects_bad_arguments():
    model = MolGAN(config(), seed=0)
    g = torch.Generator()
    with pytest.raises(ValueError, match="'gaussian' has dimension 3, but the generator takes latent_dim=4"):
        model.sample_graphs(5, GaussianLatent(3), g)
    with pytest.raises(ValueError, match="mode must be one of"):
        model.sample_graphs(5, GaussianLatent(4), g, mode="greedy")
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample_graphs(0, GaussianLatent(4), g)


def test_sample_molecules_decodes_without_crashing():
    model = MolGAN(config(), seed=0, encoder=ENCODER)
    mols = model.sample_molecules(40, GaussianLatent(4), torch.Generator().manual_seed(0), mode="categorical")
    assert len(mols) == 40 and all(m is None or isinstance(m, Chem.Mol) for m in mols)
    with pytest.raises(ValueError, match="needs an AtomEncoder"):
        MolGAN(config(), seed=0).sample_molecules(2, GaussianLatent(4), torch.Generator())
    wider = AtomEncoder.from_atom_types([(6, 0), (7, 0), (8, 0), (9, 0), (16, 0)])
    with pytest.raises(ValueError, match="encoder has 6 node types"):
        model.sample_molecules(2, GaussianLatent(4), torch.Generator(), encoder=wider)


# ---------------------------------------------------------------- critic


def test_rgcn_layer_matches_the_formula_written_out():
    """h_i' = tanh(W_0 h_i + b_0 + Σ_r Σ_j A_r[i,j] (W_r h_j + b_r)), r over bond types 1..Y-1."""
    torch.manual_seed(0)
    layer = RelationalGraphConv(5, 3, n_bond_types=4, activation="tanh")
    nodes, edges = random_soft_graph(2, 4, 5, 4, seed=1)
    weight = layer.linear.weight.view(4, 3, 5)  # (relation incl. self, out, in)
    bias = layer.linear.bias.view(4, 3)
    expected = torch.empty(2, 4, 3)
    for b, i in itertools.product(range(2), range(4)):
        total = weight[0] @ nodes[b, i] + bias[0]
        for r, j in itertools.product(range(1, 4), range(4)):
            total = total + edges[b, i, j, r] * (weight[r] @ nodes[b, j] + bias[r])
        expected[b, i] = torch.tanh(total)
    torch.testing.assert_close(layer(nodes, edges), expected)


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_critic_is_invariant_to_node_permutations(output):
    torch.manual_seed(0)
    critic = GraphCritic(5, 4, (8, 4), 8, (8,), output=output)
    nodes, edges = random_soft_graph(3, 9, 5, 4, seed=2)
    scores = critic(nodes, edges)
    assert scores.shape == (3,)
    if output == "sigmoid":
        assert bool(((scores > 0) & (scores < 1)).all())
    for seed in range(3):
        perm = torch.randperm(9, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(critic(nodes[:, perm], edges[:, perm][:, :, perm]), scores)


def test_critic_rejects_a_graph_without_convolutions():
    with pytest.raises(ValueError, match="conv_hidden needs at least one"):
        GraphCritic(5, 4, (), 8, (8,))
    with pytest.raises(ValueError, match="output must be one of"):
        GraphCritic(5, 4, (4,), 8, (8,), output="tanh")


# ---------------------------------------------------------------- gradient penalty


def _linear_critic(w_nodes: torch.Tensor, w_edges: torch.Tensor):
    return lambda nodes, edges: (nodes * w_nodes).flatten(1).sum(1) + (edges * w_edges).flatten(1).sum(1)


@pytest.mark.parametrize("scale", [1.0, 0.5, 3.0])
def test_penalty_of_a_linear_critic_is_its_norm_gap_squared(scale):
    """D(x) = c·⟨w, x⟩ with ‖w‖ = 1 has ‖∇D‖ = c everywhere: penalty (c − 1)², zero for c = 1."""
    g = torch.Generator().manual_seed(0)
    w_nodes, w_edges = torch.randn(9, 5, generator=g), torch.randn(9, 9, 4, generator=g)
    norm = torch.sqrt(w_nodes.pow(2).sum() + w_edges.pow(2).sum())
    critic = _linear_critic(scale * w_nodes / norm, scale * w_edges / norm)
    real, fake = random_soft_graph(4, 9, 5, 4, seed=1), random_soft_graph(4, 9, 5, 4, seed=2)
    penalty = gradient_penalty(critic, real, fake, torch.rand(4, generator=g), kind="sample")
    torch.testing.assert_close(penalty, torch.tensor((scale - 1.0) ** 2), atol=1e-6, rtol=1e-5)


def test_per_entry_penalty_is_zero_when_every_slot_has_a_unit_gradient():
    """MolGAN's form: each node slot's and each edge slot's gradient of norm 1 gives zero."""
    g = torch.Generator().manual_seed(0)
    w_nodes, w_edges = torch.randn(9, 5, generator=g), torch.randn(9, 9, 4, generator=g)
    critic = _linear_critic(w_nodes / w_nodes.norm(dim=-1, keepdim=True), w_edges / w_edges.norm(dim=-1, keepdim=True))
    real, fake = random_soft_graph(4, 9, 5, 4, seed=1), random_soft_graph(4, 9, 5, 4, seed=2)
    penalty = gradient_penalty(critic, real, fake, torch.rand(4, generator=g), kind="per_entry")
    torch.testing.assert_close(penalty, torch.tensor(0.0), atol=1e-6, rtol=0)
    sample_form = gradient_penalty(critic, real, fake, torch.rand(4, generator=g), kind="sample")
    torch.testing.assert_close(sample_form, torch.tensor((np.sqrt(81 + 9) - 1.0) ** 2, dtype=torch.float32))


def test_penalty_of_a_constant_critic_is_one_and_rejects_unknown_kind():
    real, fake = random_soft_graph(2, 9, 5, 4, seed=1), random_soft_graph(2, 9, 5, 4, seed=2)
    constant = lambda nodes, edges: 0.0 * nodes.sum((1, 2)) + 0.0 * edges.sum((1, 2, 3)) + 1.0  # noqa: E731
    assert float(gradient_penalty(constant, real, fake, torch.full((2,), 0.5))) == 1.0
    with pytest.raises(ValueError, match="gradient_penalty kind must be one of"):
        gradient_penalty(constant, real, fake, torch.full((2,), 0.5), kind="joint")


#: A zero input gradient is one unit below the target norm: (0 − 1)² per sample for "sample",
#: one node term plus one edge term for "per_entry".
ZERO_GRADIENT_PENALTY = {"sample": 1.0, "per_entry": 2.0}


@pytest.mark.parametrize("kind", ["sample", "per_entry"])
@pytest.mark.parametrize("flat", ["times_zero", "constant"])
def test_penalty_of_a_critic_with_zero_input_gradient_is_finite(kind, flat):
    """A critic multiplying its input by 0 (the gradient is 0 but depends on a weight) or ignoring it:
    the penalty is its value at a zero gradient and the weights' gradients are finite (not √0's NaN)."""
    weight = torch.ones((), requires_grad=True)
    if flat == "times_zero":
        critic = lambda nodes, edges: (0.0 * weight * nodes).sum((1, 2)) + (0.0 * weight * edges).sum((1, 2, 3))  # noqa: E731
    else:
        critic = lambda nodes, edges: weight.expand(nodes.shape[0])  # noqa: E731
    real, fake = random_soft_graph(3, 9, 5, 4, seed=1), random_soft_graph(3, 9, 5, 4, seed=2)
    penalty = gradient_penalty(critic, real, fake, torch.full((3,), 0.5), kind=kind)
    assert float(penalty.detach()) == ZERO_GRADIENT_PENALTY[kind]
    (critic(*real).mean() - critic(*fake).mean() + 10.0 * penalty).backward()  # the critic's loss, sign aside
    assert weight.grad is not None and bool(torch.isfinite(weight.grad).all())


@pytest.mark.parametrize("kind", ["sample", "per_entry"])
def test_a_flat_graph_critic_trains_with_finite_gradients(kind):
    """MolGAN's critic with a zero output layer has an input gradient exactly zero: one critic update
    reports the zero-gradient penalty and leaves every critic parameter and gradient finite."""
    model = MolGAN(config(n_critic=1, gradient_penalty=kind), seed=0, encoder=ENCODER)
    with torch.no_grad():
        model.critic.last.weight.zero_()
    g, draw = _draw()
    losses = model.train_step(draw, GaussianLatent(4), g)
    assert losses["gradient_penalty"] == ZERO_GRADIENT_PENALTY[kind]
    assert all(np.isfinite(v) for v in losses.values())
    for name, parameter in model.critic.named_parameters():
        assert parameter.grad is None or bool(torch.isfinite(parameter.grad).all()), name
        assert bool(torch.isfinite(parameter).all()), name


def test_penalty_of_the_graph_critic_flows_to_its_parameters():
    torch.manual_seed(0)
    critic = GraphCritic(5, 4, (8, 4), 8, (8,))
    real, fake = random_soft_graph(3, 9, 5, 4, seed=1), random_soft_graph(3, 9, 5, 4, seed=2)
    penalty = gradient_penalty(critic, real, fake, torch.rand(3, generator=torch.Generator().manual_seed(0)))
    assert float(penalty.detach()) >= 0.0
    penalty.backward()
    # ∇_x D does not depend on the output bias; every other parameter gets a gradient
    gradients = {name: p.grad for name, p in critic.named_parameters()}
    assert gradients.pop("last.bias") is None
    assert all(g is not None and bool(torch.isfinite(g).all()) and float(g.abs().sum()) > 0
               for g in gradients.values())


# ---------------------------------------------------------------- training steps and the λ mix


def _draw(repeat: int = 1, batch: int = 8):
    bank = GraphBank(*molecule_graphs(repeat))
    g = torch.Generator().manual_seed(0)
    return g, (lambda: bank.batch(batch, g))


def _validity(mols):
    return np.array([0.0 if m is None else 1.0 for m in mols])


def test_lambda_one_has_no_rl_terms_and_never_calls_the_reward():
    def forbidden(mols):
        raise AssertionError("reward_fn called with rl_lambda = 1")

    model = MolGAN(config(n_critic=2), seed=0, reward_fn=forbidden, encoder=ENCODER)
    assert model.reward_net is None and "reward" not in model.describe()
    g, draw = _draw()
    losses = model.train_step(draw, GaussianLatent(4), g)
    assert set(losses) == {"critic_loss", "wasserstein", "gradient_penalty", "generator_loss"}
    assert all(np.isfinite(v) for v in losses.values())
    assert losses["gradient_penalty"] >= 0.0
    assert set(model.state_dict()) == {"steps", "generator", "critic", "opt_generator", "opt_critic"}


def test_rl_mix_trains_the_reward_network_and_switches_on_after_warmup():
    calls = []

    def validity(mols):
        calls.append(len(mols))
        return _validity(mols)

    model = MolGAN(config(n_critic=1, rl_lambda=0.0, rl_balance=False, rl_warmup_steps=1), seed=0,
                   reward_fn=validity, encoder=ENCODER)
    assert model.describe()["reward"].endswith("<locals>.validity")
    before = [p.clone() for p in model.reward_net.parameters()]
    g, draw = _draw()
    warm = model.train_step(draw, GaussianLatent(4), g)
    assert {"reward_loss", "rl_loss", "reward_real", "reward_fake"} <= set(warm)
    assert warm["reward_real"] == 1.0  # every real molecule is valid
    assert calls == [8, 8]  # real batch and generated batch
    assert warm["generator_loss"] != warm["rl_loss"]  # warm-up: the WGAN loss alone
    assert any(not torch.equal(a, b) for a, b in zip(before, model.reward_net.parameters()))
    after = model.train_step(draw, GaussianLatent(4), g)
    assert after["generator_loss"] == after["rl_loss"]  # λ = 0, no balancing: L = L_RL
    assert -1.0 <= after["rl_loss"] <= 0.0


def test_feature_matching_step_runs():
    model = MolGAN(config(n_critic=1, feature_matching=True, sampling="gumbel"), seed=0)
    g, draw = _draw()
    assert model.train_step(draw, GaussianLatent(4), g)["generator_loss"] >= 0.0


def test_reward_outside_unit_interval_is_refused():
    model = MolGAN(config(n_critic=1, rl_lambda=0.5), seed=0, reward_fn=lambda mols: 2.0 * _validity(mols),
                   encoder=ENCODER)
    g, draw = _draw()
    with pytest.raises(ValueError, match=r"reward_fn must return finite values in \[0, 1\]"):
        model.train_step(draw, GaussianLatent(4), g)


def test_bad_real_batches_are_refused():
    model = MolGAN(config(n_critic=1), seed=0)
    nodes, adjacency = (torch.as_tensor(a) for a in molecule_graphs())
    g = torch.Generator()
    with pytest.raises(ValueError, match="draw_batch must return"):
        model.train_step(lambda: nodes, GaussianLatent(4), g)
    with pytest.raises(ValueError, match=r"nodes indices must lie in 0..4, got range 3..7"):
        model.train_step(lambda: (nodes + 3, adjacency), GaussianLatent(4), g)
    with pytest.raises(ValueError, match="adjacency must hold integer type indices"):
        model.train_step(lambda: (nodes, adjacency.float()), GaussianLatent(4), g)
    with pytest.raises(ValueError, match=r"expected nodes \(B, 9\)"):
        model.train_step(lambda: (nodes[:, :8], adjacency), GaussianLatent(4), g)


# ---------------------------------------------------------------- data bank and Trainer


def test_graph_bank_serves_pairs_and_hashes_its_graphs():
    nodes, adjacency = molecule_graphs(2)
    bank = GraphBank(nodes, adjacency, name="tiny")
    batch = bank.batch(5, torch.Generator().manual_seed(0))
    assert isinstance(batch, tuple) and batch[0].shape == (5, 9) and batch[1].shape == (5, 9, 9)
    assert batch[0].dtype == batch[1].dtype == torch.int64 and len(bank) == 16
    decoded = [canonical_smiles(m) for m in graphs_to_mols(batch[0].numpy(), batch[1].numpy(), ENCODER)]
    assert set(decoded) <= {canonical_smiles(Chem.MolFromSmiles(s)) for s in SMILES}
    described = bank.describe()
    assert described["size"] == 16 and len(described["sha256"]) == 64
    assert described["sha256"] == GraphBank(nodes, adjacency).sha256
    changed = nodes.copy()
    changed[0, 0] = 4
    assert GraphBank(changed, adjacency).sha256 != described["sha256"]


def test_graph_bank_from_a_dataset_split():
    nodes, adjacency = molecule_graphs()
    dataset = SimpleNamespace(nodes=nodes, adjacency=adjacency,
                              split_index=lambda split: {"train": np.array([0, 2, 5]), "test": np.array([1])}[split])
    bank = GraphBank.from_dataset(dataset, "train")
    assert len(bank) == 3 and bank.describe()["name"] == "qm9-train"
    assert torch.equal(bank.tensors[1], torch.as_tensor(adjacency[[0, 2, 5]]))


def test_graph_bank_rejects_bad_graphs():
    nodes, adjacency = molecule_graphs()
    asymmetric = adjacency.copy()
    asymmetric[0, 0, 1] = 3
    with pytest.raises(ValueError, match="adjacency must be symmetric"):
        GraphBank(nodes, asymmetric)
    with pytest.raises(ValueError, match=r"expected nodes \(N, V\) and adjacency \(N, V, V\)"):
        GraphBank(nodes, adjacency[:, :8])
    with pytest.raises(ValueError, match="nodes must hold integer type indices"):
        GraphBank(nodes.astype(float), adjacency)
    with pytest.raises(ValueError, match="adjacency indices must be non-negative"):
        GraphBank(nodes, -adjacency)


def _trainer(run_dir, n_steps: int) -> Trainer:
    model = MolGAN(config(n_critic=2, sampling="gumbel-hard", rl_lambda=0.5), seed=3, reward_fn=_validity,
                   encoder=ENCODER)
    return Trainer(model, GaussianLatent(4), GraphBank(*molecule_graphs(2)),
                   TrainerConfig(n_steps=n_steps, batch_size=4, seed=11, checkpoint_every=2, log_every=1,
                                 progress=False), run_dir)


def test_trainer_resume_is_bit_identical(tmp_path):
    straight = _trainer(tmp_path / "straight", 4)
    rows = straight.fit()
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    assert {"critic_loss", "reward_loss", "rl_loss"} <= set(rows[0])
    _trainer(tmp_path / "split", 2).fit()
    resumed = _trainer(tmp_path / "split", 4)
    resumed_rows = resumed.fit()
    assert resumed_rows == rows
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a["steps"] == b["steps"] == 4
    for name in ("generator", "critic", "reward_net"):
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name])
    graphs = straight.sample(6, torch.Generator().manual_seed(0))
    assert torch.equal(graphs[1], resumed.sample(6, torch.Generator().manual_seed(0))[1])


def test_trainer_refuses_a_latent_of_the_wrong_dimension(tmp_path):
    model = MolGAN(config(), seed=0)
    with pytest.raises(ValueError, match="'gaussian' has dimension 7, but the model takes latent_dim=4"):
        Trainer(model, GaussianLatent(7), GraphBank(*molecule_graphs()),
                TrainerConfig(n_steps=1, batch_size=4, seed=0, progress=False), tmp_path)
