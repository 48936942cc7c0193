"""Quality metrics for generated molecules: MolGAN's table, its reward scores, diversity and FCD.

Every function takes the generated batch as a list of RDKit molecules or ``None`` (a graph that
did not decode). A molecule is **valid** when it is not ``None``, has at least one atom and RDKit
sanitises it (:func:`qlatent.chem.graphs.sanitized_copy`); invalid entries never raise. Molecules
are compared by canonical SMILES without stereochemistry (:func:`qlatent.chem.graphs.canonical_smiles`),
the form :class:`qlatent.data.qm9.QM9Dataset` stores, so training sets from there plug in as is.
Properties are computed once per distinct canonical SMILES, so mode-collapsed batches are cheap.

Catalogue (definition, denominator)
-----------------------------------
- :func:`validity` — valid / generated (multi-fragment molecules count, as in MolGAN's reported
  validity; ``connected_only=True`` asks for one fragment, as MolGAN's validity reward does).
- :func:`uniqueness` — distinct valid / valid; :func:`uniqueness_of_generated` — distinct valid /
  generated.
- :func:`novelty` — valid molecules whose SMILES is not in the training set / valid.
- :func:`valid_unique_count` — the number of distinct valid molecules (valid **and** unique), and
  :func:`novel_count` — the number of those not in the training set: the counts of the paper's
  Table II (on 10,000 generated molecules).
- :func:`internal_diversity` — MOSES's IntDiv_p: one minus the mean Tanimoto similarity of
  Morgan fingerprints (radius 2, 1024 bits) over all ``|A|²`` ordered pairs of valid molecules,
  self-pairs and duplicates included (Polykovskiy et al. 2020; MOSES's code for ``p = 2``).
- :func:`molgan_diversity_scores` — MolGAN's per-molecule diversity: mean Tanimoto distance to
  100 random reference (training) molecules, Morgan radius 4, 2048 bits, remapped from
  [0.9, 0.945] to [0, 1].
- :func:`qed`, :func:`logp`, :func:`sa_score` — QED (Bickerton et al. 2012),
  Crippen logP (Wildman & Crippen 1999), SA score (Ertl & Schuffenhauer 2009, RDKit Contrib,
  guarded against its smoothing bug for scores just above 8: rdkit/rdkit#8251, #9524);
  NaN for invalid molecules.
- :func:`molgan_qed_reward`, :func:`molgan_logp_reward`, :func:`molgan_sa_reward`,
  :func:`molgan_unique_reward`, :func:`molgan_validity_reward`, :func:`molgan_novelty_reward` and
  their product :func:`molgan_reward` — MolGAN's normalised scores in [0, 1] (0 for invalid
  molecules), with the constants of MolGAN's ``utils/molecular_metrics.py``
  (github.com/nicola-decao/MolGAN).
- :func:`fcd` — Fréchet ChemNet Distance (Preuer et al. 2018): ChemNet activations from
  ``fcd-torch`` (one pass per distinct SMILES, :func:`chemnet_statistics`), Fréchet distance by
  :func:`frechet_distance`; :func:`reference_sample` draws the held-out reference at random.
- :func:`summarize` — the standard table for one batch.

References
----------
- De Cao, Kipf, *MolGAN*, arXiv:1805.11973 (2018), sec. 4 and tables 2-3.
- Bickerton et al., *Quantifying the chemical beauty of drugs*, Nat. Chem. 4, 90 (2012).
- Wildman, Crippen, J. Chem. Inf. Comput. Sci. 39, 868 (1999).
- Ertl, Schuffenhauer, *Estimation of synthetic accessibility score*, J. Cheminform. 1, 8 (2009).
- Preuer et al., *Fréchet ChemNet Distance*, J. Chem. Inf. Model. 58, 1736 (2018).
- Polykovskiy et al., *Molecular Sets (MOSES)*, Front. Pharmacol. 11, 565644 (2020);
  github.com/molecularsets/moses, ``moses/metrics/metrics.py``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, rdFingerprintGenerator

from qlatent.chem.graphs import sanitized_copy
from qlatent.metrics.distributions import frechet_distance

#: MolGAN's logP normalisation range (``water_octanol_partition_coefficient_scores``).
MOLGAN_LOGP_RANGE = (-2.12178879609, 6.0429063424)
#: MolGAN's SA normalisation: SA 5 maps to 0, SA 1.5 to 1 (``synthetic_accessibility_score_scores``).
MOLGAN_SA_RANGE = (5.0, 1.5)
#: MolGAN's diversity normalisation of the mean Tanimoto distance (``diversity_scores``).
MOLGAN_DIVERSITY_RANGE = (0.9, 0.945)
MOLGAN_OBJECTIVES = ("logp", "sas", "qed", "unique", "validity", "novelty", "diversity")


class _Batch:
    """Canonical SMILES per generated entry (``None`` if invalid) and one sanitised molecule per SMILES."""

    def __init__(self, generated: Sequence[Chem.Mol | None]) -> None:
        if isinstance(generated, Chem.Mol | str):
            raise TypeError("generated must be a sequence of RDKit molecules or None, not a single item")
        generated = list(generated)
        if len(generated) == 0:
            raise ValueError("generated is empty: metrics of an empty batch are undefined")
        self.smiles: list[str | None] = []
        self.mols: dict[str, Chem.Mol] = {}
        for entry in generated:
            if entry is not None and not isinstance(entry, Chem.Mol):
                raise TypeError(f"generated entries must be RDKit molecules or None, got {type(entry).__name__}")
            mol = sanitized_copy(entry)
            smiles = None if mol is None else Chem.MolToSmiles(mol, isomericSmiles=False)
            self.smiles.append(smiles)
            if smiles is not None and smiles not in self.mols:
                self.mols[smiles] = mol
        self.valid = [s for s in self.smiles if s is not None]

    def per_entry(self, score: Callable[[Chem.Mol], float], invalid: float) -> np.ndarray:
        """``score`` of each entry (computed once per distinct molecule), ``invalid`` for invalid ones."""
        table = {smiles: float(score(mol)) for smiles, mol in self.mols.items()}
        return np.array([invalid if s is None else table[s] for s in self.smiles], dtype=np.float64)

    def descriptor(self, which: int, invalid: float) -> np.ndarray:
        """Column ``which`` of :func:`_descriptors` (0 QED, 1 logP, 2 SA) per entry."""
        table = {smiles: _descriptors(smiles, mol)[which] for smiles, mol in self.mols.items()}
        return np.array([invalid if s is None else table[s] for s in self.smiles], dtype=np.float64)


def _batch(generated: Sequence[Chem.Mol | None] | _Batch) -> _Batch:
    return generated if isinstance(generated, _Batch) else _Batch(generated)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _smiles_set(training_smiles: Collection[str]) -> Collection[str]:
    if isinstance(training_smiles, str) or not isinstance(training_smiles, Collection):
        raise TypeError("training_smiles must be a collection (ideally a set) of canonical SMILES strings")
    return training_smiles if isinstance(training_smiles, set | frozenset) else set(training_smiles)


def validity(generated: Sequence[Chem.Mol | None], *, connected_only: bool = False) -> float:
    """Fraction of generated molecules that are valid: valid / generated.

    Valid: not ``None``, at least one atom, sanitised by RDKit. ``connected_only`` also requires a
    single fragment. MolGAN's reported validity (``valid_total_score`` in its
    ``utils/molecular_metrics.py``) counts multi-fragment molecules, as the default here does;
    only its validity *reward* (``valid_scores``, :func:`molgan_validity_reward`) asks for one
    fragment. One difference remains: MolGAN decodes with RDKit's full sanitisation, whose
    clean-up accepts graphs such as ``C#N=O`` as ``C#[N+][O-]``; graphs decoded by
    :mod:`qlatent.chem.graphs` are taken as given, so those are invalid here.
    """
    batch = _batch(generated)
    valid = [s for s in batch.valid if not connected_only or "." not in s]
    return len(valid) / len(batch.smiles)


def uniqueness(generated: Sequence[Chem.Mol | None]) -> float:
    """Distinct valid molecules / valid molecules (MolGAN's ``unique_total_score``); NaN if none is valid."""
    batch = _batch(generated)
    return _ratio(len(set(batch.valid)), len(batch.valid))


def uniqueness_of_generated(generated: Sequence[Chem.Mol | None]) -> float:
    """Distinct valid molecules / generated molecules (penalises invalid output as well as repeats)."""
    batch = _batch(generated)
    return len(set(batch.valid)) / len(batch.smiles)


def novelty(generated: Sequence[Chem.Mol | None], training_smiles: Collection[str]) -> float:
    """Valid molecules not in the training set / valid molecules (MolGAN's ``novel_total_score``).

    ``training_smiles`` must be canonical SMILES without stereochemistry (as
    :attr:`QM9Dataset.smiles`). Repeats count once per occurrence. NaN if none is valid.
    """
    training = _smiles_set(training_smiles)
    batch = _batch(generated)
    return _ratio(sum(s not in training for s in batch.valid), len(batch.valid))


def _distinct_valid(batch: _Batch, connected_only: bool) -> set[str]:
    return {s for s in batch.valid if not connected_only or "." not in s}


def valid_unique_count(generated: Sequence[Chem.Mol | None], *, connected_only: bool = False) -> int:
    """Number of molecules that are valid **and** unique: distinct canonical SMILES among the valid ones.

    The paper's "valid & unique" column (Table II, on 10,000 generated molecules). Repeats count
    once. ``connected_only`` also requires a single fragment (the paper does not say; MolGAN's
    reported validity accepts several fragments, see :func:`validity`).
    """
    return len(_distinct_valid(_batch(generated), connected_only))


def novel_count(generated: Sequence[Chem.Mol | None], training_smiles: Collection[str], *,
                connected_only: bool = False) -> int:
    """Number of valid and unique molecules that are not in the training set (the paper's "novel").

    Counted over distinct canonical SMILES (:func:`valid_unique_count`'s set), so it never exceeds
    that count. ``training_smiles`` must be canonical SMILES without stereochemistry (as
    :attr:`QM9Dataset.smiles`).
    """
    training = _smiles_set(training_smiles)
    return sum(s not in training for s in _distinct_valid(_batch(generated), connected_only))


@functools.lru_cache(maxsize=4)
def _morgan(radius: int, n_bits: int) -> rdFingerprintGenerator.FingerprintGenerator64:
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def internal_diversity(
    generated: Sequence[Chem.Mol | None],
    *,
    p: int = 1,
    radius: int = 2,
    n_bits: int = 1024,
    max_molecules: int | None = 2000,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """MOSES's internal diversity IntDiv_p of the valid generated molecules, in [0, 1].

    With ``A`` the valid molecules (repeats kept, so mode collapse lowers it) and ``T`` the
    Tanimoto similarity of Morgan bit fingerprints (radius 2, 1024 bits by default, as MOSES's
    ``fingerprint``; two empty fingerprints have similarity 1):

    ``IntDiv_p(A) = 1 - (1/|A|) Σ_{y ∈ A} ( (1/|A|) Σ_{x ∈ A} T(x, y)^p )^{1/p}``,

    the definition of MOSES's code (``moses/metrics/metrics.py::internal_diversity`` with
    ``average_agg_tanimoto(agg="mean")``). The mean runs over all ``|A|²`` ordered pairs, **self-
    pairs included** (each contributes distance 0), so for ``p = 1`` it is
    ``(|A| - 1)/|A|`` times the mean distance over distinct positions, and a single molecule
    scores 0. MOSES reports ``IntDiv`` (``p = 1``) and ``IntDiv2`` (``p = 2``); for ``p = 2`` its
    paper writes the power mean over all pairs at once, its code (followed here) per molecule.
    Example: ethanol, benzene and acetic acid give 0.6016.

    Above ``max_molecules`` valid molecules the value is estimated on a seeded random subset of
    that size (``None``: exact, quadratic in the number of distinct molecules). For ``p = 1`` the
    subset's value is rescaled by ``m(n - 1) / (n(m - 1))`` (``n`` valid molecules, ``m`` in the
    subset), which makes the estimate unbiased; for ``p ≠ 1`` it is the subset's value.

    Returns
    -------
    float
        NaN if no molecule is valid.

    Raises
    ------
    ValueError
        If ``p``, ``radius``, ``n_bits`` or ``max_molecules`` is not a positive integer.
    """
    for name, value in (("p", p), ("radius", radius), ("n_bits", n_bits),
                        ("max_molecules", 1 if max_molecules is None else max_molecules)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    batch = _batch(generated)
    valid = batch.valid
    n_valid = len(valid)
    if n_valid == 0:
        return math.nan
    if max_molecules is not None and n_valid > max_molecules:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        valid = [valid[i] for i in rng.choice(n_valid, size=max_molecules, replace=False)]
    counts = Counter(valid)
    generator = _morgan(radius, n_bits)
    bits = np.array([generator.GetFingerprintAsNumPy(batch.mols[s]) for s in counts], dtype=np.float32)
    weight = np.array(list(counts.values()), dtype=np.float64)
    m = len(valid)
    shared = (bits @ bits.T).astype(np.float64)  # bit counts: exact in float32, divided in float64
    size = bits.sum(axis=1, dtype=np.float64)
    union = size[:, None] + size[None, :] - shared
    similarity = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
    if p == 1:
        mean_similarity = float(weight @ similarity @ weight) / m**2
        diversity = 1.0 - mean_similarity
        if m < n_valid:  # E[subset value] = (m - 1)/m · D̄ and the full value is (n - 1)/n · D̄
            diversity *= m * (n_valid - 1) / (n_valid * (m - 1))
        return float(diversity)
    row_power_mean = ((similarity**p) @ weight / m) ** (1.0 / p)
    return float(1.0 - weight @ row_power_mean / m)


def molgan_diversity_scores(
    generated: Sequence[Chem.Mol | None],
    reference_smiles: Sequence[str] | Collection[str],
    *,
    n_reference: int = 100,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """MolGAN's diversity score per molecule, in [0, 1]; 0 for invalid molecules.

    For each molecule: the mean Tanimoto distance between its Morgan fingerprint (radius 4,
    2048 bits) and those of ``n_reference`` reference molecules drawn with replacement (seeded),
    remapped linearly from ``MOLGAN_DIVERSITY_RANGE`` = (0.9, 0.945) to (0, 1) and clipped
    (MolGAN's ``diversity_scores``; the reference is its training set). A set of reference SMILES
    is sorted first so that the draw depends on the seed only.
    """
    if isinstance(reference_smiles, str) or not isinstance(reference_smiles, Collection) or not reference_smiles:
        raise ValueError("reference_smiles must be a non-empty collection of SMILES strings")
    pool = sorted(reference_smiles) if isinstance(reference_smiles, set | frozenset) else list(reference_smiles)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    generator = _morgan(4, 2048)
    reference = []
    for smiles in (pool[i] for i in rng.choice(len(pool), size=n_reference, replace=True)):
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f"reference SMILES {smiles!r} cannot be parsed")
        reference.append(generator.GetFingerprint(mol))

    def score(mol: Chem.Mol) -> float:
        distance = np.mean(DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(mol), reference,
                                                              returnDistance=True))
        return float(_remap(distance, MOLGAN_DIVERSITY_RANGE))

    return _batch(generated).per_entry(score, invalid=0.0)


def _remap(value: float | np.ndarray, bounds: tuple[float, float]) -> float | np.ndarray:
    """MolGAN's ``remap`` then clip: ``bounds[0]`` maps to 0 and ``bounds[1]`` to 1."""
    low, high = bounds
    return np.clip((value - low) / (high - low), 0.0, 1.0)


_DESCRIPTOR_MEMO: dict[str, tuple[float, float, float]] = {}
_DESCRIPTOR_MEMO_SIZE = 1 << 17


def _descriptors(smiles: str, mol: Chem.Mol) -> tuple[float, float, float]:
    """QED, Crippen logP and SA score of a sanitised molecule, memoised by its canonical SMILES.

    Generated batches repeat molecules within and across evaluations, and QED (116 substructure
    alerts) costs about a millisecond per molecule, so each distinct molecule is scored once
    per process (the memo is emptied when it reaches ``_DESCRIPTOR_MEMO_SIZE`` entries). QED's
    own property pass supplies the logP.
    """
    found = _DESCRIPTOR_MEMO.get(smiles)
    if found is None:
        properties = QED.properties(mol)
        found = (QED.qed(mol, qedProperties=properties), float(properties.ALOGP), _sa_score(mol))
        if len(_DESCRIPTOR_MEMO) >= _DESCRIPTOR_MEMO_SIZE:
            _DESCRIPTOR_MEMO.clear()
        _DESCRIPTOR_MEMO[smiles] = found
    return found


def _sa_unsmoothed(mol: Chem.Mol) -> float:
    """The SA score on its 1-10 scale before RDKit's smoothing of the hard end (Ertl & Schuffenhauer 2009).

    The sum of the fragment score (mean contribution of the radius-2 Morgan environments, -4 for
    unknown ones), the complexity penalties (size, stereocentres, spiro and bridgehead atoms,
    macrocycles) and RDKit's fingerprint-density correction, mapped linearly from (-4, 2.5) to
    (10, 1); the same quantity RDKit's Contrib ``sascorer.calculateScore`` computes before it
    smooths and clips, from that module's fragment table and helpers.
    """
    from rdkit.Contrib.SA_Score import sascorer

    if sascorer._fscores is None:
        sascorer.readFragmentScores()
    environments = sascorer.mfpgen.GetSparseCountFingerprint(mol).GetNonzeroElements()
    fragment = (sum(sascorer._fscores.get(key, -4.0) * count for key, count in environments.items())
                / sum(environments.values()))
    n_atoms = mol.GetNumAtoms()
    n_stereo = len(Chem.FindMolChiralCenters(mol, includeUnassigned=True))
    n_bridgeheads, n_spiro = sascorer.numBridgeheadsAndSpiro(mol)
    has_macrocycle = any(len(ring) > 8 for ring in mol.GetRingInfo().AtomRings())
    complexity = -(n_atoms**1.005 - n_atoms) - math.log10(n_stereo + 1) - math.log10(n_spiro + 1) \
        - math.log10(n_bridgeheads + 1) - (math.log10(2) if has_macrocycle else 0.0)
    density = 0.5 * math.log(n_atoms / len(environments)) if n_atoms > len(environments) else 0.0
    return 11.0 - (fragment + complexity + density + 5.0) / 6.5 * 9.0


def _rdkit_sa_smoothing(raw: float) -> float:
    """RDKit's map from the unsmoothed score to the reported one (``8 + ln(raw - 8)`` above 8, clipped to [1, 10])."""
    score = 8.0 + math.log(raw - 8.0) if raw > 8.0 else raw
    return min(10.0, max(1.0, score))


def _sa_score(mol: Chem.Mol) -> float:
    """RDKit's SA score, guarded against its smoothing bug for unsmoothed scores between 8 and 9.

    RDKit's ``sascorer`` smooths the hard end with ``8 + ln(raw + 1 - 9)``, which is -inf at
    ``raw = 8`` and below 8 on all of (8, 9): a molecule just above 8 (``C1=CC23NC4N2NC43C1``,
    8.0001) scores 1.0, "easiest to make". Upstream: rdkit/rdkit#8251 ("Weird dip in SAscore
    normalization", closed as stale) and rdkit/rdkit#9524 ("Bug in sascorer due to discontinuity
    in smoothing function", open; unfixed in RDKit 2026.9.1). Where RDKit's score is exactly that
    broken smoothing of :func:`_sa_unsmoothed` with the unsmoothed score in (8, 9), the score is 8,
    the value of RDKit's smoothing at 9: the map becomes continuous and non-decreasing, and it
    agrees with RDKit everywhere else (scores of unsmoothed values at most 8 or at least 9). A
    future RDKit that fixes or changes the smoothing no longer matches the broken form, and its
    score is returned as is.
    """
    from rdkit.Contrib.SA_Score import sascorer

    score = sascorer.calculateScore(mol)
    if score < 8.0:
        raw = _sa_unsmoothed(mol)
        if 8.0 < raw < 9.0 and math.isclose(score, _rdkit_sa_smoothing(raw), rel_tol=1e-12, abs_tol=1e-12):
            return 8.0
    return score


def qed(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """QED drug-likeness (RDKit ``QED.qed``, mean weights) per molecule, in (0, 1); NaN if invalid."""
    return _batch(generated).descriptor(0, invalid=math.nan)


def logp(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """Crippen logP (RDKit ``Crippen.MolLogP``) per molecule; NaN if invalid."""
    return _batch(generated).descriptor(1, invalid=math.nan)


def sa_score(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """Synthetic accessibility (RDKit Contrib ``sascorer``), 1 easy to 10 hard, per molecule; NaN if invalid.

    RDKit's value, except where RDKit's smoothing of the hard end drops a score just above 8
    towards 1 (rdkit/rdkit#8251, #9524): those molecules score 8 (:func:`_sa_score`).
    """
    return _batch(generated).descriptor(2, invalid=math.nan)


def molgan_qed_reward(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """QED as MolGAN's reward: already in [0, 1], unchanged; 0 for invalid molecules."""
    return _batch(generated).descriptor(0, invalid=0.0)


def molgan_logp_reward(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """logP remapped from ``MOLGAN_LOGP_RANGE`` = (-2.1218, 6.0429) to [0, 1] and clipped; 0 if invalid.

    An invalid molecule gets MolGAN's logP of -3, below the range, hence 0.
    """
    return _remap(_batch(generated).descriptor(1, invalid=-3.0), MOLGAN_LOGP_RANGE)


def molgan_sa_reward(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """SA score remapped from (5, 1.5) to (0, 1) and clipped (easy to make = 1); 0 if invalid.

    An invalid molecule gets MolGAN's SA of 10, beyond the range, hence 0. The SA score is
    :func:`sa_score`'s, guarded against RDKit's smoothing bug, which MolGAN's own copy of the
    scorer shares: a molecule whose unsmoothed score is just above 8 gets 0, not 1.
    """
    return _remap(_batch(generated).descriptor(2, invalid=10.0), MOLGAN_SA_RANGE)


def molgan_unique_reward(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """MolGAN's uniqueness reward: ``min(1, 0.75 + 1/c)`` with ``c`` the molecule's count in the batch; 0 if invalid."""
    batch = _batch(generated)
    counts = Counter(batch.valid)
    return np.array([0.0 if s is None else min(1.0, 0.75 + 1.0 / counts[s]) for s in batch.smiles])


def molgan_validity_reward(generated: Sequence[Chem.Mol | None]) -> np.ndarray:
    """1 for a valid, single-fragment molecule without dummy atoms, else 0 (MolGAN's ``valid_scores``)."""
    batch = _batch(generated)
    return np.array([float(s is not None and "." not in s and "*" not in s) for s in batch.smiles])


def molgan_novelty_reward(generated: Sequence[Chem.Mol | None], training_smiles: Collection[str]) -> np.ndarray:
    """1 for a valid molecule absent from the training set, else 0 (MolGAN's ``novel_scores``)."""
    training = _smiles_set(training_smiles)
    batch = _batch(generated)
    return np.array([float(s is not None and s not in training) for s in batch.smiles])


def molgan_reward(
    generated: Sequence[Chem.Mol | None],
    objectives: Sequence[str] = ("logp", "sas", "qed", "unique"),
    *,
    training_smiles: Collection[str] | None = None,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Product of MolGAN's normalised scores over ``objectives``, per molecule, in [0, 1].

    The default is MolGAN's ``all`` objective (logP, SA, QED, uniqueness). ``"novelty"`` and
    ``"diversity"`` need ``training_smiles`` (the diversity reference is drawn from it with
    ``seed``).

    Raises
    ------
    ValueError
        For an unknown or empty objective list, or novelty/diversity without ``training_smiles``.
    """
    if isinstance(objectives, str) or not objectives:
        raise ValueError(f"objectives must be a non-empty sequence of names from {MOLGAN_OBJECTIVES}")
    unknown = [name for name in objectives if name not in MOLGAN_OBJECTIVES]
    if unknown:
        raise ValueError(f"unknown MolGAN objectives {unknown}; choose from {MOLGAN_OBJECTIVES}")
    if training_smiles is None and {"novelty", "diversity"} & set(objectives):
        raise ValueError("the novelty and diversity objectives need training_smiles")
    batch = _batch(generated)
    scores = {
        "logp": lambda: molgan_logp_reward(batch),
        "sas": lambda: molgan_sa_reward(batch),
        "qed": lambda: molgan_qed_reward(batch),
        "unique": lambda: molgan_unique_reward(batch),
        "validity": lambda: molgan_validity_reward(batch),
        "novelty": lambda: molgan_novelty_reward(batch, training_smiles),
        "diversity": lambda: molgan_diversity_scores(batch, training_smiles, seed=seed),
    }
    reward = np.ones(len(batch.smiles))
    for name in objectives:
        reward *= scores[name]()
    return reward


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=2)
def _chemnet(device: str, n_jobs: int):
    from fcd_torch import FCD

    return FCD(device=device, n_jobs=n_jobs)


_ACTIVATION_MEMO: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_ACTIVATION_MEMO_SIZE = 1 << 15  # 2 KiB each: 64 MiB at most


@dataclass(frozen=True)
class ChemNetStatistics:
    """Mean ``(512,)`` and covariance ``(512, 512)`` of ChemNet activations over a SMILES list.

    ``n`` counts the SMILES with repeats (the weights of the fit), ``n_distinct`` the distinct
    ones. Compute once with :func:`chemnet_statistics` and pass to :func:`fcd` to reuse a
    reference across runs.
    """

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    n_distinct: int


def _check_smiles_list(name: str, smiles_list: Sequence[str]) -> None:
    if isinstance(smiles_list, str) or not isinstance(smiles_list, Sequence):
        raise TypeError(f"{name} must be a sequence of SMILES strings")
    if len(smiles_list) < 2:
        raise ValueError(f"{name} needs at least 2 SMILES to fit a Gaussian, got {len(smiles_list)}")


def chemnet_statistics(
    smiles: Sequence[str],
    *,
    n_jobs: int = 1,
    device: str | None = None,
    threads: int | None = 1,
) -> ChemNetStatistics:
    """Mean and covariance of ``fcd-torch``'s ChemNet activations, one network pass per distinct SMILES.

    Repeated SMILES get one activation (kept in a per-process memo of ``_ACTIVATION_MEMO_SIZE``
    SMILES, least recently used dropped first) weighted by their count: the mean and the
    covariance (``numpy.cov`` with frequency weights, ``ddof=1``) equal those of the list with its
    repeats, as ``fcd-torch``'s ``precalc`` fits them, at a fraction of the cost for collapsed
    generators. ChemNet's LSTM costs about 3 ms per QM9 SMILES on one CPU thread here, and runs
    about three times slower on two threads of a shared 2-core machine, hence ``threads=1``.

    Parameters
    ----------
    smiles
        At least two valid SMILES.
    n_jobs
        Data-loader processes that parse SMILES (fcd-torch's ``n_jobs``; 1 parses in-process).
    device
        Torch device; default CUDA if available, else CPU.
    threads
        Torch threads while ChemNet runs (restored afterwards); ``None`` leaves the setting alone.

    Raises
    ------
    TypeError
        If ``smiles`` is not a sequence of strings.
    ValueError
        If it has fewer than two SMILES or holds one RDKit cannot parse, or on a bad ``n_jobs`` or
        ``threads``.
    """
    import torch

    _check_smiles_list("smiles", smiles)
    for name, value in (("n_jobs", n_jobs), ("threads", 1 if threads is None else threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    counts = Counter(smiles)
    for entry in counts:
        if not isinstance(entry, str) or not entry or Chem.MolFromSmiles(entry) is None:
            raise ValueError(f"invalid SMILES {entry!r}; pass valid molecules only")
    device = device or _default_device()
    distinct = list(counts)
    missing = [entry for entry in distinct if (device, entry) not in _ACTIVATION_MEMO]
    if missing:
        model = _chemnet(device, n_jobs)
        before = torch.get_num_threads()
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fcd-torch calls np.row_stack
                activations = model.get_predictions(missing)
        finally:
            torch.set_num_threads(before)
        for entry, row in zip(missing, activations):
            _ACTIVATION_MEMO[(device, entry)] = np.asarray(row, dtype=np.float32)
    rows = np.stack([_ACTIVATION_MEMO[(device, entry)] for entry in distinct]).astype(np.float64)
    for entry in distinct:
        _ACTIVATION_MEMO.move_to_end((device, entry))
    while len(_ACTIVATION_MEMO) > _ACTIVATION_MEMO_SIZE:
        _ACTIVATION_MEMO.popitem(last=False)
    weights = np.array([counts[entry] for entry in distinct], dtype=np.int64)
    mu = weights @ rows / weights.sum()
    if len(distinct) == 1:
        sigma = np.zeros((rows.shape[1], rows.shape[1]))
    else:
        sigma = np.cov(rows.T, fweights=weights)
    return ChemNetStatistics(mu=mu, sigma=sigma, n=int(weights.sum()), n_distinct=len(distinct))


def fcd(
    generated_smiles: Sequence[str],
    reference_smiles: Sequence[str] | ChemNetStatistics,
    *,
    n_jobs: int = 1,
    device: str | None = None,
    threads: int | None = 1,
) -> float:
    """Fréchet ChemNet Distance between two SMILES lists; ChemNet activations from ``fcd-torch``.

    The Fréchet distance (:func:`frechet_distance`) between Gaussians fitted to the penultimate
    ChemNet activations of each list (Preuer et al. 2018, eq. 1); 0 for identical distributions,
    lower is better. Never negative: round-off (worst on the rank-deficient covariances of fewer
    than 512 distinct SMILES) is cleaned and the result clipped at zero by :func:`frechet_distance`,
    so a list against itself gives 0 up to about 1e-11. Implementation: ``fcd-torch`` 1.0.7 (MIT,
    ChemNet weights shipped in its wheel, runs offline) for canonicalisation and ChemNet; the mean and covariance by
    :func:`chemnet_statistics` (one pass per distinct SMILES, weighted by repeats, equal to
    fcd-torch's fit of the whole list); the trace of the matrix square root by the symmetric
    eigenvalue route above (same quantity as fcd-torch's ``scipy.linalg.sqrtm``, seconds faster).
    The ``fcd`` package (LGPL) gives different values on the same lists, so always quote the
    implementation. Pass the canonical SMILES of the *valid* generated molecules, and a
    **random** sample of held-out molecules (:func:`reference_sample`): QM9's splits list small
    molecules first, and a perfect generator scores 0.815 against the first 5,000 test rows but
    0.147 against a random 5,000.

    Parameters
    ----------
    generated_smiles
        At least two valid SMILES (repeats kept: a collapsed generator is penalised).
    reference_smiles
        At least two valid SMILES, or their :class:`ChemNetStatistics` (computed once, reused).
    n_jobs, device, threads
        As :func:`chemnet_statistics`.

    Raises
    ------
    TypeError, ValueError
        As :func:`chemnet_statistics`, naming the list at fault.
    """
    statistics = []
    for name, smiles_list in (("generated_smiles", generated_smiles), ("reference_smiles", reference_smiles)):
        if isinstance(smiles_list, ChemNetStatistics):
            statistics.append(smiles_list)
            continue
        _check_smiles_list(name, smiles_list)
        try:
            statistics.append(chemnet_statistics(smiles_list, n_jobs=n_jobs, device=device, threads=threads))
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    (generated, reference) = statistics
    return frechet_distance(generated.mu, generated.sigma, reference.mu, reference.sigma)


def reference_sample(held_out_smiles: Sequence[str], n: int, *,
                     seed: int | np.random.Generator | None = 0) -> list[str]:
    """A seeded uniform random sample of ``n`` held-out SMILES, without replacement: the FCD reference.

    Never take the first rows of a split instead: QM9's splits keep the source order, which lists
    small molecules first (see :func:`fcd`).

    Parameters
    ----------
    held_out_smiles
        The held-out (test or validation) SMILES.
    n
        Reference size, at most ``len(held_out_smiles)``.
    seed
        Seed or generator of the draw.

    Raises
    ------
    TypeError
        If ``held_out_smiles`` is not a sequence of strings.
    ValueError
        If ``n`` is not a positive integer or exceeds the number of held-out molecules (both
        numbers in the message).
    """
    if isinstance(held_out_smiles, str) or not isinstance(held_out_smiles, Sequence):
        raise TypeError("held_out_smiles must be a sequence of SMILES strings")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"reference size n must be a positive integer, got {n!r}")
    if n > len(held_out_smiles):
        raise ValueError(f"reference size n={n} exceeds the {len(held_out_smiles)} held-out molecules; "
                         "ask for fewer or hold out more")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return [held_out_smiles[i] for i in rng.choice(len(held_out_smiles), size=int(n), replace=False)]


def summarize(
    generated: Sequence[Chem.Mol | None],
    training_smiles: Collection[str],
    *,
    seed: int | np.random.Generator | None = 0,
) -> dict[str, float | int]:
    """The standard metrics table for one generated batch (no FCD: call :func:`fcd` for that).

    Keys: ``n_generated``, ``n_valid``, ``n_unique`` (valid and unique, :func:`valid_unique_count`),
    ``n_novel`` (:func:`novel_count`), ``n_unique_connected``, ``n_novel_connected`` (the same
    counts over single-fragment molecules), ``validity``, ``validity_connected``,
    ``uniqueness``, ``uniqueness_of_generated``, ``novelty``, ``internal_diversity``; the means
    over valid molecules ``qed``, ``logp``, ``sa``; and the means over valid molecules of MolGAN's
    normalised scores ``molgan_logp``, ``molgan_sa``, ``molgan_diversity`` (its QED score is
    ``qed`` itself; MolGAN's own evaluation averaged its scores over the non-zero entries
    instead). Ratios and means with no valid molecule are NaN; ``molgan_diversity`` is NaN for an
    empty training set.
    """
    training = _smiles_set(training_smiles)
    batch = _batch(generated)
    valid = np.array([s is not None for s in batch.smiles])

    def mean_valid(values: np.ndarray) -> float:
        return float(values[valid].mean()) if valid.any() else math.nan

    qed_values = qed(batch)
    logp_values = logp(batch)
    sa_values = sa_score(batch)
    return {
        "n_generated": len(batch.smiles),
        "n_valid": len(batch.valid),
        "n_unique": len(batch.mols),
        "n_novel": novel_count(batch, training),
        "n_unique_connected": valid_unique_count(batch, connected_only=True),
        "n_novel_connected": novel_count(batch, training, connected_only=True),
        "validity": validity(batch),
        "validity_connected": validity(batch, connected_only=True),
        "uniqueness": uniqueness(batch),
        "uniqueness_of_generated": uniqueness_of_generated(batch),
        "novelty": novelty(batch, training),
        "internal_diversity": internal_diversity(batch, seed=seed),
        "qed": mean_valid(qed_values),
        "logp": mean_valid(logp_values),
        "sa": mean_valid(sa_values),
        "molgan_logp": mean_valid(_remap(logp_values, MOLGAN_LOGP_RANGE)),
        "molgan_sa": mean_valid(_remap(sa_values, MOLGAN_SA_RANGE)),
        "molgan_diversity": mean_valid(molgan_diversity_scores(batch, training, seed=seed))
        if training else math.nan,
    }
