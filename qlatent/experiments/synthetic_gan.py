"""The synthetic-dataset benchmark: WGAN-GPs with quantum and classical latents on quantum data.

One run per (latent distribution × seed). Every run trains the same WGAN-GP (only the latent
changes) on the same train split of the synthetic dataset (:mod:`qlatent.data.synthetic`) and is
scored on the held-out split. Latents:

``boson-indistinguishable``  photon counts of the dataset's own interferometer and source
``boson-partial``            same interferometer, partially distinguishable photons
``boson-distinguishable``    same interferometer, distinguishable photons (no interference)
``independent-counts``       independent counts with the indistinguishable photons' marginals
``gaussian``, ``uniform``    the usual continuous latents, same dimension (one per mode)

Count latents are drawn from a bank requested through the sample store, with a different seed
from the dataset's own counts, then post-processed alike (:class:`qlatent.latent.CountPostprocess`).
Runs live in ``<results>/runs/<latent>-seed<k>-<hash>/`` and resume after an interruption.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.checks import require_positive_ints
from qlatent.data.synthetic import SyntheticRecipe, load_synthetic, photon_source
from qlatent.experiments.grid import RunOutcome, product_jobs, run_grid
from qlatent.latent.photonic import LATENT_NAMES as LATENTS
from qlatent.latent.photonic import QUANTUM_LATENT as REFERENCE_LATENT
from qlatent.latent.photonic import check_latent_names

# Metric name → whether lower is better.
METRICS = {"wasserstein1": True, "sliced_wasserstein": True, "mmd": True, "precision": False, "recall": False,
           "density": False, "coverage": False}
_BANK_SEED_OFFSET = 1_000_003  # keeps latent banks apart from the dataset's own samples


@dataclass(frozen=True)
class GANExperimentConfig:
    """Everything that determines one benchmark run apart from the latent and the seed."""

    dataset: SyntheticRecipe = field(default_factory=SyntheticRecipe)
    partial_indistinguishability: float = 0.7
    bank_size: int = 20_000
    standardize: bool = True
    noise_scale: float = 0.0
    generator_hidden: tuple[int, ...] = (64, 64)
    critic_hidden: tuple[int, ...] = (64, 64)
    n_steps: int = 300
    batch_size: int = 256
    n_critic: int = 5
    learning_rate: float = 5e-4
    test_fraction: float = 0.2
    eval_samples: int = 2000
    log_every: int = 50

    def __post_init__(self) -> None:
        require_positive_ints(self, ("bank_size", "n_steps", "batch_size", "n_critic", "eval_samples", "log_every"))
        if not 0.0 <= self.partial_indistinguishability <= 1.0:
            raise ValueError(f"partial_indistinguishability must be in [0, 1], got {self.partial_indistinguishability}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps({**dataclasses.asdict(self), "dataset": self.dataset.to_dict()}))

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


def make_latent(name: str, config: GANExperimentConfig, store: Any = None) -> Any:
    """The latent distribution ``name`` (one of :data:`LATENTS`) for this benchmark.

    Boson banks use the dataset's own interferometer and source, with other samples than the
    dataset's (a seed offset), post-processed by the config's recipe.
    """
    from qlatent.latent import CountPostprocess
    from qlatent.latent.photonic import make_latent as make_photonic_latent

    source = dataclasses.replace(photon_source(config.dataset),
                                 indistinguishability=config.partial_indistinguishability)
    bank_seed = (config.dataset.child_seeds()["samples"] + _BANK_SEED_OFFSET) % 2**32
    postprocess = CountPostprocess(standardize=config.standardize, noise_scale=config.noise_scale)
    return make_photonic_latent(name, source, config.bank_size, bank_seed, postprocess, store)


def final_metrics(generated: np.ndarray, held_out: np.ndarray, seed: int) -> dict[str, float]:
    """Every metric of :data:`METRICS` between generated points and the held-out split."""
    from qlatent.metrics.distributions import mmd, precision_recall_density_coverage, sliced_wasserstein, wasserstein1

    scores = {
        "wasserstein1": wasserstein1(generated, held_out, seed=seed),
        "sliced_wasserstein": sliced_wasserstein(generated, held_out, seed=seed),
        "mmd": mmd(generated, held_out),
    }
    scores.update(precision_recall_density_coverage(held_out, generated))
    return {name: float(value) for name, value in scores.items()}


def train_run(latent_name: str, seed: int, config: GANExperimentConfig, runs_dir: Path, store: Any = None,
              progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one run; return its final metrics and its training curve."""
    import torch

    from qlatent.metrics.distributions import sliced_wasserstein
    from qlatent.models.gan import WGANGP, WGANGPConfig
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import Trainer, TrainerConfig

    dataset = load_synthetic(config.dataset, store=store)
    train, held_out = dataset.split(config.test_fraction, seed=config.dataset.seed)
    latent = make_latent(latent_name, config, store)
    model = WGANGP(WGANGPConfig(latent_dim=latent.dim, data_dim=train.shape[1],
                                generator_hidden=config.generator_hidden, critic_hidden=config.critic_hidden,
                                n_critic=config.n_critic, lr_generator=config.learning_rate,
                                lr_critic=config.learning_rate), seed=seed)
    eval_points = held_out[: config.eval_samples]

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        generated = model.sample(len(eval_points), latent, generator).numpy()
        return {"eval_sliced_wasserstein": sliced_wasserstein(generated, eval_points, seed=0)}

    trainer = Trainer(model, latent, TensorBank(train, name="synthetic-train"),
                      TrainerConfig(n_steps=config.n_steps, batch_size=config.batch_size, seed=seed,
                                    log_every=config.log_every, checkpoint_every=max(config.n_steps // 4, 1),
                                    progress=progress),
                      runs_dir / f"{latent_name}-seed{seed}-{config.fingerprint()}", evaluate=evaluate)
    curve = pd.DataFrame(trainer.fit(resume=True))
    generator = torch.Generator().manual_seed(10_000 + seed)
    generated = trainer.sample(config.eval_samples, generator).numpy()
    return RunOutcome(final_metrics(generated, held_out[: config.eval_samples], seed), curve)


def run_benchmark(config: GANExperimentConfig, latents: Sequence[str], seeds: Sequence[int], runs_dir: Path,
                  store: Any = None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All (latent × seed) runs; returns tidy ``runs`` (latent, seed, metric, value) and ``curves`` tables."""
    check_latent_names(list(latents))
    results = run_grid(lambda latent, seed: train_run(latent, seed, config, runs_dir, store),
                       product_jobs(latent=latents, seed=seeds), progress)
    return results.runs, results.curves
