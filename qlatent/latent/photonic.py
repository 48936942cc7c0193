"""The paper's latent family: photon counts of random interferometers and the classical baselines.

The four latents of arXiv:2508.19857 (every experiment), all of size ``L``:

``boson``            photon counts of ``L/2`` indistinguishable photons in an ``L``-mode random
                     interferometer (half filling) — the quantum latent
``distinguishable``  the same kind of interferometer with distinguishable photons (no interference)
``bernoulli``        uniform bits in ``{0, 1}^L``
``gaussian``         ``N(0, I_L)``

and extras kept as options, not in the paper's tables: ``partial`` (partially distinguishable
photons), ``independent-counts`` (independent per-mode counts with the boson bank's marginals),
``shuffled-counts`` (the boson bank with each mode's column permuted independently),
``uniform`` (independent uniforms on ``[-1, 1)``) and ``pt2``, a hardware-style latent like the
paper's ORCA PT-2 runs (:mod:`qlatent.latent.pt2`): every one of the ``L`` time bins populated,
a loop circuit, uniform transmission, post-selection on detected photons — simulated with the
``local`` backend, or real shots replayed with ``backend="recorded:<file>.json"``.

As in the paper, latents are centred to mean 0 and not rescaled by default (App. C), the
interferometer is re-drawn for every seed and never trained, and simulated photons are ideal
(lossless, perfectly (in)distinguishable). For every (seed, latent) pair the interferometer and
the bank are drawn from their own seeds (:func:`latent_seeds`), so in one run the boson and the
distinguishable latents use independent unitaries (Table I's protocol, App. D); ``shared_circuit``
gives them one common interferometer instead.

Counts come through :func:`qlatent.qpu.get_or_sample`: a bank is sampled once, stored with its
provenance and replayed; ``backend`` may name a Perceval simulator, a remote QPU or a recording.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from qlatent.checks import require_positive_ints
from qlatent.latent.base import LatentDistribution
from qlatent.latent.postprocess import CENTRINGS, CountPostprocess

#: The paper's four latents, in the order of its Fig. 2 (classical to quantum).
PAPER_LATENTS = ("gaussian", "bernoulli", "distinguishable", "boson")
#: Further latents available as options (never in the paper's tables).
EXTRA_LATENTS = ("partial", "independent-counts", "shuffled-counts", "uniform", "pt2")
#: Hardware-style latents (their own circuit and bank seeds, settings ``pt2_*`` of the spec).
HARDWARE_LATENTS = ("pt2",)
LATENTS = PAPER_LATENTS + EXTRA_LATENTS
#: The quantum latent every comparison is made against.
QUANTUM_LATENT = "boson"
#: Photon models behind each photon-count latent.
PHOTON_MODELS = {"boson": "indistinguishable", "distinguishable": "distinguishable", "partial": "partial"}
#: Which input modes hold the photons: the first ``n`` or every other one (``0, 2, 4, ...``).
INPUT_PATTERNS = ("first", "alternate")


def parse_circuit(circuit: str) -> tuple[int, ...]:
    """Loop lengths of a circuit name: ``()`` for ``"haar"``, ``(1, 3, 9)`` for the layout ``"1-3-9"``.

    Raises
    ------
    ValueError
        If ``circuit`` is neither ``"haar"`` nor dash-separated positive loop lengths.
    """
    if circuit == "haar":
        return ()
    parts = circuit.split("-") if isinstance(circuit, str) else []
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(f"circuit must be 'haar' or a time-bin loop layout such as '1-3-9' or '1-1', got {circuit!r}")
    return tuple(int(part) for part in parts)


@dataclass(frozen=True)
class PhotonSource:
    """``n_photons`` single photons in an ``n_modes``-mode random interferometer, on ``backend``.

    Parameters
    ----------
    n_photons, n_modes
        Photons sent in (one per input mode) and modes (time bins for a loop circuit).
    circuit_seed
        Seed of the interferometer: a Haar-random unitary, or random angles of every beam splitter
        and phase of a time-bin loop circuit (:func:`qlatent.photonics.timebin.random_timebin_interferometer`).
    circuit
        ``"haar"`` or a loop layout such as ``"1-3-9"`` (loop delays in time bins).
    input_pattern
        ``"first"`` (photons in modes ``0 .. n-1``) or ``"alternate"`` (modes ``0, 2, 4, ...``).
        For a Haar interferometer the two give the same distribution.
    backend
        Where photons are sampled (see :class:`qlatent.qpu.SampleRequest`).
    indistinguishability
        Per-photon overlap ``x`` of the ``partial`` model.

    Raises
    ------
    ValueError
        On more photons than modes (or than alternate modes), a loop longer than the number of
        bins, an unknown circuit or input pattern, or an indistinguishability outside ``[0, 1]``.
    """

    n_photons: int
    n_modes: int
    circuit_seed: int
    circuit: str = "haar"
    input_pattern: str = "first"
    backend: str = "local"
    indistinguishability: float = 0.7

    def __post_init__(self) -> None:
        require_positive_ints(self, ("n_photons", "n_modes"))
        if self.n_photons > self.n_modes:
            raise ValueError(f"n_photons={self.n_photons} exceeds n_modes={self.n_modes} (one photon per input mode)")
        if self.input_pattern not in INPUT_PATTERNS:
            raise ValueError(f"input_pattern must be one of {', '.join(INPUT_PATTERNS)}, got {self.input_pattern!r}")
        if self.input_pattern == "alternate" and 2 * self.n_photons - 1 > self.n_modes:
            raise ValueError(f"input_pattern 'alternate' puts {self.n_photons} photons in every other mode, "
                             f"which needs {2 * self.n_photons - 1} modes, more than n_modes={self.n_modes}")
        longest = max(parse_circuit(self.circuit), default=0)
        if longest >= self.n_modes:
            raise ValueError(f"circuit {self.circuit!r} has a loop of {longest} time bins, which needs more than "
                             f"the {self.n_modes} bins (latent size) available")
        if not 0.0 <= self.indistinguishability <= 1.0:
            raise ValueError(f"indistinguishability must be in [0, 1], got {self.indistinguishability}")

    def interferometer(self) -> Any:
        """The :class:`~qlatent.photonics.interferometers.Interferometer` (rebuilt from the seed)."""
        from qlatent.photonics.interferometers import haar_interferometer
        from qlatent.photonics.timebin import random_timebin_interferometer

        loops = parse_circuit(self.circuit)
        if not loops:
            return haar_interferometer(self.n_modes, seed=self.circuit_seed)
        return random_timebin_interferometer(self.n_modes, list(loops), seed=self.circuit_seed)

    def input_state(self) -> tuple[int, ...]:
        """Photons per input mode."""
        state = [0] * self.n_modes
        step = 2 if self.input_pattern == "alternate" else 1
        for photon in range(self.n_photons):
            state[step * photon] = 1
        return tuple(state)


def count_request(source: PhotonSource, photon_model: str, n_samples: int, seed: int) -> Any:
    """The :class:`~qlatent.qpu.SampleRequest` for ``n_samples`` counts of ``photon_model`` photons from ``source``."""
    from qlatent.qpu import SampleRequest

    return SampleRequest(
        source.backend, source.interferometer(), source.input_state(), n_samples, model=photon_model,
        indistinguishability=source.indistinguishability if photon_model == "partial" else 1.0, seed=seed,
    )


def photon_counts(source: PhotonSource, photon_model: str, n_samples: int, seed: int,
                  store: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Counts ``(n_samples, n_modes)`` of ``photon_model`` photons from ``source`` (sampled once, then replayed).

    Returns the counts and where they came from (sample-set id, interferometer description).
    """
    from qlatent.qpu import get_or_sample

    request = count_request(source, photon_model, n_samples, seed)
    sample_set = get_or_sample(request, store=store, progress=False)
    return np.asarray(sample_set.counts), {"sample_set": request.request_id(),
                                           "interferometer": source.interferometer().to_dict()}


