"""Recorded results: a chapter's small tidy tables from a long profile, committed with a manifest.

``qlatent record CHAPTER --profile standard`` executes (or resumes: training runs are keyed by their
parameters) the chapter's notebook with the profile's parameters, then copies the tables the
notebook lists in its results manifest (``recorded_tables``) to
``data/recorded/<chapter>/<profile>/`` together with ``manifest.json``: the notebook's effective
parameters, the profile, the git commit, the qlatent code fingerprint and a hash of every qlatent
source file (all read before the notebook runs, with the files that changed while it ran),
package versions, the machine, the wall time of this invocation and the training time
of the chapter's runs (summed from the ``compute`` table a chapter saves, which counts every resumed
session of every run). The folder is staged and swapped in whole, so a reader sees the old
recording or the new one.

Chapters read recordings with :func:`load_recording`, which checks the manifest's fields (a field
of the wrong type is an error naming it) and every file against the checksum in the manifest (a
missing or altered file is an error naming it, never an empty table), and reports which qlatent
source files changed since the recording was made. A recording's files are plain table names
(``runs.csv``) read from its own folder only: a name with a folder in it (``../x/runs.csv``), a
hidden name, or a symbolic link anywhere from the chapter's folder down to the files is refused, so
an edited manifest or a planted link cannot make a chapter show a table from elsewhere.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import platform
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from qlatent.io import atomic_write_json, sha256_file
from qlatent.paths import project_root, results_dir
from qlatent.readers import BadFileError, load_json

if TYPE_CHECKING:
    from qlatent.experiments.canary import Staleness

#: The largest table a recording may hold: recordings are committed, so they stay small.
MAX_TABLE_BYTES = 2_000_000
_PACKAGE_DIR = Path(__file__).resolve().parent
#: A recorded table's name: a plain file name without folders or a leading dot (``runs``, ``data_density``).
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}.*")  # ASCII digits only
#: More CPUs than a recording's machine can have had (the largest single machines have a few thousand).
MAX_CPUS = 100_000


class RecordingError(Exception):
    """A recording is missing a file, holds a file that fails its checksum, or cannot be made."""


class RecordingSchema(NamedTuple):
    """What a chapter reads from its recordings, checked when one is loaded or made.

    A recording that passes its checksums may still lack what a chapter's cells read (a table, a
    column, a recorded parameter); declared here, that is one :class:`RecordingError` naming the
    recording and what it lacks, instead of a ``KeyError`` in a cell.
    """

    #: Table name (``runs``, for ``runs.csv``) → the columns read from it.
    tables: Mapping[str, tuple[str, ...]]
    #: The entries of the manifest's ``parameters`` read by name.
    parameters: tuple[str, ...] = ()


_RUN_KEYS = ("seed", "metric", "value")
#: What each chapter reads from its recordings: its cells and the qlatent functions they call
#: (``summarize_runs``, ``scores_at_step``, ``fast_schedule_sentences``, ``family_verdict`` ...).
#: :func:`load_recording` and :func:`record` check it, so ``qlatent recordings`` reports a recording
#: a chapter cannot read as a PROBLEM, and ``qlatent record`` never writes one.
CHAPTER_READS: dict[str, RecordingSchema] = {
    "03_mixture": RecordingSchema(
        {"runs": ("latent", "depth", "n_steps", *_RUN_KEYS),
         "curves": ("latent", "depth", "seed", "step", "eval_between_modes"),
         "panel": ("x", "y", "latent", "depth", "seed"),
         "data_density": ("x", "y")},
        ("latent_steps",)),
    "04_discrete": RecordingSchema(
        {"runs": ("dataset", "latent", *_RUN_KEYS),
         "curves": ("dataset", "latent", "seed", "step", "eval_l1_integer")},
        ("constraint", "n_steps", "batch_size", "seeds", "hidden")),
    "05_qm9": RecordingSchema(
        {"runs": ("schedule", "size", "circuit", "latent", *_RUN_KEYS),
         "paired": ("part", "baseline", "metric", "n_pairs", "p_value", "mdd"),
         "curves": ("schedule", "size", "circuit", "latent", "seed", "step", "eval_valid_unique", "eval_novel",
                    "eval_validity")},
        ("n_steps", "batch_size", "seeds", "sizes", "learning_rate")),
    "06_flows_diffusion": RecordingSchema(
        {"runs": ("family", "latent", *_RUN_KEYS),
         "curves": ("family", "latent", "seed", "step", "eval_sliced_wasserstein", "eval_classifier_fd")},
        ("ddgan_steps", "ddgan_batch_size", "seeds", "flow_steps", "flow_batch_size")),
}


#: Profiles whose recordings hold other tables than their chapter's (``long``: chapter 05's
#: snapshots, written by :mod:`qlatent.experiments.qm9_long`, not by the notebook).
PROFILE_READS: dict[tuple[str, str], RecordingSchema] = {
    ("05_qm9", "long"): RecordingSchema(
        {"snapshots": ("schedule", "size", "circuit", "latent", "seed", "step", "metric", "value")}),
}


def chapter_reads(chapter: str, profile: str) -> RecordingSchema | None:
    """What ``chapter`` reads from its recording under ``profile`` (:data:`PROFILE_READS`, else
    :data:`CHAPTER_READS`), or None where nothing is declared."""
    return PROFILE_READS.get((chapter, profile), CHAPTER_READS.get(chapter))


def check_schema(schema: RecordingSchema, columns: Mapping[str, Any], parameters: Mapping[str, Any],
                 where: str, chapter: str) -> None:
    """Raise :class:`RecordingError` naming ``where`` (the recording) and the first table, column or
    parameter of ``schema`` that ``columns`` (table name → its column names) or ``parameters`` lack."""
    for table, needed in schema.tables.items():
        if table not in columns:
            raise RecordingError(f"recording {where} has no table {table!r}, which chapter {chapter} reads "
                                 f"(it has: {', '.join(sorted(columns)) or 'none'}); re-record it")
        missing = [column for column in needed if column not in set(columns[table])]
        if missing:
            raise RecordingError(f"recording {where}: table {table!r} lacks the column(s) "
                                 f"{', '.join(map(repr, missing))}, which chapter {chapter} reads; re-record it")
    missing = [name for name in schema.parameters if name not in parameters]
    if missing:
        raise RecordingError(f"recording {where}: its parameters lack {', '.join(map(repr, missing))}, which "
                             f"chapter {chapter} reads; re-record it")


def recorded_dir() -> Path:
    """``data/recorded`` in the project (committed)."""
    return project_root() / "data" / "recorded"


def recording_path(chapter: str, profile: str) -> Path:
    return recorded_dir() / chapter / profile


def code_file_hashes() -> dict[str, str]:
    """SHA-256 of every ``.py`` file of the qlatent package, keyed by its path inside the package."""
    return {path.relative_to(_PACKAGE_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(_PACKAGE_DIR.rglob("*.py"))}


def notebook_defaults(name: str) -> dict[str, Any]:
    """The values of a notebook's ``parameters`` cell (its quick-profile defaults)."""
    from qlatent.runner.execution import declared_parameters, resolve_notebook

    name, path = resolve_notebook(name)
    return {key: ast.literal_eval(value["default"]) for key, value in declared_parameters(name, path).items()}


