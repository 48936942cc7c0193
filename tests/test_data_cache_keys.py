"""Dataset caches are keyed by everything that made them: a changed source file, source or featuriser
code never brings back what an older one made."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

import qlatent.data.qm9 as qm9

MOLECULES = ["C", "CC", "CCO", "C=O", "CC(C)O", "OCCO", "CCN", "CC#N", "C1CC1", "CCCC"]
OTHERS = ["O", "N", "CN", "CO", "CCC", "NCCO", "CC=O", "C#C", "C1CO1", "CCCO"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("QLATENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("QLATENT_QM9", raising=False)


def write_csv(path: Path, smiles: list[str]) -> Path:
    before = path.stat().st_mtime_ns if path.exists() else None
    pd.DataFrame({"SMILES": smiles}).to_csv(path, index=False)
    while before is not None and path.stat().st_mtime_ns == before:  # a coarse clock: make the change visible
        time.sleep(0.01)
        path.touch()
    return path


def test_the_featurised_cache_is_rebuilt_when_the_featurising_code_changes(tmp_path, monkeypatch):
    source = write_csv(tmp_path / "mols.csv", MOLECULES)
    code = tmp_path / "featuriser.py"
    shutil.copyfile(qm9.FEATURISER_FILES[0], code)
    monkeypatch.setattr(qm9, "FEATURISER_FILES", (code, *qm9.FEATURISER_FILES[1:]))
    first = qm9.load_qm9(source)
    assert not first.metadata["cache"]["hit"]
    assert qm9.load_qm9(source).metadata["cache"]["hit"]
    code.write_text(code.read_text() + "\n# a changed featuriser\n")
    changed = qm9.load_qm9(source)
    assert not changed.metadata["cache"]["hit"]
    assert changed.metadata["recipe"]["code_sha256"] != first.metadata["recipe"]["code_sha256"]
    assert changed.metadata["cache"]["path"] != first.metadata["cache"]["path"]


def test_the_in_process_qm9_dataset_follows_its_source_file(tmp_path):
    from qlatent.experiments.qm9 import QM9Config, load_dataset

    source = write_csv(tmp_path / "mols.csv", MOLECULES)
    config = QM9Config(qm9_path=str(source))
    assert sorted(load_dataset(config).smiles) == sorted(qm9.load_qm9(source).smiles)
    write_csv(source, OTHERS)
    assert sorted(load_dataset(config).smiles) == sorted(qm9.load_qm9(source).smiles)
    assert set(load_dataset(config).smiles).isdisjoint(qm9.load_qm9(write_csv(tmp_path / "m.csv", MOLECULES)).smiles)


def test_the_in_process_qm9_dataset_follows_the_environment_variable(tmp_path, monkeypatch):
    from qlatent.experiments.qm9 import QM9Config, load_dataset

    first, second = write_csv(tmp_path / "a.csv", MOLECULES), write_csv(tmp_path / "b.csv", OTHERS)
    monkeypatch.setenv(qm9.ENV_VAR, str(first))
    config = QM9Config(qm9_path=None)
    assert sorted(load_dataset(config).smiles) == sorted(qm9.load_qm9(first).smiles)
    monkeypatch.setenv(qm9.ENV_VAR, str(second))
    assert sorted(load_dataset(config).smiles) == sorted(qm9.load_qm9(second).smiles)


def test_source_identity_names_each_file_with_its_size_and_time(tmp_path):
    source = write_csv(tmp_path / "mols.csv", MOLECULES)
    ((name, size, mtime_ns),) = qm9.source_identity(source)
    assert name == str(source.resolve()) and size == source.stat().st_size and mtime_ns == source.stat().st_mtime_ns
    with pytest.raises(FileNotFoundError, match="does not exist"):
        qm9.source_identity(tmp_path / "missing.csv")
