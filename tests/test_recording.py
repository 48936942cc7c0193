"""Recorded results: recording a profile, verifying files, noticing stale parameters and changed code."""

import json
import shutil

import pytest
import yaml
from conftest import project_env, run_cli
from test_runner_errors import add_notebook, error_line

from qlatent.recording import RecordingError, effective_parameters, load_recording, recorded_dir, recording_status

RECORDING_CELLS = [
    "from qlatent.results import ResultStore\n"
    "import pandas as pd\n"
    "store = ResultStore('98_tiny')\n"
    "store.save_table('scores', pd.DataFrame({'latent': ['boson', 'gaussian'], 'value': [scale, 2 * scale]}))\n"
    "store.save_table('big', pd.DataFrame({'x': range(10)}))\n"
    "store.save_table('compute', pd.DataFrame({'latent': ['boson', 'gaussian'], 'training_seconds': [1.5, 2.0]}))\n"
    "store.write_manifest({'profile': profile, 'scale': scale}, recorded_tables=['scores', 'compute'])",
]


@pytest.fixture
def tiny_project(project_copy):
    add_notebook(project_copy, "98_tiny", RECORDING_CELLS, parameters="profile = 'quick'\nscale = 1.0")
    profiles = yaml.safe_load((project_copy / "notebooks" / "profiles.yml").read_text())
    profiles["standard"]["notebooks"]["98_tiny"] = {"scale": 3.0}
    (project_copy / "notebooks" / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))
    return project_copy


@pytest.fixture
def in_project(tiny_project, monkeypatch):
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    return tiny_project


def test_record_stores_listed_tables_with_a_manifest(tiny_project):
    result = run_cli(tiny_project, "record", "98_tiny", "--profile", "standard")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = tiny_project / "data" / "recorded" / "98_tiny" / "standard"
    assert sorted(p.name for p in folder.iterdir()) == ["compute.csv", "manifest.json", "scores.csv"]  # listed only
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["profile"] == "standard"
    assert manifest["parameters"] == {"profile": "standard", "scale": 3.0}
    assert set(manifest["files"]) == {"scores.csv", "compute.csv"}
    assert manifest["training_compute_s"] == 3.5
    for key in ("git_commit", "qlatent_code", "versions", "platform"):
        assert key in manifest["environment"]
    assert "recording/__init__.py" not in manifest["code_files"] and "recording.py" in manifest["code_files"]
    assert manifest["wall_time_s"] > 0 and manifest["machine"]["cpus"] >= 1
    listing = run_cli(tiny_project, "recordings")
    assert "98_tiny / standard:" in listing.stdout and "code unchanged" in listing.stdout