def derived_seed(seed: int, *roles: str) -> int:
    """A 32-bit seed for one role of one run (e.g. ``(3, "boson", "circuit")``), independent across roles.

    Built with :class:`numpy.random.SeedSequence` from the run seed and a CRC-32 of each role name,
    so it is stable across Python processes and versions.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    entropy = [int(seed), *(zlib.crc32(role.encode()) for role in roles)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass(frozen=True)
class LatentSpec:
    """How to build any latent of the family at one size; the run seed is given separately.

    Parameters
    ----------
    size
        ``L``: latent dimension = number of modes (time bins).
    n_photons
        Photons sent in; ``None`` means half filling, ``L / 2`` (the paper's choice), which needs an
        even size.
    circuit
        ``"haar"`` (Table I, Table II) or a time-bin loop layout such as ``"1-3-9"`` (Fig. 2) or ``"1-1"``.
    input_pattern
        Input modes of the photons (see :class:`PhotonSource`).
    centring
        ``"mean"`` (the paper: each mode centred to mean 0), ``"half"`` (the authors' released code:
        subtract 0.5) or ``"none"``; applies to every latent except the Gaussian (already mean 0)
        and the uniform (symmetric about 0).
    standardize, noise_scale
        Optional division by each mode's standard deviation and Gaussian dequantisation noise
        (count units) for the count latents (not in the paper; see
        :mod:`qlatent.latent.postprocess`).
    bank_size
        Rows of each photon-count bank, sampled once before training.
    backend
        Photon backend (``"local"``: our exact sampler).
    indistinguishability
        Photon overlap of the ``partial`` latent.
    shared_circuit
        Give the boson, distinguishable and partial latents of one seed the same interferometer
        (default: each its own, as in Table I).
    pt2_transmission, pt2_detection, pt2_min_detected
        The ``pt2`` latent's uniform transmission η in (0, 1], detection (``"pnr"`` or
        ``"threshold"``) and post-selection threshold (``None``: half the bins, 16 of 32 as in the
        paper's runs); see :class:`qlatent.latent.pt2.PT2Source`. Its photons fill every bin
        (``n_photons`` and ``input_pattern`` do not apply), through the loops of ``circuit`` (the
        PT-2's "1-1" when ``circuit`` is ``"haar"``).

    Raises
    ------
    ValueError
        On a non-positive size or bank, an odd size with half filling, more photons than modes, a
        loop longer than the size, an unknown circuit, input pattern or centring, a transmission
        outside (0, 1], an unknown detection, or a post-selection threshold above the photons.
    """

    size: int = 16
    n_photons: int | None = None
    circuit: str = "haar"
    input_pattern: str = "first"
    centring: str = "mean"
    standardize: bool = False
    noise_scale: float = 0.0
    bank_size: int = 100_000
    backend: str = "local"
    indistinguishability: float = 0.7
    shared_circuit: bool = False
    pt2_transmission: float = 0.5
    pt2_detection: str = "pnr"
    pt2_min_detected: int | None = None

    def __post_init__(self) -> None:
        require_positive_ints(self, ("size", "bank_size"))
        if self.n_photons is None and self.size % 2:
            raise ValueError(f"size={self.size} is odd: half filling (n_photons=None) needs an even latent size; "
                             "set n_photons explicitly")
        if self.centring not in CENTRINGS:
            raise ValueError(f"centring must be one of {', '.join(CENTRINGS)}, got {self.centring!r}")
        self.source(0)  # validates photons, circuit, input pattern and indistinguishability
        self.postprocess()
        from qlatent.latent.pt2 import check_pt2_settings

        check_pt2_settings(self.size, self.pt2_transmission, self.pt2_detection, self.pt2_min_detected)

    @property
    def photons(self) -> int:
        """Photons sent in (``size // 2`` for half filling)."""
        return self.size // 2 if self.n_photons is None else self.n_photons

    def source(self, circuit_seed: int) -> PhotonSource:
        """The photon source of this spec with the interferometer drawn from ``circuit_seed``."""
        return PhotonSource(self.photons, self.size, circuit_seed, circuit=self.circuit,
                            input_pattern=self.input_pattern, backend=self.backend,
                            indistinguishability=self.indistinguishability)

    def postprocess(self) -> CountPostprocess:
        """The count recipe shared by every count latent."""
        return CountPostprocess(standardize=self.standardize, noise_scale=self.noise_scale, centring=self.centring)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (for manifests and run fingerprints)."""
        return dataclasses.asdict(self)


def latent_seeds(name: str, spec: LatentSpec, seed: int) -> tuple[int, int]:
    """``(circuit_seed, bank_seed)`` of latent ``name`` in run ``seed``.

    Each photon latent gets its own interferometer unless ``spec.shared_circuit``; the count
    baselines built from the boson bank use the boson latent's seeds.
    """
    photon_latent = name if name in PHOTON_MODELS or name in HARDWARE_LATENTS else QUANTUM_LATENT
    circuit_role = "photons" if spec.shared_circuit else photon_latent
    return derived_seed(seed, circuit_role, "circuit"), derived_seed(seed, photon_latent, "bank")


def bank_request(name: str, spec: LatentSpec, seed: int) -> Any:
    """The sample request behind latent ``name``'s bank in run ``seed``, or ``None`` if it has no bank.

    :func:`build_latent` asks the store for exactly this request, so a long bank can be sampled
    ahead of training (``qlatent banks``; local banks are drawn in resumable, seeded shards).
    A ``pt2`` latent replaying recorded hardware shots has its request built from the file by
    :func:`build_latent`; here it gives ``None``.
    """
    check_latent_names([name])
    if name in ("gaussian", "uniform", "bernoulli"):
        return None
    circuit_seed, bank_seed = latent_seeds(name, spec, seed)
    if name in HARDWARE_LATENTS:
        from qlatent.latent.pt2 import PT2Source

        if spec.backend.startswith("recorded:"):
            return None
        return PT2Source.from_spec(spec, circuit_seed).request(spec.bank_size, bank_seed)
    return count_request(spec.source(circuit_seed), PHOTON_MODELS.get(name, PHOTON_MODELS[QUANTUM_LATENT]),
                         spec.bank_size, bank_seed)


def build_latent(name: str, spec: LatentSpec, seed: int, store: Any = None) -> LatentDistribution:
    """Latent ``name`` (one of :data:`LATENTS`) of dimension ``spec.size`` for run ``seed``.

    Photon-count banks are requested through the sample store (``store``: a
    :class:`~qlatent.qpu.SampleStore`, a path, or ``None`` for the default), so they are sampled once.

    Raises
    ------
    ValueError
        If ``name`` is not a known latent (the message lists them) or ``seed`` is negative.
    """
    from qlatent.latent.bank import BankLatent
    from qlatent.latent.classical import (
        BernoulliLatent,
        GaussianLatent,
        IndependentCountsLatent,
        ShuffledCountsLatent,
        UniformLatent,
    )

    check_latent_names([name])
    if name == "gaussian":
        return GaussianLatent(spec.size)
    if name == "uniform":
        return UniformLatent(spec.size)
    if name == "bernoulli":
        return BernoulliLatent(np.full(spec.size, 0.5), postprocess=spec.postprocess())
    circuit_seed, bank_seed = latent_seeds(name, spec, seed)
    if name in HARDWARE_LATENTS:
        from qlatent.latent.pt2 import pt2_bank

        counts, origin = pt2_bank(spec, circuit_seed, bank_seed, store)
        return BankLatent(counts, name=name, description=origin, postprocess=spec.postprocess())
    source = spec.source(circuit_seed)
    model = PHOTON_MODELS.get(name, PHOTON_MODELS[QUANTUM_LATENT])
    counts, origin = photon_counts(source, model, spec.bank_size, bank_seed, store)
    if name == "independent-counts":
        return IndependentCountsLatent.from_counts(counts, name=name, postprocess=spec.postprocess())
    if name == "shuffled-counts":
        return ShuffledCountsLatent.from_counts(counts, seed=derived_seed(seed, name), name=name,
                                                postprocess=spec.postprocess())
    return BankLatent(counts, name=name, description=origin, postprocess=spec.postprocess())


def check_latent_names(names: list[str] | tuple[str, ...]) -> None:
    """Refuse unknown latent names before any work, naming them and the known ones."""
    if isinstance(names, str):
        raise TypeError(f"latents must be a list of names, got the string {names!r}")
    unknown = [name for name in names if name not in LATENTS]
    if unknown:
        raise ValueError(f"unknown latent(s) {', '.join(map(repr, unknown))}; choose from {', '.join(LATENTS)}")
