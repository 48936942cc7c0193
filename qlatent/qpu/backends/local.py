"""The local backend: our own exact sampler, every photon model it has, post-selection, resumable."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from qlatent.qpu.sampleset import SampleRequest, SampleSet, counts_dtype, postselection_report, utc_now

if TYPE_CHECKING:
    from qlatent.qpu.store import PartialRun


class LocalBackend:
    """Samples with :func:`qlatent.photonics.sample`, or post-selected as :func:`~qlatent.photonics.sample_postselected`.

    Source brightness ``b`` enters as an extra uniform loss: each photon is emitted with probability
    ``b`` independently, and a uniform loss commutes with the interferometer, so it is exactly a
    transmission of ``b · transmission``.

    Long requests are resumable: shots are drawn in rounds of at most ``batch_size``, and every
    ``save_every`` seconds the counts so far and the random generator's state (at a round boundary)
    go to the store's partial file; a later call with the same request continues from there and
    ends with exactly the counts of an uninterrupted run. Without post-selection the counts are
    those of one :func:`~qlatent.photonics.sample` call with the request's seed.

    Parameters
    ----------
    batch_size
        Shots per round (memory grows with it; the counts depend on it only with post-selection).
    save_every
        Seconds between checkpoints (0: after every round).
    time_limit
        Stop after about this many seconds with :class:`SamplingPaused`, the progress saved, so a
        long bank can be built over several runs; ``None``: run to the end.
    """

    name = "local"

    def __init__(self, *, batch_size: int = 10_000, save_every: float = 60.0, time_limit: float | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not save_every >= 0:
            raise ValueError(f"save_every must be >= 0 seconds, got {save_every}")
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time_limit must be positive (seconds) or None, got {time_limit}")
        self.batch_size, self.save_every, self.time_limit = batch_size, float(save_every), time_limit

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Draw ``request.n_samples`` (accepted) shots, resuming from ``checkpoint`` if it holds a partial run.

        Raises
        ------
        SamplingPaused
            When ``time_limit`` is reached first (the progress is in ``checkpoint``).
        ValueError
            If the post-selection accepts too few shots (see :func:`~qlatent.photonics.sample_postselected`).
        """
        from tqdm.auto import tqdm

        from qlatent.photonics.sampling import SamplerSetup, postselected_rounds

        started_at = utc_now()
        clock = time.monotonic()
        options = {"indistinguishability": request.indistinguishability} if request.model == "partial" else {}
        transmission = request.transmission * request.brightness
        setup = SamplerSetup(request.unitary, request.input_state, request.model,
                             options.get("indistinguishability", 1.0), transmission, request.detection, True,
                             request.min_detected)
        rng = np.random.default_rng(request.seed)
        counts, state = checkpoint.load() if checkpoint is not None else (None, {})
        parts = [] if counts is None else [counts]
        totals = {"accepted": 0 if counts is None else len(counts), "examined": state.get("examined", 0),
                  "passed": state.get("passed", 0)}
        if counts is not None:
            rng.bit_generator.state = state["rng"]
        max_shots = 1000 * request.n_samples + self.batch_size

        def save() -> None:
            if checkpoint is not None:
                checkpoint.save(np.concatenate(parts).astype(counts_dtype(request.n_photons)),
                                {"rng": rng.bit_generator.state, "examined": totals["examined"],
                                 "passed": totals["passed"]})

        last_save = time.monotonic()
        rounds = postselected_rounds(setup, rng, request.n_samples, self.batch_size, totals["accepted"],
                                     totals["examined"], totals["passed"])
        with tqdm(total=request.n_samples, initial=totals["accepted"], disable=not progress, desc=self.name,
                  unit="shot") as bar:
            for new, n_examined, n_passed in rounds:
                parts.append(new)
                totals["accepted"] += len(new)
                totals["examined"] += n_examined
                totals["passed"] += n_passed
                bar.update(len(new))
                if totals["accepted"] >= request.n_samples:
                    break
                if totals["examined"] >= max_shots:
                    raise ValueError(f"post-selection on at least {request.min_detected} detected photons accepted "
                                     f"{totals['passed']} of {totals['examined']} shots: too rare to collect "
                                     f"{request.n_samples}")
                now = time.monotonic()
                if now - last_save >= self.save_every:
                    save()
                    last_save = now
                if self.time_limit is not None and now - clock >= self.time_limit:
                    save()
                    raise SamplingPaused(request, totals["accepted"],
                                         checkpoint.path if checkpoint is not None else None)
        details: dict[str, Any] = {"name": self.name, "sampler": "qlatent.photonics.sample",
                                   "effective_transmission": transmission, "batch_size": self.batch_size}
        if request.min_detected:
            details["postselection"] = postselection_report(request.min_detected, totals["examined"],
                                                            totals["passed"])
        return SampleSet.create(request, np.concatenate(parts), backend_details=details, started_at=started_at)


class SamplingPaused(RuntimeError):
    """A local sampling run stopped at its time limit; calling again with the same request resumes it."""

    def __init__(self, request: SampleRequest, n_done: int, where: Any) -> None:
        self.request_id, self.n_done, self.where = request.request_id(), n_done, where
        kept = f"kept in {where}" if where is not None else "not kept (no checkpoint given)"
        super().__init__(f"sampling paused at its time limit after {n_done} of {request.n_samples} shots "
                         f"(request {self.request_id[:12]}), {kept}; run it again to continue")