def effective_parameters(name: str, profile: str) -> dict[str, Any]:
    """The parameters a notebook runs with under ``profile``: its defaults, the profile's overrides and
    the profile name itself (when the notebook declares ``profile``).

    Raises
    ------
    RecordingError
        If the profile does not run this notebook.
    """
    from qlatent.paths import profiles_file
    from qlatent.runner.profiles import get_profile

    chosen = get_profile(profiles_file(), profile)
    if name not in chosen.notebooks:
        raise RecordingError(f"profile {profile!r} does not run notebook {name!r}; "
                             f"it runs: {', '.join(chosen.notebooks)}")
    parameters = notebook_defaults(name)
    parameters.update(chosen.notebooks[name])
    if "profile" in parameters:
        parameters["profile"] = profile
    return parameters


def _is_table_file_name(name: object) -> bool:
    """Whether ``name`` is a recorded table's file name, ``<table>.csv``, naming a file directly
    inside the recording's folder (no ``/``, ``\\``, ``..`` folder or leading dot)."""
    return (isinstance(name, str) and name.endswith(".csv")
            and _TABLE_NAME.fullmatch(name.removesuffix(".csv")) is not None)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: The manifest fields readers use: (dotted name, check, what it must be, required). ``files`` is
#: checked entry by entry in :func:`_check_manifest`.
_MANIFEST_FIELDS: tuple[tuple[str, Any, str, bool], ...] = (
    ("parameters", lambda value: isinstance(value, dict), "an object of parameters", True),
    ("recorded_at", lambda value: isinstance(value, str) and _TIMESTAMP.fullmatch(value) is not None,
     "a time as text, YYYY-MM-DDTHH:MM:SS", True),
    ("environment", lambda value: isinstance(value, dict), "an object", True),
    ("environment.git_commit", lambda value: value is None or isinstance(value, str), "text or null", True),
    ("environment.platform", lambda value: isinstance(value, str), "text", True),
    ("machine", lambda value: isinstance(value, dict), "an object", True),
    ("machine.cpus", lambda value: value is None or (isinstance(value, int) and not isinstance(value, bool)
                                                     and 0 < value <= MAX_CPUS),
     f"a whole number of CPUs from 1 to {MAX_CPUS:,} or null", True),
    ("machine.processor", lambda value: isinstance(value, str), "text", True),
    ("code_files", lambda value: isinstance(value, dict) and all(isinstance(key, str) and isinstance(digest, str)
                                                                 for key, digest in value.items()),
     "an object mapping file names to checksums", True),
    ("training_compute_s", lambda value: value is None or (_is_number(value) and math.isfinite(value)
                                                           and value >= 0),
     "a finite number of seconds or null", False),
    ("canary", lambda value: value is None or (isinstance(value, dict) and all(
        isinstance(key, str) and _is_number(number) for key, number in value.items())),
     "an object mapping canary metrics to numbers, or null", False),
)


