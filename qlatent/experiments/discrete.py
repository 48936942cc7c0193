"""Table I of the paper (arXiv:2508.19857, App. D): WGANs on synthetic discrete datasets.

One run per (dataset × latent × seed). Every run trains the paper's network — generator and critic
with 2 hidden layers of 512 ReLU units, batch 500, 5 critic updates per generator update, RMSProp
at learning rate 5e-4, 40,000 iterations — on its own draw of the dataset
(:mod:`qlatent.data.discrete`), with the latent built for that seed
(:func:`qlatent.latent.photonic.build_latent`: the data, the boson latent and the distinguishable
latent each get their own Haar unitary). The paper does not say how the critic is constrained:
gradient penalty (weight 10) by default, weight clipping as an option (``constraint``).

Scores on ``eval_samples`` generated rows: the paper's ``l1_integer`` (mean distance to the nearest
integer) and our distribution distances against held-out rows of the same dataset
(:mod:`qlatent.metrics.discrete`). The training curve logs ``l1_integer`` and ``marginal_tvd`` of
``curve_samples`` rows every ``log_every`` iterations.

Runs live in ``<runs_dir>/<dataset>-<latent>-seed<k>-<key>/``, the key a hash of everything that
shapes training except its length (:func:`qlatent.training.loop.run_key`: settings, model, the
latent's bank, the data's bytes), so a run can be resumed or extended to more iterations, and any
change gives a fresh run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.checks import refusing, require_positive_ints, require_seed
from qlatent.data.discrete import check_dataset_names
from qlatent.experiments.grid import GridResults, RunOutcome, run_grid
from qlatent.latent.photonic import LatentSpec, check_latent_names, derived_seed

#: Metric → whether lower is better.
METRICS = {"l1_integer": True, "marginal_tvd": True, "total_tvd": True, "covariance_error": True}
#: The paper's metric.
PAPER_METRIC = "l1_integer"


@dataclass(frozen=True)
class DiscreteConfig:
    """Everything that determines one Table I run apart from the dataset, the latent and the seed.

    Defaults are the paper's protocol (App. D); ``n_train``, ``n_reference``, ``eval_samples``,
    ``bank_size``, ``curve_samples`` and the critic constraint are ours.
    """

    size: int = 16
    n_train: int = 100_000
    n_reference: int = 10_000
    hidden: tuple[int, ...] = (512, 512)
    activation: str = "relu"
    optimizer: str = "rmsprop"
    learning_rate: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.9)
    constraint: str = "gradient-penalty"
    gp_weight: float = 10.0
    clip_value: float = 0.01
    n_critic: int = 5
    batch_size: int = 500
    n_steps: int = 40_000
    centring: str = "mean"
    bank_size: int = 100_000
    eval_samples: int = 10_000
    curve_samples: int = 2_000
    log_every: int = 1_000
    device: str = "auto"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("size", "n_train", "n_reference", "n_critic", "batch_size", "n_steps",
                                     "bank_size", "eval_samples", "curve_samples", "log_every"))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "betas", tuple(self.betas))
        self.latent_spec()
        self.model_config()
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size={self.batch_size} exceeds n_train={self.n_train}")

    def latent_spec(self) -> LatentSpec:
        """Latents of size ``size``, Haar circuits, half filling, the chosen centring."""
        return LatentSpec(size=self.size, circuit="haar", centring=self.centring, bank_size=self.bank_size)

    def model_config(self) -> Any:
        from qlatent.models.gan import WGANGPConfig

        return WGANGPConfig(latent_dim=self.size, data_dim=self.size, generator_hidden=self.hidden,
                            critic_hidden=self.hidden, activation=self.activation, optimizer=self.optimizer,
                            lr_generator=self.learning_rate, lr_critic=self.learning_rate, betas=self.betas,
                            constraint=self.constraint, gp_weight=self.gp_weight, clip_value=self.clip_value,
                            n_critic=self.n_critic)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def train_run(dataset: str, latent: str, seed: int, *, config: DiscreteConfig, runs_dir: Path,
              store: Any = None, progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one run and score ``eval_samples`` generated rows.

    Raises ``ValueError`` (a :class:`~qlatent.checks.ParameterError`) before any work on an
    unknown dataset or latent, or a bad seed (:func:`check_run`).
    """
    check_run(dataset, latent, seed)
    from qlatent.latent.photonic import build_latent

    latent_distribution = build_latent(latent, config.latent_spec(), seed, store)
    return train_with_latent(dataset, latent, latent_distribution, seed, config=config, runs_dir=runs_dir,
                             store=store, progress=progress)


