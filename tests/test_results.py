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


def test_a_staging_store_writes_aside_until_published(tmp_path, monkeypatch):
    from qlatent.results import STAGING_ENV, publish_staged

    monkeypatch.setenv("QLATENT_RESULTS", str(tmp_path / "results"))
    old = ResultStore("chapter")
    old.save_table("kept_until_published", pd.DataFrame({"x": [0]}))
    old.save_table("values", pd.DataFrame({"x": [0]}))
    old.write_manifest({"run": "old"})
    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "staging"))
    store = ResultStore("chapter")
    assert store.path == tmp_path / "results" / "chapter" and store.write_path == tmp_path / "staging" / "chapter"
    store.save_table("values", pd.DataFrame({"x": [1]}))
    assert store.load_table("values")["x"].tolist() == [1]  # this execution's
    assert store.load_table("kept_until_published")["x"].tolist() == [0]  # not saved now: the published one
    store.write_manifest({"run": "new"})
    assert store.read_manifest()["tables"] == ["values"]
    assert ResultStore("chapter", root=tmp_path / "results" / "chapter").read_manifest()["parameters"] == {"run": "old"}
    assert publish_staged(tmp_path / "staging") == ["chapter"]
    assert not (tmp_path / "staging").exists()
    published = ResultStore("chapter", root=tmp_path / "results" / "chapter")
    assert published.read_manifest()["parameters"] == {"run": "new"}
    assert published.load_table("values")["x"].tolist() == [1]
    assert not (tmp_path / "results" / "chapter" / "kept_until_published.csv").exists()


def test_writers_return_nothing_so_a_cell_ending_in_one_prints_no_path(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = ResultStore("demo", root=tmp_path / "demo")
    figure = plt.figure()
    assert store.save_table("values", pd.DataFrame({"x": [1]})) is None
    assert store.save_figure("plot", figure) is None
    assert store.write_manifest({"seed": 1}) is None
    plt.close(figure)
    assert (tmp_path / "demo" / "values.csv").is_file()
    assert (tmp_path / "demo" / "figures" / "plot.png").is_file()
    assert (tmp_path / "demo" / "manifest.json").is_file()
