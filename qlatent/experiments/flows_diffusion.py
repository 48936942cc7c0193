"""Appendices F and G of the paper (arXiv:2508.19857): flow matching and a diffusion GAN with quantum latents.

The paper reports that two other model families can use photon-count latents — a denoising-
diffusion GAN on CIFAR-10 (App. F) and flow matching on the two-moons dataset (App. G) — and
claims compatibility, not an advantage. Nothing else about those runs is known, so every setting
here is ours and a parameter.

One run per (family × latent × seed), each through the one :class:`~qlatent.training.loop.Trainer`
(seeding, checkpoints, resume, NaN stop), with the latent built for that seed by
:func:`qlatent.latent.photonic.build_latent`:

``flow_matching``
    :class:`~qlatent.models.flow_matching.FlowMatching` from the latent (through its source map:
    dequantisation, standardisation, a linear map 16 → 2) onto ``sklearn.datasets.make_moons``.
    Scores on ``eval_samples`` points integrated with an adaptive solver, against held-out moons:
    sliced Wasserstein, MMD², exact Wasserstein-1 (:mod:`qlatent.metrics.distributions`), plus the
    fraction of distinct generated points and the solver's function evaluations.
``ddgan``
    :class:`~qlatent.models.ddgan.DDGAN` with the latent as its generator input, on scikit-learn's
    8×8 digits (or a local CIFAR-10). Scores on ``eval_samples`` images against the held-out split:
    the Fréchet distance of a small classifier's features (``classifier_fd``, *not* FID) and the
    classes covered (:mod:`qlatent.metrics.images`), plus each class's share.

Each run's curve starts with the untrained model's score at step 0, so "does training work" is a
comparison of the first and last rows. Runs live in
``<runs_dir>/<family>-<latent>-seed<k>-<hash>/``; the hash covers everything that shapes training
except its length, so a run resumes or extends.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.checks import refusing, require_positive_ints, require_seed
from qlatent.experiments.grid import GridResults, RunOutcome, product_jobs, run_grid
from qlatent.latent.photonic import LatentSpec, check_latent_names, derived_seed

FAMILIES = ("flow_matching", "ddgan")
#: Per family, metric → whether lower is better (the metrics the verdicts use).
METRICS = {
    "flow_matching": {"sliced_wasserstein": True, "mmd": True, "wasserstein1": True},
    "ddgan": {"classifier_fd": True, "class_coverage": False},
}
#: The metric each family's verdict sentence is about, and its training-curve column.
PRIMARY_METRIC = {"flow_matching": "sliced_wasserstein", "ddgan": "classifier_fd"}
CURVE_METRIC = {family: f"eval_{metric}" for family, metric in PRIMARY_METRIC.items()}
REFERENCE_LATENT = "gaussian"
#: Flow-matching variants that switch the source options one at a time (label → changed fields of
#: :class:`FlowConfig`); ``"chapter"`` is the chapter's own choice and reuses its runs.
ABLATION_VARIANTS = {
    "chapter": {},
    "no dequantisation": {"dequantization": "none", "noise_scale": 0.0},
    "no standardisation": {"standardize": False},
    "PCA map": {"projection": "pca"},
    "learned map": {"projection": "learned"},
    "size 4, no dequantisation": {"size": 4, "dequantization": "none", "noise_scale": 0.0},
    "size 4": {"size": 4},
}


def _as_dict(config: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(config)))


@dataclass(frozen=True)
class FlowConfig:
    """One flow-matching run apart from the latent and the seed (all ours: App. G gives no settings).

    Parameters
    ----------
    size, centring, bank_size
        Latent size, centring and photon-count bank rows (:class:`~qlatent.latent.photonic.LatentSpec`).
    n_train, n_reference, noise
        Training and held-out moons, and their noise (:func:`qlatent.data.moons.load_moons`).
    dequantization, noise_scale, standardize, projection, n_fit
        The source map (:class:`~qlatent.models.flow_matching.SourceConfig`).
    coupling, sigma, hidden, activation, learning_rate
        The objective and the velocity MLP (:class:`~qlatent.models.flow_matching.FlowMatchingConfig`).
    batch_size, n_steps, log_every
        Training schedule; the curve logs every ``log_every`` steps.
    eval_samples, curve_samples
        Points scored at the end (adaptive ``solver``) and along the curve (``curve_solver`` with
        ``curve_solver_steps`` fixed steps).
    w1_samples
        Points per set in the exact Wasserstein-1 distance (its solver is roughly cubic in them).
    n_show
        Generated points kept per run for the figures.
    """

    size: int = 16
    centring: str = "mean"
    bank_size: int = 100_000
    n_train: int = 20_000
    n_reference: int = 2_000
    noise: float = 0.05
    dequantization: str = "gaussian"
    noise_scale: float = 0.1
    standardize: bool = True
    projection: str = "fixed"
    n_fit: int = 10_000
    coupling: str = "ot"
    sigma: float = 0.0
    hidden: tuple[int, ...] = (64, 64, 64)
    activation: str = "silu"
    learning_rate: float = 1e-3
    batch_size: int = 256
    n_steps: int = 5_000
    log_every: int = 250
    solver: str = "dopri5"
    curve_solver: str = "rk4"
    curve_solver_steps: int = 10
    eval_samples: int = 2_000
    curve_samples: int = 1_000
    w1_samples: int = 1_000
    n_show: int = 500
    device: str = "auto"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("size", "bank_size", "n_train", "n_reference", "n_fit", "batch_size", "n_steps",
                                     "log_every", "curve_solver_steps", "eval_samples", "curve_samples", "w1_samples",
                                     "n_show"))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        self.latent_spec()
        self.model_config()
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size={self.batch_size} exceeds n_train={self.n_train}")

    def latent_spec(self) -> LatentSpec:
        return LatentSpec(size=self.size, circuit="haar", centring=self.centring, bank_size=self.bank_size)

    def model_config(self) -> Any:
        from qlatent.models.flow_matching import FlowMatchingConfig, SourceConfig

        source = SourceConfig(dequantization=self.dequantization, noise_scale=self.noise_scale,
                              standardize=self.standardize, projection=self.projection, n_fit=self.n_fit)
        return FlowMatchingConfig(latent_dim=self.size, data_dim=2, source=source, coupling=self.coupling,
                                  sigma=self.sigma, hidden=self.hidden, activation=self.activation,
                                  learning_rate=self.learning_rate)

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclass(frozen=True)
class DiffusionConfig:
    """One DDGAN run apart from the latent and the seed (all ours: App. F gives no settings).

    Parameters
    ----------
    dataset
        ``"digits"`` or the path of a CIFAR-10 python-batch folder (:func:`qlatent.data.images.load_images`).
    cifar_checksums
        File name → expected digest for a CIFAR-10 folder (``None``: the published MD5s).
    max_images
        Use only the first this many images (``None``: all).
    test_fraction, split_seed
        The held-out split (stratified by class), the same for every run.
    size, centring, bank_size
        The latent (:class:`~qlatent.latent.photonic.LatentSpec`).
    n_timesteps, beta_min, beta_max, hidden, time_embedding, activation, r1_gamma, learning_rate,
    ema_decay
        The model (:class:`~qlatent.models.ddgan.DDGANConfig`; one learning rate for both networks).
    batch_size, n_steps, log_every
        Training schedule.
    eval_samples, curve_samples
        Images scored at the end and along the curve.
    classifier_hidden, classifier_epochs, classifier_seed
        The feature classifier (:class:`~qlatent.metrics.images.ClassifierConfig`), trained on the
        training split once per process.
    min_share
        A class is covered when it gets at least this fraction of its share in the held-out split.
    n_show
        Generated images kept per run for the figures.
    """

    dataset: str = "digits"
    cifar_checksums: dict[str, str] | None = None
    max_images: int | None = None
    test_fraction: float = 0.2
    split_seed: int = 0
    size: int = 16
    centring: str = "mean"
    bank_size: int = 100_000
    n_timesteps: int = 4
    beta_min: float = 0.1
    beta_max: float = 20.0
    hidden: tuple[int, ...] = (256, 256)
    time_embedding: int = 16
    activation: str = "leaky_relu"
    r1_gamma: float = 1.0
    learning_rate: float = 1e-3
    ema_decay: float = 0.99
    batch_size: int = 64
    n_steps: int = 5_000
    log_every: int = 250
    eval_samples: int = 2_000
    curve_samples: int = 500
    classifier_hidden: tuple[int, ...] = (128, 64)
    classifier_epochs: int = 30
    classifier_seed: int = 0
    min_share: float = 0.5
    n_show: int = 16
    device: str = "auto"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("size", "bank_size", "batch_size", "n_steps", "log_every", "eval_samples",
                                     "curve_samples", "classifier_epochs", "n_show"))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "classifier_hidden", tuple(self.classifier_hidden))
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0 < self.min_share <= 1:
            raise ValueError(f"min_share must be in (0, 1], got {self.min_share}")
        self.latent_spec()
        self.model_config((1, 8, 8))

    def latent_spec(self) -> LatentSpec:
        return LatentSpec(size=self.size, circuit="haar", centring=self.centring, bank_size=self.bank_size)

    def model_config(self, image_shape: tuple[int, int, int]) -> Any:
        from qlatent.models.ddgan import DDGANConfig

        return DDGANConfig(latent_dim=self.size, image_shape=tuple(image_shape), n_timesteps=self.n_timesteps,
                           beta_min=self.beta_min, beta_max=self.beta_max, generator_hidden=self.hidden,
                           discriminator_hidden=self.hidden, time_embedding=self.time_embedding,
                           activation=self.activation, r1_gamma=self.r1_gamma, lr_generator=self.learning_rate,
                           lr_discriminator=self.learning_rate, ema_decay=self.ema_decay)

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


def _with_initial_row(initial: dict[str, float], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The training curve with the untrained model's evaluation as its step-0 row."""
    return pd.DataFrame([{"step": 0, **initial}, *rows])


