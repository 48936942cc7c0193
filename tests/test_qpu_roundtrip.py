"""Every circuit kind hashes identically after a trip through the store's JSON (the content address).

A sample set is filed under the SHA-256 of its request; ``samples verify`` re-reads the request
from the sidecar and hashes it again. Any value that changes on that trip (a signed zero, a tuple,
an integer dtype) would make a freshly written set fail verification, so each kind is built in
several ways, described, written, read back and described again.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from qlatent.photonics.clements import clements_interferometer, n_mzis
from qlatent.photonics.interferometers import KINDS, Interferometer, from_matrix, haar_interferometer
from qlatent.photonics.timebin import random_timebin_interferometer, timebin_interferometer
from qlatent.photonics.validation import complex_from_parts
from qlatent.qpu import SampleRequest, SampleStore, get_or_sample
from qlatent.qpu.sampleset import FORMAT, recorded_request_id


def _clements(n_modes: int, seed: int) -> Interferometer:
    rng = np.random.default_rng(seed)
    count = n_mzis(n_modes)
    return clements_interferometer(n_modes, rng.uniform(0, np.pi / 2, count), rng.uniform(0, 2 * np.pi, count),
                                   rng.uniform(0, 2 * np.pi, n_modes))


def _signed_zero_matrix(n_modes: int, seed: int) -> Interferometer:
    """A permutation with phases whose zero entries carry both signs, real and imaginary."""
    rng = np.random.default_rng(seed)
    real = np.zeros((n_modes, n_modes))
    imag = np.where(rng.random((n_modes, n_modes)) < 0.5, -0.0, 0.0)
    real = np.where(rng.random((n_modes, n_modes)) < 0.5, -0.0, real)
    for row, column in enumerate(rng.permutation(n_modes)):
        real[row, column] = -1.0 if rng.random() < 0.5 else 1.0
    return from_matrix(complex_from_parts(real, imag))


# Each kind of KINDS several times: random settings, the integer-angle and all-zero edge cases
# that produce exact (signed) zeros in the unitary, and a generator-seeded Haar matrix.
CIRCUITS = {
    **{f"haar-{seed}": (lambda seed=seed: haar_interferometer(5, seed=seed)) for seed in range(3)},
    "haar-generator": lambda: haar_interferometer(4, np.random.default_rng(11)),
    **{f"clements-{seed}": (lambda seed=seed: _clements(5, seed)) for seed in range(3)},
    "clements-zero": lambda: clements_interferometer(4, np.zeros(n_mzis(4)), np.zeros(n_mzis(4)), np.zeros(4)),
    **{f"timebin-{seed}": (lambda seed=seed: random_timebin_interferometer(6, [1, 2], seed=seed))
       for seed in range(5)},
    "timebin-swap": lambda: timebin_interferometer(5, (1,), np.full(4, np.pi / 2)),
    "timebin-integer-angles": lambda: timebin_interferometer(4, np.array([1, 3]), np.arange(4), np.arange(4)),
    **{f"matrix-{seed}": (lambda seed=seed: _signed_zero_matrix(4, seed)) for seed in range(3)},
    "matrix-lossy": lambda: from_matrix(0.5 * haar_interferometer(3, seed=1).unitary, allow_subunitary=True),
}


def test_the_cases_cover_every_circuit_kind():
    assert {build().kind for build in CIRCUITS.values()} == set(KINDS)


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_request_hash_survives_the_json_round_trip(name):
    interferometer = CIRCUITS[name]()
    request = SampleRequest("local", interferometer, (1, 1) + (0,) * (interferometer.n_modes - 2), 7, seed=5)
    rebuilt = SampleRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert rebuilt.circuit["sha256"] == request.circuit["sha256"]
    assert rebuilt.request_id() == request.request_id()
    assert rebuilt.to_dict() == request.to_dict()
    # Bit for bit, signed zeros included (== alone would call -0.0 and 0.0 equal).
    assert rebuilt.unitary.tobytes() == np.ascontiguousarray(interferometer.unitary).tobytes()
    again = SampleRequest.from_dict(json.loads(json.dumps(rebuilt.to_dict())))
    assert again.request_id() == request.request_id()


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_interferometer_description_survives_the_json_round_trip(name):
    interferometer = CIRCUITS[name]()
    rebuilt = Interferometer.from_dict(json.loads(json.dumps(interferometer.to_dict())))
    assert json.dumps(rebuilt.to_dict(), sort_keys=True) == json.dumps(interferometer.to_dict(), sort_keys=True)
    assert rebuilt.fingerprint() == interferometer.fingerprint()


def test_complex_from_parts_keeps_signed_zeros_and_checks_shapes():
    array = complex_from_parts([[-0.0, 1.0]], [[-0.0, 0.0]])
    assert np.signbit(array.real).tolist() == [[True, False]]
    assert np.signbit(array.imag).tolist() == [[True, False]]
    with pytest.raises(ValueError, match=r"real part has shape \(2,\) but imaginary part \(3,\)"):
        complex_from_parts([0.0, 1.0], [0.0, 1.0, 2.0])


def test_a_store_holding_time_bin_sets_verifies(tmp_path):
    store = SampleStore(tmp_path)
    for name in ("timebin-0", "timebin-1", "timebin-swap", "haar-0", "matrix-0"):
        interferometer = CIRCUITS[name]()
        state = (1, 1) + (0,) * (interferometer.n_modes - 2)
        get_or_sample(SampleRequest("local", interferometer, state, 20, seed=1), store, progress=False)
    assert len(store.ids()) == 5
    assert store.verify() == {}
    for request_id in store.ids():
        sample_set = store.load(request_id)
        assert sample_set.provenance["format"] == FORMAT
        assert sample_set.request.request_id() == request_id


def test_a_set_of_an_older_format_is_reported_as_such(tmp_path):
    store = SampleStore(tmp_path)
    request = SampleRequest("local", CIRCUITS["timebin-0"](), (1, 1, 0, 0, 0, 0), 10, seed=1)
    get_or_sample(request, store, progress=False)
    npz_path, json_path = store.paths(request.request_id())
    # What a format-1 qlatent wrote: its id hashed format 1, and its sidecar had no provenance checksum.
    provenance = json.loads(json_path.read_text())
    provenance["format"] = "qlatent.sampleset/1"
    del provenance["provenance_sha256"]
    provenance["request_id"] = old_id = recorded_request_id(provenance)
    json_path.unlink()
    npz_path.rename(store.paths(old_id)[0])
    json_path = store.paths(old_id)[1]
    json_path.write_text(json.dumps(provenance))
    assert store.load(old_id).provenance["format"] == "qlatent.sampleset/1"  # still readable
    (message,) = store.verify()[json_path.name]
    assert message.startswith(f"format 'qlatent.sampleset/1', not this qlatent's {FORMAT!r}: written by another "
                              "version")
    assert "delete both files" in message
