import pandas as pd
import pytest

from qlatent.results import ResultStore


def test_table_round_trip_and_manifest(tmp_path):
    store = ResultStore("demo", root=tmp_path / "demo")
    table = pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]})
    store.save_table("values", table)
    pd.testing.assert_frame_equal(store.load_table("values"), table)
    store.write_manifest({"seed": 3})
    manifest = store.read_manifest()
    assert manifest["status"] == "complete"
    assert manifest["parameters"] == {"seed": 3}
    assert manifest["tables"] == ["values"]
    assert manifest["environment"]["versions"]["qlatent"]


def test_missing_table_names_file(tmp_path):
    store = ResultStore("demo", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no table 'absent' for experiment 'demo'"):
        store.load_table("absent")


@pytest.mark.parametrize("name", ["../escape", "", "a/b", ".hidden"])
def test_bad_names_refused(tmp_path, name):
    with pytest.raises(ValueError, match="name"):
        ResultStore("demo", root=tmp_path).save_table(name, pd.DataFrame())


def test_default_location_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QLATENT_RESULTS", str(tmp_path))
    assert ResultStore("chapter").path == tmp_path / "chapter"