def _check_manifest(manifest: dict[str, Any], manifest_path: Path) -> None:
    """Raise :class:`RecordingError` naming the first field of a recording manifest that is missing or
    of the wrong kind, or a ``files`` entry that is not a plain table name inside the folder."""
    def bad(field: str, problem: str) -> RecordingError:
        return RecordingError(f"recording manifest {manifest_path}: field {field!r} {problem}; "
                              "re-record it with `qlatent record`")

    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise bad("files", "is missing" if files is None else
                  f"is {json.dumps(files)[:80]}, not an object mapping table files to SHA-256 checksums")
    for file_name, checksum in files.items():
        if not _is_table_file_name(file_name):
            raise bad("files", f"names {file_name!r}: only plain table file names (`runs.csv`) inside the "
                               "recording's folder are read")
        if not isinstance(checksum, str) or _SHA256.fullmatch(checksum) is None:
            raise bad("files", f"gives {file_name!r} the checksum {checksum!r}, not a SHA-256 digest")
    for field_name, accepts, expected, required in _MANIFEST_FIELDS:
        owner: Any = manifest
        *parents, key = field_name.split(".")
        for parent in parents:
            owner = owner[parent]  # checked to be an object by an earlier entry
        if key not in owner:
            if required:
                raise bad(field_name, "is missing")
            continue
        if not accepts(owner[key]):
            raise bad(field_name, f"is {json.dumps(owner[key])[:80]}, not {expected}")


