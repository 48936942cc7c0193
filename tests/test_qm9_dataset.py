"""QM9 loading: sources, checksums, filters with counts, exact round trips, cache and split."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from qlatent.chem.graphs import canonical_smiles, graphs_to_mols
from qlatent.data import qm9
from qlatent.data.qm9 import ChecksumError, QM9Dataset, load_qm9
from qlatent.io import sha256_file

GOOD = ["C", "CCO", "c1ccccc1", "N1C=CC=C1", "CC#N", "O=CC1CC1", "OC1=CC=CC=C1F", "CC(C)(C)C(N)=O",
        "C1CC2CC1C2", "N#CC#N", "CC(=O)OC=O", "C[C@H](O)C#C"]
BAD = {"unparsable": ["not_a_smiles", "C1CC"], "too_many_atoms": ["CCCCCCCCCC"], "disconnected": ["CC.O"],
       "charged": ["[NH3+]CC([O-])=O"], "roundtrip_failed": ["[CH3]"]}


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles), isomericSmiles=False)


def qm9pack_smiles() -> list[str]:
    data = Path(next(iter(importlib.util.find_spec("qm9pack").submodule_search_locations))) / "data"
    return [s for i in (1, 2, 3) for s in pd.read_csv(data / f"qm9_part{i}.csv", usecols=["SMILES"]).SMILES]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("QLATENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("QLATENT_QM9", raising=False)


@pytest.fixture
def user_csv(tmp_path) -> Path:
    rows = GOOD[:6] + BAD["unparsable"] + GOOD[6:9] + BAD["too_many_atoms"] + BAD["disconnected"] \
        + BAD["charged"] + GOOD[9:] + BAD["roundtrip_failed"]
    path = tmp_path / "mine.csv"
    pd.DataFrame({"id": range(len(rows)), "Smiles": rows}).to_csv(path, index=False)
    return path


@pytest.fixture
def clean_csv(tmp_path) -> Path:
    path = tmp_path / "clean.csv"
    pd.DataFrame({"SMILES": GOOD}).to_csv(path, index=False)
    return path


def load_quiet(path, **kwargs) -> QM9Dataset:
    with pytest.warns(UserWarning, match="skipped as"):
        return load_qm9(path, **kwargs)


def test_user_file_filters_are_counted_and_warned(user_csv):
    with pytest.warns(UserWarning) as record:
        dataset = load_qm9(user_csv)
    messages = " ".join(str(w.message) for w in record)
    assert "2 of 18 SMILES skipped as unparsable" in messages and "not_a_smiles" in messages
    assert "1 of 18 SMILES skipped as roundtrip_failed" in messages and "[CH3]" in messages
    counts = dataset.metadata["counts"]
    assert counts == {"read": 18, "unparsable": 2, "too_many_atoms": 1, "disconnected": 1, "charged": 1,
                      "roundtrip_failed": 1, "kept": len(GOOD)}
    assert dataset.smiles == [canonical(s) for s in GOOD]
    assert dataset.source_row.tolist() == [0, 1, 2, 3, 4, 5, 8, 9, 10, 14, 15, 16]
    assert dataset.atom_encoder.labels == ("PAD", "C", "N", "O", "F")
    assert dataset.nodes.shape == (12, 9) and dataset.adjacency.shape == (12, 9, 9)
    assert dataset.nodes.dtype == np.int64 and dataset.adjacency.dtype == np.int64
    assert dataset.n_atom_types == 5 and dataset.n_bond_types == 4 and dataset.max_atoms == 9
    assert dataset.metadata["files"] == [{"path": str(user_csv.resolve()), "sha256": sha256_file(user_csv)}]
    assert [canonical_smiles(m) for m in dataset.molecules()] == dataset.smiles


def test_keep_charged_encodes_the_charge_in_the_node_type(user_csv):
    dataset = load_quiet(user_csv, keep_charged=True)
    assert dataset.metadata["counts"]["charged"] == 0
    assert canonical("[NH3+]CC([O-])=O") in dataset.smiles
    assert dataset.atom_encoder.labels == ("PAD", "C", "N", "N+", "O-", "O", "F")
    assert [canonical_smiles(m) for m in dataset.molecules()] == dataset.smiles


def test_environment_variable_names_the_file(user_csv, monkeypatch):
    monkeypatch.setenv("QLATENT_QM9", str(user_csv))
    assert load_quiet(None).metadata["source"] == f"file {user_csv.resolve()}"


def test_checksums_are_checked(user_csv):
    actual = sha256_file(user_csv)
    assert load_quiet(user_csv, expected_sha256=actual).metadata["files"][0]["sha256"] == actual
    with pytest.raises(ChecksumError, match=f"expected {'0' * 64}, got {actual}"):
        load_qm9(user_csv, expected_sha256="0" * 64)
    with pytest.raises(ValueError, match="gives 2 hashes for 1 source files"):
        load_qm9(user_csv, expected_sha256=[actual, actual])


def test_qm9pack_parts_are_hashed_and_checked_before_reading():
    files = qm9._source_files(None)[1]
    assert [f.name for f in files] == ["qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"]
    with pytest.raises(ChecksumError, match="qm9_part1.csv: expected f+, got [0-9a-f]{64}"):
        load_qm9(expected_sha256=["f" * 64] * 3)


def test_missing_sources_are_reported(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_qm9(tmp_path / "nowhere.csv")
    empty_package = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(qm9.importlib.util, "find_spec", lambda name: empty_package)
    with pytest.raises(FileNotFoundError, match="its data files are missing"):
        load_qm9()
    monkeypatch.setattr(qm9.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="qm9pack is not installed"):
        load_qm9()


def test_smiles_column_is_required(tmp_path):
    path = tmp_path / "nosmiles.csv"
    pd.DataFrame({"name": ["a"], "formula": ["CH4"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"no SMILES column in .*columns found: \['name', 'formula'\]"):
        load_qm9(path)
    pd.DataFrame({"smiles": ["C"], "SMILES": ["C"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="several SMILES columns"):
        load_qm9(path)


def test_a_file_with_nothing_left_is_refused(tmp_path):
    path = tmp_path / "charged.csv"
    pd.DataFrame({"SMILES": ["[NH4+]", "CC.C"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="no molecule of file .* passed the filters"):
        load_qm9(path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"val_fraction": 1.2}, ValueError, r"val_fraction must lie in \[0, 1\)"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, "must be < 1"),
        ({"subset": 0}, ValueError, "subset must be at least 1"),
        ({"subset": True}, TypeError, "subset must be an integer"),
        ({"max_atoms": 0}, ValueError, "max_atoms must be at least 1"),
        ({"subset": 13}, ValueError, "subset=13 exceeds the 12 molecules kept"),
    ],
)
def test_bad_arguments(clean_csv, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_qm9(clean_csv, **kwargs)


def test_cache_hit_and_recipe_keys(user_csv, tmp_path):
    first = load_quiet(user_csv)
    second = load_qm9(user_csv)  # no warnings: the counts come from the cache
    assert not first.metadata["cache"]["hit"] and second.metadata["cache"]["hit"]
    assert second.smiles == first.smiles
    np.testing.assert_array_equal(second.adjacency, first.adjacency)
    cache_files = sorted((tmp_path / "cache" / "qm9").iterdir())
    assert [f.name for f in cache_files] == [Path(first.metadata["cache"]["path"]).name]
    charged = load_quiet(user_csv, keep_charged=True)
    assert charged.metadata["recipe_hash"] != first.metadata["recipe_hash"]
    assert len(list((tmp_path / "cache" / "qm9").iterdir())) == 2
    assert load_quiet(user_csv, cache=False).metadata["cache"] == {"path": None, "hit": False}


def test_corrupted_cache_is_rebuilt_with_a_warning(clean_csv):
    cache_file = Path(load_qm9(clean_csv).metadata["cache"]["path"])
    cache_file.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unusable .*rebuilding it"):
        rebuilt = load_qm9(clean_csv)
    assert not rebuilt.metadata["cache"]["hit"] and load_qm9(clean_csv).metadata["cache"]["hit"]


def test_tampered_cache_fails_its_checksum(clean_csv):
    cache_file = Path(load_qm9(clean_csv).metadata["cache"]["path"])
    with np.load(cache_file) as npz:
        arrays = dict(npz)
    arrays["adjacency"][0, 0, 1] = 3
    np.savez(cache_file, **arrays)
    with pytest.warns(UserWarning, match="checksum does not match"):
        load_qm9(clean_csv)
    arrays["recipe"] = np.asarray(json.dumps({"other": 1}))
    np.savez(cache_file, **arrays)
    with pytest.warns(UserWarning, match="recipe differs"):
        load_qm9(clean_csv)


def test_split_is_seeded_disjoint_and_complete(clean_csv):
    dataset = load_qm9(clean_csv, val_fraction=0.25, test_fraction=0.2, seed=3)
    parts = [dataset.split_index(name) for name in ("train", "val", "test")]
    assert [len(p) for p in parts] == [12 - 3 - 2, 3, 2]
    assert sorted(np.concatenate(parts).tolist()) == list(range(12))
    again = load_qm9(clean_csv, val_fraction=0.25, test_fraction=0.2, seed=3)
    assert all((a == b).all() for a, b in zip(parts, (again.train_index, again.val_index, again.test_index)))
    other = load_qm9(clean_csv, val_fraction=0.25, test_fraction=0.2, seed=4)
    assert not (other.test_index.tolist() == parts[2].tolist() and other.val_index.tolist() == parts[1].tolist())
    assert dataset.split_smiles("test") == [dataset.smiles[i] for i in parts[2]]
    assert dataset.metadata["split"] == {"seed": 3, "val_fraction": 0.25, "test_fraction": 0.2,
                                         "n_train": 7, "n_val": 3, "n_test": 2}
    with pytest.raises(ValueError, match="split must be one of"):
        dataset.split_index("training")


def test_subset_is_a_seeded_sample_sharing_the_full_encoder(clean_csv):
    full = load_qm9(clean_csv)
    small = load_qm9(clean_csv, subset=5, seed=1)
    assert len(small) == 5 and small.metadata["subset"] == 5
    assert small.atom_encoder == full.atom_encoder
    assert set(small.smiles) <= set(full.smiles)
    assert sorted(np.concatenate([small.train_index, small.val_index, small.test_index]).tolist()) == list(range(5))
    assert load_qm9(clean_csv, subset=5, seed=1).smiles == small.smiles


def test_round_trip_on_a_fixed_sample_of_qm9(tmp_path):
    """2,000 QM9 molecules (fixed seed): graph -> molecule -> canonical SMILES matches the source."""
    source = qm9pack_smiles()
    rows = np.sort(np.random.default_rng(2026).choice(len(source), size=2000, replace=False))
    path = tmp_path / "sample.csv"
    pd.DataFrame({"SMILES": [source[r] for r in rows]}).to_csv(path, index=False)
    dataset = load_qm9(path)
    counts = dataset.metadata["counts"]
    assert counts["unparsable"] == counts["disconnected"] == counts["roundtrip_failed"] == 0
    assert counts["kept"] + counts["charged"] == 2000
    decoded = [canonical_smiles(m) for m in graphs_to_mols(dataset.nodes, dataset.adjacency, dataset.atom_encoder)]
    expected = [canonical(source[rows[r]]) for r in dataset.source_row]
    assert decoded == expected == dataset.smiles


@pytest.mark.slow
def test_round_trip_on_the_whole_of_qm9():
    """All of qm9pack: counts of every filter, and the exact round trip from the cached tensors."""
    dataset = load_qm9()
    assert dataset.metadata["source"] == "qm9pack 1.0.3"
    assert dataset.metadata["counts"] == {"read": 130831, "unparsable": 0, "too_many_atoms": 0, "disconnected": 0,
                                          "charged": 580, "roundtrip_failed": 0, "kept": 130251}
    assert dataset.atom_encoder.labels == ("PAD", "C", "N", "O", "F")
    cached = load_qm9()
    assert cached.metadata["cache"]["hit"]
    source = qm9pack_smiles()
    decoded = [canonical_smiles(m) for m in cached.molecules()]
    assert decoded == cached.smiles == [canonical(source[r]) for r in cached.source_row]