def train_with_latent(dataset: str, label: str, latent_distribution: Any, seed: int, *, config: DiscreteConfig,
                      runs_dir: Path, store: Any = None, progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one Table I run with a latent built by the caller, labelled ``label``.

    The protocol of :func:`train_run` for any :class:`~qlatent.latent.base.LatentDistribution` of
    dimension ``config.size`` (the challengers of :mod:`qlatent.experiments.mechanism`); the run
    folder is named after ``label`` and keyed by the latent's description, so two latents never
    share a run.
    """
    import torch

    from qlatent.data.discrete import discrete_dataset
    from qlatent.metrics.discrete import discrete_scores, integer_l1, marginal_tvd
    from qlatent.models.gan import WGANGP
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    train, _ = discrete_dataset(dataset, config.size, config.n_train, seed, "train", store)
    reference, _ = discrete_dataset(dataset, config.size, config.n_reference, seed, "reference", store)
    model = WGANGP(config.model_config(), seed=seed)
    curve_reference = reference[: config.curve_samples]

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        generated = model.sample(config.curve_samples, latent, generator).numpy()
        return {"eval_l1_integer": integer_l1(generated), "eval_marginal_tvd": marginal_tvd(generated, curve_reference)}

    data = TensorBank(train, name=f"{dataset}-train")
    settings = TrainerConfig(n_steps=config.n_steps, batch_size=config.batch_size, seed=seed,
                             log_every=config.log_every, checkpoint_every=config.log_every, device=config.device,
                             progress=progress)
    run_dir = keyed_run_dir(runs_dir, f"{dataset}-{label}-seed{seed}", model, latent_distribution, data, settings)
    trainer = Trainer(model, latent_distribution, data, settings, run_dir, evaluate=evaluate)
    curve = pd.DataFrame(trainer.fit(resume=True))
    generator = torch.Generator().manual_seed(derived_seed(seed, "evaluation"))
    generated = trainer.sample(config.eval_samples, generator).numpy()
    return RunOutcome(discrete_scores(generated, reference), curve, training_seconds=trainer.training_seconds)


def table1_jobs(seeds: Mapping[str, Sequence[int]], latents: Sequence[str]) -> list[dict[str, Any]]:
    """Jobs ``{dataset, latent, seed}``: for each dataset (the keys of ``seeds``) every latent × its seeds.

    Raises
    ------
    ValueError
        On an unknown dataset or latent, or a dataset without seeds.
    """
    if not isinstance(seeds, Mapping) or not seeds:
        raise ValueError(f"seeds must map each dataset to its list of seeds, got {seeds!r}")
    check_dataset_names(list(seeds))
    check_latent_names(list(latents))
    if not latents:
        raise ValueError("need at least one latent")
    for dataset, values in seeds.items():
        if not values:
            raise ValueError(f"dataset {dataset!r} has no seeds")
    return [{"dataset": dataset, "latent": latent, "seed": int(seed)}
            for dataset, values in seeds.items() for latent in latents for seed in values]


def run_table1(config: DiscreteConfig, seeds: Mapping[str, Sequence[int]], latents: Sequence[str],
               runs_dir: Path, store: Any = None, progress: bool = True) -> GridResults:
    """Every (dataset × latent × seed) run; tidy ``runs`` (dataset, latent, seed, metric, value) and ``curves``."""
    jobs = table1_jobs(seeds, latents)
    train_one = functools.partial(train_run, config=config, runs_dir=Path(runs_dir), store=store)
    return run_grid(train_one, jobs, progress)


def check_run(dataset: str, latent: str, seed: int, **_: Any) -> None:
    """The checks :func:`train_run` makes before any work; trains nothing (its sweep ``validate`` hook).

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: an unknown ``dataset`` or ``latent``, or a ``seed``
        that is not a non-negative integer.
    """
    with refusing("dataset", dataset):
        check_dataset_names([dataset])
    with refusing("latent", latent):
        check_latent_names([latent])
    with refusing("seed", seed):
        require_seed(seed)


def run_banks(dataset: str, latent: str, seed: int, *, config: DiscreteConfig, **_: Any) -> list[Any]:
    """The sample request of the latent bank one run asks the store for (None: a latent without one)."""
    from qlatent.latent.photonic import bank_request

    return [bank_request(latent, config.latent_spec(), seed)]


train_run.validate = check_run  # type: ignore[attr-defined]
train_run.bank_requests = run_banks  # type: ignore[attr-defined]
