"""Hardware-style latents: a simulated ORCA PT-2 run (time-bin loops, loss, post-selection).

The paper's hardware runs (ORCA PT-2) sent photons into **all 32** time bins of a "1-1" loop
interferometer and kept the shots with at least 16 detected photons (see the project's notes on
the paper). :class:`PT2Source` simulates such a run exactly:

- every input bin populated (``n_photons = n_modes`` by default);
- loops ``loop_lengths`` (default ``(1, 1)``) with random beam-splitter angles and phases
  (:func:`qlatent.photonics.timebin.random_timebin_interferometer`, seeded by ``circuit_seed``);
- uniform transmission ``η`` for source, loops and detectors together. Uniform loss commutes with
  a lossless interferometer, so each photon survives with probability ``η`` before it enters;
- photon-number-resolving (``"pnr"``) or threshold (``"threshold"``) detection;
- post-selection of the shots with at least ``min_detected`` detected photons (clicks), drawn
  survivors first so rejected shots are never sampled
  (:func:`qlatent.photonics.sample_postselected`). The acceptance rate is recorded with the
  counts (and is ``P(Binomial(n, η) ≥ k)`` with PNR detection, :meth:`PT2Source.expected_acceptance`).

Counts go through the sample store (:func:`qlatent.qpu.get_or_sample`): a bank is sampled once,
in seeded shards (resumable, on any number of workers), and replayed bit for bit.

Our choices (the paper states none of them): ``η = 0.5``, so the mean number of detected photons,
``η·32 = 16``, equals the post-selection threshold — a shot of "16 photons in 32 bins" is the
typical shot, as the paper's description of its runs reads, and a little over half the shots are
kept (0.57 with PNR detection); PNR detection, so that the latent holds counts like the simulated
boson latents of Table II and differs from them only by the loops, the loss and the
post-selection. Both are parameters.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from qlatent.qpu.sampleset import DETECTIONS

#: Settings of the paper's PT-2 runs: 32 bins, loops "1-1", shots with at least 16 detections.
PT2_MODES, PT2_LOOPS, PT2_MIN_DETECTED = 32, (1, 1), 16


def check_pt2_settings(n_photons: int, transmission: float, detection: str, min_detected: int | None) -> None:
    """Refuse a transmission outside (0, 1], an unknown detection or a post-selection threshold that
    is not an integer in ``[0, n_photons]`` (``None`` allowed: half the photons), naming the value."""
    if isinstance(transmission, bool) or not isinstance(transmission, numbers.Real) \
            or not 0.0 < float(transmission) <= 1.0:
        raise ValueError(f"transmission η must lie in (0, 1], got {transmission!r}")
    if detection not in DETECTIONS:
        raise ValueError(f"detection must be one of {DETECTIONS}, got {detection!r}")
    if min_detected is None:
        return
    if isinstance(min_detected, bool) or not isinstance(min_detected, numbers.Integral):
        raise ValueError(f"min_detected must be an integer, got {min_detected!r}")
    if not 0 <= min_detected <= n_photons:
        raise ValueError(f"post-selection threshold min_detected={min_detected} must lie in [0, {n_photons}] "
                         f"(the photons sent in)")


@dataclass(frozen=True)
class PT2Source:
    """A simulated PT-2 run: photons in time bins, random loop angles, uniform loss, post-selection.

    Parameters
    ----------
    n_modes
        Time bins ``M`` (the latent dimension), at least 2.
    n_photons
        Photons sent in, one per bin in the first ``n_photons`` bins; ``None``: every bin (``M``).
    loop_lengths
        Loop delays in bins (``(1, 1)``: the "1-1" layout; ``(1, 3, 9)`` another PT-Series one).
    transmission
        Uniform transmission ``η`` in (0, 1] (source, loops, detection together).
    detection
        ``"pnr"`` or ``"threshold"``.
    min_detected
        Keep only shots with at least this many detected photons (clicks); 0 keeps all.
    circuit_seed
        Seed of the random beam-splitter angles and phases.
    backend
        Sample-store backend (``"local"`` simulates; ``"perceval:<Backend>"`` also works).

    Raises
    ------
    ValueError
        Naming the value: fewer than 2 bins, more photons than bins, no photon, ``η`` outside
        (0, 1], an unknown detection, a post-selection threshold above the number of photons,
        or loop lengths the bins cannot hold.
    """

    n_modes: int = PT2_MODES
    n_photons: int | None = None
    loop_lengths: tuple[int, ...] = PT2_LOOPS
    transmission: float = 0.5
    detection: str = "pnr"
    min_detected: int = PT2_MIN_DETECTED
    circuit_seed: int = 0
    backend: str = "local"

    def __post_init__(self) -> None:
        from qlatent.photonics.timebin import n_beam_splitters

        optional = ("n_photons",) if self.n_photons is not None else ()
        for name in ("n_modes", "min_detected", "circuit_seed", *optional):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.n_modes < 2:
            raise ValueError(f"n_modes must be at least 2 time bins, got {self.n_modes}")
        photons = self.photons
        if photons > self.n_modes:
            raise ValueError(f"n_photons={photons} is more photons than the {self.n_modes} time bins (one per bin)")
        if photons < 1:
            raise ValueError(f"n_photons must be at least 1, got {photons}")
        check_pt2_settings(photons, self.transmission, self.detection, self.min_detected)
        object.__setattr__(self, "loop_lengths", tuple(self.loop_lengths))
        object.__setattr__(self, "transmission", float(self.transmission))
        n_beam_splitters(self.n_modes, self.loop_lengths)  # validates the loops against the bins

    @classmethod
    def from_spec(cls, spec: Any, circuit_seed: int) -> PT2Source:
        """The PT-2 source of a :class:`~qlatent.latent.photonic.LatentSpec`: ``spec.size`` bins, all
        populated, the loops of ``spec.circuit`` (PT-2's "1-1" when it is ``"haar"``: the hardware
        has loops, not a Haar mesh), the spec's ``pt2_*`` settings and backend.
        """
        from qlatent.latent.photonic import parse_circuit

        loops = parse_circuit(spec.circuit) or PT2_LOOPS
        min_detected = spec.size // 2 if spec.pt2_min_detected is None else spec.pt2_min_detected
        return cls(n_modes=spec.size, loop_lengths=loops, transmission=spec.pt2_transmission,
                   detection=spec.pt2_detection, min_detected=min_detected, circuit_seed=circuit_seed,
                   backend=spec.backend)

    @property
    def photons(self) -> int:
        """Photons sent in (``n_photons``, or every bin)."""
        return self.n_modes if self.n_photons is None else int(self.n_photons)

    def interferometer(self) -> Any:
        """The time-bin interferometer with random angles and phases from ``circuit_seed``."""
        from qlatent.photonics.timebin import random_timebin_interferometer

        return random_timebin_interferometer(self.n_modes, self.loop_lengths, seed=self.circuit_seed)

    def input_state(self) -> tuple[int, ...]:
        """One photon in each of the first ``photons`` bins."""
        return tuple([1] * self.photons + [0] * (self.n_modes - self.photons))

    def request(self, n_samples: int, seed: int) -> Any:
        """The :class:`~qlatent.qpu.SampleRequest` for ``n_samples`` accepted shots."""
        from qlatent.qpu import SampleRequest

        return SampleRequest(self.backend, self.interferometer(), self.input_state(), n_samples,
                             transmission=self.transmission, detection=self.detection,
                             min_detected=self.min_detected, seed=seed)

    def expected_acceptance(self) -> float | None:
        """``P(Binomial(photons, η) ≥ min_detected)`` with PNR detection (every survivor is detected);
        ``None`` with threshold detection, where collisions make clicks fewer than photons."""
        if self.detection != "pnr":
            return None
        n, eta = self.photons, self.transmission
        return float(sum(math.comb(n, k) * eta ** k * (1 - eta) ** (n - k) for k in range(self.min_detected, n + 1)))

    def describe(self) -> dict[str, Any]:
        """The settings, for run manifests and tables."""
        return {"source": "pt2-simulated", **asdict(self), "loop_lengths": list(self.loop_lengths),
                "photons": self.photons}


def pt2_counts(source: PT2Source, n_samples: int, seed: int, store: Any = None,
               progress: bool = False, executor: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Accepted shots of a (simulated) PT-2 run, sampled once and then replayed from the store.

    Parameters
    ----------
    source
        The run's settings.
    n_samples
        Accepted shots wanted.
    seed
        Sampler seed (part of the request, hence of the store address).
    store
        Sample store or its folder (default store if ``None``).
    progress
        Show a progress bar while sampling.
    executor
        Where a local bank's shards are drawn (see :func:`qlatent.qpu.get_or_sample`); an
        interrupted bank keeps its finished shards and resumes.

    Returns
    -------
    counts : ndarray, shape (n_samples, n_modes)
    info : dict
        ``sample_set`` (the store id), ``interferometer`` (its description), ``source``
        (:meth:`PT2Source.describe`), ``postselection`` (shots examined and passed, acceptance)
        and ``expected_acceptance``.
    """
    from qlatent.qpu import get_or_sample

    request = source.request(n_samples, seed)
    sample_set = get_or_sample(request, store=store, progress=progress, executor=executor)
    info = {"sample_set": request.request_id(), "interferometer": source.interferometer().to_dict(),
            "source": source.describe(), "postselection": sample_set.provenance["backend"].get("postselection"),
            "expected_acceptance": source.expected_acceptance()}
    return np.asarray(sample_set.counts), info


