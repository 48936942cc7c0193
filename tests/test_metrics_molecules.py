"""Molecular metrics on hand-built batches: definitions, denominators, MolGAN's constants, FCD."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, rdFingerprintGenerator
from rdkit.Contrib.SA_Score import sascorer

from qlatent.metrics import molecules as M

ETHANOL, ETHANOL_AGAIN, BENZENE = Chem.MolFromSmiles("CCO"), Chem.MolFromSmiles("OCC"), Chem.MolFromSmiles("c1ccccc1")
PYRIDINE, TWO_FRAGMENTS = Chem.MolFromSmiles("c1ccncc1"), Chem.MolFromSmiles("C.CO")
PENTAVALENT = Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False)
QM9_LIKE = ["CC1=CC(=O)NC1", "OC1COC1C#N", "CC(C)(C)C=O", "N#CC1=CN=CO1", "OCC1(C)CC1O", "CN1C=NC=C1C",
            "O=CC1CCC1=O", "CC1(O)CN1C", "CC#CC(O)C=O", "NC1=NC=CO1", "CC12CC1(O)C2", "OC1=CC=NN1",
            "COC1CC1C#N", "CC1OC1CO", "N#CCOCC=O", "CC(=O)C1CN1", "OCC#CC1CC1", "CC1=CNC(=O)O1",
            "O=C1CC2OC12", "CCC1(C)OC1=N", "NC(=O)C1CC1", "CC1=NOC=C1O", "CN1CC(O)C1", "CCOC(=O)C#N"]


def tanimoto_distance(a: Chem.Mol, b: Chem.Mol, radius: int = 2) -> float:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=2048)
    return 1.0 - DataStructs.TanimotoSimilarity(generator.GetFingerprint(a), generator.GetFingerprint(b))


def test_validity_counts_none_empty_and_unsanitisable_as_invalid():
    batch = [ETHANOL, None, PENTAVALENT, Chem.Mol(), TWO_FRAGMENTS]
    assert M.validity(batch) == pytest.approx(2 / 5)
    assert M.validity(batch, connected_only=True) == pytest.approx(1 / 5)


def test_uniqueness_denominators():
    batch = [ETHANOL, ETHANOL_AGAIN, BENZENE, None]  # 3 valid, 2 distinct, 4 generated
    assert M.uniqueness(batch) == pytest.approx(2 / 3)
    assert M.uniqueness_of_generated(batch) == pytest.approx(2 / 4)
    assert math.isnan(M.uniqueness([None, PENTAVALENT]))
    assert M.uniqueness_of_generated([None, PENTAVALENT]) == 0.0


def test_novelty_is_novel_over_valid_with_repeats_counted():
    batch = [ETHANOL, ETHANOL_AGAIN, BENZENE, PYRIDINE, None]
    assert M.novelty(batch, {"CCO"}) == pytest.approx(2 / 4)
    assert M.novelty(batch, ["CCO", "c1ccccc1"]) == pytest.approx(1 / 4)
    assert math.isnan(M.novelty([None], {"CCO"}))


def test_unsanitised_and_explicit_hydrogen_inputs_are_canonicalised():
    raw = Chem.MolFromSmiles("OCC", sanitize=False)
    with_h = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    assert M.uniqueness([raw, with_h, ETHANOL]) == pytest.approx(1 / 3)
    assert M.novelty([raw, with_h], {"CCO"}) == 0.0


def test_input_errors():
    with pytest.raises(ValueError, match="generated is empty"):
        M.validity([])
    with pytest.raises(TypeError, match="not a single item"):
        M.validity(ETHANOL)
    with pytest.raises(TypeError, match="RDKit molecules or None, got str"):
        M.validity(["CCO"])
    with pytest.raises(TypeError, match="training_smiles must be a collection"):
        M.novelty([ETHANOL], "CCO")


def moses_int_div(mols: list[Chem.Mol], p: int = 1) -> float:
    """MOSES's IntDiv_p re-derived: 1024-bit radius-2 Morgan bits, every ordered pair, self-pairs included."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [generator.GetFingerprint(mol) for mol in mols]
    similarity = np.array([DataStructs.BulkTanimotoSimilarity(fp, fps) for fp in fps])
    return float(1.0 - np.mean(np.mean(similarity**p, axis=0) ** (1.0 / p)))


