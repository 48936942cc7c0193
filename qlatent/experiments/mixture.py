"""Fig. 1 and Fig. 2 of the paper (arXiv:2508.19857, App. C): WGAN-GPs mapping latents onto 2-D blobs.

One run per (latent × generator depth × seed). Fig. 2 compares the four latents (Gaussian,
Bernoulli, distinguishable, boson; size 16 from a "1-3-9" time-bin loop interferometer with random
angles, 8 photons) with a generator of 2 hidden layers; Fig. 1 varies the generator's depth (1 to 7
hidden layers of 256) with the Gaussian latent. Both use the protocol of App. C and the authors'
released code: 256-unit LeakyReLU layers, WGAN-GP (penalty 10, 5 critic updates), Adam with betas
(0, 0.9) at 5e-4, batch 32, Xavier-uniform initialisation, 5,000 steps, 5 seeds. The critic keeps 2
hidden layers throughout.

Scores (ours; :mod:`qlatent.metrics.mixture`): the fraction of generated points between modes,
modes covered, and MMD to held-out data, on ``eval_samples`` points after training and on
``curve_samples`` points every ``log_every`` steps, so one run long enough (10,000 steps) also
answers the paper's remark about longer training. Each run also keeps ``panel_points`` generated
points for the figures.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from qlatent.checks import refusing, require_positive_int, require_positive_ints, require_seed
from qlatent.data.mixture import MixtureRecipe
from qlatent.experiments.grid import GridResults, RunOutcome, run_grid
from qlatent.latent.photonic import LatentSpec, check_latent_names, derived_seed

#: Metric → whether lower is better.
METRICS = {"between_modes": True, "modes_covered": False, "mmd": True}


@dataclass(frozen=True)
class MixtureConfig:
    """Everything that determines one run apart from the latent, the generator depth and the seed.

    Defaults are App. C's protocol and the released code's; ``n_train``, ``n_reference``, the
    loop circuit's input pattern, ``bank_size`` and the scores' sizes are ours. How long each run
    trains is part of its job (:func:`mixture_jobs`).
    """

    recipe: MixtureRecipe = field(default_factory=MixtureRecipe)
    n_train: int = 20_000
    n_reference: int = 10_000
    latent_size: int = 16
    n_photons: int = 8
    circuit: str = "1-3-9"
    input_pattern: str = "alternate"
    centring: str = "mean"
    bank_size: int = 100_000
    width: int = 256
    critic_depth: int = 2
    activation: str = "leaky_relu"
    learning_rate: float = 5e-4
    betas: tuple[float, float] = (0.0, 0.9)
    gp_weight: float = 10.0
    n_critic: int = 5
    init: str = "xavier-uniform"
    batch_size: int = 32
    eval_samples: int = 10_000
    curve_samples: int = 5_000
    log_every: int = 500
    panel_points: int = 1_000
    device: str = "auto"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("n_train", "n_reference", "width", "critic_depth", "n_critic", "batch_size",
                                     "eval_samples", "curve_samples", "log_every", "panel_points"))
        object.__setattr__(self, "betas", tuple(self.betas))
        if not isinstance(self.recipe, MixtureRecipe):
            raise TypeError(f"recipe must be a MixtureRecipe, got {type(self.recipe).__name__}")
        self.latent_spec()
        self.model_config(depth=1)

    def latent_spec(self) -> LatentSpec:
        return LatentSpec(size=self.latent_size, n_photons=self.n_photons, circuit=self.circuit,
                          input_pattern=self.input_pattern, centring=self.centring, bank_size=self.bank_size)

    def model_config(self, depth: int) -> Any:
        from qlatent.models.gan import WGANGPConfig

        require_positive_int("depth", depth)
        return WGANGPConfig(latent_dim=self.latent_size, data_dim=2, generator_hidden=(self.width,) * depth,
                            critic_hidden=(self.width,) * self.critic_depth, activation=self.activation,
                            lr_generator=self.learning_rate, lr_critic=self.learning_rate, betas=self.betas,
                            gp_weight=self.gp_weight, n_critic=self.n_critic, init=self.init)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def mixture_jobs(latents: Sequence[str], depths: Sequence[int], seeds: Sequence[int], latent_steps: int,
                 depth_steps: int, latent_depth: int = 2, depth_latent: str = "gaussian") -> list[dict[str, Any]]:
    """Fig. 2's runs (every latent at ``latent_depth``, ``latent_steps`` long) and Fig. 1's
    (``depth_latent`` at every depth, ``depth_steps`` long).

    A run both figures need is listed once, with the longer of the two lengths (its curve holds
    the scores at the shorter one). Raises ``ValueError`` on an unknown latent, a non-positive
    depth or length, or an empty list.
    """
    check_latent_names(list(latents))
    check_latent_names([depth_latent])
    for name, values in (("latents", latents), ("seeds", seeds)):
        if not values:
            raise ValueError(f"need at least one of {name}")
    for depth in [*depths, latent_depth]:
        require_positive_int("depth", depth)
    require_positive_int("latent_steps", latent_steps)
    require_positive_int("depth_steps", depth_steps)
    lengths: dict[tuple[str, int], int] = {}
    for pair, steps in [*(((latent, latent_depth), latent_steps) for latent in latents),
                        *(((depth_latent, depth), depth_steps) for depth in depths)]:
        lengths[pair] = max(steps, lengths.get(pair, 0))
    return [{"latent": latent, "depth": depth, "n_steps": steps, "seed": int(seed)}
            for (latent, depth), steps in lengths.items() for seed in seeds]


def train_run(latent: str, depth: int, n_steps: int, seed: int, *, config: MixtureConfig, runs_dir: Path,
              store: Any = None, progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one run for ``n_steps``; score it and keep ``panel_points`` generated points.

    Raises ``ValueError`` (a :class:`~qlatent.checks.ParameterError`) before any work on an
    unknown latent, a non-positive depth or length, or a bad seed (:func:`check_run`).
    """
    check_run(latent, depth, n_steps, seed, config=config)
    import torch

    from qlatent.data.mixture import sample_mixture
    from qlatent.latent.photonic import build_latent
    from qlatent.metrics.mixture import mixture_scores
    from qlatent.models.gan import WGANGP
    from qlatent.training.bank import TensorBank
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    train, _ = sample_mixture(config.n_train, config.recipe, derived_seed(seed, "data", "train"))
    held_out, _ = sample_mixture(config.n_reference, config.recipe, derived_seed(seed, "data", "reference"))
    latent_distribution = build_latent(latent, config.latent_spec(), seed, store)
    model = WGANGP(config.model_config(depth), seed=seed)

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        points = model.sample(config.curve_samples, latent, generator).numpy()
        return {f"eval_{key}": value for key, value in mixture_scores(points, held_out, config.recipe).items()}

    data = TensorBank(train, name="mixture-train")
    settings = TrainerConfig(n_steps=n_steps, batch_size=config.batch_size, seed=seed, log_every=config.log_every,
                             checkpoint_every=config.log_every, device=config.device, progress=progress)
    run_dir = keyed_run_dir(runs_dir, f"{latent}-depth{depth}-seed{seed}", model, latent_distribution, data, settings)
    trainer = Trainer(model, latent_distribution, data, settings, run_dir, evaluate=evaluate)
    curve = pd.DataFrame(trainer.fit(resume=True))
    generator = torch.Generator().manual_seed(derived_seed(seed, "evaluation"))
    points = trainer.sample(config.eval_samples, generator).numpy()
    panel = pd.DataFrame(points[: config.panel_points], columns=["x", "y"])
    return RunOutcome(mixture_scores(points, held_out, config.recipe), curve, panel, trainer.training_seconds)