def declared_recorded_tables(name: str, path: Path) -> list[str] | None:
    """The tables a notebook's source passes as ``recorded_tables=`` (to ``ResultStore.write_manifest``).

    Read from the code cells without running them, so that ``qlatent record`` refuses a chapter
    that records nothing before executing it.

    Returns
    -------
    list of str or None
        The names given as literal lists (empty when no cell passes ``recorded_tables=``, or only
        empty lists); ``None`` when some cell computes them or may pass them unpacked
        (``write_manifest(..., **options)``, ``**{"recorded_tables": [...]}``), so that only the run
        can tell.

    Raises
    ------
    RecordingError
        If a literal name is not a plain table name (``runs``, without folders).
    qlatent.runner.errors.RunnerError
        If the notebook cannot be read.
    """
    from qlatent.runner.execution import read_notebook

    found: list[str] = []
    computed = False
    for cell in read_notebook(name, path)["cells"]:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") != "code" or ("recorded_tables" not in source and "write_manifest" not in source):
            continue
        mentioned = "recorded_tables" in source
        # IPython's magics and shell escapes are not Python; they never pass recorded_tables
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            computed = True  # the run will say what is wrong with the cell
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            for keyword in node.keywords:
                if keyword.arg is None and (mentioned or called == "write_manifest"):
                    computed = True  # `**options` may hold recorded_tables: only the run can tell
                    continue
                if keyword.arg != "recorded_tables":
                    continue
                try:
                    tables = ast.literal_eval(keyword.value)
                except (ValueError, TypeError):  # not a literal: a name, a call, a comprehension
                    computed = True
                    continue
                if not isinstance(tables, (list, tuple)):
                    raise RecordingError(f"notebook {name!r} passes recorded_tables={tables!r}, not a list of names")
                for table in tables:
                    _check_table_name(table, f"notebook {name!r}")
                found.extend(tables)
    return None if computed else found


def _check_table_name(table: object, where: str) -> None:
    """Raise :class:`RecordingError` unless ``table`` names a result table without folders."""
    if not isinstance(table, str) or not _is_table_file_name(f"{table}.csv"):
        raise RecordingError(f"{where} lists {table!r} in recorded_tables, not a plain table name (a result "
                             "table's name, without folders or a leading dot)")


def check_recordable(chapter: str, profile: str) -> tuple[str, dict[str, Any]]:
    """What ``qlatent record`` checks before running anything: the chapter's name and the parameters
    it records with (:func:`effective_parameters`).

    Raises
    ------
    RecordingError
        If the profile does not run the chapter, or the chapter's notebook records no tables
        (:func:`declared_recorded_tables`) or names one that is not a plain table name.
    qlatent.runner.errors.RunnerError
        If the notebook is unknown or unreadable.
    """
    from qlatent.runner.execution import resolve_notebook

    name, path = resolve_notebook(chapter)
    parameters = effective_parameters(name, profile)
    if declared_recorded_tables(name, path) == []:
        raise RecordingError(f"notebook {name!r} records no tables: no cell passes recorded_tables=[...] to "
                             "ResultStore.write_manifest, so there is nothing to record (nothing was executed)")
    return name, parameters


def _training_seconds(path: Path) -> float | None:
    """Total ``training_seconds`` of the chapter's ``compute`` table (its runs, over every resume), if it saved one."""
    table = path / "compute.csv"
    if not table.is_file():
        return None
    return round(float(pd.read_csv(table)["training_seconds"].sum()), 1)


def _changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The qlatent files added, removed or edited between two :func:`code_file_hashes`."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def record_canary(chapter: str) -> dict[str, float] | None:
    """The chapter's canary metrics with the code being recorded (:mod:`qlatent.experiments.canary`),
    stored in the manifest as ``canary``; ``None`` for a chapter without a canary."""
    from qlatent.experiments.canary import CANARIES, run_canary

    return run_canary(chapter) if chapter in CANARIES else None