def test_internal_diversity_is_moses_intdiv_over_all_pairs_self_pairs_included():
    acetic_acid = Chem.MolFromSmiles("CC(=O)O")
    # MOSES's internal_diversity gives 0.6016 on these three (its 1/|A|² mean includes the diagonal)
    assert M.internal_diversity([ETHANOL, BENZENE, acetic_acid]) == pytest.approx(0.6016, abs=5e-5)
    assert M.internal_diversity([ETHANOL, BENZENE, acetic_acid]) == pytest.approx(
        moses_int_div([ETHANOL, BENZENE, acetic_acid]), rel=1e-9)
    d = 1.0 - DataStructs.TanimotoSimilarity(
        *(rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024).GetFingerprint(m)
          for m in (ETHANOL, BENZENE)))
    assert M.internal_diversity([ETHANOL, BENZENE, None]) == pytest.approx(2 * d / 4)
    # ordered pairs of (A, A', B): four of the nine are (A or A', B) or (B, A or A'), each at distance d
    assert M.internal_diversity([ETHANOL, ETHANOL_AGAIN, BENZENE]) == pytest.approx(4 * d / 9)
    assert M.internal_diversity([ETHANOL, ETHANOL_AGAIN]) == 0.0
    assert M.internal_diversity([ETHANOL, None]) == 0.0  # one molecule: its self-pair only
    assert math.isnan(M.internal_diversity([None, PENTAVALENT]))


@pytest.mark.parametrize("p", [1, 2])
def test_internal_diversity_matches_moses_brute_force(p):
    mols = [Chem.MolFromSmiles(s) for s in QM9_LIKE] + [Chem.MolFromSmiles(QM9_LIKE[0])] * 3
    assert M.internal_diversity(mols, p=p, max_molecules=None) == pytest.approx(moses_int_div(mols, p), rel=1e-9)


def test_internal_diversity_subsample_is_seeded_and_unbiased():
    mols = [Chem.MolFromSmiles(s) for s in QM9_LIKE[:8]]
    exact = M.internal_diversity(mols, max_molecules=None)
    estimates = np.array([M.internal_diversity(mols, max_molecules=3, seed=k) for k in range(400)])
    assert estimates[7] == M.internal_diversity(mols, max_molecules=3, seed=7)
    # the subset's own value has mean (2/3)/(7/8) of the exact one; the rescaled estimate is unbiased
    assert abs(estimates.mean() - exact) < 4 * estimates.std(ddof=1) / np.sqrt(len(estimates))


def test_internal_diversity_rejects_bad_parameters():
    with pytest.raises(ValueError, match="p must be a positive integer"):
        M.internal_diversity([ETHANOL], p=0)
    with pytest.raises(ValueError, match="max_molecules must be a positive integer"):
        M.internal_diversity([ETHANOL], max_molecules=0)


def test_molgan_diversity_is_remapped_mean_distance_to_the_reference():
    distance = tanimoto_distance(BENZENE, ETHANOL, radius=4)
    expected = np.clip((distance - 0.9) / (0.945 - 0.9), 0, 1)
    scores = M.molgan_diversity_scores([BENZENE, ETHANOL, None], {"CCO"})
    np.testing.assert_allclose(scores, [expected, 0.0, 0.0])
    assert M.MOLGAN_DIVERSITY_RANGE == (0.9, 0.945)
    with pytest.raises(ValueError, match="non-empty collection"):
        M.molgan_diversity_scores([BENZENE], set())
    with pytest.raises(ValueError, match="cannot be parsed"):
        M.molgan_diversity_scores([BENZENE], ["not_smiles"])


def test_properties_match_rdkit_and_are_nan_for_invalid():
    batch = [ETHANOL, BENZENE, None, PYRIDINE]
    mols = [ETHANOL, BENZENE, PYRIDINE]
    for function, reference in ((M.qed, QED.qed), (M.logp, Crippen.MolLogP),
                                (M.sa_score, sascorer.calculateScore)):
        values = function(batch)
        assert math.isnan(values[2])
        np.testing.assert_allclose(values[[0, 1, 3]], [reference(m) for m in mols], rtol=1e-12)


# Unsmoothed SA scores just above 8, at 8.34, and above 9 (ring-strained nine-atom graphs)
SA_NEAR_8, SA_8_34, SA_ABOVE_9 = "C1=CC23NC4N2NC43C1", "OC1C2C3N4N5NC14C235", "C1N2N3C45OC36N4N2C156"


def test_sa_unsmoothed_score_is_rdkits_score_before_its_smoothing():
    mols = [Chem.MolFromSmiles(s) for s in QM9_LIKE] + [BENZENE, PYRIDINE, TWO_FRAGMENTS]
    for mol in mols:
        assert M._sa_unsmoothed(mol) <= 8.0
        assert sascorer.calculateScore(mol) == pytest.approx(max(1.0, M._sa_unsmoothed(mol)), rel=1e-12)
    above_9 = Chem.MolFromSmiles(SA_ABOVE_9)
    assert M._sa_unsmoothed(above_9) > 9.0
    assert sascorer.calculateScore(above_9) == pytest.approx(8.0 + math.log(M._sa_unsmoothed(above_9) - 8.0))


