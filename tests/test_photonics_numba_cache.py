"""Numba's on-disk cache is keyed by the jitted sources: a kernel calling into another module must not keep
running that module's old code after it changed (Numba checks a cached kernel against its own file only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import qlatent.photonics as photonics


def cache_dir_in_a_fresh_process(environment_dir: str, import_numba_first: bool = False,
                                  stderr: list[str] | None = None) -> str:
    code = ("import numba\n" if import_numba_first else "") + \
        "import qlatent.photonics.sampling, numba; print(numba.config.CACHE_DIR)"
    env = {**os.environ, "NUMBA_CACHE_DIR": environment_dir}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    if stderr is not None:
        stderr.append(done.stderr)
    return done.stdout.strip()


def test_the_cache_folder_is_keyed_by_the_jitted_sources(tmp_path):
    keyed = str(tmp_path / f"src-{photonics.source_digest()}")
    assert cache_dir_in_a_fresh_process(str(tmp_path), import_numba_first=False) == keyed
    assert cache_dir_in_a_fresh_process(str(tmp_path), import_numba_first=True) == keyed
    assert cache_dir_in_a_fresh_process(keyed, import_numba_first=False) == keyed  # a worker's inherited folder
    # a folder keyed by an older version (a long-lived shell's environment) is replaced, not nested
    assert cache_dir_in_a_fresh_process(str(tmp_path / "src-0123456789abcdef")) == keyed


def test_a_cache_folder_numba_cannot_write_falls_back_to_a_keyed_one(tmp_path):
    # Numba itself falls back, silently, to an unkeyed cache beside the sources, where stale callees return
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    stderr: list[str] = []
    used = cache_dir_in_a_fresh_process(str(blocked), stderr=stderr)
    assert used == str(Path(tempfile.gettempdir()) / "qlatent-numba" / f"src-{photonics.source_digest()}")
    assert "is not writable" in stderr[0]


def test_changing_any_jitted_module_changes_the_key(tmp_path):
    folder = Path(photonics.__file__).parent
    for name in photonics.JITTED_SOURCES:
        shutil.copy(folder / name, tmp_path / name)
    original = photonics.source_digest(tmp_path)
    assert original == photonics.source_digest()
    for name in photonics.JITTED_SOURCES:
        text = (tmp_path / name).read_text()
        (tmp_path / name).write_text(text + "\n")
        assert photonics.source_digest(tmp_path) != original, name
        (tmp_path / name).write_text(text)