def pt2_bank(spec: Any, circuit_seed: int, bank_seed: int, store: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """The ``pt2`` latent's bank of ``spec.bank_size`` accepted shots, and where it came from.

    With a ``recorded:<file>.json`` backend naming a ``qlatent.shots/1`` file (real hardware shots,
    :mod:`qlatent.qpu.shots`), the file's circuit and detection are used and its shots pass the
    spec's post-selection; otherwise a PT-2 run is simulated (:class:`PT2Source.from_spec`).

    Raises
    ------
    ValueError
        If the recorded shots have another number of bins than ``spec.size`` (both named), or as
        :class:`PT2Source` and the recorded backend.
    """
    from qlatent.qpu import get_or_sample
    from qlatent.qpu.shots import is_shots_file, read_shots_description, recorded_request

    path = spec.backend.removeprefix("recorded:")
    if spec.backend.startswith("recorded:") and is_shots_file(path):
        shots = read_shots_description(path)
        if shots.n_modes != spec.size:
            raise ValueError(f"recorded shots {path} have {shots.n_modes} time bins per shot, but the latent size "
                             f"is {spec.size}")
        min_detected = spec.size // 2 if spec.pt2_min_detected is None else spec.pt2_min_detected
        request = recorded_request(path, spec.bank_size, min_detected=min_detected)
        sample_set = get_or_sample(request, store=store, progress=False)
        origin = {"sample_set": request.request_id(), "recorded": str(path), "device": shots.device,
                  "postselection": sample_set.provenance["backend"].get("postselection")}
        return np.asarray(sample_set.counts), origin
    counts, info = pt2_counts(PT2Source.from_spec(spec, circuit_seed), spec.bank_size, bank_seed, store)
    return counts, info