def test_sa_score_guards_against_rdkits_smoothing_dip_just_above_8():
    mols = [Chem.MolFromSmiles(s) for s in (SA_NEAR_8, SA_8_34, SA_ABOVE_9)]
    assert M._sa_unsmoothed(mols[0]) == pytest.approx(8.0001, abs=1e-4)  # RDKit 2026.9.1 reports 1.0 for it
    scores = M.sa_score(mols)
    np.testing.assert_array_equal(scores[:2], [8.0, 8.0])
    assert scores[2] == sascorer.calculateScore(mols[2]) > 8.0  # above 9 RDKit's value stands
    # hard to make means MolGAN's SA reward 0, not 1 (SA 5 and above map to 0)
    np.testing.assert_array_equal(M.molgan_sa_reward(mols), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(M.molgan_reward(mols, ["sas"]), [0.0, 0.0, 0.0])
    # the guarded score is non-decreasing in the unsmoothed one
    raw = [M._sa_unsmoothed(m) for m in mols + [ETHANOL, BENZENE]]
    guarded = M.sa_score(mols + [ETHANOL, BENZENE])
    order = np.argsort(raw)
    assert np.all(np.diff(guarded[order]) >= 0)


def test_molgan_rewards_use_molgan_constants_and_zero_for_invalid():
    assert M.MOLGAN_LOGP_RANGE == (-2.12178879609, 6.0429063424)
    assert M.MOLGAN_SA_RANGE == (5.0, 1.5)
    batch = [ETHANOL, BENZENE, None]
    logp = np.array([Crippen.MolLogP(ETHANOL), Crippen.MolLogP(BENZENE)])
    sa = np.array([sascorer.calculateScore(ETHANOL), sascorer.calculateScore(BENZENE)])
    np.testing.assert_allclose(M.molgan_logp_reward(batch)[:2], np.clip((logp + 2.12178879609) / 8.16469513849, 0, 1))
    np.testing.assert_allclose(M.molgan_sa_reward(batch)[:2], np.clip((5 - sa) / 3.5, 0, 1))
    np.testing.assert_allclose(M.molgan_qed_reward(batch)[:2], [QED.qed(ETHANOL), QED.qed(BENZENE)])
    for reward in (M.molgan_logp_reward, M.molgan_sa_reward, M.molgan_qed_reward):
        values = reward(batch)
        assert values[2] == 0.0 and ((values >= 0) & (values <= 1)).all()


def test_molgan_unique_validity_and_novelty_rewards():
    batch = [ETHANOL] * 5 + [BENZENE, None]
    np.testing.assert_allclose(M.molgan_unique_reward(batch), [0.95] * 5 + [1.0, 0.0])
    np.testing.assert_allclose(M.molgan_unique_reward([ETHANOL, ETHANOL_AGAIN]), [1.0, 1.0])  # 0.75 + 1/2, clipped
    dummy = Chem.MolFromSmiles("*C")
    np.testing.assert_array_equal(M.molgan_validity_reward([ETHANOL, TWO_FRAGMENTS, None, dummy]), [1, 0, 0, 0])
    assert M.validity([dummy]) == 1.0
    np.testing.assert_array_equal(M.molgan_novelty_reward([ETHANOL, BENZENE, None], {"CCO"}), [0, 1, 0])


def test_molgan_reward_is_the_product_of_its_objectives():
    batch = [ETHANOL, BENZENE, BENZENE, None]
    expected = (M.molgan_logp_reward(batch) * M.molgan_sa_reward(batch) * M.molgan_qed_reward(batch)
                * M.molgan_unique_reward(batch))
    np.testing.assert_allclose(M.molgan_reward(batch), expected)
    np.testing.assert_allclose(M.molgan_reward(batch, ["novelty", "validity"], training_smiles={"CCO"}),
                               [0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"unknown MolGAN objectives \['np'\]"):
        M.molgan_reward(batch, ["np"])
    with pytest.raises(ValueError, match="need training_smiles"):
        M.molgan_reward(batch, ["diversity"])
    with pytest.raises(ValueError, match="non-empty sequence"):
        M.molgan_reward(batch, "qed")


def test_summarize_table():
    batch = [ETHANOL, ETHANOL_AGAIN, BENZENE, TWO_FRAGMENTS, None, PENTAVALENT]
    table = M.summarize(batch, {"CCO"})
    assert table["n_generated"] == 6 and table["n_valid"] == 4 and table["n_unique"] == 3
    assert table["validity"] == pytest.approx(4 / 6) and table["validity_connected"] == pytest.approx(3 / 6)
    assert table["uniqueness"] == pytest.approx(3 / 4) and table["uniqueness_of_generated"] == pytest.approx(3 / 6)
    assert table["novelty"] == pytest.approx(2 / 4)
    valid = [ETHANOL, ETHANOL, BENZENE, TWO_FRAGMENTS]
    assert table["qed"] == pytest.approx(np.mean([QED.qed(m) for m in valid]))
    assert table["logp"] == pytest.approx(np.mean([Crippen.MolLogP(m) for m in valid]))
    assert table["sa"] == pytest.approx(np.mean([sascorer.calculateScore(m) for m in valid]))
    assert table["molgan_logp"] == pytest.approx(M.molgan_logp_reward(batch)[:4].mean())
    assert table["molgan_sa"] == pytest.approx(M.molgan_sa_reward(batch)[:4].mean())
    assert table["molgan_diversity"] == pytest.approx(M.molgan_diversity_scores(batch, {"CCO"})[:4].mean())
    assert table["internal_diversity"] == pytest.approx(M.internal_diversity(batch))
    empty = M.summarize([None, None], set())
    assert empty["validity"] == 0.0 and all(math.isnan(empty[k]) for k in ("uniqueness", "novelty", "qed"))


def test_frechet_distance_of_diagonal_gaussians():
    a, b = np.array([1.0, 4.0, 0.0]), np.array([9.0, 1.0, 2.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        M.frechet_distance(mu1, np.diag(a), mu2[:2], np.diag(b))


def _rank_deficient(seed: int, n: int, dim: int = 512) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)) * rng.uniform(0.1, 10.0, dim), rng


@pytest.mark.parametrize("seed", range(4))
def test_frechet_distance_on_rank_deficient_covariances_is_accurate_and_never_negative(seed):
    x, _ = _rank_deficient(seed, 30)  # covariance of rank 29 in 512 dimensions, as ChemNet on 30 SMILES
    y, _ = _rank_deficient(seed + 100, 40)
    mu, sigma, sigma_y = x.mean(0), np.cov(x.T), np.cov(y.T)
    itself = M.frechet_distance(mu, sigma, mu, sigma)
    assert 0.0 <= itself < 1e-9 * np.trace(sigma)  # was about -2e-3: round-off eigenvalues of the null space
    # Exact reference: Tr (S1^1/2 S2 S1^1/2)^1/2 within the 29-dimensional range of S1, from the data's SVD
    basis, singular, _ = np.linalg.svd((x - mu).T, full_matrices=False)
    root = np.sqrt(singular[:29] ** 2 / 29)
    small = root[:, None] * (basis[:, :29].T @ sigma_y @ basis[:, :29]) * root[None, :]
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2), 0, None)).sum()
    expected = np.trace(sigma) + np.trace(sigma_y) - 2 * trace_root
    assert M.frechet_distance(mu, sigma, mu, sigma_y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")
def test_frechet_distance_matches_fcd_torch_formula():
    from fcd_torch.utils import calculate_frechet_distance

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 40)), rng.normal(size=(400, 40)) @ rng.normal(size=(40, 40)) * 0.3 + 0.2
    stats = (x.mean(0), np.cov(x.T), y.mean(0), np.cov(y.T))
    assert M.frechet_distance(*stats) == pytest.approx(calculate_frechet_distance(*stats), rel=1e-8)


