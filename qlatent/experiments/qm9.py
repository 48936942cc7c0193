"""Table II of the paper (arXiv:2508.19857, App. E): the modified MolGAN on QM9 with each latent.

One run per job ``(schedule, size, circuit, latent, seed)``. Every run trains the paper's modified
MolGAN — the re-injection generator of widths 64, 176, 288, 400, 512 with LeakyReLU
(:class:`qlatent.models.molgan.ReinjectionGenerator`), MolGAN's R-GCN critic, Adam at learning rate
1e-4, batch 256, 20,000 iterations — on the QM9 training split, with the latent of that seed built
by :func:`qlatent.latent.photonic.build_latent` (``size`` modes, half filling, ``circuit`` Haar or
time-bin loops; the ``pt2`` latent is a simulated PT-2 run, or recorded hardware shots).
``schedule`` is ``"paper"`` (the settings above) or ``"fast"`` (Appendix H: a higher learning rate
and a shorter schedule, which the paper does not quantify; ours are ``fast_learning_rate`` and
``fast_n_steps``). What the paper leaves open
is a field of :class:`QM9Config` with our choice as default.

Scores on ``eval_samples`` (10,000) generated molecules (``decode``: argmax by default, so every
bit of diversity comes from the latent): the paper's three —

``fcd``           Fréchet ChemNet Distance (fcd-torch) of the valid molecules (single-fragment ones
                  if ``fcd_connected_only``; repeats kept, so collapse costs) to a seeded **random**
                  sample of ``n_reference`` test molecules (:func:`qlatent.metrics.molecules.reference_sample`);
``valid_unique``  the number of distinct valid molecules (valid **and** unique);
``novel``         the number of those not in the training set;

then ``valid_unique_connected`` and ``novel_connected`` (single fragments only: MolGAN's validity, which
the paper presumably used, accepts molecules of several fragments, which are nearly always novel)
and the standard table of :func:`qlatent.metrics.molecules.summarize` (validity, uniqueness,
novelty, diversity, QED, logP, SA, ...). Training curves log validity (also single-fragment),
uniqueness, novelty and the counts on ``curve_samples`` molecules every ``log_every`` iterations.

Runs live in ``<runs_dir>/<schedule>-<size>-<circuit>-<latent>-seed<k>-<run key>/``
(:func:`qlatent.training.loop.keyed_run_dir`: the key covers everything that shapes training —
model, latent bank, data, trainer settings — but not its length, so a run can be resumed or
extended).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qlatent.checks import refusing, require_positive_ints, require_seed
from qlatent.experiments.grid import GridResults, RunOutcome, run_grid
from qlatent.latent.photonic import LatentSpec, check_latent_names, derived_seed, parse_circuit
from qlatent.models.molgan import PAPER_GENERATOR_HIDDEN

#: Metric → whether lower is better (paired comparisons and verdicts).
METRICS = {"fcd": True, "valid_unique": False, "novel": False, "valid_unique_connected": False,
           "novel_connected": False, "validity": False, "validity_connected": False, "uniqueness": False,
           "novelty": False, "internal_diversity": False, "qed": False, "sa": True}
#: The paper's three metrics (Table II), in its column order.
PAPER_METRICS = ("fcd", "valid_unique", "novel")
#: Training schedules: the paper's, and ours for Appendix H's (unstated) higher learning rate with fewer iterations.
SCHEDULES = ("paper", "fast")
RL_OBJECTIVES = ("logp", "sas", "qed", "unique", "validity", "novelty", "diversity")
_CURVE_COLUMNS = ("eval_validity", "eval_validity_connected", "eval_uniqueness", "eval_novelty", "eval_valid_unique",
                  "eval_novel", "eval_valid_unique_connected")


@dataclass(frozen=True)
class QM9Config:
    """Everything that determines one Table II run apart from its job (schedule, size, circuit, latent, seed).

    Stated by the paper (App. E): the generator (``generator``, ``generator_hidden``), the R-GCN
    critic, Adam with ``learning_rate`` 1e-4, ``batch_size`` 256, ``n_steps`` 20,000, latents
    centred to mean 0, 10,000 molecules per evaluation. **Ours** (each a field): the LeakyReLU slope
    0.2, the critic's sizes (MolGAN's paper: R-GCN (64, 32), aggregation 128, head (128, 64)), 5
    critic updates per generator update, gradient-penalty weight 10 (one norm per graph), Adam
    betas (0.9, 0.999) (MolGAN's), a plain softmax relaxation at temperature 1 (MolGAN's released
    default), no RL term (``rl_lambda`` 1), photon counts centred and not rescaled (``centring``,
    ``standardize``, ``noise_scale``), the bank sizes, the FCD reference (5,000 random test
    molecules; FCD over single-fragment molecules), the fast schedule standing in for Appendix H's
    unstated "higher learning rate and shorter schedule" (learning rate 1e-3, 2,000 iterations;
    ``budgets("table2")["fast"]`` of :mod:`qlatent.paper` records that the paper gives neither)
    and the PT-2 settings (η = 0.5, PNR detection, at least half the bins detected;
    :mod:`qlatent.latent.pt2`).

    Parameters
    ----------
    qm9_path
        A SMILES CSV to read instead of the whole of QM9 (relative paths from the project root;
        the quick profile reads ``data/qm9/quick_subset.csv``); ``None``: qm9pack's QM9.
    qm9_subset, qm9_seed
        Seeded subset of the source and the seed of the train/validation/test split.
    bank_sizes
        Rows of each photon-count bank per latent size (a size not listed uses ``bank_size``).
    photon_backend, hardware_backend
        Where the photon latents' banks come from, and the ``pt2`` latent's: ``"local"`` simulates
        a PT-2 run; ``"recorded:<file>.json"`` replays real hardware shots (:mod:`qlatent.qpu.shots`).
    hardware_bank_size
        Accepted shots in the ``pt2`` latent's bank (``None``: the bank size of its latent size).
    decode
        How generated graphs become molecules: ``"argmax"`` (the most likely type per slot, so all
        diversity comes from the latent) or ``"categorical"`` (a draw per slot, MolGAN's sampling).

    Raises
    ------
    ValueError
        On a non-positive count, a learning rate or slope that is not positive, ``rl_lambda``
        outside [0, 1], an unknown RL objective or centring, or PT-2 settings out of range.
    """

    qm9_path: str | None = None
    qm9_subset: int | None = None
    qm9_seed: int = 0
    generator: str = "reinjection"
    generator_hidden: tuple[int, ...] = PAPER_GENERATOR_HIDDEN
    leaky_slope: float = 0.2
    conv_hidden: tuple[int, ...] = (64, 32)
    aggregation_dim: int = 128
    dense_hidden: tuple[int, ...] = (128, 64)
    sampling: str = "softmax"
    temperature: float = 1.0
    n_critic: int = 5
    gp_weight: float = 10.0
    betas: tuple[float, float] = (0.9, 0.999)
    rl_lambda: float = 1.0
    rl_objectives: tuple[str, ...] = ("logp", "sas", "qed", "unique")
    learning_rate: float = 1e-4
    batch_size: int = 256
    n_steps: int = 20_000
    fast_learning_rate: float = 1e-3
    fast_n_steps: int = 2_000
    centring: str = "mean"
    standardize: bool = False
    noise_scale: float = 0.0
    bank_size: int = 100_000
    bank_sizes: dict[int, int] = field(default_factory=dict)
    photon_backend: str = "local"
    hardware_backend: str = "local"
    hardware_bank_size: int | None = None
    pt2_transmission: float = 0.5
    pt2_detection: str = "pnr"
    pt2_min_detected: int | None = None
    decode: str = "argmax"
    eval_samples: int = 10_000
    n_reference: int = 5_000
    reference_seed: int = 0
    fcd_connected_only: bool = True
    molecule_rows: int = 1_000
    curve_samples: int = 1_000
    log_every: int = 1_000
    device: str = "auto"

    def __post_init__(self) -> None:
        require_positive_ints(self, ("n_critic", "batch_size", "n_steps", "fast_n_steps", "bank_size", "eval_samples",
                                     "n_reference", "molecule_rows", "curve_samples", "log_every"))
        for name in ("generator_hidden", "conv_hidden", "dense_hidden", "betas", "rl_objectives"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        sizes = {}
        for size, rows in dict(self.bank_sizes).items():
            if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
                raise ValueError(f"bank_sizes[{size}] must be a positive integer, got {rows!r}")
            sizes[int(size)] = rows
        object.__setattr__(self, "bank_sizes", sizes)
        if self.hardware_bank_size is not None:
            require_positive_ints(self, ("hardware_bank_size",))
        from qlatent.models.molgan import DECODE_MODES

        if self.decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {DECODE_MODES}, got {self.decode!r}")
        for name in ("learning_rate", "fast_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.rl_lambda <= 1.0:
            raise ValueError(f"rl_lambda must be in [0, 1], got {self.rl_lambda}")
        unknown = [name for name in self.rl_objectives if name not in RL_OBJECTIVES]
        if unknown:
            raise ValueError(f"unknown rl_objectives {unknown}; choose from {', '.join(RL_OBJECTIVES)}")
        self.latent_spec(16, "haar")  # validates centring and the PT-2 settings
        self.model_config(16, 5, "paper")  # validates the network and optimiser settings

    def latent_spec(self, size: int, circuit: str, latent: str = "boson") -> LatentSpec:
        """The spec of ``latent`` at ``size`` through ``circuit``: half filling, this config's
        preprocessing and banks, ``hardware_backend`` for the ``pt2`` latent."""
        backend = self.hardware_backend if latent == "pt2" else self.photon_backend
        rows = self.bank_sizes.get(size, self.bank_size)
        if latent == "pt2" and self.hardware_bank_size is not None:
            rows = self.hardware_bank_size
        return LatentSpec(size=size, circuit=circuit, centring=self.centring, standardize=self.standardize,
                          noise_scale=self.noise_scale, bank_size=rows,
                          backend=backend, pt2_transmission=self.pt2_transmission,
                          pt2_detection=self.pt2_detection, pt2_min_detected=self.pt2_min_detected)

    def schedule(self, schedule: str) -> tuple[float, int]:
        """``(learning rate, iterations)`` of ``"paper"`` or ``"fast"`` (Appendix H)."""
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        return (self.learning_rate, self.n_steps) if schedule == "paper" else (self.fast_learning_rate,
                                                                               self.fast_n_steps)

    def model_config(self, latent_dim: int, n_atom_types: int, schedule: str, n_bond_types: int = 4,
                     max_atoms: int = 9) -> Any:
        """The :class:`~qlatent.models.molgan.MolGANConfig` of a run."""
        from qlatent.models.molgan import MolGANConfig

        rate, _ = self.schedule(schedule)
        return MolGANConfig(latent_dim=latent_dim, n_atom_types=n_atom_types, n_bond_types=n_bond_types,
                            max_atoms=max_atoms, generator=self.generator, generator_hidden=self.generator_hidden,
                            leaky_slope=self.leaky_slope, conv_hidden=self.conv_hidden,
                            aggregation_dim=self.aggregation_dim, dense_hidden=self.dense_hidden,
                            activation="tanh", sampling=self.sampling, temperature=self.temperature,
                            gp_weight=self.gp_weight, n_critic=self.n_critic, lr_generator=rate, lr_critic=rate,
                            lr_reward=rate, betas=self.betas, rl_lambda=self.rl_lambda)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))



def config_from_parameters(parameters: Mapping[str, Any]) -> QM9Config:
    """A :class:`QM9Config` from a chapter's parameters (every key naming a field; others ignored)."""
    names = {item.name for item in dataclasses.fields(QM9Config)}
    return QM9Config(**{key: value for key, value in parameters.items() if key in names})


# ---------------------------------------------------------------- jobs


def plan_jobs(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every job of the chapter, from its parameters.

    ``sizes`` × ``latents`` × ``seeds`` through Haar circuits (Table II; ``size_latents`` may give
    other latents for some sizes, e.g. the paper's known rows ``{32: [gaussian, boson]}``, and
    ``size_seeds`` other seeds, e.g. fewer at the sizes whose banks are costly); ``loop_circuits`` ×
    ``loop_latents`` × ``loop_seeds`` at ``loop_size`` (the paper's loop circuits); the ``pt2``
    latent at ``hardware_size`` through ``hardware_circuit`` for ``hardware_seeds``; and
    ``fast_latents`` × ``fast_seeds`` at ``fast_size`` on Appendix H's fast schedule. An empty
    seed list leaves its part out.

    Raises
    ------
    ValueError
        On an unknown latent, circuit or size the circuit cannot give, or no job at all.
    """
    get = parameters.get
    jobs: list[dict[str, Any]] = []

    def add(schedule: str, size: int, circuit: str, latents: Sequence[str], seeds: Sequence[int]) -> None:
        check_latent_names(list(latents))
        LatentSpec(size=size, circuit=circuit)  # a size the circuit cannot give fails here, naming both
        jobs.extend({"schedule": schedule, "size": int(size), "circuit": circuit, "latent": latent, "seed": int(seed)}
                    for latent in latents for seed in seeds)

    by_size = {}
    for option in ("size_latents", "size_seeds"):
        by_size[option] = {int(size): values for size, values in (get(option) or {}).items()}
        unknown = sorted(set(by_size[option]) - {int(size) for size in get("sizes", [])})
        if unknown:
            raise ValueError(f"{option} names sizes {unknown} that are not in sizes {list(get('sizes', []))}")
    for size in get("sizes", []):
        add("paper", size, "haar", by_size["size_latents"].get(int(size), get("latents", [])),
            by_size["size_seeds"].get(int(size), get("seeds", [])))
    for circuit in get("loop_circuits", []):
        if not parse_circuit(circuit):
            raise ValueError(f"loop_circuits must be time-bin layouts such as '1-1', got {circuit!r}")
        add("paper", get("loop_size", 16), circuit, get("loop_latents", []), get("loop_seeds", []))
    if get("hardware_seeds"):
        add("paper", get("hardware_size", 32), get("hardware_circuit", "1-1"), ["pt2"], get("hardware_seeds"))
    if get("fast_seeds"):
        add("fast", get("fast_size", 16), "haar", get("fast_latents", []), get("fast_seeds"))
    if not jobs:
        raise ValueError("no job: give sizes, latents and seeds (or another part's latents and seeds)")
    keys = [tuple(job.values()) for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("the parts of the plan repeat a job; give each (schedule, size, circuit, latent, seed) once")
    return jobs


def bank_requests(parameters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(label, SampleRequest)`` of every photon-count bank the chapter's jobs need, cheapest first.

    Sample them ahead of a long recording (``qlatent banks 05_qm9 --profile standard
    --time-limit SECONDS``, resumable), or let the first run that needs each one sample it.
    """
    from qlatent.latent.photonic import bank_request

    config = config_from_parameters(parameters)
    found: dict[str, tuple[str, Any]] = {}
    for job in plan_jobs(parameters):
        request = bank_request(job["latent"], config.latent_spec(job["size"], job["circuit"], job["latent"]),
                               job["seed"])
        if request is not None:
            label = f"{job['latent']} size {job['size']} {job['circuit']} seed {job['seed']}"
            found.setdefault(request.request_id(), (label, request))
    cost = {"indistinguishable": 1, "partial": 1, "distinguishable": 0}
    return sorted(found.values(), key=lambda item: (cost.get(item[1].model, 1) * item[1].n_photons,
                                                    item[1].n_samples))


def pt2_label(hardware_backend: str) -> str:
    """How the chapter names the ``pt2`` latent for its ``hardware_backend``: a PT-2 run simulated by
    our sampler or by a Perceval backend, shots from a remote platform (a QPU for ``qpu:…``, a
    simulator for ``sim:…``), or recorded shots replayed.

    Raises
    ------
    ValueError
        If ``hardware_backend`` is not a backend name (:data:`qlatent.qpu.backends.BACKEND_FORMS`).
    """
    from qlatent.qpu.backends import backend_kind

    kind, argument = backend_kind(hardware_backend)
    if kind == "local":
        return "pt2 (PT-2 simulated by our sampler)"
    if kind == "perceval":
        return f"pt2 (PT-2 simulated by Perceval {argument})"
    if kind == "remote":
        what = {"qpu": "remote QPU", "sim": "remote simulator"}.get(argument.partition(":")[0], "remote platform")
        return f"pt2 ({what} {argument})"
    return f"pt2 (recorded shots {Path(argument).name})"


def pt2_transmission_note(config: QM9Config, size: int, circuit: str) -> str:
    """Why the ``pt2`` latent's transmission η is what it is, with this config's numbers: the mean
    number of detected photons ``η·photons`` against the post-selection threshold, and the share
    of shots kept (:meth:`qlatent.latent.pt2.PT2Source.expected_acceptance`; PNR detection only).
    The reason is :mod:`qlatent.latent.pt2`'s: at η = 0.5 the mean equals the threshold of half the
    bins, so a shot of as many photons as half the bins, as the paper describes its runs, is the
    typical shot."""
    from qlatent.latent.pt2 import PT2Source

    source = PT2Source.from_spec(config.latent_spec(size, circuit, "pt2"), 0)
    mean = source.transmission * source.photons
    relation = ("equals" if math.isclose(mean, source.min_detected) else
                "is above" if mean > source.min_detected else "is below")
    kept = source.expected_acceptance()
    share = f"; {kept:.2f} of the shots are kept" if kept is not None else ""
    return (f"η = {source.transmission:g} (`pt2_transmission`): of the {source.photons} photons sent into "
            f"{source.n_modes} bins, η·{source.photons} = {mean:g} are detected on average, which {relation} the "
            f"post-selection threshold of {source.min_detected} detections{share}. The paper gives no η; ours makes "
            "the typical shot a shot at the threshold, as the paper's description of its runs reads "
            "(`qlatent.latent.pt2`).")


#: The chapter's own choices where the paper is silent: a description and the parameter(s) that hold it.
CHOICES: dict[str, str | tuple[str, ...]] = {
    "critic updates per generator update": "n_critic", "gradient-penalty weight (one norm per graph)": "gp_weight",
    "Adam betas": "betas", "relaxation of the generator's logits": ("sampling", "temperature"),
    "RL term (λ of λ·L_WGAN + (1−λ)·L_RL; 1 = off)": "rl_lambda", "LeakyReLU slope": "leaky_slope",
    "critic: R-GCN widths, aggregation, head": ("conv_hidden", "aggregation_dim", "dense_hidden"),
    "photon counts before the generator": ("centring", "standardize", "noise_scale"),
    "bank rows per latent size": ("bank_size", "bank_sizes"), "PT-2 bank (accepted shots)": "hardware_bank_size",
    "FCD reference": ("n_reference", "reference_seed", "fcd_connected_only"),
    "Appendix H (fast schedule)": ("fast_learning_rate", "fast_n_steps"),
    "PT-2 latent": ("pt2_transmission", "pt2_detection", "pt2_min_detected", "hardware_circuit"),
    "decoding generated graphs": "decode", "training": ("learning_rate", "batch_size", "n_steps"),
}


def pt2_postselection(config: QM9Config, jobs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Post-selection of the ``pt2`` latent's bank for each ``pt2`` job: ``seed``, ``bins``, ``shots
    examined``, ``acceptance`` (the fraction kept), ``expected (PNR)``
    (:meth:`qlatent.latent.pt2.PT2Source.expected_acceptance`) and the mean, smallest and largest
    number of detected photons in the bank. Empty without ``pt2`` jobs."""
    from qlatent.latent.photonic import build_latent

    rows = []
    for job in [job for job in jobs if job["latent"] == "pt2"]:
        latent = build_latent("pt2", config.latent_spec(job["size"], job["circuit"], "pt2"), job["seed"])
        origin = latent.describe()["source"]
        post = origin.get("postselection") or {}
        counts = latent.bank.sum(axis=1)
        rows.append({"seed": job["seed"], "bins": job["size"], "shots examined": post.get("n_shots"),
                     "acceptance": post.get("acceptance"), "expected (PNR)": origin.get("expected_acceptance"),
                     "mean detected": counts.mean(), "min detected": counts.min(), "max detected": counts.max()})
    return pd.DataFrame(rows, columns=["seed", "bins", "shots examined", "acceptance", "expected (PNR)",
                                       "mean detected", "min detected", "max detected"])


def protocol_markdown(parameters: Mapping[str, Any], n_molecules: int | None = None) -> str:
    """The paper's Table II protocol beside this execution's, as Markdown: the paper's budget and
    metric count from ``data/paper/reported.yml``, its latent sizes (those of its reported rows)
    with the photons of half filling, its generator widths; then ours from ``parameters`` (and
    ``n_molecules``, the molecules of QM9 this execution reads), and what the paper says of its
    hardware runs. Every number comes from those files or parameters, none is typed here."""
    from qlatent.models.molgan import PAPER_GENERATOR_HIDDEN
    from qlatent.paper import budgets, reported, source, statements

    get = parameters.get
    paper_sizes = sorted({int(size) for size in reported("table2")["size"]})
    training = budgets("table2")["training"]

    def with_photons(sizes: Sequence[int]) -> str:
        return ", ".join(f"{size} ({LatentSpec(size=int(size), circuit='haar').photons} photons)" for size in sizes)

    subset = "all of QM9" if get("qm9_path") is None else f"`{get('qm9_path')}`"
    if get("qm9_subset") is not None:
        subset += f", a seeded subset of {get('qm9_subset')}"
    read = f"{n_molecules:,} molecules ({subset})" if n_molecules is not None else subset
    return "\n".join([
        f"* **The paper** ({source('table2')}): {training['source']}; latent sizes {with_photons(paper_sizes)}, "
        f"half filling; generator widths {list(PAPER_GENERATOR_HIDDEN)}.",
        f"* **This execution** (`{get('profile')}` profile): latent sizes {with_photons(get('sizes', []))}; "
        f"generator widths {list(get('generator_hidden', PAPER_GENERATOR_HIDDEN))}; learning rate "
        f"{get('learning_rate')}, batch {get('batch_size')}, {get('n_steps')} iterations, seeds {get('seeds')} "
        f"(other seeds per size: {get('size_seeds') or 'none'}); {get('eval_samples')} generated molecules per run; "
        f"{read}.",
        f"* **The paper's hardware**: {statements('table2')['hardware']}.",
    ])


# ---------------------------------------------------------------- data, reference, one run


@functools.lru_cache(maxsize=2)
def _dataset(path: str | None, subset: int | None, seed: int, source: tuple) -> Any:
    """``source`` (:func:`qlatent.data.qm9.source_identity`) keys the memo by the files' identity too."""
    from qlatent.data.qm9 import load_qm9
    from qlatent.paths import project_root

    source = None if path is None else (Path(path) if Path(path).is_absolute() else project_root() / path)
    return load_qm9(source, subset=subset, seed=seed)


def load_dataset(config: QM9Config) -> Any:
    """The QM9 graphs of the config (cached per process while the source files stay the same: runs
    share one dataset)."""
    return _dataset(config.qm9_path, config.qm9_subset, config.qm9_seed, _source(config.qm9_path))


def _source(path: str | None) -> tuple:
    from qlatent.data.qm9 import source_identity
    from qlatent.paths import project_root

    if path is None:
        return source_identity(None)
    return source_identity(Path(path) if Path(path).is_absolute() else project_root() / path)


@functools.lru_cache(maxsize=2)
def _reference(path: str | None, subset: int | None, seed: int, n_reference: int, reference_seed: int,
               source: tuple) -> Any:
    from qlatent.metrics.molecules import chemnet_statistics, reference_sample

    held_out = _dataset(path, subset, seed, source).split_smiles("test")
    return chemnet_statistics(reference_sample(held_out, n_reference, seed=reference_seed))


def fcd_reference(config: QM9Config) -> Any:
    """ChemNet statistics of ``n_reference`` random test molecules (computed once per process).

    Raises
    ------
    ValueError
        If ``n_reference`` exceeds the held-out (test) molecules, naming both numbers.
    """
    return _reference(config.qm9_path, config.qm9_subset, config.qm9_seed, config.n_reference, config.reference_seed,
                      _source(config.qm9_path))


def check_reference_size(config: QM9Config) -> None:
    """Refuse, before any training, an FCD reference larger than the held-out molecules."""
    n_test = len(load_dataset(config).split_index("test"))
    if config.n_reference > n_test:
        raise ValueError(f"n_reference={config.n_reference} exceeds the {n_test} held-out (test) molecules of this "
                         "QM9 split; ask for fewer or use more of QM9")


def _reward_fn(config: QM9Config, training: set[str]) -> Any:
    if config.rl_lambda >= 1.0:
        return None
    from qlatent.metrics.molecules import molgan_reward

    def reward(mols: list) -> np.ndarray:
        return molgan_reward(mols, config.rl_objectives, training_smiles=training)

    reward.name = "molgan:" + ",".join(config.rl_objectives)  # type: ignore[attr-defined]
    return reward


def molecule_table(mols: list, limit: int | None = None) -> pd.DataFrame:
    """Canonical SMILES with QED, logP and SA of the valid molecules (the first ``limit`` of them)."""
    from qlatent.chem.graphs import canonical_smiles
    from qlatent.metrics.molecules import logp, qed, sa_score

    valid = [mol for mol in mols if canonical_smiles(mol) is not None][:limit]
    if not valid:
        return pd.DataFrame(columns=["smiles", "qed", "logp", "sa"])
    return pd.DataFrame({"smiles": [canonical_smiles(mol) for mol in valid], "qed": qed(valid), "logp": logp(valid),
                         "sa": sa_score(valid)})


def score_molecules(mols: list, training: set[str], reference: Any, *, fcd_connected_only: bool = True,
                    seed: int = 0) -> dict[str, float]:
    """The paper's three metrics and the standard table for one generated batch (see the module notes)."""
    from qlatent.chem.graphs import canonical_smiles
    from qlatent.metrics.molecules import fcd, summarize

    scores = {name: float(value) for name, value in summarize(mols, training, seed=seed).items()}
    scores["valid_unique"], scores["novel"] = scores.pop("n_unique"), scores.pop("n_novel")
    scores["valid_unique_connected"] = scores.pop("n_unique_connected")
    scores["novel_connected"] = scores.pop("n_novel_connected")
    smiles = [s for s in (canonical_smiles(mol) for mol in mols) if s is not None]
    if fcd_connected_only:
        smiles = [s for s in smiles if "." not in s]
    scores["fcd"] = fcd(smiles, reference) if len(smiles) >= 2 else math.nan
    return scores


@dataclass
class PreparedRun:
    """One run of the chapter, built and ready to train: the :class:`~qlatent.training.loop.Trainer`
    (its run directory keyed by everything that shapes training, not by its length), the model, its
    latent distribution, the training SMILES (novelty) and the FCD reference statistics."""

    trainer: Any
    model: Any
    distribution: Any
    training: set[str]
    reference: Any
    seed: int


def prepare_run(schedule: str, size: int, circuit: str, latent: str, seed: int, *, config: QM9Config,
                runs_dir: Path, store: Any = None, progress: bool = False, n_steps: int | None = None,
                checkpoint_every: int | None = None) -> PreparedRun:
    """Build one run (nothing is trained): ``n_steps`` (default: the schedule's) is how far the
    trainer goes, ``checkpoint_every`` (default ``log_every``) how often it checkpoints; neither
    enters the run's key, so a run trained in stretches is one run. Raises ``ValueError`` before
    any work as :func:`check_run`."""
    check_run(schedule, size, circuit, latent, seed, config=config)
    import torch

    from qlatent.latent.photonic import build_latent
    from qlatent.metrics.molecules import novel_count, novelty, uniqueness, valid_unique_count, validity
    from qlatent.models.molgan import GraphBank, MolGAN
    from qlatent.training.loop import Trainer, TrainerConfig, keyed_run_dir

    dataset = load_dataset(config)
    training = set(dataset.split_smiles("train"))
    reference = fcd_reference(config)
    distribution = build_latent(latent, config.latent_spec(size, circuit, latent), seed, store)
    model = MolGAN(config.model_config(distribution.dim, dataset.n_atom_types, schedule, dataset.n_bond_types,
                                       dataset.max_atoms),
                   seed=seed, reward_fn=_reward_fn(config, training), encoder=dataset.atom_encoder)

    def evaluate(model: Any, latent: Any, generator: torch.Generator) -> dict[str, float]:
        mols = model.sample_molecules(config.curve_samples, latent, generator, mode=config.decode)
        return {"eval_validity": validity(mols), "eval_validity_connected": validity(mols, connected_only=True),
                "eval_uniqueness": uniqueness(mols), "eval_novelty": novelty(mols, training),
                "eval_valid_unique": valid_unique_count(mols), "eval_novel": novel_count(mols, training),
                "eval_valid_unique_connected": valid_unique_count(mols, connected_only=True)}

    if n_steps is None:
        _, n_steps = config.schedule(schedule)
    data = GraphBank.from_dataset(dataset, "train")
    settings = TrainerConfig(n_steps=n_steps, batch_size=config.batch_size, seed=seed, log_every=config.log_every,
                             checkpoint_every=checkpoint_every or config.log_every, device=config.device,
                             progress=progress)
    run_dir = keyed_run_dir(runs_dir, f"{schedule}-{size}-{circuit}-{latent}-seed{seed}", model, distribution, data,
                            settings)
    trainer = Trainer(model, distribution, data, settings, run_dir, evaluate=evaluate)
    return PreparedRun(trainer, model, distribution, training, reference, seed)


def score_run(run: PreparedRun, config: QM9Config) -> tuple[dict[str, float], list]:
    """Scores of ``eval_samples`` molecules of the run's model as it is now (see the module notes),
    drawn from a generator seeded by the run's seed alone, and the molecules."""
    import torch

    generator = torch.Generator().manual_seed(derived_seed(run.seed, "evaluation"))
    mols = run.model.sample_molecules(config.eval_samples, run.distribution, generator, mode=config.decode)
    scores = score_molecules(mols, run.training, run.reference, fcd_connected_only=config.fcd_connected_only,
                             seed=run.seed)
    return scores, mols


def curve_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The training curve's columns of a trainer's metrics rows (``step`` and the ``eval_*`` counts)."""
    curve = pd.DataFrame(rows)
    return curve[["step", *[column for column in curve.columns if column in _CURVE_COLUMNS]]]


def train_run(schedule: str, size: int, circuit: str, latent: str, seed: int, *, config: QM9Config, runs_dir: Path,
              store: Any = None, progress: bool = False) -> RunOutcome:
    """Train (or resume, or reload) one run and score ``eval_samples`` generated molecules.

    Returns the scores (see the module notes), the training curve and up to ``molecule_rows``
    valid generated molecules with their properties. Raises ``ValueError`` before any work as
    :func:`check_run`.
    """
    run = prepare_run(schedule, size, circuit, latent, seed, config=config, runs_dir=runs_dir, store=store,
                      progress=progress)
    curve = curve_table(run.trainer.fit(resume=True))
    scores, mols = score_run(run, config)
    return RunOutcome(scores, curve, molecule_table(mols, config.molecule_rows),
                      training_seconds=run.trainer.training_seconds)


def run_table2(config: QM9Config, jobs: Sequence[Mapping[str, Any]], runs_dir: Path, store: Any = None,
               progress: bool = True) -> GridResults:
    """Every job: tidy ``runs`` (schedule, size, circuit, latent, seed, metric, value), ``curves``,
    ``samples`` and ``compute`` (training seconds per run).

    Raises
    ------
    ValueError
        Before any training, if the FCD reference is larger than the held-out molecules.
    """
    check_reference_size(config)
    train_one = functools.partial(train_run, config=config, runs_dir=Path(runs_dir), store=store)
    return run_grid(train_one, jobs, progress)


def training_properties(config: QM9Config, n: int, seed: int = 0) -> pd.DataFrame:
    """QED, logP and SA of ``n`` random training molecules (the reference of the property histograms)."""
    from rdkit import Chem

    smiles = load_dataset(config).split_smiles("train")
    chosen = np.random.default_rng(seed).choice(len(smiles), size=min(n, len(smiles)), replace=False)
    return molecule_table([Chem.MolFromSmiles(smiles[i]) for i in sorted(chosen)])


def table_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs behind Table II's rows: the paper's schedule through Haar circuits, plus the ``pt2`` rows."""
    keep = (runs["schedule"] == "paper") & ((runs["circuit"] == "haar") | (runs["latent"] == "pt2"))
    return runs[keep]


def loop_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of the loop-circuit comparison: the paper's schedule through time-bin loops, no ``pt2``."""
    return runs[(runs["schedule"] == "paper") & (runs["circuit"] != "haar") & (runs["latent"] != "pt2")]


def fast_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of Appendix H's fast schedule."""
    return runs[runs["schedule"] == "fast"]


def paired_tables(runs: pd.DataFrame, reference: str = "boson") -> pd.DataFrame:
    """``reference`` against every other latent, paired by seed, per part of the chapter.

    ``part`` is ``"table2"`` (per size; the ``pt2`` rows are compared at their size),
    ``"loops"`` (per circuit) or ``"fast"`` (Appendix H, per size); other columns as
    :func:`qlatent.stats.paired_comparison`. A part without the reference latent is left out.
    """
    from qlatent.stats import paired_comparison

    tables = []
    for part, rows, context in (("table2", table_rows(runs), ("size",)), ("loops", loop_rows(runs), ("circuit",)),
                                ("fast", fast_rows(runs), ("size",))):
        if rows.empty or reference not in set(rows["latent"]):
            continue
        paired = paired_comparison(rows, reference, METRICS, context=context)
        tables.append(paired.assign(part=part))
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["part", *[column for column in table.columns if column != "part"]]]


def table2_verdicts(runs: pd.DataFrame) -> pd.DataFrame:
    """Verdicts on every Table II comparison and loop-circuit claim of the paper, on our per-seed results.

    The comparisons come from :func:`qlatent.paper.reported_comparisons` (per size, with the kind
    of each — an ordering or no significant difference — read from the paper's numbers and
    standard errors; the loop claims stated without numbers, per circuit), each tested by
    :func:`qlatent.stats.verdict_table` on the matching runs (``part`` ``"table2"`` and
    ``"loops"``); then the size trend, the advantage narrowing from size 16 to the larger sizes
    (``part`` ``"size trend"``, :func:`size_trend_verdicts`). A comparison whose size, circuit or
    latents we did not run is listed with the verdict ``"not run"``, never left out.
    """
    from qlatent.paper import reported_comparisons
    from qlatent.stats import verdict_table

    lower = {metric: METRICS[metric] for metric in PAPER_METRICS}
    claims = reported_comparisons("table2", "boson", lower, context=("size", "circuit"))
    tables = []
    for part, rows, keys in (("table2", table_rows(runs), ("size",)), ("loops", loop_rows(runs), ("circuit",))):
        chosen = [claim for claim in claims if set(claim.context) == set(keys)]
        if chosen:
            tables.append(verdict_table(rows, chosen, METRICS).assign(part=part))
    trend = size_trend_verdicts(runs)
    if len(trend):
        tables.append(trend)
    if not tables:
        return pd.DataFrame(columns=["part", "metric", "better", "worse", "verdict", "sentence"])
    table = pd.concat(tables, ignore_index=True)
    return table[["part", *[column for column in table.columns if column != "part"]]]


def _trend_comparisons(reference: str) -> list[tuple[dict[str, Any], str, int, int, str]]:
    """``(claim, metric, small size, larger size, control)`` of every size-trend claim of the paper
    (``axis: size`` in ``data/paper/reported.yml``), one per control: each latent other than
    ``reference`` that the paper's rows give at both sizes."""
    from qlatent.paper import reported, stated_claims

    paper = reported("table2")
    found = []
    for claim in stated_claims("table2", "size"):
        metric, small = claim["metric"], int(claim["better"])
        rows = paper[paper["metric"] == metric]
        for large in claim["worse"]:
            at = {size: set(rows.loc[rows["size"] == size, "latent"]) for size in (small, int(large))}
            if reference not in at[small] & at[int(large)]:
                continue
            for control in [latent for latent in dict.fromkeys(rows["latent"])
                            if latent != reference and latent in at[small] & at[int(large)]]:
                found.append((claim, metric, small, int(large), control))
    return found


def _gap_words(metric: str, reference: str, control: str) -> str:
    return f"{control} − {reference}" if METRICS[metric] else f"{reference} − {control}"


def paper_size_trend(reference: str = "boson") -> pd.DataFrame:
    """What the paper's own Table II numbers say about its size trend, one row per size-trend claim
    and control (:func:`_trend_comparisons`).

    The ``reference`` latent's advantage over ``control`` (``gap``: control − reference on a
    lower-is-better metric, reference − control otherwise) at the small and the larger size, each
    with its standard error ``sqrt(se_ref² + se_control²)``; ``narrowing`` (small − larger) and
    ``margin``: :data:`qlatent.paper.SIGNIFICANT_SES` combined standard errors of the narrowing.
    ``paper_numbers`` is ``"narrows"`` or ``"widens"`` only where the change exceeds the margin,
    ``"no difference"`` where it does not, ``"no claim"`` where a row has no standard error; and
    ``sentence`` says so with the printed numbers.
    """
    from qlatent.paper import SIGNIFICANT_SES, reported
    from qlatent.report import mean_se

    paper = reported("table2").set_index(["size", "latent", "metric"])
    rows = []
    for claim, metric, small, large, control in _trend_comparisons(reference):
        sign = 1.0 if METRICS[metric] else -1.0
        gaps, ses = {}, {}
        for size in (small, large):
            ours, theirs = paper.loc[(size, reference, metric)], paper.loc[(size, control, metric)]
            gaps[size] = sign * (float(theirs["value"]) - float(ours["value"]))
            ses[size] = math.hypot(float(ours["se"]), float(theirs["se"]))
        narrowing = gaps[small] - gaps[large]
        margin = SIGNIFICANT_SES * math.hypot(ses[small], ses[large])
        if not math.isfinite(margin):
            kind, support = "no claim", "without a standard error on every row its numbers support no claim"
        elif abs(narrowing) > margin:
            kind = "narrows" if narrowing > 0 else "widens"
            support = (f"more than {SIGNIFICANT_SES:g} combined standard errors ({mean_se(margin, None)}): its numbers "
                       f"alone show the advantage {'narrowing' if narrowing > 0 else 'widening'}")
        else:
            kind = "no difference"
            support = (f"within {SIGNIFICANT_SES:g} combined standard errors ({mean_se(margin, None)}): its "
                       "numbers alone do not support a change with size")
        sentence = (f"The paper's numbers ({reference} against {control} on {metric}, gap "
                    f"{_gap_words(metric, reference, control)}): {mean_se(gaps[small], ses[small])} at size "
                    f"{small}, {mean_se(gaps[large], ses[large])} at size {large}, a narrowing of "
                    f"{mean_se(narrowing, None)}, {support}.")
        rows.append({"metric": metric, "small": small, "large": large, "control": control,
                     "gap_small": gaps[small], "se_small": ses[small], "gap_large": gaps[large],
                     "se_large": ses[large], "narrowing": narrowing, "margin": margin, "paper_numbers": kind,
                     "statement": claim["statement"], "paper_reference": float(paper.loc[(small, reference, metric),
                                                                                          "value"]),
                     "sentence": sentence})
    return pd.DataFrame(rows)


def _seed_pairs(rows: pd.DataFrame, size: int, metric: str, reference: str, control: str) -> pd.DataFrame | str:
    """Per-seed values at ``size`` over the seeds with runs of both latents (columns ``better``:
    ``reference``, ``worse``: ``control``; NaN where a run has no score), or what is missing, as words."""
    from qlatent.stats import paired_seeds

    part = rows[rows["size"] == size]
    measured = set(part.loc[part["metric"] == metric, "latent"])
    absent = [latent for latent in (reference, control) if latent not in measured]
    if absent:
        return f"no {' or '.join(absent)} run at size {size}"
    pairs = paired_seeds(part, metric, "latent", reference, control)
    if pairs.empty:
        return f"no seed with runs of both {reference} and {control} at size {size}"
    return pairs


def size_trend_verdicts(runs: pd.DataFrame, reference: str = "boson", alpha: float = 0.05) -> pd.DataFrame:
    """Verdicts on the paper's size trend: ``reference``'s advantage over a control is smaller at the
    larger latent size than at the small one (``axis: size`` claims in ``data/paper/reported.yml``,
    tested for each control the paper's rows give at both sizes: :func:`paper_size_trend`).

    At each size the per-seed gap (:func:`_seed_pairs`, paired by seed within the size, Haar
    circuits, the paper's schedule) is formed; the gaps at the two sizes come from different runs,
    so they are compared by Welch's t-test (:func:`qlatent.stats.two_sample_statistics`: mean
    narrowing, p, effect size ``d``, the smallest change detectable with 80 % power):

    the verdict (:data:`qlatent.stats.VERDICTS`) is :func:`qlatent.stats.ordering_verdict`'s, the test
    counting as powered with at least :data:`qlatent.stats.MIN_SEEDS_FOR_POWER` − 1 degrees of
    freedom and 80 % power to detect the paper's narrowing scaled to our level (times our
    ``reference`` mean at the small size over the paper's, as :func:`qlatent.stats.claim_verdict`
    scales); **not run** when a size or latent of the comparison is absent from ``runs``.

    Where a seed has a score for one latent only, its gap is undefined: the gaps are then ranked on
    one scale with that seed's unscored run as its worst outcome (as :func:`qlatent.stats.claim_verdict`
    does for pairs), and a two-sided Mann-Whitney U test replaces Welch's and the power rule
    (:func:`qlatent.stats.ranked_verdict`). A seed where neither latent has a score is left out of
    both tests (its gap says nothing). The verdict tests the paper's statement;
    whether the paper's own numbers show the narrowing (``paper_numbers``) is said in the
    sentence, not used in the verdict.

    Columns: ``part`` (``"size trend"``), ``metric``, ``better`` / ``worse`` (``"size 16"``, the
    size claimed to have the larger advantage, and the larger size), ``control``, ``kind``
    (``"ordering"``: stated in words), ``paper_difference`` (the paper's narrowing), ``verdict``,
    ``evidence`` (a dozen words: seeds at each size, the change of the gap and p), ``sentence`` (with
    the paper's own numbers, :func:`paper_size_trend`) and, where run, the
    statistics (``mean``: our mean narrowing; ``p_t``, ``df``, ``d``, ``mdd``, ``n_first`` /
    ``n_second``: seeds at each size, ``expected_difference``, ``better_level``, ``unscored_better`` /
    ``unscored_worse``: seeds with an undefined gap at each size, ``p_rank``: the rank test's p).
    """
    from qlatent.stats import MIN_SEEDS_FOR_POWER, NOT_RUN, ordering_verdict, ranked_verdict, two_sample_statistics

    rows = table_rows(runs)
    rows = rows[(rows["circuit"] == "haar") & (rows["latent"] != "pt2")]
    out = []
    for trend in paper_size_trend(reference).itertuples():
        metric, small, large, control = trend.metric, int(trend.small), int(trend.large), trend.control
        head = (f"(size {small} vs size {large}, {reference} against {control} on {metric}) — "
                f"{trend.statement}.")
        base = {"part": "size trend", "metric": metric, "better": f"size {small}", "worse": f"size {large}",
                "control": control, "kind": "ordering", "paper_difference": trend.narrowing}
        pairs = {size: _seed_pairs(rows, size, metric, reference, control) for size in (small, large)}
        missing = [text for text in pairs.values() if isinstance(text, str)]
        if missing:
            out.append({**base, "verdict": NOT_RUN, "n": 0, "evidence": "; ".join(missing),
                        "sentence": f"**{NOT_RUN}** {head} Not tested: {'; '.join(missing)}. {trend.sentence}"})
            continue
        sign = 1.0 if METRICS[metric] else -1.0
        gaps = {size: sign * (pairs[size]["worse"] - pairs[size]["better"]) for size in (small, large)}
        tests = two_sample_statistics(gaps[small], gaps[large], alpha=alpha)
        unscored = {size: int(gaps[size].isna().sum()) for size in (small, large)}
        one_sided = sum(int((pairs[size]["better"].isna() != pairs[size]["worse"].isna()).sum())
                        for size in (small, large))
        neither = {size: int((pairs[size]["better"].isna() & pairs[size]["worse"].isna()).sum())
                   for size in (small, large)}
        level_rows = rows[(rows["size"] == small) & (rows["metric"] == metric) & (rows["latent"] == reference)]
        level = float(level_rows["value"].astype(float).mean())
        scale = abs(level / trend.paper_reference) if trend.paper_reference else math.nan
        expected = trend.narrowing * scale if trend.narrowing > 0 else math.nan
        powered = math.isfinite(tests["df"]) and tests["df"] >= MIN_SEEDS_FOR_POWER - 1
        gap = _gap_words(metric, reference, control)
        if one_sided:  # a gap's size is undefined: ranks only, an unscored run last (qlatent.stats.ranked_advantage)
            rank = _ranked_size_trend(pairs[small], pairs[large], METRICS[metric])
            verdict = ranked_verdict(rank["p_rank"], rank["u"] - rank["n_pairs"] / 2, rank["smallest_p"], alpha=alpha)
            evidence = (f"gap larger at size {small} in {rank['u']:g} of {rank['n_pairs']:g} seed pairs, "
                        f"Mann-Whitney p = {rank['p_rank']:.2g}")
            test = (f"Mann-Whitney U p = {rank['p_rank']:.2g}" if math.isfinite(rank["p_rank"]) else
                    "too few ranked seeds, or all tied, for a test")
            ours = [f"Seeds with a {metric} score on one side only (each unscored run counted as its seed's worst "
                    f"outcome): {one_sided}; with no score on either side (left out): {neither[small]} at size "
                    f"{small}, {neither[large]} at size {large}. Ranking the gaps ({gap} per seed) so, the gap at "
                    f"size {small} is the larger in {rank['u']:g} of the {rank['n_pairs']:g} pairs of a size-{small} "
                    f"and a size-{large} seed; {test}. The size of a gap is undefined where a run has no score, so "
                    "the Welch test and the power rule are not used."]
        else:
            rank = {"p_rank": math.nan}
            verdict = ordering_verdict(tests, expected, powered, alpha)
            change = "narrows" if tests["mean"] >= 0 else "widens"
            evidence = (f"gap {change} from size {small} ({tests['n_first']} seeds) to {large} "
                        f"({tests['n_second']} seeds)" + (f", p = {tests['p_t']:.2g}" if math.isfinite(tests["p_t"])
                                                          else ""))
            ours = []
            if any(unscored.values()):
                ours.append(f"Seeds where neither latent has a {metric} score (ties, left out of the test): "
                            f"{unscored[small]} at size {small}, {unscored[large]} at size {large}.")
            if math.isfinite(tests["p_t"]):
                ours.append(f"Ours (gap {gap} per seed, paired by seed within a size): {tests['mean_first']:.3g} at "
                            f"size {small} over {tests['n_first']} seeds, {tests['mean_second']:.3g} at size {large} "
                            f"over {tests['n_second']} seeds; the gap {change} by {abs(tests['mean']):.3g}, Welch "
                            f"t-test p = {tests['p_t']:.2g} ({tests['df']:.1f} degrees of freedom), effect size d = "
                            f"{tests['d']:.2f}; these seeds detect a change of {tests['mdd']:.3g} or more with 80 % "
                            "power.")
            else:
                ours.append(f"Ours: {tests['n_first']} scored seed(s) at size {small} and {tests['n_second']} at size "
                            f"{large}, too few (or too uniform) for a test.")
        parts = [f"**{verdict}** {head}", *ours, trend.sentence]
        if math.isfinite(expected) and not one_sided:
            parts.append(f"At our {reference} level at size {small} ({level:.3g}) the paper's narrowing is "
                         f"{expected:.3g}, the change the power rule asks these seeds to detect"
                         + ("." if powered else f" (it needs at least {MIN_SEEDS_FOR_POWER - 1} degrees of freedom "
                                                  "to rule it out)."))
        out.append({**base, "verdict": verdict, "evidence": evidence, "sentence": " ".join(parts),
                    "n": tests["n_first"] + tests["n_second"],
                    "mean": tests["mean"], "p_t": tests["p_t"], "df": tests["df"], "d": tests["d"],
                    "mdd": tests["mdd"], "se": tests["se"], "n_first": tests["n_first"], "n_second": tests["n_second"],
                    "paper_reference": trend.paper_reference, "paper_margin": trend.margin,
                    "expected_difference": expected, "better_level": level,
                    "unscored_better": unscored[small], "unscored_worse": unscored[large], "p_rank": rank["p_rank"]})
    return pd.DataFrame(out)


def _ranked_size_trend(small: pd.DataFrame, large: pd.DataFrame, lower_is_better: bool) -> dict[str, float]:
    """Mann-Whitney U test of the per-seed gaps at two sizes when some run has no score: the gaps are
    ranked on one scale (:func:`qlatent.stats.ranked_advantage` over both sizes, so an unscored run is
    its seed's worst outcome at either size); seeds with no score on either side are left out.
    Returns ``u`` (pairs of a small-size and a large-size seed where the small size's gap is larger,
    ties counting a half), ``n_pairs``, ``p_rank`` (two-sided; NaN when every gap is tied or a
    size has no seed left) and ``smallest_p`` (the smallest two-sided p the test can give with these
    sizes, ``2 / C(n₁ + n₂, n₁)``)."""
    from scipy.stats import mannwhitneyu

    from qlatent.stats import ranked_advantage

    # a seed with no score on either side says nothing about its gap: left out (a zero gap would count as narrowed)
    small, large = (part[part["better"].notna() | part["worse"].notna()] for part in (small, large))
    if small.empty or large.empty:
        return {"u": math.nan, "n_pairs": 0.0, "p_rank": math.nan, "smallest_p": 1.0}
    ranked = ranked_advantage(pd.concat([small, large]), lower_is_better)
    first, second = ranked[:len(small)], ranked[len(small):]
    u = float(mannwhitneyu(first, second).statistic)
    tied = np.all(ranked == ranked[0])
    p_rank = math.nan if tied else float(mannwhitneyu(first, second, alternative="two-sided").pvalue)
    smallest_p = min(1.0, 2.0 / math.comb(len(first) + len(second), len(first)))
    return {"u": u, "n_pairs": float(len(first) * len(second)), "p_rank": p_rank, "smallest_p": smallest_p}


def fast_schedule_verdicts(paired: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Appendix H's claim — no significant difference between latents with a higher learning rate
    and a shorter schedule — checked on our fast-schedule pairs (``part == "fast"`` of
    :func:`paired_tables`), one row per paper metric: ``metric``, ``verdict``
    (:data:`qlatent.stats.VERDICTS`: **contradicts** when boson differs significantly from a latent,
    **reproduces** when none does over at least :data:`qlatent.stats.MIN_SEEDS_FOR_POWER` paired
    seeds, **too few seeds to tell** with fewer seeds or with unscored runs, **not run** without
    pairs), ``evidence`` (a dozen words) and ``sentence``."""
    from qlatent.stats import CONTRADICTS, MIN_SEEDS_FOR_POWER, NOT_RUN, REPRODUCES, TOO_FEW_SEEDS

    rows = paired[paired["part"] == "fast"] if "part" in paired else paired.iloc[0:0]
    out = []
    for metric in PAPER_METRICS:
        tests = rows[rows["metric"] == metric]
        if tests.empty:
            continue
        significant = tests[tests["p_value"] < alpha]
        n_pairs = int(tests["n_pairs"].min())
        unscored = 0
        if "unscored_reference" in tests:
            unscored = int(tests["unscored_reference"].max() + tests["unscored_baseline"].sum())
        if unscored:
            verdict, evidence = TOO_FEW_SEEDS, f"{unscored} run(s) without a score"
            detail = (f"{unscored} fast-schedule run(s) produced no score, so tests over the {n_pairs} seed(s) "
                      "scored on both sides cannot stand for every run.")
        elif n_pairs == 0:
            verdict, evidence = NOT_RUN, "no seed ran boson and another latent"
            detail = f"no seed has fast-schedule runs of boson and of {', '.join(tests['baseline'].astype(str))}."
        elif not significant.empty:
            named = ", ".join(f"{row.baseline} (p = {row.p_value:.2g})" for row in significant.itertuples())
            verdict, evidence = CONTRADICTS, f"boson differs from {named}, {n_pairs} paired seeds"
            detail = f"boson differs significantly from {named} over {n_pairs} paired seeds."
        elif n_pairs < MIN_SEEDS_FOR_POWER:
            verdict, evidence = TOO_FEW_SEEDS, f"no significant difference, {n_pairs} paired seed(s)"
            detail = (f"no significant difference, but {n_pairs} paired seed(s) are too few to tell (fewer than "
                      f"{MIN_SEEDS_FOR_POWER}).")
        else:
            verdict, evidence = REPRODUCES, f"no significant difference, {n_pairs} paired seeds"
            detail = (f"no latent differs from boson at p < {alpha} ({n_pairs} paired seeds; differences below "
                      f"{tests['mdd'].max():.3g} were not detectable with 80 % power).")
        out.append({"metric": metric, "verdict": verdict, "evidence": evidence,
                    "sentence": f"**{verdict}** on {metric}: {detail}"})
    return pd.DataFrame(out, columns=["metric", "verdict", "evidence", "sentence"])


def fast_schedule_sentences(paired: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The sentences of :func:`fast_schedule_verdicts`, one per paper metric."""
    return list(fast_schedule_verdicts(paired, alpha)["sentence"])


def check_run(schedule: str, size: int, circuit: str, latent: str, seed: int, *, config: QM9Config,
              **_: Any) -> None:
    """The checks :func:`train_run` makes before any work; trains nothing (its sweep ``validate`` hook).

    Raises
    ------
    ParameterError
        A ``ValueError`` naming the parameter: an unknown ``schedule`` or ``latent``, a ``size``
        the ``circuit`` cannot give (or an unknown circuit), a bad ``seed``.
    """
    with refusing("schedule", schedule):
        config.schedule(schedule)
    with refusing("latent", latent):
        check_latent_names([latent])
    with refusing("circuit", circuit):
        parse_circuit(circuit)
    with refusing("size", size):
        config.latent_spec(size, circuit, latent)
    with refusing("seed", seed):
        require_seed(seed)


def run_banks(schedule: str, size: int, circuit: str, latent: str, seed: int, *, config: QM9Config,
              **_: Any) -> list[Any]:
    """The sample request of the latent bank one run asks the store for (None: a latent without one)."""
    from qlatent.latent.photonic import bank_request

    return [bank_request(latent, config.latent_spec(size, circuit, latent), seed)]


train_run.validate = check_run  # type: ignore[attr-defined]
train_run.bank_requests = run_banks  # type: ignore[attr-defined]
