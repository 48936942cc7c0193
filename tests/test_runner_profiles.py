"""The profiles file: readable, checked, with one-line errors naming the culprit."""

from pathlib import Path

import pytest
from conftest import REPO

from qlatent.runner.errors import RunnerError
from qlatent.runner.profiles import get_profile, load_profiles

#: Profiles of some chapters only, recorded by a command of their own (``long``: qlatent.experiments.qm9_long).
RECORDING_ONLY = {"long"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yml"
    path.write_text(text)
    return path


def test_project_profiles_are_valid_and_make_the_same_book_as_the_toc():
    import yaml

    profiles = load_profiles(REPO / "notebooks" / "profiles.yml")
    assert {"quick", "standard", "paper"} <= set(profiles)
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    # Executed chapters only: plain pages (run it yourself, references) are not notebooks.
    pages = [chapter["file"].split("/")[-1] for part in toc["parts"] for chapter in part["chapters"]
             if chapter["file"].startswith("book/executed/")]
    for profile in profiles.values():
        if profile.name in RECORDING_ONLY:  # recorded by its own command, never built as a book
            assert [page for page in pages if page in profile.notebooks] == list(profile.notebooks)
            continue
        assert list(profile.notebooks) == pages, f"profile {profile.name} must run the book's chapters in its order"
    for profile in profiles.values():
        for name in profile.notebooks:
            assert (REPO / "notebooks" / f"{name}.ipynb").is_file(), f"{profile.name} names missing notebook {name}"


def test_project_profiles_only_set_declared_parameters_of_the_right_type():
    from qlatent.experiments.qm9_long import RECORDING_PARAMETERS
    from qlatent.runner.execution import check_parameters

    for profile in load_profiles(REPO / "notebooks" / "profiles.yml").values():
        for name, parameters in profile.notebooks.items():
            if profile.name in RECORDING_ONLY:  # its command's own parameters are not the notebook's
                parameters = {key: value for key, value in parameters.items() if key not in RECORDING_PARAMETERS}
            check_parameters(name, REPO / "notebooks" / f"{name}.ipynb", parameters)  # raises naming the culprit


def test_order_and_null_parameters(tmp_path):
    path = write(tmp_path, "quick:\n  notebooks:\n    b:\n    a: {x: 1}\n")
    profile = get_profile(path, "quick")
    assert list(profile.notebooks) == ["b", "a"]
    assert profile.notebooks == {"b": {}, "a": {"x": 1}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("quick: [1, 2\n", r"not valid YAML at line"),
        ("- a\n- b\n", "must map profile names"),
        ("", "must map profile names"),
        ("quick:\n  description: x\n", "must have a 'notebooks' mapping"),
        ("quick:\n  notebooks:\n    a: 3\n", "parameters of 'a' must be a mapping"),
        ("quick:\n  notebook: {}\n  notebooks: {}\n", "unknown keys: notebook"),
    ],
)
def test_malformed_profiles(tmp_path, text, message):
    with pytest.raises(RunnerError, match=message):
        load_profiles(write(tmp_path, text))


def test_unknown_profile_lists_known(tmp_path):
    path = write(tmp_path, "quick:\n  notebooks: {}\npaper:\n  notebooks: {}\n")
    with pytest.raises(RunnerError, match="unknown profile 'fast'; known profiles: quick, paper"):
        get_profile(path, "fast")


def test_missing_file(tmp_path):
    with pytest.raises(RunnerError, match="profiles file not found"):
        load_profiles(tmp_path / "absent.yml")