@pytest.mark.usefixtures("torch_one_thread")
def test_fcd_is_zero_on_identical_lists_and_grows_with_a_shift():
    """fcd-torch's ChemNet on 24 + 24 SMILES (about two seconds on CPU)."""
    qm9_like = QM9_LIKE
    shifted = (["C" * k for k in range(1, 10)] + ["C" * k + "O" for k in range(1, 9)]
               + ["CC(C)" + "C" * k for k in range(7)])  # acyclic alkanes and alcohols only
    # identical lists: 0 up to round-off in the eigenvalues of a rank-23 covariance, never below
    assert 0.0 <= M.fcd(qm9_like, qm9_like, n_jobs=1, device="cpu") < 1e-8
    near = M.fcd(qm9_like[:12], qm9_like[12:], n_jobs=1, device="cpu")
    far = M.fcd(shifted, qm9_like, n_jobs=1, device="cpu")
    assert 0 < near < far


def test_fcd_input_errors():
    with pytest.raises(ValueError, match="needs at least 2 SMILES"):
        M.fcd(["CCO"], ["CCO", "CC"])
    with pytest.raises(ValueError, match="generated_smiles: invalid SMILES .C1CC."):
        M.fcd(["CCO", "C1CC"], ["CCO", "CC"])
    with pytest.raises(TypeError, match="must be a sequence of SMILES strings"):
        M.fcd("CCO", ["CCO", "CC"])
    with pytest.raises(ValueError, match="n_jobs must be a positive integer"):
        M.fcd(["CCO", "CC"], ["CCO", "CC"], n_jobs=0)


