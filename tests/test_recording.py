"""Recorded results: recording a profile, verifying files, noticing stale parameters and changed code."""

import json
import shutil

import pytest
import yaml
from conftest import project_env, run_cli
from test_runner_errors import add_notebook, error_line

from qlatent.recording import (
    CHAPTER_READS,
    RecordingError,
    RecordingSchema,
    effective_parameters,
    load_recording,
    recorded_dir,
    recording_status,
)

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
    assert recording_status("98_tiny", "standard").line.startswith("PROBLEM: ")


def test_a_changed_profile_makes_the_recording_stale(tiny_project):
    assert run_cli(tiny_project, "record", "98_tiny", "--profile", "standard").returncode == 0
    profiles_path = tiny_project / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(profiles_path.read_text())
    profiles["standard"]["notebooks"]["98_tiny"] = {"scale": 4.0}
    profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    listing = run_cli(tiny_project, "recordings")
    assert "STALE: parameters differ from the profile file (scale)" in listing.stdout


def _add_recordable(project, name, cells):
    add_notebook(project, name, cells, parameters="profile = 'quick'")
    profiles_path = project / "notebooks" / "profiles.yml"
    profiles = yaml.safe_load(profiles_path.read_text())
    profiles["standard"]["notebooks"][name] = {}
    profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))


def test_record_refuses_what_it_cannot_record(tiny_project, tmp_path):
    line = error_line(run_cli(tiny_project, "record", "98_tiny", "--profile", "paper"))
    assert "profile 'paper' does not run notebook '98_tiny'" in line
    ran = tmp_path / "ran"
    executed = f"import pathlib\npathlib.Path({str(ran)!r}).touch()\nfrom qlatent.results import ResultStore\n"
    # refused from the source, before anything runs: no recorded tables, or a table outside the results
    _add_recordable(tiny_project, "97_silent", [executed + "print('no tables')"])
    _add_recordable(tiny_project, "96_outside", [executed + "ResultStore('96_outside').write_manifest("
                                                            "{}, recorded_tables=['../../98_tiny/standard/x'])"])
    line = error_line(run_cli(tiny_project, "record", "97_silent"))
    assert "notebook '97_silent' records no tables: no cell passes recorded_tables=[...]" in line
    line = error_line(run_cli(tiny_project, "record", "96_outside"))
    assert "notebook '96_outside' lists '../../98_tiny/standard/x' in recorded_tables, not a plain table name" in line
    assert not ran.exists()
    # refused after the run: names computed at run time, or no results manifest at all
    _add_recordable(tiny_project, "95_computed", [executed + "tables = ['..', 'scores']\n"
                                                             "ResultStore('95_computed').write_manifest({}, "
                                                             "recorded_tables=tables)"])
    _add_recordable(tiny_project, "94_no_manifest", [executed + "if False:\n    ResultStore('x').write_manifest("
                                                                "{}, recorded_tables=['scores'])"])
    line = error_line(run_cli(tiny_project, "record", "95_computed"))
    assert "95_computed/manifest.json lists '..' in recorded_tables, not a plain table name" in line
    assert ran.exists()
    line = error_line(run_cli(tiny_project, "record", "94_no_manifest"))
    assert "94_no_manifest left no readable results manifest" in line
    assert not any((tiny_project / "data" / "recorded" / name).exists()
                   for name in ("97_silent", "96_outside", "95_computed", "94_no_manifest"))


@pytest.mark.parametrize("cells", [
    ["ResultStore('93_unpacked').write_manifest({'profile': profile}, **{'recorded_tables': ['scores']})"],
    ["options = {'recorded_' + 'tables': ['scores']}  # built elsewhere: no literal name in the source",
     "ResultStore('93_unpacked').write_manifest({'profile': profile}, **options)"],
])
def test_record_takes_recorded_tables_passed_unpacked(tiny_project, cells):
    """The source check cannot tell what ``**`` passes: the run decides, and the recording is made."""
    head = ("from qlatent.results import ResultStore\nimport pandas as pd\n"
            "ResultStore('93_unpacked').save_table('scores', pd.DataFrame({'x': [1]}))\n")
    _add_recordable(tiny_project, "93_unpacked", [head + cells[0], *cells[1:]])
    result = run_cli(tiny_project, "record", "93_unpacked")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tiny_project / "data" / "recorded" / "93_unpacked" / "standard" / "scores.csv").is_file()


