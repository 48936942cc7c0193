import json

import numpy as np
import pytest

from qlatent.io import atomic_path, atomic_write_json, atomic_write_text, sha256_file


def test_atomic_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("good")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_atomic_path_keeps_suffix_for_numpy(tmp_path):
    target = tmp_path / "counts.npz"
    with atomic_path(target) as tmp:
        np.savez(tmp, counts=np.arange(3))
    assert np.load(target)["counts"].tolist() == [0, 1, 2]


def test_json_and_checksum(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}
    assert sha256_file(target) == sha256_file(target) and len(sha256_file(target)) == 64


def test_written_files_get_the_umask_mode_not_0600(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        target = tmp_path / "shared.txt"
        atomic_write_text(target, "x")
        assert target.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(umask)


def test_an_error_writing_names_the_target_not_the_temporary_file(tmp_path):
    import errno

    target = tmp_path / "table.npz"

    def full_disk(tmp):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    for raised in (OSError(errno.ENOSPC, "No space left on device"), None):
        with pytest.raises(OSError, match=rf"No space left on device: '{target}'") as caught:
            with atomic_path(target) as tmp:
                if raised is not None:
                    raise raised
                full_disk(tmp)
        assert caught.value.errno == errno.ENOSPC
    with pytest.raises(FileNotFoundError, match="elsewhere"):  # an error naming another file keeps its name
        with atomic_path(target):
            open(tmp_path / "elsewhere" / "x")
    assert list(tmp_path.iterdir()) == []
