"""Canaries: a tiny seeded run of each experiment chapter's own training and evaluation path.

A recording is made by one version of qlatent and shown by later ones. Whether a code change
matters to a chapter is not read from the list of changed files (a line wrap changes a file) but
measured: ``qlatent record`` stores the chapter's canary metrics in the recording's manifest
(``canary``), and the book re-runs the canary with the current code. The same numbers mean the
changes did not change what this chapter's code computes; different numbers name what moved.

A canary calls the chapter's own ``train_run`` (the function its notebook's grid runs: data,
latent, model, trainer, evaluation) with a small configuration — a few training steps, small
networks and banks — on one CPU thread, in a fresh temporary folder (no cache, no earlier run
reused), so it takes seconds and is deterministic on a machine. Chapters:

``03_mixture``
    Fig. 1/2 WGAN-GP on the 2-D mixture, Gaussian and boson latents
    (:func:`qlatent.experiments.mixture.train_run`).
``04_discrete``
    Table I WGAN, boson latent on the quantum dataset and Gaussian latent on the Bernoulli one
    (:func:`qlatent.experiments.discrete.train_run`).
``05_qm9``
    Table II MolGAN on the quick QM9 subset with the quick profile's networks, Bernoulli latent
    (the latent that gives valid molecules within 60 iterations)
    (:func:`qlatent.experiments.qm9.train_run`).
``06_flows_diffusion``
    Flow matching on the moons and DDGAN on the 8×8 digits, boson latent
    (:func:`qlatent.experiments.flows_diffusion.train_run`).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Significant digits two canary values must share to be the same number: float32 training on
#: another CPU (another instruction set, another BLAS) may differ in the last bits.
SIGNIFICANT_DIGITS = 6
#: The manifest key of a recording's canary metrics.
MANIFEST_KEY = "canary"


def _scores(prefix: str, scores: Mapping[str, float]) -> dict[str, float]:
    return {f"{prefix}.{name}": float(value) for name, value in scores.items()}


def _mixture(folder: Path) -> dict[str, float]:
    from qlatent.experiments.mixture import MixtureConfig, train_run

    config = MixtureConfig(n_train=256, n_reference=256, bank_size=512, eval_samples=256, curve_samples=128,
                           log_every=4, panel_points=8, device="cpu")
    metrics: dict[str, float] = {}
    for latent in ("gaussian", "boson"):
        outcome = train_run(latent, 2, 8, 0, config=config, runs_dir=folder / "runs", store=folder / "store")
        metrics |= _scores(latent, outcome.scores)
    return metrics


def _discrete(folder: Path) -> dict[str, float]:
    from qlatent.experiments.discrete import DiscreteConfig, train_run

    config = DiscreteConfig(hidden=(32, 32), n_train=512, n_reference=256, batch_size=64, n_steps=8, bank_size=512,
                            eval_samples=256, curve_samples=128, log_every=4, device="cpu")
    metrics: dict[str, float] = {}
    for dataset, latent in (("quantum", "boson"), ("bernoulli", "gaussian")):
        outcome = train_run(dataset, latent, 0, config=config, runs_dir=folder / "runs", store=folder / "store")
        metrics |= _scores(f"{dataset}.{latent}", outcome.scores)
    return metrics


def _qm9(folder: Path) -> dict[str, float]:
    from qlatent.experiments.qm9 import QM9Config, train_run

    # The quick profile's network and batch: the first valid molecules appear at about 60 iterations.
    config = QM9Config(qm9_path="data/qm9/quick_subset.csv", n_critic=3, batch_size=64, n_steps=60, bank_size=512,
                       eval_samples=256, n_reference=256, molecule_rows=4, curve_samples=64, log_every=30,
                       device="cpu")
    # The Bernoulli latent gives valid molecules soonest (the photon-count latents' path is in the other canaries).
    outcome = train_run("paper", 16, "haar", "bernoulli", 0, config=config, runs_dir=folder / "runs",
                        store=folder / "store")
    return _scores("bernoulli", outcome.scores)


def _flows_diffusion(folder: Path) -> dict[str, float]:
    from qlatent.experiments.flows_diffusion import DiffusionConfig, FlowConfig, train_run

    flow = FlowConfig(bank_size=512, n_train=512, n_reference=256, n_fit=256, hidden=(16, 16), batch_size=64,
                      n_steps=8, log_every=4, eval_samples=128, curve_samples=64, w1_samples=64, n_show=8,
                      device="cpu")
    diffusion = DiffusionConfig(max_images=300, bank_size=512, hidden=(32, 32), batch_size=16, n_steps=4,
                                log_every=4, eval_samples=64, curve_samples=32, classifier_hidden=(16,),
                                classifier_epochs=2, n_show=4, device="cpu")
    metrics: dict[str, float] = {}
    for family in ("flow_matching", "ddgan"):
        outcome = train_run(family, "boson", 0, flow=flow, diffusion=diffusion, runs_dir=folder / "runs",
                            store=folder / "store")
        metrics |= _scores(family, outcome.scores)
    return metrics


#: Chapter → its canary: a function of a fresh folder returning ``{metric: value}``.
CANARIES: dict[str, Callable[[Path], dict[str, float]]] = {
    "03_mixture": _mixture,
    "04_discrete": _discrete,
    "05_qm9": _qm9,
    "06_flows_diffusion": _flows_diffusion,
}


def run_canary(chapter: str) -> dict[str, float]:
    """The canary metrics of ``chapter`` with the current code: ``{"<run>.<metric>": value}``, sorted.

    Runs in a temporary folder on one torch thread (restored after), so nothing is reused and
    the numbers do not depend on the machine's thread count. Undefined metrics (NaN: FCD with no
    valid molecule) are left out, so a manifest holds strict JSON; one that becomes defined shows
    as moved (:func:`moved_metrics`).

    Raises
    ------
    KeyError
        If ``chapter`` has no canary (the message lists those that do).
    """
    if chapter not in CANARIES:
        raise KeyError(f"chapter {chapter!r} has no canary; chapters with one: {', '.join(CANARIES)}")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix=f"qlatent-canary-{chapter}-") as folder:
            metrics = CANARIES[chapter](Path(folder))
    finally:
        torch.set_num_threads(threads)
    return {name: value for name, value in sorted(metrics.items()) if math.isfinite(value)}


def same_number(recorded: float, now: float, digits: int = SIGNIFICANT_DIGITS) -> bool:
    """Whether two canary values agree to ``digits`` significant digits."""
    return math.isclose(recorded, now, rel_tol=10.0 ** -digits, abs_tol=10.0 ** -(digits + 6))


def moved_metrics(recorded: Mapping[str, float], now: Mapping[str, float]) -> dict[str, tuple[float | None,
                                                                                               float | None]]:
    """``{metric: (recorded, now)}`` for every metric that differs (``None``: absent on that side)."""
    moved: dict[str, tuple[float | None, float | None]] = {}
    for name in sorted(set(recorded) | set(now)):
        then, current = recorded.get(name), now.get(name)
        if then is None or current is None or not same_number(float(then), float(current)):
            moved[name] = (then, current)
    return moved


@dataclass
class Staleness:
    """Whether a recording's numbers are still what the current code computes.

    ``changed_files``: qlatent files changed since the recording; ``canary``: its stored canary
    (``None`` when it predates canaries); ``moved``: the canary metrics the current code changes
    (:func:`moved_metrics`; empty when they all agree or were not re-run).
    """

    chapter: str
    profile: str
    changed_files: list[str]
    canary: dict[str, float] | None
    moved: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def banner(self) -> str | None:
        """One Markdown line for the top of the chapter, or ``None`` when the numbers stand."""
        command = f"`qlatent record {self.chapter} --profile {self.profile}`"
        if not self.changed_files:
            return None
        if self.canary is None:
            return (f"**Not checked against the current code**: this recording predates the canary check, and "
                    f"{len(self.changed_files)} qlatent file(s) changed since it was made; {command} would "
                    "record it with the current code.")
        if not self.moved:
            return None
        shown = ", ".join(f"{name} {_value(then)} → {_value(now)}"
                          for name, (then, now) in list(self.moved.items())[:3])
        more = f" and {len(self.moved) - 3} more" if len(self.moved) > 3 else ""
        return (f"**The current code computes different numbers** on this chapter's canary run ({shown}{more}): "
                f"the recorded results may differ from what it gives now; {command} re-records them.")

    def summary(self) -> str:
        """One sentence without the file list, for beside the recording when there is no banner."""
        if not self.changed_files:
            return "qlatent's code is unchanged since."
        if self.canary is not None and not self.moved:
            return (f"qlatent changed in {len(self.changed_files)} file(s) since, and the current code gives this "
                    "chapter's canary run the recorded numbers: the changes do not change its results.")
        return self.banner() or ""

    def changed_files_note(self) -> str:
        """For the "How this page was made" block: which files changed and what the canary says."""
        if not self.changed_files:
            return "qlatent's code is unchanged since this recording."
        files = ", ".join(f"`{path}`" for path in self.changed_files)
        if self.canary is None:
            verdict = "this recording has no canary, so their effect on its numbers was not checked"
        elif self.moved:
            verdict = f"the canary run gives different numbers in {len(self.moved)} metric(s)"
        else:
            verdict = f"the canary run gives the recorded numbers ({len(self.canary)} metrics, to "
            verdict += f"{SIGNIFICANT_DIGITS} significant digits)"
        return f"qlatent files changed since this recording ({len(self.changed_files)}): {files}; {verdict}."


def _value(value: float | None) -> str:
    return "absent" if value is None else f"{value:.6g}"


def staleness(recording: Any, run: Callable[[str], dict[str, float]] = run_canary) -> Staleness:
    """Check a :class:`~qlatent.recording.Recording` against the current code.

    The canary is re-run (``run``) only when qlatent files changed since the recording and the
    recording stores a canary; otherwise nothing is run.
    """
    changed = recording.changed_code_files()
    stored = recording.manifest.get(MANIFEST_KEY)
    result = Staleness(recording.chapter, recording.profile, changed, dict(stored) if stored else None)
    if changed and stored:
        result.moved = moved_metrics(stored, run(recording.chapter))
    return result