def test_importing_the_packages_does_not_import_rdkit_or_torch():
    code = ("import sys, qlatent, qlatent.chem, qlatent.metrics, qlatent.data, qlatent.data.qm9; "
            "heavy = [m for m in ('rdkit', 'torch', 'fcd_torch', 'pandas') if m in sys.modules]; "
            "import qlatent.metrics.molecules; "
            "heavy += [m for m in ('torch', 'fcd_torch') if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- Table II counts and the FCD reference


def test_valid_unique_and_novel_counts_on_a_hand_made_list():
    # valid: ethanol ×3 (one unsanitised, one with explicit H), benzene, pyridine, C.CO; invalid: None, pentavalent
    raw = Chem.MolFromSmiles("OCC", sanitize=False)
    batch = [ETHANOL, ETHANOL_AGAIN, raw, BENZENE, PYRIDINE, TWO_FRAGMENTS, None, PENTAVALENT, BENZENE]
    assert M.valid_unique_count(batch) == 4  # CCO, c1ccccc1, c1ccncc1, C.CO
    assert M.valid_unique_count(batch, connected_only=True) == 3
    assert M.novel_count(batch, {"CCO"}) == 3
    assert M.novel_count(batch, {"CCO", "c1ccccc1"}, connected_only=True) == 1  # pyridine only
    assert M.novel_count(batch, set()) == M.valid_unique_count(batch)
    assert M.valid_unique_count([None, PENTAVALENT]) == 0 and M.novel_count([None], {"CCO"}) == 0
    table = M.summarize(batch, {"CCO"})
    counts = (table["n_unique"], table["n_novel"], table["n_unique_connected"], table["n_novel_connected"])
    assert counts == (4, 3, 3, 2)


def test_reference_sample_is_a_seeded_random_draw_not_the_first_rows():
    held_out = [f"C{'C' * (k // 100)}O" for k in range(1000)]  # sorted: small molecules first, like QM9
    reference = M.reference_sample(held_out, 100, seed=3)
    assert len(reference) == 100 and reference == M.reference_sample(held_out, 100, seed=3)
    expected = np.random.default_rng(3).choice(1000, size=100, replace=False)
    assert reference == [held_out[i] for i in expected]
    assert reference != M.reference_sample(held_out, 100, seed=4)
    # the first 100 rows hold only the smallest molecule; a random draw spans the sizes
    assert len(set(held_out[:100])) == 1 and len(set(reference)) >= 8
    assert sorted(M.reference_sample(held_out, 1000, seed=0)) == sorted(held_out)


def test_reference_sample_errors():
    with pytest.raises(ValueError, match="reference size n=11 exceeds the 10 held-out molecules"):
        M.reference_sample(["CCO"] * 10, 11)
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        M.reference_sample(["CCO"] * 10, 0)
    with pytest.raises(TypeError, match="held_out_smiles must be a sequence"):
        M.reference_sample("CCO", 1)


@pytest.mark.usefixtures("torch_one_thread")
def test_chemnet_statistics_of_repeats_equal_fcd_torchs_fit_of_the_whole_list():
    from fcd_torch import FCD

    smiles = QM9_LIKE[:6] * 3 + QM9_LIKE[:2] + ["CCO"]
    stats = M.chemnet_statistics(smiles, device="cpu")
    assert (stats.n, stats.n_distinct) == (21, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        direct = FCD(device="cpu", n_jobs=1).precalc(smiles)
    np.testing.assert_allclose(stats.mu, direct["mu"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats.sigma, direct["sigma"], rtol=1e-4, atol=1e-6)
    # a precomputed reference gives the same distance as the list
    reference = M.chemnet_statistics(QM9_LIKE, device="cpu")
    assert M.fcd(smiles, reference, device="cpu") == pytest.approx(M.fcd(smiles, QM9_LIKE, device="cpu"), rel=1e-9)