def test_recording_reads_back_verified_and_reports_problems(tiny_project, monkeypatch):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    recording = load_recording("98_tiny", "standard")
    assert list(recording.tables["scores"]["value"]) == [3.0, 6.0]
    assert recording.changed_code_files() == []
    assert "qlatent's code is unchanged since" in recording.describe()
    assert load_recording("98_tiny", "paper") is None
    folder = recorded_dir() / "98_tiny" / "standard"

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["code_files"]["stats.py"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert load_recording("98_tiny", "standard").changed_code_files() == ["stats.py"]
    assert ("**Not checked against the current code**: this recording predates the canary check, and 1 qlatent "
            "file(s) changed since") in load_recording("98_tiny", "standard").describe()

    (folder / "scores.csv").write_text("latent,value\nboson,0.0\n")
    with pytest.raises(RecordingError, match=r"scores\.csv does not match the checksum"):
        load_recording("98_tiny", "standard")
    (folder / "scores.csv").unlink()
    with pytest.raises(RecordingError, match=r"recording file .*scores\.csv is missing"):
        load_recording("98_tiny", "standard")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(RecordingError, match=r"manifest\.json is not valid JSON at line 1 column 2"):
        load_recording("98_tiny", "standard")
    assert "PROBLEM" in recording_status("98_tiny", "standard")


def test_a_changed_profile_makes_the_recording_stale(tiny_project):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    profiles_path = tiny_project / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(profiles_path.read_text())
    profiles["standard"]["notebooks"]["98_tiny"] = {"scale": 4.0}
    profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    listing = run_cli(tiny_project, "recordings")
    assert "STALE: parameters differ from the profile file (scale)" in listing.stdout


def test_record_refuses_what_it_cannot_record(tiny_project):
    line = error_line(run_cli(tiny_project, "record", "98_tiny", "--profile", "paper"))
    assert "profile 'paper' does not run notebook '98_tiny'" in line
    add_notebook(tiny_project, "97_silent", ["print('no tables')"], parameters="profile = 'quick'")
    profiles_path = tiny_project / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(profiles_path.read_text())
    profiles["standard"]["notebooks"]["97_silent"] = {}
    profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    line = error_line(run_cli(tiny_project, "record", "97_silent"))
    assert "97_silent left no readable results manifest" in line
    assert not (tiny_project / "data" / "recorded" / "97_silent").exists()


def test_effective_parameters_are_defaults_with_the_profile_on_top(in_project):
    assert effective_parameters("98_tiny", "standard") == {"profile": "standard", "scale": 3.0}
    with pytest.raises(RecordingError, match="does not run notebook"):
        effective_parameters("98_tiny", "paper")


def test_a_recording_copied_into_another_profiles_folder_is_refused(tiny_project, monkeypatch):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    folder = recorded_dir() / "98_tiny"
    shutil.copytree(folder / "standard", folder / "paper")
    with pytest.raises(RecordingError, match=r"paper/manifest\.json says profile 'standard', but it sits in the "
                                             r"folder of profile 'paper'"):
        load_recording("98_tiny", "paper")
    assert "PROBLEM" in recording_status("98_tiny", "paper")
    shutil.copytree(folder / "standard", recorded_dir() / "97_other" / "standard")
    with pytest.raises(RecordingError, match="says chapter '98_tiny', but it sits in the folder of chapter '97_other'"):
        load_recording("97_other", "standard")


def test_describe_keeps_the_dirty_marker_and_says_when_parameters_are_stale(tiny_project, monkeypatch):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    manifest_path = recorded_dir() / "98_tiny" / "standard" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["environment"]["git_commit"] = "0123456789abcdef0123-dirty"
    manifest_path.write_text(json.dumps(manifest))
    text = load_recording("98_tiny", "standard").describe()
    assert "at commit `0123456789ab-dirty`" in text
    assert "no longer" not in text
    profiles_path = tiny_project / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(profiles_path.read_text())
    profiles["standard"]["notebooks"]["98_tiny"] = {"scale": 4.0}
    profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    assert "**Its parameters are no longer the `standard` profile's** (`scale` differ" in (
        load_recording("98_tiny", "standard").describe())


def test_a_changed_recording_re_executes_its_chapter(tiny_project):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    assert "98_tiny: executed in" in run_cli(tiny_project, "run", "98_tiny").stdout
    assert "98_tiny: unchanged" in run_cli(tiny_project, "run", "98_tiny").stdout
    scores = tiny_project / "data" / "recorded" / "98_tiny" / "standard" / "scores.csv"
    scores.write_text(scores.read_text() + "fermion,0.0\n")  # corrupted (or re-recorded): the page must show it
    corrupted = run_cli(tiny_project, "run", "98_tiny")
    assert "98_tiny: executed in" in corrupted.stdout, corrupted.stdout + corrupted.stderr
    new = tiny_project / "data" / "recorded" / "98_tiny" / "paper"
    shutil.copytree(scores.parent, new)  # a recording added beside it
    assert "98_tiny: executed in" in run_cli(tiny_project, "run", "98_tiny").stdout
    (new.parent / ".paper.staging-x").mkdir()  # a recording being staged is not part of it
    assert "98_tiny: unchanged" in run_cli(tiny_project, "run", "98_tiny").stdout


def test_the_manifest_names_the_code_that_made_the_results_not_the_code_at_the_end(in_project, monkeypatch):
    """A long recording may outlive its checkout's state: provenance is read before the notebook runs,
    and files that changed meanwhile are listed."""
    from qlatent import provenance, recording

    snapshots = iter([{"a.py": "1", "b.py": "2"}, {"a.py": "1", "b.py": "changed", "c.py": "new"}])
    results = in_project / "data" / "results" / "98_tiny" / "manifest.json"
    assert not results.exists()
    monkeypatch.setattr(recording, "code_file_hashes", lambda: next(snapshots))
    real = provenance.environment_info
    monkeypatch.setattr(provenance, "environment_info", lambda: {
        **real(), "git_commit": "a later commit" if results.exists() else "the commit that ran"})
    folder = recording.record("98_tiny", "standard")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["environment"]["git_commit"] == "the commit that ran"
    assert manifest["code_files"] == {"a.py": "1", "b.py": "2"}
    assert manifest["code_changed_during_recording"] == ["b.py", "c.py"]


def test_a_mapping_with_int_keys_is_not_stale_after_its_json_round_trip(monkeypatch):
    """profiles.yml gives {32: [0, 1, 2]}; the manifest (JSON) stores {"32": [0, 1, 2]}: the same parameter."""
    import qlatent.recording as recording_module

    profile = {"size_seeds": {32: [0, 1, 2]}, "n_steps": 10}
    monkeypatch.setattr(recording_module, "effective_parameters", lambda chapter, name: profile)
    manifest = {"parameters": json.loads(json.dumps(profile))}
    assert recording_module.Recording("05_qm9", "standard", manifest, {}).stale_parameters() == []
    manifest["parameters"]["size_seeds"] = {"32": [0, 1]}
    assert recording_module.Recording("05_qm9", "standard", manifest, {}).stale_parameters() == ["size_seeds"]