def record(chapter: str, profile: str, *, force: bool = False) -> Path:
    """Execute (or resume) ``chapter`` with ``profile`` and store its recorded tables; returns the folder.

    Raises
    ------
    RecordingError
        Before anything runs (:func:`check_recordable`): if the profile does not run the notebook
        or its source records no tables. After the run: if its results list no tables to record,
        a listed table is not a plain name, is missing or larger than :data:`MAX_TABLE_BYTES`, or
        the tables or parameters lack what the chapter reads (:data:`CHAPTER_READS`); nothing is
        written then.
    NotebookFailed
        If the notebook fails (the previous recording is kept).
    """
    from qlatent.experiments.canary import MANIFEST_KEY
    from qlatent.paths import profiles_file
    from qlatent.provenance import environment_info
    from qlatent.runner.execution import execute
    from qlatent.runner.profiles import get_profile

    name, parameters = check_recordable(chapter, profile)
    started = time.perf_counter()
    cpu_started = os.times()
    # What made the results is read before they are made: the checkout may change during a long run.
    environment, code_files = environment_info(), code_file_hashes()
    canary = record_canary(name)
    result = execute(name, get_profile(profiles_file(), profile).notebooks[name], force=force, profile=profile,
                     origin="record")
    source = results_dir() / name
    manifest_path = source / "manifest.json"
    try:
        results = load_json(manifest_path, "results manifest")
    except BadFileError as error:
        raise RecordingError(f"{name} left no readable results manifest: {error}") from None
    if not isinstance(results, dict):
        raise RecordingError(f"{name} left no readable results manifest: {manifest_path} is not a JSON object")
    tables = results.get("recorded_tables") or []
    if not tables:
        raise RecordingError(f"notebook {name!r} lists no recorded_tables in {manifest_path}; nothing to record")
    if not isinstance(tables, list):
        raise RecordingError(f"{manifest_path}: recorded_tables is {json.dumps(tables)[:80]}, not a list of names")
    files = {}
    for table in tables:
        _check_table_name(table, str(manifest_path))
        path = source / f"{table}.csv"
        if not path.is_file():
            raise RecordingError(f"notebook {name!r} lists table {table!r}, but {path} does not exist")
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise RecordingError(f"table {path} is {path.stat().st_size} bytes, more than the {MAX_TABLE_BYTES} "
                                 "a committed recording may hold; record a smaller summary of it")
        files[path.name] = path
    schema = chapter_reads(name, profile)
    if schema is not None:
        check_schema(schema, {Path(file).stem: pd.read_csv(path, nrows=0).columns for file, path in files.items()},
                     parameters, f"of {name} made from {source}", name)
    cpu = os.times()
    return store_recording(recording_path(name, profile), files, {
        "chapter": name,
        "profile": profile,
        "parameters": parameters,
        "environment": environment,
        "code_files": code_files,
        "code_changed_during_recording": _changed_files(code_files, code_file_hashes()),
        MANIFEST_KEY: canary,
        "machine": machine_info(),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notebook_status": result.status,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "cpu_time_s": round((cpu.children_user + cpu.children_system)
                            - (cpu_started.children_user + cpu_started.children_system), 1),
        "training_compute_s": _training_seconds(source),
    })


def machine_info() -> dict[str, Any]:
    """The machine a recording was made on, as its manifest names it."""
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(), "node": platform.node()}