def _write_recording(project, change):
    """The recording of 98_tiny / standard written by hand (nothing executed), its manifest changed by ``change``."""
    from qlatent.io import sha256_file
    from qlatent.recording import code_file_hashes

    folder = project / "data" / "recorded" / "98_tiny" / "standard"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scores.csv").write_text("latent,value\nboson,3.0\ngaussian,6.0\n")
    manifest = {"chapter": "98_tiny", "profile": "standard", "parameters": {"profile": "standard", "scale": 3.0},
                "files": {"scores.csv": sha256_file(folder / "scores.csv")},
                "environment": {"git_commit": "0" * 40, "platform": "Linux"}, "code_files": code_file_hashes(),
                "machine": {"cpus": 2, "processor": "x86_64", "node": "vm"},
                "recorded_at": "2026-12-01T00:00:00+0000", "training_compute_s": 3.5}
    change(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _point_outside(manifest, folder, name):
    """Replace the scores entry by ``name``, a file holding other numbers, with its right checksum."""
    from qlatent.io import sha256_file

    outside = folder.parent.parent.parent / "elsewhere" / "scores.csv"
    outside.parent.mkdir(exist_ok=True)
    outside.write_text("latent,value\nboson,1.6405\ngaussian,6.0\n")
    if name == "link":
        (folder / "scores.csv").unlink()
        (folder / "scores.csv").symlink_to(outside)
        name = "scores.csv"
    del manifest["files"]["scores.csv"]
    manifest["files"][name.replace("OUTSIDE", str(outside))] = sha256_file(outside)


@pytest.mark.parametrize("name", ["../../../elsewhere/scores.csv", "OUTSIDE", "./scores.csv", "..\\scores.csv",
                                  ".scores.csv", "manifest.json", "", "link"])
def test_a_manifest_naming_a_file_outside_its_folder_is_a_problem(tiny_project, monkeypatch, name):
    _write_recording(tiny_project, lambda manifest, folder: _point_outside(manifest, folder, name))
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    expected = (r"recording path .*scores\.csv is a symbolic link" if name == "link" else
                r"field 'files' names .*: only plain table file names \(`runs\.csv`\) inside the recording's folder")
    with pytest.raises(RecordingError, match=expected):
        load_recording("98_tiny", "standard")
    listing = run_cli(tiny_project, "recordings")
    assert listing.returncode == 1 and "98_tiny / standard: PROBLEM: " in listing.stdout, listing.stdout
    assert "1.6405" not in listing.stdout + listing.stderr


def _move_outside_and_link(project, which):
    """Move the chapter's folder, the recording's folder or its manifest outside ``data/recorded``
    (the outside copy showing other numbers, its checksums right) and leave a symbolic link in its place."""
    from qlatent.io import sha256_file

    folder = project / "data" / "recorded" / "98_tiny" / "standard"
    original = {"chapter": folder.parent, "profile": folder, "manifest": folder / "manifest.json"}[which]
    outside = project / "elsewhere" / original.name
    outside.parent.mkdir()
    shutil.move(original, outside)
    original.symlink_to(outside)
    scores = folder / "scores.csv"
    if which != "manifest":
        scores.write_text("latent,value\nboson,1.6405\ngaussian,6.0\n")
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["files"]["scores.csv"] = sha256_file(scores)
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return original


@pytest.mark.parametrize("which", ["chapter", "profile", "manifest"])
def test_a_symbolic_link_anywhere_in_a_recording_is_a_problem(tiny_project, monkeypatch, which):
    _write_recording(tiny_project, lambda manifest, folder: None)
    link = _move_outside_and_link(tiny_project, which)
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RecordingError, match=f"recording path {link} is a symbolic link; only plain folders"):
        load_recording("98_tiny", "standard")
    listing = run_cli(tiny_project, "recordings")
    assert listing.returncode == 1 and "98_tiny / standard: PROBLEM: recording path" in listing.stdout, listing
    assert "1.6405" not in listing.stdout + listing.stderr


