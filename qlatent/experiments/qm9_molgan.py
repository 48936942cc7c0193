"""QM9 molecule generation: MolGAN with quantum and classical latents, scored with molecular metrics.

One run per (latent × seed), each the same MolGAN (:mod:`qlatent.models.molgan`) on the same QM9
training split (:mod:`qlatent.data.qm9`), only the latent changes. Latents are the paper's family
(:mod:`qlatent.latent.photonic`): photon counts of one Haar-random interferometer (indistinguishable,
partially distinguishable, distinguishable), independent counts with the same marginals, Gaussian
and uniform — all of dimension ``n_modes``.

After training, ``eval_samples`` graphs are decoded (argmax) and scored
(:func:`qlatent.metrics.molecules.summarize`: validity, uniqueness, novelty, diversity, QED, logP,
SA, MolGAN's normalised scores). MolGAN's published validity counts a molecule with several
fragments as invalid: that is our ``validity_connected``; our ``validity`` accepts any sanitisable
graph. If ``fcd_samples`` > 0, the Fréchet ChemNet Distance (``fcd-torch``) of the first
``fcd_samples`` valid single-fragment molecules (duplicates kept, so mode collapse costs) to as
many test molecules; NaN with fewer than two such molecules. Multi-fragment SMILES are left out
because ChemNet does not tell them apart reliably (two different ones gave identical activations).
Training curves log validity, uniqueness and novelty of ``curve_samples`` molecules every
``log_every`` steps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.checks import require_positive_ints
from qlatent.experiments.grid import GridResults, RunOutcome, product_jobs, run_grid
from qlatent.latent.photonic import LatentSpec, check_latent_names

# Metric → whether lower is better (for paired comparisons).
METRICS = {"validity": False, "validity_connected": False, "uniqueness": False, "novelty": False,
           "internal_diversity": False, "qed": False, "sa": True, "fcd": True}
RL_OBJECTIVES = ("logp", "sas", "qed", "unique", "validity", "novelty", "diversity")


@dataclass(frozen=True)
class MolGANExperimentConfig:
    """Everything that determines one QM9 run apart from the latent and the seed."""

    qm9_subset: int | None = 5000
    qm9_seed: int = 0
    n_photons: int = 4
    n_modes: int = 8
    photon_backend: str = "local"
    partial_indistinguishability: float = 0.7
    bank_size: int = 20_000
    standardize: bool = True
    noise_scale: float = 0.0
    generator_hidden: tuple[int, ...] = (128, 256, 512)
    conv_hidden: tuple[int, ...] = (64, 32)
    aggregation_dim: int = 128
    dense_hidden: tuple[int, ...] = (128, 64)
    sampling: str = "softmax"
    rl_lambda: float = 1.0
    rl_objectives: tuple[str, ...] = ("logp", "sas", "qed", "unique")
    n_steps: int = 300
    batch_size: int = 32
    n_critic: int = 5
    learning_rate: float = 1e-3
    eval_samples: int = 1000
    curve_samples: int = 256
    fcd_samples: int = 0
    log_every: int = 50

    def __post_init__(self) -> None:
        require_positive_ints(self, ("bank_size", "n_steps", "batch_size", "n_critic", "eval_samples", "curve_samples", "log_every"))
        if isinstance(self.fcd_samples, bool) or not isinstance(self.fcd_samples, int) or self.fcd_samples < 0:
            raise ValueError(f"fcd_samples must be a non-negative integer, got {self.fcd_samples!r}")
        if not 0.0 <= self.rl_lambda <= 1.0:
            raise ValueError(f"rl_lambda must be in [0, 1], got {self.rl_lambda}")
        unknown = [name for name in self.rl_objectives if name not in RL_OBJECTIVES]
        if unknown:
            raise ValueError(f"unknown rl_objectives {unknown}; choose from {', '.join(RL_OBJECTIVES)}")
        self.latent_spec()  # validates the photon settings
        for name in ("generator_hidden", "conv_hidden", "dense_hidden", "rl_objectives"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def latent_spec(self) -> LatentSpec:
        return LatentSpec(size=self.n_modes, n_photons=self.n_photons, backend=self.photon_backend,
                          indistinguishability=self.partial_indistinguishability, bank_size=self.bank_size,
                          standardize=self.standardize, noise_scale=self.noise_scale)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@lru_cache(maxsize=4)
def _dataset(subset: int | None, seed: int) -> Any:
    from qlatent.data.qm9 import load_qm9

    return load_qm9(subset=subset, seed=seed)


def load_dataset(config: MolGANExperimentConfig) -> Any:
    """The QM9 graphs of the config (cached per process: several runs share one dataset)."""
    return _dataset(config.qm9_subset, config.qm9_seed)


def make_latent(name: str, config: MolGANExperimentConfig, seed: int, store: Any = None) -> Any:
    """The latent ``name`` of run ``seed`` (see :mod:`qlatent.latent.photonic`)."""
    from qlatent.latent.photonic import build_latent

    return build_latent(name, config.latent_spec(), seed, store)


def _reward_fn(config: MolGANExperimentConfig, training_smiles: list[str]) -> Any:
    if config.rl_lambda >= 1.0:
        return None
    from qlatent.metrics.molecules import molgan_reward

    training = set(training_smiles)

    def reward(mols: list) -> np.ndarray:
        return molgan_reward(mols, config.rl_objectives, training_smiles=training)

    reward.name = "molgan:" + ",".join(config.rl_objectives)  # type: ignore[attr-defined]
    return reward


def _molecule_rows(mols: list) -> pd.DataFrame:
    """Canonical SMILES with QED, logP and SA of the valid generated molecules."""
    from qlatent.chem.graphs import canonical_smiles
    from qlatent.metrics.molecules import logp, qed, sa_score

    valid = [mol for mol in mols if mol is not None]
    if not valid:
        return pd.DataFrame(columns=["smiles", "qed", "logp", "sa"])
    return pd.DataFrame({"smiles": [canonical_smiles(mol) for mol in valid], "qed": qed(valid),
                         "logp": logp(valid), "sa": sa_score(valid)})


def train_run(latent_name: str, seed: int, config: MolGANExperimentConfig, runs_dir: Path, store: Any = None,
              progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one MolGAN run and score its molecules."""
    import torch

    from qlatent.metrics.molecules import fcd, novelty, summarize, uniqueness, validity
    from qlatent.models.molgan import GraphBank, MolGAN, MolGANConfig
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    dataset = load_dataset(config)
    training_smiles = dataset.split_smiles("train")
    training_set = set(training_smiles)
    latent = make_latent(latent_name, config, seed, store)
    model = MolGAN(MolGANConfig(latent_dim=latent.dim, n_atom_types=dataset.n_atom_types,
                                n_bond_types=dataset.n_bond_types, max_atoms=dataset.max_atoms,
                                generator_hidden=config.generator_hidden, conv_hidden=config.conv_hidden,
                                aggregation_dim=config.aggregation_dim, dense_hidden=config.dense_hidden,
                                sampling=config.sampling, n_critic=config.n_critic, lr_generator=config.learning_rate,
                                lr_critic=config.learning_rate, lr_reward=config.learning_rate,
                                rl_lambda=config.rl_lambda),
                   seed=seed, reward_fn=_reward_fn(config, training_smiles), encoder=dataset.atom_encoder)

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        mols = model.sample_molecules(config.curve_samples, latent, generator)
        return {"eval_validity": validity(mols), "eval_uniqueness": uniqueness(mols),
                "eval_novelty": novelty(mols, training_set)}

    data = GraphBank.from_dataset(dataset, "train")
    settings = TrainerConfig(n_steps=config.n_steps, batch_size=config.batch_size, seed=seed,
                             log_every=config.log_every, checkpoint_every=max(config.n_steps // 4, 1),
                             progress=progress)
    trainer = Trainer(model, latent, data, settings,
                      keyed_run_dir(runs_dir, f"{latent_name}-seed{seed}", model, latent, data, settings),
                      evaluate=evaluate)
    curve = pd.DataFrame(trainer.fit(resume=True))
    mols = model.sample_molecules(config.eval_samples, latent, torch.Generator().manual_seed(10_000 + seed))
    scores = {name: float(value) for name, value in summarize(mols, training_set, seed=seed).items()}
    molecules = _molecule_rows(mols)
    if config.fcd_samples > 0:
        connected = molecules["smiles"][~molecules["smiles"].str.contains(".", regex=False)]
        generated = connected.tolist()[: config.fcd_samples]  # duplicates kept: collapse costs
        reference = dataset.split_smiles("test")[: config.fcd_samples]
        scores["fcd"] = fcd(generated, reference) if len(generated) >= 2 else float("nan")
    return RunOutcome(scores, curve, molecules, trainer.training_seconds)


def run_benchmark(config: MolGANExperimentConfig, latents: Sequence[str], seeds: Sequence[int], runs_dir: Path,
                  store: Any = None, progress: bool = True) -> GridResults:
    """All (latent × seed) runs: tidy ``runs``, ``curves`` and generated ``samples`` (molecules) tables."""
    check_latent_names(list(latents))
    return run_grid(lambda latent, seed: train_run(latent, seed, config, runs_dir, store),
                    product_jobs(latent=latents, seed=seeds), progress)


def training_properties(config: MolGANExperimentConfig, n: int, seed: int = 0) -> pd.DataFrame:
    """QED, logP and SA of ``n`` random training molecules (the reference for property histograms)."""
    from rdkit import Chem

    smiles = load_dataset(config).split_smiles("train")
    chosen = np.random.default_rng(seed).choice(len(smiles), size=min(n, len(smiles)), replace=False)
    return _molecule_rows([Chem.MolFromSmiles(smiles[i]) for i in sorted(chosen)])
