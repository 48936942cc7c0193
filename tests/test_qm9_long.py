"""The long recording of chapter 05 (qlatent.experiments.qm9_long): snapshots, kill and resume, bad input.

Every test runs a tiny ``long`` profile in a copy of the project (QM9's quick subset, a small
MolGAN, a few hundred steps) with its cache in the test's temporary folder.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_project, project_env

from qlatent.experiments import qm9_long
from qlatent.training.checkpoint import list_checkpoints, load_checkpoint

TINY = {"qm9_path": "data/qm9/quick_subset.csv", "sizes": [8], "latents": ["distinguishable"], "seeds": [0],
        "loop_seeds": [], "hardware_seeds": [], "fast_seeds": [], "generator_hidden": [16, 32],
        "conv_hidden": [8, 4], "aggregation_dim": 8, "dense_hidden": [8], "n_critic": 2, "batch_size": 16,
        "n_steps": 240, "snapshot_steps": [40, 120], "bank_size": 1000, "eval_samples": 60, "n_reference": 60,
        "fcd_connected_only": True, "molecule_rows": 10, "curve_samples": 20, "log_every": 20}


def tiny_project(root: Path, **changes) -> Path:
    """A project copy whose ``long`` profile is :data:`TINY` (with ``changes``)."""
    root.mkdir(parents=True, exist_ok=True)
    copy_project(root)
    path = root / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(path.read_text())
    profiles["long"]["notebooks"]["05_qm9"] = {**TINY, **changes}
    path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    return root


def environment(root: Path, cache: Path) -> dict[str, str]:
    env = project_env(root)
    env.update(QLATENT_CACHE=str(cache), PYTHONPATH=str(REPO))
    return env


def use(monkeypatch, root: Path, cache: Path) -> None:
    monkeypatch.setenv("QLATENT_ROOT", str(root))
    monkeypatch.setenv("QLATENT_CACHE", str(cache))


def snapshots(cache: Path) -> dict[tuple[str, int], dict]:
    root = cache / "runs" / "05_qm9-long" / "runs"
    return {(path.parts[-3].rsplit("-", 1)[0], json.loads(path.read_text())["step"]): json.loads(path.read_text())
            for path in root.glob("*/snapshots/*.json")}


def comparable(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "training_seconds"}


def test_a_killed_recording_resumes_to_the_numbers_of_an_uninterrupted_one(tmp_path):
    root = tiny_project(tmp_path / "project")
    command = [sys.executable, "-m", "qlatent.experiments.qm9_long", "run", "--threads", "1"]
    killed_cache, straight_cache = tmp_path / "killed", tmp_path / "straight"
    runs = killed_cache / "runs" / "05_qm9-long" / "runs"
    process = subprocess.Popen(command, cwd=root, env=environment(root, killed_cache), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    try:
        # kill every process of the run once it is training beyond its first snapshot
        while time.monotonic() < deadline and process.poll() is None:
            steps = [step for run in runs.glob("*") for step, _ in list_checkpoints(run / "checkpoints")]
            if steps and max(steps) > 40 and snapshots(killed_cache):
                break
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        _, errors = process.communicate()
    assert process.returncode == -signal.SIGKILL, errors
    before = snapshots(killed_cache)
    assert [step for _, step in before] == [40], "killed after the first snapshot and before the second"

    resumed = subprocess.run(command, cwd=root, env=environment(root, killed_cache), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run(command, cwd=root, env=environment(root, straight_cache), capture_output=True,
                              text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr

    after, reference = snapshots(killed_cache), snapshots(straight_cache)
    assert sorted(after) == sorted(reference) == [("paper-8-haar-distinguishable-seed0", s) for s in (40, 120, 240)]
    for key in reference:
        assert comparable(after[key]) == comparable(reference[key]), key
    assert after[("paper-8-haar-distinguishable-seed0", 40)] == before[("paper-8-haar-distinguishable-seed0", 40)]
    manifest = json.loads((root / "data" / "recorded" / "05_qm9" / "long" / "manifest.json").read_text())
    assert manifest["partial"] is False and manifest["progress"] == {"paper-8-haar-distinguishable-seed0": 240}


def test_a_partial_recording_is_marked_partial_and_readable(tmp_path, monkeypatch, torch_one_thread):
    root = tiny_project(tmp_path / "project", seeds=[0, 1], n_steps=60, snapshot_steps=[20])
    use(monkeypatch, root, tmp_path / "cache")
    parameters = qm9_long.profile_parameters()
    qm9_long.record(parameters, worker=0, workers=2)  # seed 0 only
    from qlatent.recording import load_recording

    recording = load_recording("05_qm9", "long")
    assert recording.manifest["partial"] is True
    assert recording.manifest["progress"] == {"paper-8-haar-distinguishable-seed0": 60,
                                              "paper-8-haar-distinguishable-seed1": 0}
    assert not recording.stale_parameters()
    table = recording.tables["snapshots"]
    assert sorted(set(table["step"])) == [20, 60] and set(table["seed"]) == {0}
    assert {"fcd", "valid_unique", "novel"} <= set(table["metric"])
    assert "partial recording" in recording.describe()


def test_parameters_other_than_the_profile_are_refused(tmp_path, monkeypatch):
    use(monkeypatch, tiny_project(tmp_path / "project"), tmp_path / "cache")
    parameters = {**qm9_long.profile_parameters(), "learning_rate": 0.001}
    with pytest.raises(qm9_long.LongRecordingError, match=r"differ from the 'long' profile .*learning_rate: profile "
                                                           r"0\.0001, given 0\.001"):
        qm9_long.record(parameters)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("steps", "message"), [([40, 300], "snapshot step 300 lies beyond n_steps=240"),
                                                ([120, 40], "must increase strictly"),
                                                ([0], "positive integers")])
def test_bad_snapshot_steps_are_refused(steps, message):
    with pytest.raises(qm9_long.LongRecordingError, match=message):
        qm9_long.snapshot_steps({"n_steps": 240, "snapshot_steps": steps})


def test_snapshots_end_at_n_steps():
    assert qm9_long.snapshot_steps({"n_steps": 240, "snapshot_steps": [40]}) == [40, 240]
    assert qm9_long.snapshot_steps({"n_steps": 240, "snapshot_steps": [40, 240]}) == [40, 240]


def test_a_recording_of_other_arithmetic_is_refused_and_kept(tmp_path, monkeypatch):
    use(monkeypatch, tiny_project(tmp_path / "project"), tmp_path / "cache")
    parameters = qm9_long.profile_parameters()
    root = qm9_long.long_root()
    config = qm9_long.config_from_parameters(parameters)
    qm9_long.open_recording(root, config, qm9_long.snapshot_steps(parameters))
    identity = root / "recording.json"
    old = {**json.loads(identity.read_text()), "arithmetic": qm9_long.ARITHMETIC_VERSION - 1}
    identity.write_text(json.dumps(old))
    with pytest.raises(qm9_long.LongRecordingError, match=f"arithmetic version {qm9_long.ARITHMETIC_VERSION - 1}"):
        qm9_long.record(parameters)
    assert json.loads(identity.read_text()) == old
    other = {**old, "arithmetic": qm9_long.ARITHMETIC_VERSION, "snapshot_steps": [10, 240]}
    identity.write_text(json.dumps(other))
    with pytest.raises(qm9_long.LongRecordingError, match=r"other settings \(snapshot_steps\)"):
        qm9_long.record(parameters)


def test_a_disk_filling_during_a_snapshot_keeps_its_checkpoint(tmp_path, monkeypatch, torch_one_thread):
    use(monkeypatch, tiny_project(tmp_path / "project", n_steps=40, snapshot_steps=[20]), tmp_path / "cache")
    parameters = qm9_long.profile_parameters()
    written = qm9_long.atomic_write_json

    def full(path, obj):
        if "snapshots" in Path(path).parts:
            raise OSError(errno.ENOSPC, "No space left on device")
        written(path, obj)

    monkeypatch.setattr(qm9_long, "atomic_write_json", full)
    with pytest.raises(qm9_long.SnapshotWriteError, match=r"disk filled while writing snapshot .*step_00000020\.json"
                                                          r".*checkpoint of step 20 is kept") as caught:
        qm9_long.record(parameters)
    assert caught.value.errno == errno.ENOSPC
    assert load_checkpoint(caught.value.checkpoint)["step"] == 20
    assert not list(qm9_long.long_root().glob("runs/*/snapshots/*.json"))
    monkeypatch.setattr(qm9_long, "atomic_write_json", written)
    records = qm9_long.record(parameters)
    assert [record["step"] for record in records] == [20, 40]


def test_a_worker_already_running_is_not_started_twice(tmp_path, monkeypatch):
    from filelock import FileLock

    use(monkeypatch, tiny_project(tmp_path / "project"), tmp_path / "cache")
    root = qm9_long.long_root()
    root.mkdir(parents=True)
    with FileLock(root / ".worker-1-of-2.lock"), pytest.raises(qm9_long.LongRecordingError,
                                                                match="worker 1 of 2 is already running"):
        qm9_long.record(qm9_long.profile_parameters(), worker=1, workers=2)


@pytest.mark.parametrize(("cuda", "expected"), [(True, "cuda"), (False, "cpu")])
def test_the_long_profile_trains_on_cuda_when_there_is_one(cuda, expected, tmp_path, monkeypatch):
    """``device: auto`` (the profile leaves the notebook's default): CUDA when present, else the CPU."""
    import torch

    from qlatent.experiments.qm9 import fcd_reference, prepare_run

    use(monkeypatch, tiny_project(tmp_path / "project"), tmp_path / "cache")
    parameters = qm9_long.profile_parameters()
    assert parameters["device"] == "auto"
    config = qm9_long.config_from_parameters(parameters)
    fcd_reference(config)  # ChemNet (fcd-torch) would move to the mocked CUDA too
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    run = prepare_run("paper", 8, "haar", "gaussian", 0, config=config, runs_dir=tmp_path / "runs")
    assert run.trainer.device.type == expected


def _snapshots(values: dict[tuple[str, int], list[float]], metric: str = "valid_unique"):
    import pandas as pd

    return pd.DataFrame([{"schedule": "paper", "size": 16, "circuit": "haar", "latent": latent, "seed": seed,
                          "step": step, "metric": metric, "value": value}
                         for (latent, step), seeds in values.items() for seed, value in enumerate(seeds)])


def test_budget_gaps_pair_by_seed_with_a_t_interval():
    from scipy.stats import t

    table = _snapshots({("boson", 1000): [10, 12, 14], ("distinguishable", 1000): [20, 21, 26],
                        ("boson", 20000): [30, 31, 35], ("distinguishable", 20000): [20, 20, 22]})
    gaps = qm9_long.budget_gaps(table, metrics=["valid_unique"])
    assert list(gaps["step"]) == [1000, 20000] and set(gaps["control"]) == {"distinguishable"}
    first = gaps.iloc[0]
    differences = [-10, -9, -12]
    half = t.ppf(0.975, 2) * float(pd_std(differences)) / 3 ** 0.5
    assert first["gap"] == pytest.approx(-31 / 3) and first["ci_high"] == pytest.approx(-31 / 3 + half)
    assert list(gaps["favours"]) == ["control", "reference"]
    trend = qm9_long.budget_trend(gaps, 1000)
    assert trend.loc[0, "trend"] == "flips" and trend.loc[0, "last_step"] == 20000


def pd_std(values):
    import numpy as np

    return np.std(values, ddof=1)


def test_a_lower_fcd_favours_the_reference_and_an_unscored_seed_is_left_out():
    table = _snapshots({("boson", 1000): [1.0, 1.1, 1.2, float("nan")],
                        ("distinguishable", 1000): [2.0, 2.2, 2.1, 2.0]}, metric="fcd")
    gaps = qm9_long.budget_gaps(table, metrics=["fcd"])
    assert gaps.loc[0, "favours"] == "reference" and gaps.loc[0, "n_pairs"] == 3 and gaps.loc[0, "n_unscored"] == 1


@pytest.mark.parametrize(("first", "last", "trend"), [
    ([20, 21, 26], [40, 42, 47], "persists"),  # distinguishable still ahead
    ([20, 21, 26], [31, 30, 36], "narrows"),  # smaller gap, interval over 0
    ([20, 21, 26], [10, 60, 60], "inconclusive"),
    ([11, 11, 16], [20, 21, 22], "emerges"),
])
def test_budget_trend_names_what_became_of_the_first_gap(first, last, trend):
    table = _snapshots({("boson", 1000): [10, 12, 14], ("distinguishable", 1000): first,
                        ("boson", 20000): [30, 31, 35], ("distinguishable", 20000): last})
    result = qm9_long.budget_trend(qm9_long.budget_gaps(table, metrics=["valid_unique"]), 1000)
    assert result.loc[0, "trend"] == trend


def test_budget_figure_has_a_panel_per_metric():
    table = _snapshots({("boson", 1000): [10, 12, 14], ("distinguishable", 1000): [20, 21, 26],
                        ("boson", 2000): [30, 31, 35], ("distinguishable", 2000): [20, 20, 22]})
    figure = qm9_long.budget_figure(qm9_long.budget_gaps(table, metrics=["valid_unique"]))
    assert [ax.get_title() for ax in figure.axes] == ["valid_unique"]
    assert figure.axes[0].get_xscale() == "log"


def test_budget_markdown_reads_a_partial_recording_as_partial(tmp_path, monkeypatch):
    from qlatent.recording import Recording

    table = _snapshots({("boson", 1000): [10, 12, 14], ("distinguishable", 1000): [20, 21, 26],
                        ("boson", 5000): [30, 31, 35], ("distinguishable", 5000): [20, 20, 22]})
    recording = Recording("05_qm9", "long", {}, {"snapshots": table})
    monkeypatch.setattr(Recording, "describe", lambda self: "A partial recording.")
    text = qm9_long.budget_markdown(recording, qm9_long.budget_gaps(table, metrics=["valid_unique"]), 1000)
    assert text.startswith("A partial recording.")
    assert "**flips** (valid_unique, boson − distinguishable): -10.3 at 1000 iterations (favours control)" in text
    assert "boson valid_unique: ours 32 at 5000 iterations, the paper's 2522 ± 65 at its 20,000." in text


def test_the_long_recording_is_checked_for_the_tables_chapter_05_reads_from_it():
    from qlatent.recording import CHAPTER_READS, RecordingError, RecordingSchema, chapter_reads, check_schema

    assert chapter_reads("05_qm9", "standard") is CHAPTER_READS["05_qm9"]
    schema = chapter_reads("05_qm9", "long")
    assert isinstance(schema, RecordingSchema) and schema is not CHAPTER_READS["05_qm9"]
    columns = {"snapshots": [*qm9_long.SNAPSHOT_COLUMNS, "metric", "value"]}
    check_schema(schema, columns, {}, "long", "05_qm9")
    with pytest.raises(RecordingError, match=r"table 'snapshots' lacks the column\(s\) 'value'"):
        check_schema(schema, {"snapshots": columns["snapshots"][:-1]}, {}, "long", "05_qm9")
