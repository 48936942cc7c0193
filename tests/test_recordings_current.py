"""The committed recordings: intact, and recorded with the parameters the profile file names today.

A recording whose profile entry was edited since it was made fails here until it is re-recorded
(``qlatent record CHAPTER --profile standard``); a chapter that must have a recording and lacks
one fails too.
"""

import pytest
from conftest import REPO

from qlatent.recording import load_recording

#: Chapters whose standard profile is recorded and committed.
RECORDED = ["03_mixture", "04_discrete", "05_qm9", "06_flows_diffusion"]


def _recordings():
    return sorted((path.parent.name, path.name) for path in (REPO / "data" / "recorded").glob("*/*")
                  if path.is_dir() and not path.name.startswith("."))


def test_every_required_recording_exists():
    found = set(_recordings())
    missing = [chapter for chapter in RECORDED if (chapter, "standard") not in found]
    assert not missing, f"no committed standard recording for {missing}"


@pytest.mark.parametrize(("chapter", "profile"), _recordings())
def test_recording_is_intact_and_matches_the_profile_file(chapter, profile, monkeypatch):
    monkeypatch.setenv("QLATENT_ROOT", str(REPO))
    recording = load_recording(chapter, profile)  # checks every file against its checksum
    assert recording is not None and recording.tables
    differ = recording.stale_parameters()
    assert not differ, (f"{chapter}/{profile} was recorded with other parameters than notebooks/profiles.yml names "
                        f"now ({differ}); re-record it with `qlatent record {chapter} --profile {profile}`")