def test_a_chapter_name_leading_outside_the_recordings_is_refused(tiny_project, monkeypatch):
    _write_recording(tiny_project, lambda manifest, folder: None)
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RecordingError, match=r"recording .*/recorded/\.\./recorded/98_tiny/standard lies outside "):
        load_recording("../recorded/98_tiny", "standard")


@pytest.mark.parametrize(("text", "problem"), [
    ("[" * 100_000, "nests arrays or objects too deeply to be read"),
    ('{"chapter": "00_bad", "n": ' + "7" * 5000 + "}", "cannot be read: Exceeds the limit"),
])
def test_an_unreadable_manifest_is_one_problem_line_and_the_listing_goes_on(tiny_project, text, problem):
    _write_recording(tiny_project, lambda manifest, folder: None)
    bad = tiny_project / "data" / "recorded" / "00_bad" / "standard" / "manifest.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(text)
    listing = run_cli(tiny_project, "recordings")
    lines = listing.stdout.splitlines()
    assert listing.returncode == 1 and listing.stderr == "", listing.stderr[-2000:]
    assert lines[0] == f"00_bad / standard: PROBLEM: recording manifest {bad} {problem}" + lines[0].split(problem)[1]
    assert lines[-1] == "98_tiny / standard: 2026-12-01, code unchanged"


def _set(path, value):
    def change(manifest, folder):
        *parents, key = path.split(".")
        owner = manifest
        for parent in parents:
            owner = owner[parent]
        if value is KeyError:
            del owner[key]
        else:
            owner[key] = value
    return change


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("files", ["scores.csv"], r"is \[\"scores\.csv\"\], not an object"),
    ("files", KeyError, "is missing"),
    ("files", {"scores.csv": 12}, "gives 'scores.csv' the checksum 12, not a SHA-256 digest"),
    ("recorded_at", KeyError, "is missing"),
    ("recorded_at", 20261201, "is 20261201, not a time as text"),
    ("parameters", [1, 2], r"is \[1, 2\], not an object of parameters"),
    ("environment", "linux", "is \"linux\", not an object"),
    ("environment.git_commit", 5, "is 5, not text or null"),
    ("machine.cpus", "two", "is \"two\", not a whole number of CPUs from 1 to 100,000 or null"),
    ("code_files", [], r"is \[\], not an object mapping"),
    ("training_compute_s", "long", "is \"long\", not a finite number of seconds or null"),
    ("training_compute_s", float("inf"), "is Infinity, not a finite number of seconds or null"),
    ("recorded_at", "\u0662\u0660\u0662\u0666-12-01T00:00:00+0000", "is .*, not a time as text"),
    ("machine.cpus", 10 ** 12, "is 1000000000000, not a whole number of CPUs from 1 to 100,000 or null"),
    ("canary", {"boson.mmd": "0.5"}, r"is \{\"boson\.mmd\": \"0\.5\"\}, not an object mapping canary metrics"),
])
def test_a_malformed_manifest_field_is_a_problem_naming_it(tiny_project, monkeypatch, field, value, problem):
    _write_recording(tiny_project, _set(field, value))
    for key, env_value in project_env(tiny_project).items():
        monkeypatch.setenv(key, env_value)
    with pytest.raises(RecordingError, match=rf"manifest\.json: field '{field}' {problem}"):
        load_recording("98_tiny", "standard")
    assert recording_status("98_tiny", "standard").problem
    listing = run_cli(tiny_project, "recordings")
    assert listing.returncode == 1 and listing.stderr == "", listing.stderr
    assert "98_tiny / standard: PROBLEM: recording manifest" in listing.stdout and field in listing.stdout


def test_a_listed_file_that_is_not_a_table_is_a_problem_not_a_parser_error(tiny_project, monkeypatch):
    from qlatent.io import sha256_file

    def empty_table(manifest, folder):
        (folder / "scores.csv").write_bytes(b"")
        manifest["files"]["scores.csv"] = sha256_file(folder / "scores.csv")

    _write_recording(tiny_project, empty_table)
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RecordingError, match=r"recording file .*scores\.csv cannot be read as a table "
                                             r"\(EmptyDataError: No columns to parse from file\)"):
        load_recording("98_tiny", "standard")