def store_recording(target: Path, files: dict[str, Path], manifest: dict[str, Any]) -> Path:
    """Copy ``files`` (name in the recording → source path) to ``target`` with ``manifest.json``
    (``manifest`` plus ``files``: each file's SHA-256), staged beside ``target`` and swapped in
    whole, so a reader sees the old recording or the new one; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        for file_name, path in files.items():
            shutil.copyfile(path, staging / file_name)
        atomic_write_json(staging / "manifest.json", {
            **manifest, "files": {file_name: sha256_file(staging / file_name) for file_name in files}})
        previous = target.with_name(f".{target.name}.previous")
        if target.exists():
            shutil.rmtree(previous, ignore_errors=True)
            target.rename(previous)
        staging.rename(target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def short_commit(commit: str | None) -> str:
    """A commit shortened to 12 hex digits, keeping its ``-dirty`` marker (uncommitted changes)."""
    if not commit:
        return "an unknown commit"
    dirty = commit.endswith("-dirty")
    return commit.removesuffix("-dirty")[:12] + ("-dirty" if dirty else "")


@dataclass
class Recording:
    """A verified recording: its tables, its manifest and what changed in qlatent since."""

    chapter: str
    profile: str
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    _staleness: Staleness | None = field(default=None, init=False, repr=False, compare=False)

    def changed_code_files(self) -> list[str]:
        """qlatent source files added, removed or changed since the recording was made."""
        then, now = self.manifest.get("code_files", {}), code_file_hashes()
        return sorted(path for path in set(then) | set(now) if then.get(path) != now.get(path))

    def stale_parameters(self) -> list[str]:
        """Parameters whose recorded value differs from what the profile file gives the chapter now.

        Raises
        ------
        RecordingError
            If the profile file no longer runs the chapter under this profile.
        qlatent.runner.errors.RunnerError
            If the profile file is unreadable or no longer has this profile.
        """
        # compared as the manifest stores them: JSON turns a mapping's int keys ({32: [...]}) into strings
        expected = json.loads(json.dumps(effective_parameters(self.chapter, self.profile)))
        recorded = self.manifest.get("parameters", {})
        return sorted(key for key in set(expected) | set(recorded) if expected.get(key) != recorded.get(key))

    def describe(self) -> str:
        """One Markdown paragraph: when, where and how long, whether its parameters are still the
        profile's, and whether the code changed since."""
        manifest = self.manifest
        commit = short_commit(manifest["environment"].get("git_commit"))
        compute = manifest.get("training_compute_s")
        spent = f": {compute / 3600:.2f} h of training compute" if compute else ""
        text = (f"Recorded with the `{self.profile}` profile on {manifest['recorded_at'][:10]} at commit `{commit}` "
                f"on a {manifest['machine']['cpus']}-CPU {manifest['machine']['processor']} machine "
                f"({manifest['environment']['platform']}){spent}.")
        if manifest.get("partial"):
            reached = ", ".join(f"{job} {step}" for job, step in manifest.get("progress", {}).items())
            text += (f" **A partial recording**: training is still under way; steps reached so far: {reached}. "
                     "Its numbers are those of the runs as far as they went, not of the profile's budget.")
        from qlatent.runner.errors import RunnerError

        try:
            stale = self.stale_parameters()
        except (RecordingError, RunnerError) as error:
            text += f" **Its profile can no longer be checked**: {error}."
        else:
            if stale:
                text += (f" **Its parameters are no longer the `{self.profile}` profile's** "
                         f"({', '.join(f'`{key}`' for key in stale)} differ from `notebooks/profiles.yml`).")
        return f"{text} {self.staleness().summary()}"

    def staleness(self) -> Staleness:
        """Whether the current code still computes this recording's numbers, by its canary
        (:func:`qlatent.experiments.canary.staleness`; re-run at most once per recording object)."""
        if self._staleness is None:
            from qlatent.experiments.canary import staleness

            self._staleness = staleness(self)
        return self._staleness


def _refuse_links(*paths: Path) -> None:
    """Raise :class:`RecordingError` if any of a recording's folders or files is a symbolic link:
    a link would show numbers from outside ``data/recorded`` that its checksums do not vouch for."""
    for path in paths:
        if path.is_symlink():
            raise RecordingError(f"recording path {path} is a symbolic link; only plain folders and files that "
                                 f"`qlatent record` wrote inside {recorded_dir()} are read")


