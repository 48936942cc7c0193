"""Canaries: a recording's numbers are checked against the current code by re-running a tiny seeded run."""

from __future__ import annotations

import json
import math

import pytest
from test_recording import in_project, tiny_project  # noqa: F401 - fixtures

from qlatent.experiments import canary as canary_module
from qlatent.experiments.canary import CANARIES, moved_metrics, run_canary, same_number, staleness
from qlatent.recording import Recording, code_file_hashes, record


def recording(canary=None, changed=()):
    """A recording whose manifest differs from the current code in the files ``changed``."""
    files = code_file_hashes()
    for name in changed:
        files[name] = "0" * 64
    manifest = {"code_files": files, **({"canary": canary} if canary is not None else {})}
    return Recording("03_mixture", "standard", manifest)


def never(chapter):
    raise AssertionError(f"the canary of {chapter} was run")


def test_numbers_are_the_same_to_six_significant_digits():
    assert same_number(0.4761578537090072, 0.4761578537090072)
    assert same_number(0.4761578537090072, 0.47615785)  # float32 on another CPU: the last bits
    assert not same_number(0.4761578537090072, 0.4761598)
    assert same_number(0.0, 1e-14) and not same_number(0.0, 1e-3)


def test_moved_metrics_names_what_differs_or_is_missing():
    recorded = {"boson.mmd": 0.5, "boson.modes_covered": 1.0, "gaussian.mmd": 0.4}
    now = {"boson.mmd": 0.6, "boson.modes_covered": 1.0, "boson.fcd": 3.0}
    assert moved_metrics(recorded, now) == {"boson.fcd": (None, 3.0), "boson.mmd": (0.5, 0.6),
                                           "gaussian.mmd": (0.4, None)}
    assert moved_metrics(recorded, dict(recorded)) == {}


def test_unchanged_code_shows_nothing_and_runs_nothing():
    check = staleness(recording(canary={"boson.mmd": 0.5}), run=never)
    assert check.banner() is None
    assert check.summary() == "qlatent's code is unchanged since."


def test_changed_code_with_the_same_canary_numbers_shows_no_banner():
    check = staleness(recording(canary={"boson.mmd": 0.5}, changed=["stats.py"]), run=lambda _: {"boson.mmd": 0.5})
    assert check.banner() is None
    assert "the changes do not change its results" in check.summary()
    assert check.changed_files_note() == ("qlatent files changed since this recording (1): `stats.py`; the canary "
                                          "run gives the recorded numbers (1 metrics, to 6 significant digits).")


def test_changed_numbers_give_a_one_line_banner_naming_what_moved():
    recorded = {"boson.mmd": 0.5, "gaussian.mmd": 0.25, "boson.between_modes": 0.1, "gaussian.between_modes": 0.2}
    now = {"boson.mmd": 0.625, "gaussian.mmd": 0.25, "boson.between_modes": 0.3, "gaussian.between_modes": 0.4}
    check = staleness(recording(canary=recorded, changed=["models/gan.py"]), run=lambda _: now)
    banner = check.banner()
    assert "\n" not in banner
    assert banner.startswith("**The current code computes different numbers** on this chapter's canary run ("
                             "boson.between_modes 0.1 → 0.3, boson.mmd 0.5 → 0.625, gaussian.between_modes 0.2 → 0.4):")
    assert "`qlatent record 03_mixture --profile standard`" in banner
    assert check.summary() == banner
    assert "gives different numbers in 3 metric(s)" in check.changed_files_note()


def test_a_recording_without_a_canary_says_plainly_that_it_was_not_checked():
    check = staleness(recording(changed=["stats.py", "models/gan.py"]), run=never)
    assert check.banner() == ("**Not checked against the current code**: this recording predates the canary check, "
                              "and 2 qlatent file(s) changed since it was made; `qlatent record 03_mixture --profile "
                              "standard` would record it with the current code.")
    assert check.changed_files_note().endswith("`models/gan.py`, `stats.py`; this recording has no canary, "
                                               "so their effect on its numbers was not checked.")


def test_a_chapter_without_a_canary_is_refused():
    with pytest.raises(KeyError, match="chapter '01_interference' has no canary; chapters with one: 03_mixture"):
        run_canary("01_interference")


def test_undefined_metrics_are_left_out_so_the_manifest_is_strict_json(monkeypatch):
    monkeypatch.setitem(CANARIES, "98_tiny", lambda folder: {"b.fcd": math.nan, "a.validity": 0.5})
    assert run_canary("98_tiny") == {"a.validity": 0.5}


def test_every_experiment_chapter_has_a_canary():
    assert set(CANARIES) == {"03_mixture", "04_discrete", "05_qm9", "06_flows_diffusion"}


def test_the_canary_is_deterministic_and_sees_a_change_in_the_chapters_path(monkeypatch):
    import torch

    threads = torch.get_num_threads()
    first = run_canary("04_discrete")
    assert torch.get_num_threads() == threads  # restored
    assert set(first) >= {"quantum.boson.l1_integer", "bernoulli.gaussian.l1_integer"}
    assert moved_metrics(first, run_canary("04_discrete")) == {}
    # A change to how the chapter seeds its evaluation: the canary's numbers move.
    from qlatent.experiments import discrete

    seeded = discrete.derived_seed
    monkeypatch.setattr(discrete, "derived_seed", lambda seed, *names: seeded(seed + 1, *names))
    assert "quantum.boson.l1_integer" in moved_metrics(first, run_canary("04_discrete"))


def test_record_stores_the_chapters_canary(in_project, monkeypatch):  # noqa: F811 - the fixture
    monkeypatch.setitem(CANARIES, "98_tiny", lambda folder: {"scores.value": 3.0})
    folder = record("98_tiny", "standard")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest[canary_module.MANIFEST_KEY] == {"scores.value": 3.0}