def _break_04(how):
    """Change the committed recording of chapter 04 so that its checksums pass but the chapter cannot read it."""
    def change(manifest, folder):
        from qlatent.io import sha256_file

        if how == "files entry removed":
            del manifest["files"]["runs.csv"]
        elif how == "parameter removed":
            del manifest["parameters"]["constraint"]
        else:  # a valid CSV with other columns
            (folder / "runs.csv").write_text("latent,seed,metric,value\nboson,0,l1_integer,0.1\n")
            manifest["files"]["runs.csv"] = sha256_file(folder / "runs.csv")
    return change


@pytest.mark.parametrize(("how", "problem"), [
    ("files entry removed", r" has no table 'runs', which chapter 04_discrete reads \(it has: compute, curves, "),
    ("parameter removed", r": its parameters lack 'constraint', which chapter 04_discrete reads"),
    ("wrong columns", r": table 'runs' lacks the column\(s\) 'dataset', which chapter 04_discrete reads"),
])
def test_a_recording_lacking_what_its_chapter_reads_is_a_problem_not_a_key_error(project_copy, monkeypatch, how,
                                                                                  problem):
    folder = project_copy / "data" / "recorded" / "04_discrete" / "standard"
    manifest = json.loads((folder / "manifest.json").read_text())
    _break_04(how)(manifest, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for key, value in project_env(project_copy).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RecordingError, match=r"^recording .*04_discrete/standard" + problem):
        load_recording("04_discrete", "standard")
    listing = run_cli(project_copy, "recordings")
    assert listing.returncode == 1 and listing.stderr == "", listing.stderr[-2000:]
    assert "04_discrete / standard: PROBLEM: recording " in listing.stdout


def test_a_schema_argument_checks_what_the_caller_reads(tiny_project, monkeypatch):
    _write_recording(tiny_project, lambda manifest, folder: None)
    for key, value in project_env(tiny_project).items():
        monkeypatch.setenv(key, value)
    assert load_recording("98_tiny", "standard", RecordingSchema({"scores": ("latent", "value")}, ("scale",)))
    with pytest.raises(RecordingError, match=r"table 'scores' lacks the column\(s\) 'seed', which chapter 98_tiny"):
        load_recording("98_tiny", "standard", RecordingSchema({"scores": ("latent", "seed")}))


def test_record_refuses_tables_its_chapter_cannot_read_and_writes_nothing(in_project, monkeypatch):
    from qlatent.recording import record

    monkeypatch.setitem(CHAPTER_READS, "98_tiny", RecordingSchema({"scores": ("latent", "seed")}))
    with pytest.raises(RecordingError, match=r"^recording of 98_tiny made from .*: table 'scores' lacks the "
                                             r"column\(s\) 'seed', which chapter 98_tiny reads"):
        record("98_tiny", "standard")
    assert not (recorded_dir() / "98_tiny").exists()


def test_every_chapter_with_a_recording_declares_what_it_reads():
    from conftest import REPO

    recorded = {path.name for path in (REPO / "data" / "recorded").iterdir() if path.is_dir()}
    assert recorded <= set(CHAPTER_READS), recorded - set(CHAPTER_READS)


def test_recordings_exits_1_when_a_line_reports_a_problem_and_0_otherwise(tiny_project):
    _write_recording(tiny_project, lambda manifest, folder: None)
    listing = run_cli(tiny_project, "recordings")
    assert listing.returncode == 0 and "98_tiny / standard: 2026-12-01, code unchanged" in listing.stdout, listing
    _write_recording(tiny_project, _set("parameters", {"profile": "standard", "scale": 4.0}))
    listing = run_cli(tiny_project, "recordings")
    assert listing.returncode == 1 and "STALE: parameters differ from the profile file (scale)" in listing.stdout


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
    assert recording_status("98_tiny", "paper").line.startswith("PROBLEM: ")
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