def run_mixture(config: MixtureConfig, jobs: Sequence[dict[str, Any]], runs_dir: Path, store: Any = None,
                progress: bool = True) -> GridResults:
    """Every run of ``jobs`` (see :func:`mixture_jobs`): tidy ``runs``, ``curves`` and generated ``samples``."""
    train_one = functools.partial(train_run, config=config, runs_dir=Path(runs_dir), store=store)
    return run_grid(train_one, jobs, progress)


def scores_at_step(curves: pd.DataFrame, step: int, keys: Sequence[str] = ("latent", "depth", "seed")) -> pd.DataFrame:
    """Tidy ``(keys, metric, value)`` rows of the scores logged at ``step`` (the ``eval_`` columns of the curves).

    Raises
    ------
    ValueError
        If no run logged scores at ``step`` (it must be a multiple of ``log_every`` within every
        selected run's length).
    """
    at_step = curves[curves["step"] == step]
    if at_step.empty:
        raise ValueError(f"no scores were logged at step {step}; logged steps: {sorted(set(curves['step']))[:12]}")
    columns = {f"eval_{metric}": metric for metric in METRICS if f"eval_{metric}" in at_step}
    tidy = at_step.melt(id_vars=list(keys), value_vars=list(columns), var_name="metric", value_name="value")
    return tidy.assign(metric=tidy["metric"].map(columns))


def check_run(latent: str, depth: int, n_steps: int, seed: int, *, config: MixtureConfig, **_: Any) -> None:
    """The checks :func:`train_run` makes before any work; trains nothing (its sweep ``validate`` hook).

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: an unknown ``latent``, a ``depth`` or ``n_steps``
        that is not a positive integer (or a depth the model refuses), a bad ``seed``.
    """
    with refusing("latent", latent):
        check_latent_names([latent])
    with refusing("depth", depth):
        require_positive_int("depth", depth)
        config.model_config(depth)
    with refusing("n_steps", n_steps):
        require_positive_int("n_steps", n_steps)
    with refusing("seed", seed):
        require_seed(seed)


def run_banks(latent: str, depth: int, n_steps: int, seed: int, *, config: MixtureConfig, **_: Any) -> list[Any]:
    """The sample request of the latent bank one run asks the store for (None: a latent without one)."""
    from qlatent.latent.photonic import bank_request

    return [bank_request(latent, config.latent_spec(), seed)]


train_run.validate = check_run  # type: ignore[attr-defined]
train_run.bank_requests = run_banks  # type: ignore[attr-defined]