def _initial_evaluation(model: Any, latent: Any, seed: int, evaluate: Any, prepare: Any = None) -> dict[str, float]:
    """``evaluate`` on copies of the untrained model and of the latent, so training is untouched."""
    import torch

    model, latent = copy.deepcopy(model), copy.deepcopy(latent)
    generator = torch.Generator().manual_seed(derived_seed(seed, "initial-evaluation"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, "initial-evaluation"))
        if prepare is not None:
            prepare(model, latent, generator)
        return evaluate(model, latent, generator)


def train_flow(latent: str, seed: int, *, config: FlowConfig, runs_dir: Path, store: Any = None,
               progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one flow-matching run and score ``eval_samples`` generated points.

    Raises ``ValueError`` before any work on an unknown latent or a bad seed (:func:`check_latent_run`).
    """
    check_latent_run(latent, seed)
    import torch

    from qlatent.data.moons import load_moons
    from qlatent.latent.photonic import build_latent
    from qlatent.metrics.distributions import mmd, sliced_wasserstein, wasserstein1
    from qlatent.models.flow_matching import FlowMatching
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    train = load_moons(config.n_train, config.noise, seed=derived_seed(seed, "moons-train") % 2**31)
    reference = load_moons(config.n_reference, config.noise, seed=derived_seed(seed, "moons-reference") % 2**31)
    latent_distribution = build_latent(latent, config.latent_spec(), seed, store)
    model = FlowMatching(config.model_config(), seed=seed)
    curve_reference = reference[: config.curve_samples]

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        points = model.sample(config.curve_samples, latent, generator, method=config.curve_solver,
                              n_steps=config.curve_solver_steps).numpy()
        return {"eval_sliced_wasserstein": sliced_wasserstein(points, curve_reference, seed=0)}

    initial = _initial_evaluation(model, latent_distribution, seed, evaluate,
                                  prepare=lambda m, latent, g: m.fit_source(latent, g))
    data = TensorBank(train, name="moons-train")
    settings = TrainerConfig(n_steps=config.n_steps, batch_size=config.batch_size, seed=seed,
                             log_every=config.log_every, checkpoint_every=config.log_every, device=config.device,
                             progress=progress)
    run_dir = keyed_run_dir(runs_dir, f"flow_matching-{latent}-seed{seed}", model, latent_distribution, data, settings)
    trainer = Trainer(model, latent_distribution, data, settings, run_dir, evaluate=evaluate)
    curve = _with_initial_row(initial, trainer.fit(resume=True))
    generator = torch.Generator().manual_seed(derived_seed(seed, "evaluation"))
    points = model.sample(config.eval_samples, latent_distribution, generator, method=config.solver).numpy()
    scores = {"sliced_wasserstein": sliced_wasserstein(points, reference, seed=0), "mmd": mmd(points, reference),
              "wasserstein1": wasserstein1(points, reference, seed=0, max_samples=config.w1_samples),
              "distinct_fraction": len(np.unique(points, axis=0)) / len(points), "nfe": float(model.last_nfe)}
    shown = pd.DataFrame({"index": np.arange(config.n_show), "x": points[: config.n_show, 0],
                          "y": points[: config.n_show, 1]})
    return RunOutcome({name: float(value) for name, value in scores.items()}, curve, shown, trainer.training_seconds)


@functools.lru_cache(maxsize=4)
def _image_setup(dataset: str, checksums: tuple[tuple[str, str], ...] | None, max_images: int | None,
                 test_fraction: float, split_seed: int, classifier: Any) -> tuple[Any, Any, Any]:
    """(train split, held-out split, trained feature classifier), once per process and recipe."""
    from qlatent.data.images import load_images
    from qlatent.metrics.images import train_classifier

    images = load_images(dataset, checksums=dict(checksums) if checksums else None, max_images=max_images)
    train, test = images.split(test_fraction, seed=split_seed)
    return train, test, train_classifier(train.images, train.labels, images.n_classes, classifier)


def image_setup(config: DiffusionConfig) -> tuple[Any, Any, Any]:
    """The training split, the held-out split and the feature classifier of ``config``'s dataset."""
    from qlatent.metrics.images import ClassifierConfig

    classifier = ClassifierConfig(hidden=config.classifier_hidden, n_epochs=config.classifier_epochs,
                                  seed=config.classifier_seed)
    checksums = tuple(sorted(config.cifar_checksums.items())) if config.cifar_checksums else None
    return _image_setup(config.dataset, checksums, config.max_images, config.test_fraction, config.split_seed,
                        classifier)


def train_ddgan(latent: str, seed: int, *, config: DiffusionConfig, runs_dir: Path, store: Any = None,
                progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one DDGAN run and score ``eval_samples`` generated images.

    Raises ``ValueError`` before any work on an unknown latent or a bad seed (:func:`check_latent_run`).
    """
    check_latent_run(latent, seed)
    import torch

    from qlatent.latent.photonic import build_latent
    from qlatent.metrics.images import class_coverage, classifier_frechet_distance
    from qlatent.models.ddgan import DDGAN
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    train, test, classifier = image_setup(config)
    latent_distribution = build_latent(latent, config.latent_spec(), seed, store)
    model = DDGAN(config.model_config(train.image_shape), seed=seed)
    curve_reference = test.images

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        images = model.sample(config.curve_samples, latent, generator).numpy()
        coverage, _ = class_coverage(classifier, images, test.labels, config.min_share)
        return {"eval_classifier_fd": classifier_frechet_distance(classifier, images, curve_reference),
                "eval_class_coverage": coverage}

    initial = _initial_evaluation(model, latent_distribution, seed, evaluate)
    data = TensorBank(train.images, name=f"{train.name}")
    settings = TrainerConfig(n_steps=config.n_steps, batch_size=config.batch_size, seed=seed,
                             log_every=config.log_every, checkpoint_every=config.log_every, device=config.device,
                             progress=progress)
    run_dir = keyed_run_dir(runs_dir, f"ddgan-{latent}-seed{seed}", model, latent_distribution, data, settings)
    trainer = Trainer(model, latent_distribution, data, settings, run_dir, evaluate=evaluate)
    curve = _with_initial_row(initial, trainer.fit(resume=True))
    generator = torch.Generator().manual_seed(derived_seed(seed, "evaluation"))
    images = model.sample(config.eval_samples, latent_distribution, generator).numpy()
    coverage, shares = class_coverage(classifier, images, test.labels, config.min_share)
    scores = {"classifier_fd": classifier_frechet_distance(classifier, images, test.images),
              "class_coverage": coverage,
              **{f"share_{name}": float(share) for name, share in zip(train.class_names, shares)}}
    shown = pd.DataFrame(images[: config.n_show].reshape(config.n_show, -1),
                         columns=[f"p{i}" for i in range(int(np.prod(train.image_shape)))])
    shown.insert(0, "index", np.arange(config.n_show))
    for axis, extent in zip(("channels", "height", "width"), train.image_shape):
        shown[axis] = extent
    return RunOutcome(scores, curve, shown, trainer.training_seconds)


def train_run(family: str, latent: str, seed: int, *, flow: FlowConfig, diffusion: DiffusionConfig, runs_dir: Path,
              store: Any = None, progress: bool = False) -> RunOutcome:
    """One run of ``family`` (one of :data:`FAMILIES`); ``ValueError`` before any work as :func:`check_run`."""
    check_run(family, latent, seed)
    if family == "flow_matching":
        return train_flow(latent, seed, config=flow, runs_dir=runs_dir, store=store, progress=progress)
    if family == "ddgan":
        return train_ddgan(latent, seed, config=diffusion, runs_dir=runs_dir, store=store, progress=progress)
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def _check_grid(families: Sequence[str], latents: Sequence[str], seeds: Sequence[int]) -> None:
    unknown = [family for family in families if family not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown famil{'ies' if len(unknown) > 1 else 'y'} {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(FAMILIES)}")
    check_latent_names(list(latents))


@dataclass
class ExperimentTables:
    """Tidy tables of the chapter: ``runs`` (family, latent, seed, metric, value), ``curves``, the
    generated ``points`` (flow matching) and ``images`` (DDGAN, pixel columns ``p0``…) kept for figures,
    and ``compute`` (family, latent, seed, training_seconds)."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    points: pd.DataFrame
    images: pd.DataFrame
    compute: pd.DataFrame


def _family_samples(samples: pd.DataFrame, family: str) -> pd.DataFrame:
    if samples.empty or "family" not in samples:
        return pd.DataFrame()
    return samples[samples["family"] == family].dropna(axis=1, how="all").reset_index(drop=True)


def run_experiment(families: Sequence[str], latents: Sequence[str], seeds: Sequence[int], *, flow: FlowConfig,
                   diffusion: DiffusionConfig, runs_dir: Path, store: Any = None,
                   progress: bool = True) -> ExperimentTables:
    """Every (family × latent × seed) run, through :func:`qlatent.experiments.grid.run_grid`.

    Raises
    ------
    ValueError
        On an unknown family or latent, or an empty axis.
    """
    _check_grid(families, latents, seeds)
    train_one = functools.partial(train_run, flow=flow, diffusion=diffusion, runs_dir=Path(runs_dir), store=store)
    results = run_grid(train_one, product_jobs(family=list(families), latent=list(latents), seed=list(seeds)),
                       progress)
    curves = results.curves.dropna(axis=1, how="all")
    return ExperimentTables(results.runs, curves, _family_samples(results.samples, "flow_matching"),
                            _family_samples(results.samples, "ddgan"), results.compute)


def train_flow_variant(variant: str, latent: str, seed: int, *, config: FlowConfig,
                       variants: Mapping[str, Mapping[str, Any]], runs_dir: Path, store: Any = None,
                       progress: bool = False) -> RunOutcome:
    """One flow-matching run with ``config`` changed by ``variants[variant]`` (field → value).

    Runs are keyed by their training parameters, so a variant equal to ``config`` reuses its runs.
    """
    changed = check_variant_run(variant, latent, seed, config=config, variants=variants)
    return train_flow(latent, seed, config=changed, runs_dir=runs_dir, store=store, progress=progress)


def run_flow_ablation(config: FlowConfig, variants: Mapping[str, Mapping[str, Any]], latents: Sequence[str],
                      seeds: Sequence[int], runs_dir: Path, store: Any = None, progress: bool = True) -> GridResults:
    """Flow matching with the source options switched one at a time: jobs (variant, latent, seed).

    ``variants`` maps a label to the :class:`FlowConfig` fields it changes (``{}``: the chapter's
    choice; see :data:`ABLATION_VARIANTS`). Every variant is validated before any training.

    Raises
    ------
    ValueError
        If a variant sets an unknown field or a combination the model refuses.
    """
    check_latent_names(list(latents))
    for name, overrides in variants.items():
        unknown = set(overrides) - {f.name for f in dataclasses.fields(FlowConfig)}
        if unknown:
            raise ValueError(f"variant {name!r} sets unknown field(s) {', '.join(sorted(unknown))}")
        dataclasses.replace(config, **dict(overrides))
    train_one = functools.partial(train_flow_variant, config=config, variants={k: dict(v) for k, v in variants.items()},
                                  runs_dir=Path(runs_dir), store=store)
    return run_grid(train_one, product_jobs(variant=list(variants), latent=list(latents), seed=list(seeds)), progress)


def training_works(curves: pd.DataFrame, family: str) -> pd.DataFrame:
    """Per latent: the primary metric before training (step 0) and at the last step, over seeds.

    Columns ``latent``, ``n_seeds``, ``initial`` and ``final`` (means over seeds), ``improved``
    (seeds whose final value is better than their initial one).
    """
    column = CURVE_METRIC[family]
    lower = METRICS[family][PRIMARY_METRIC[family]]
    part = curves[curves["family"] == family]
    rows = []
    for latent, runs in part.groupby("latent", sort=False):
        first = runs[runs["step"] == 0].set_index("seed")[column]
        last = runs.loc[runs.groupby("seed")["step"].idxmax()].set_index("seed")[column]
        better = (last < first) if lower else (last > first)
        rows.append({"latent": latent, "n_seeds": len(first), "initial": float(first.mean()),
                     "final": float(last.mean()), "improved": int(better.sum())})
    return pd.DataFrame(rows)


def compatibility_verdict(curves: pd.DataFrame, family: str) -> dict[str, str]:
    """The verdict (:data:`qlatent.stats.VERDICTS`) on the paper's claim that ``family`` trains with
    photon-count latents (App. F, App. G: compatible, no advantage claimed), from
    :func:`training_works`: **reproduces** when the primary score improved on the untrained model in
    every run of every latent, **contradicts** when some latent improved in fewer than half of its
    seeds, **too few seeds to tell** otherwise. Returns ``verdict``, ``evidence`` and ``sentence``.

    Raises
    ------
    ValueError
        If the curves hold no runs of ``family``.
    """
    from qlatent.stats import CONTRADICTS, REPRODUCES, TOO_FEW_SEEDS

    works = training_works(curves, family)
    improved, total = int(works["improved"].sum()), int(works["n_seeds"].sum())
    failing = works[2 * works["improved"] < works["n_seeds"]]
    verdict = REPRODUCES if improved == total else CONTRADICTS if len(failing) else TOO_FEW_SEEDS
    evidence = f"training improved on the untrained model in {improved} of {total} runs"
    per_latent = "; ".join(f"{row.latent} {row.improved} of {row.n_seeds}" for row in works.itertuples())
    sentence = (f"**{verdict}** ({family}) — {evidence} ({per_latent}), judged by "
                f"{PRIMARY_METRIC[family].replace('_', ' ')} between the first and last evaluation.")
    return {"verdict": verdict, "evidence": evidence, "sentence": sentence}


def family_verdict(runs: pd.DataFrame, curves: pd.DataFrame, family: str, alpha: float = 0.05) -> str:
    """Plain sentences on one family, computed from saved tables: does training work with each latent,
    and how does each latent compare with the Gaussian on the primary metric (paired by seed)?

    Every number quoted for a trained model is a final score from ``runs`` (the table the chapter
    prints); the training curves only supply the untrained value (step 0) and the test that the
    score fell from it to the last logged step in each run. Without Gaussian runs the comparison
    is reported as not run.

    Raises
    ------
    ValueError
        If the tables hold no runs of ``family``.
    """
    from qlatent.stats import paired_comparison

    metric = PRIMARY_METRIC[family]
    part = runs[(runs["family"] == family) & (runs["metric"] == metric)]
    if part.empty:
        raise ValueError(f"no {metric!r} results for family {family!r}")
    works = training_works(curves, family)
    finals = part.groupby("latent", sort=False)["value"].mean()
    not_all = works[works["improved"] < works["n_seeds"]]
    sentences = []
    named = metric.replace("_", " ")
    changes = ", ".join(f"{r.latent} {r.initial:.3g} → {finals.get(r.latent, float('nan')):.3g}"
                        for r in works.itertuples())
    if not_all.empty:
        sentences.append(f"Training works with every latent: {named} fell from its untrained value by the last "
                         f"training-curve evaluation in every run (untrained → final score of the table above, "
                         f"means over {int(works['n_seeds'].min())} seeds: {changes}).")
    else:
        sentences.append("Training did not improve on the untrained model in every run: "
                         + "; ".join(f"{r.latent} in {r.improved} of {r.n_seeds} seeds" for r in not_all.itertuples())
                         + f" (untrained → final score of the table above: {changes}).")
    if REFERENCE_LATENT not in set(part["latent"]):
        sentences.append(f"The comparison with the {REFERENCE_LATENT} latent was not run: no {REFERENCE_LATENT} "
                         f"runs of {family} here (latents run: {', '.join(map(str, finals.index))}).")
        return " ".join(sentences)
    paired = paired_comparison(part, REFERENCE_LATENT, {metric: METRICS[family][metric]})
    if paired.empty:
        sentences.append(f"No other latent than {REFERENCE_LATENT} was run, so there is nothing to compare.")
        return " ".join(sentences)
    lower = METRICS[family][metric]
    parts = []
    for row in paired.itertuples():
        # mean_difference = other − gaussian; the other latent is better when it is lower (for distances)
        other_better = row.mean_difference < 0 if lower else row.mean_difference > 0
        significant = row.p_value < alpha
        word = ("better" if other_better else "worse") if significant else ("ahead" if other_better else "behind")
        detail = f"{row.baseline} {word} by {abs(row.mean_difference):.3g} (paired t-test p = {row.p_value:.2g}"
        detail += f", smallest detectable difference {row.mdd:.3g})" if np.isfinite(row.mdd) else ")"
        parts.append((significant, detail))
    if not any(significant for significant, _ in parts):
        sentences.append(f"On {metric.replace('_', ' ')}, no latent differs significantly from the Gaussian at "
                         f"α = {alpha} with {int(paired['n_pairs'].min())} paired seeds: "
                         + "; ".join(d for _, d in parts) + ".")
    else:
        sentences.append(f"On {metric.replace('_', ' ')} against the Gaussian (α = {alpha}, "
                         f"{int(paired['n_pairs'].min())} paired seeds): "
                         + "; ".join(d for _, d in parts) + ".")
    return " ".join(sentences)


__all__ = ["ABLATION_VARIANTS", "CURVE_METRIC", "DiffusionConfig", "ExperimentTables", "FAMILIES", "FlowConfig",
           "METRICS", "PRIMARY_METRIC", "REFERENCE_LATENT", "compatibility_verdict", "family_verdict",
           "image_setup", "run_experiment",
           "run_flow_ablation", "train_ddgan", "train_flow", "train_flow_variant", "train_run", "training_works"]


def check_latent_run(latent: str, seed: int, **_: Any) -> None:
    """The checks :func:`train_flow` and :func:`train_ddgan` make before any work (their sweep ``validate`` hook).

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: an unknown ``latent`` or a bad ``seed``.
    """
    with refusing("latent", latent):
        check_latent_names([latent])
    with refusing("seed", seed):
        require_seed(seed)


def check_run(family: str, latent: str, seed: int, **_: Any) -> None:
    """The checks :func:`train_run` makes before any work; trains nothing (its sweep ``validate`` hook).

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: an unknown ``family`` or ``latent``, or a bad ``seed``.
    """
    with refusing("family", family):
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    check_latent_run(latent, seed)


def check_variant_run(variant: str, latent: str, seed: int, *, config: FlowConfig,
                      variants: Mapping[str, Mapping[str, Any]], **_: Any) -> FlowConfig:
    """The checks :func:`train_flow_variant` makes before any work; returns the variant's config.

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: a ``variant`` not in ``variants`` or one whose
        fields the config refuses, an unknown ``latent`` or a bad ``seed``.
    """
    with refusing("variant", variant):
        if variant not in variants:
            raise ValueError(f"unknown variant {variant!r}; defined: {', '.join(variants)}")
        changed = dataclasses.replace(config, **dict(variants[variant]))
    check_latent_run(latent, seed)
    return changed


def latent_banks(latent: str, seed: int, *, config: FlowConfig | DiffusionConfig, **_: Any) -> list[Any]:
    """The sample request of the latent bank one run asks the store for (None: a latent without one)."""
    from qlatent.latent.photonic import bank_request

    return [bank_request(latent, config.latent_spec(), seed)]


def run_banks(family: str, latent: str, seed: int, *, flow: FlowConfig, diffusion: DiffusionConfig,
              **_: Any) -> list[Any]:
    """:func:`latent_banks` of :func:`train_run`'s run (its family's configuration)."""
    return latent_banks(latent, seed, config=diffusion if family == "ddgan" else flow)


def variant_banks(variant: str, latent: str, seed: int, *, config: FlowConfig,
                  variants: Mapping[str, Mapping[str, Any]], **_: Any) -> list[Any]:
    """:func:`latent_banks` of :func:`train_flow_variant`'s run (the variant's configuration)."""
    return latent_banks(latent, seed, config=check_variant_run(variant, latent, seed, config=config,
                                                                variants=variants))


train_flow.validate = check_latent_run  # type: ignore[attr-defined]
train_ddgan.validate = check_latent_run  # type: ignore[attr-defined]
train_run.validate = check_run  # type: ignore[attr-defined]
train_flow_variant.validate = check_variant_run  # type: ignore[attr-defined]
train_flow.bank_requests = latent_banks  # type: ignore[attr-defined]
train_ddgan.bank_requests = latent_banks  # type: ignore[attr-defined]
train_run.bank_requests = run_banks  # type: ignore[attr-defined]
train_flow_variant.bank_requests = variant_banks  # type: ignore[attr-defined]