def load_recording(chapter: str, profile: str, schema: RecordingSchema | None = None) -> Recording | None:
    """The verified recording of ``chapter`` under ``profile``, or ``None`` if there is none.

    ``schema`` is what the caller reads from it; by default the chapter's entry of
    :data:`CHAPTER_READS` (nothing for a chapter without one).

    Raises
    ------
    RecordingError
        If the manifest is unreadable, names another chapter or profile than its folder (a
        recording copied into the wrong folder), has a field missing or of the wrong kind (named),
        lists a file that is not a plain table name inside the folder, or a file it lists is
        missing, fails its checksum or is not a CSV table, or a table, column or parameter of
        ``schema`` is missing (named); or if the chapter's folder, the
        recording's folder, its manifest or a file it lists is a symbolic link, or the folder
        resolves to a place other than ``data/recorded/<chapter>/<profile>``.
    """
    folder = recording_path(chapter, profile)
    manifest_path = folder / "manifest.json"
    _refuse_links(folder.parent, folder, manifest_path)
    if not folder.exists():
        return None
    if folder.resolve() != recorded_dir().resolve() / chapter / profile:
        raise RecordingError(f"recording {folder} lies outside {recorded_dir()}: only recordings "
                             "`qlatent record` wrote there are read")
    if not manifest_path.exists():
        raise RecordingError(f"recording {folder} has no manifest.json")
    try:
        manifest = load_json(manifest_path, "recording manifest")
    except BadFileError as error:
        raise RecordingError(str(error)) from None
    if not isinstance(manifest, dict):
        raise RecordingError(f"recording manifest {manifest_path} is unreadable: not a JSON object")
    for key, expected in (("chapter", chapter), ("profile", profile)):
        if manifest.get(key) != expected:
            raise RecordingError(
                f"recording manifest {manifest_path} says {key} {manifest.get(key)!r}, but it sits in the "
                f"folder of {key} {expected!r}: a recording is only valid where `qlatent record` put it; "
                f"record it with `qlatent record {chapter} --profile {profile}`"
            )
    _check_manifest(manifest, manifest_path)
    tables = {}
    for file_name, checksum in manifest["files"].items():
        path = folder / file_name
        _refuse_links(path)
        if not path.is_file():
            raise RecordingError(f"recording file {path} is missing (listed in {manifest_path})")
        if sha256_file(path) != checksum:
            raise RecordingError(f"recording file {path} does not match the checksum in {manifest_path}: "
                                 "it was changed or corrupted; re-record it")
        try:
            tables[Path(file_name).stem] = pd.read_csv(path)
        except ValueError as error:  # pandas' parser errors, an empty file, bytes that are not text
            raise RecordingError(f"recording file {path} cannot be read as a table ({type(error).__name__}: "
                                 f"{' '.join(str(error).split())[:200]}); re-record it") from None
    schema = schema if schema is not None else chapter_reads(chapter, profile)
    if schema is not None:
        check_schema(schema, {name: table.columns for name, table in tables.items()}, manifest["parameters"],
                     str(folder), chapter)
    return Recording(chapter, profile, manifest, tables)


class RecordingStatus(NamedTuple):
    """What ``qlatent recordings`` says of one recording."""

    #: One line: ``PROBLEM: ...`` (unreadable, damaged or malformed), or the date, ``STALE: ...``
    #: when its parameters are no longer the profile's, and whether qlatent's code changed since.
    line: str
    #: Whether the line reports a problem (PROBLEM or STALE): the command then exits with status 1.
    problem: bool


def recording_status(chapter: str, profile: str) -> RecordingStatus:
    """Is the recording intact, do its parameters match the profile file, did the code change?"""
    from qlatent.runner.errors import RunnerError

    try:
        recording = load_recording(chapter, profile)
        if recording is None:
            return RecordingStatus("none", False)
        differ = recording.stale_parameters()
    except (RecordingError, RunnerError, OSError, ValueError) as error:  # a listing reports, never raises
        return RecordingStatus(f"PROBLEM: {error}", True)
    notes = []
    if differ:
        notes.append(f"STALE: parameters differ from the profile file ({', '.join(differ)})")
    changed = recording.changed_code_files()
    notes.append(f"code changed since in {len(changed)} file(s)" if changed else "code unchanged")
    return RecordingStatus(f"{recording.manifest['recorded_at'][:10]}, " + "; ".join(notes), bool(differ))


def largest_recording(chapter: str, profiles: tuple[str, ...] = ("paper", "standard")) -> Recording | None:
    """The recording of the first of ``profiles`` (largest first) that exists, or ``None``."""
    for profile in profiles:
        recording = load_recording(chapter, profile)
        if recording is not None:
            return recording
    return None
