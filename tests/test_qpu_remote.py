"""The remote backend against a local stand-in for the cloud: Perceval's real client, every fault in the issue."""

from __future__ import annotations

import numpy as np
import pytest

from qlatent.photonics.interferometers import haar_interferometer
from qlatent.qpu import (
    CircuitTooLargeError,
    MissingTokenError,
    RejectedTokenError,
    RemoteJobError,
    SampleRequest,
    SampleStore,
    UnknownPlatformError,
    get_or_sample,
)
from qlatent.qpu.backends import perceval_remote
from qlatent.qpu.backends.perceval_remote import RemoteBackend

pytest.importorskip("perceval")
from qpu_mock_server import DEFAULT_SPECS, MockCloud  # noqa: E402 (tests/ is on sys.path under pytest)

N_SAMPLES, CHUNK = 50, 20  # three jobs: 20 + 20 + 10


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch):
    """Only the tokens a test passes exist: no environment variable, no saved Perceval token."""
    monkeypatch.delenv("QLATENT_QPU_TOKEN", raising=False)
    monkeypatch.delenv("PCVL_CLOUD_TOKEN", raising=False)
    monkeypatch.setattr(perceval_remote, "_saved_perceval_token", lambda: None)


@pytest.fixture
def cloud():
    with MockCloud() as mock:
        yield mock


def remote(cloud, platform="sim:mock", **options):
    settings = {"token": "test-token", "url": cloud.url, "chunk_size": CHUNK, "poll_interval": 0.005,
                "backoff": 0.005, "max_retries": 3, "request_timeout": 0.3, **options}
    return RemoteBackend(platform, **settings)


def make_request(n_modes=4, input_state=(1, 1, 0, 0), n_samples=N_SAMPLES, platform="sim:mock", **options):
    return SampleRequest(f"remote:{platform}", haar_interferometer(n_modes, seed=3), input_state, n_samples,
                         **options)


def submitted(cloud):
    return [path for method, path in cloud.log if method == "POST" and path == "/api/job"]


def test_remote_run_sends_our_circuit_and_keeps_every_job(cloud, tmp_path):
    request = make_request()
    store = SampleStore(tmp_path)
    sample_set = get_or_sample(request, store, progress=False, backend=remote(cloud))
    assert sample_set.counts.shape == (N_SAMPLES, 4) and np.all(sample_set.counts.sum(axis=1) == 2)
    assert len(cloud.jobs) == 3 and sorted(job["size"] for job in cloud.jobs.values()) == [10, 20, 20]
    for job in cloud.jobs.values():
        np.testing.assert_allclose(job["unitary"], request.unitary, atol=1e-12)
        assert job["input_state"] == [1, 1, 0, 0]
        assert job["request"]["platform_name"] == "sim:mock" and job["command"] == "samples"
    details = sample_set.provenance["backend"]
    assert [job["job_id"] for job in details["jobs"]] == list(cloud.jobs)
    assert details["platform"] == "sim:mock" and details["platform_type"] == "simulator"
    assert details["platform_specs"]["constraints"]["max_mode_count"] == 12
    assert store.verify() == {} and not store.partial(request.request_id()).path.exists()
    again = get_or_sample(request, store, backend=remote(cloud))
    assert again.counts.tobytes() == sample_set.counts.tobytes() and len(cloud.jobs) == 3


def test_missing_token_fails_before_any_request(cloud):
    with pytest.raises(MissingTokenError, match="QLATENT_QPU_TOKEN"):
        RemoteBackend("sim:mock", url=cloud.url)
    assert cloud.log == []


def test_token_comes_from_the_environment_then_perceval(cloud, monkeypatch):
    monkeypatch.setattr(perceval_remote, "_saved_perceval_token", lambda: "test-token")
    assert RemoteBackend("sim:mock", url=cloud.url).token_source == "perceval RemoteConfig"
    monkeypatch.setenv("QLATENT_QPU_TOKEN", "test-token")
    backend = RemoteBackend("sim:mock", url=cloud.url, poll_interval=0.005)
    assert backend.token_source == "QLATENT_QPU_TOKEN"
    assert backend.sample(make_request(n_samples=5)).n_samples == 5


def test_rejected_token_fails_before_any_job(cloud):
    with pytest.raises(RejectedTokenError, match="rejected the token .* HTTP 401 while fetching platform details"):
        remote(cloud, token="expired").sample(make_request())
    assert submitted(cloud) == []


def test_unknown_platform_lists_the_known_ones(cloud):
    with pytest.raises(UnknownPlatformError,
                       match="'sim:nope' is unknown .* known platforms: sim:slos, sim:belenos, qpu:belenos"):
        remote(cloud, "sim:nope").sample(make_request(platform="sim:nope"))
    assert submitted(cloud) == []


@pytest.mark.parametrize(("n_modes", "input_state", "match"), [
    (13, (1,) * 2 + (0,) * 11, "has 13 modes but platform 'sim:mock' accepts at most 12"),
    (8, (1,) * 7 + (0,), "has 7 photons but platform 'sim:mock' accepts at most 6"),
])
def test_circuit_larger_than_the_platform_fails_before_any_job(cloud, n_modes, input_state, match):
    with pytest.raises(CircuitTooLargeError, match=match):
        remote(cloud).sample(make_request(n_modes, input_state))
    assert submitted(cloud) == []


@pytest.mark.parametrize(("endpoint", "kind", "after"), [
    ("platform", "500", 0),
    ("platform", "timeout", 0),
    ("submit", "503", 1),
    ("submit", "timeout", 1),
    ("submit", "malformed", 0),
    ("status", "timeout", 2),
    ("status", "500", 2),
    ("status", "malformed", 2),
    ("status", "job_error", 2),
    ("results", "malformed", 1),
    ("results", "500", 1),
    ("results", "timeout", 1),
    ("results", "wrong_modes", 1),
])
def test_transient_faults_are_retried(cloud, endpoint, kind, after):
    cloud.inject(endpoint, kind, times=2, after=after)
    sample_set = remote(cloud).sample(make_request())
    assert sample_set.counts.shape == (N_SAMPLES, 4) and np.all(sample_set.counts.sum(axis=1) == 2)
    assert sum(job["n_samples"] for job in sample_set.provenance["backend"]["jobs"]) == N_SAMPLES
    assert cloud.faults[0].times == 0  # both faults were served and survived
    if kind == "job_error":  # a failed job is replaced by a fresh one
        assert len(cloud.jobs) > 3


def test_malformed_results_mid_run_give_up_with_the_job_id_and_resume(cloud, tmp_path):
    store = SampleStore(tmp_path)
    request = make_request()
    cloud.inject("results", "malformed", times=100, after=1)
    with pytest.raises(RemoteJobError, match=r"gave up fetching results on sim:mock \(job [0-9a-f-]{36}\) after "
                                             r"4 faults in a row.*malformed results.*20 samples kept in") as caught:
        get_or_sample(request, store, progress=False, backend=remote(cloud))
    failed_job = caught.value.job_id
    assert failed_job == list(cloud.jobs)[1] and caught.value.n_received == CHUNK
    kept, state = store.partial(request.request_id()).load()
    assert kept.shape == (CHUNK, 4) and state["pending"]["job_id"] == failed_job
    assert request.request_id() not in store
    cloud.faults.clear()
    sample_set = get_or_sample(request, store, progress=False, backend=remote(cloud))
    np.testing.assert_array_equal(sample_set.counts[:CHUNK], kept)
    assert len(submitted(cloud)) == 3  # the job in flight was fetched again, not resubmitted
    assert [job["job_id"] for job in sample_set.provenance["backend"]["jobs"]][1] == failed_job
    assert not store.partial(request.request_id()).path.exists() and store.verify() == {}


@pytest.mark.parametrize(("endpoint", "kind", "what"), [
    ("submit", "500", "submitting a job"),
    ("status", "timeout", "polling the job status"),
    ("status", "job_error", "running a job"),
])
def test_persistent_faults_end_in_a_clear_error_keeping_samples(cloud, tmp_path, endpoint, kind, what):
    store = SampleStore(tmp_path)
    request = make_request()
    cloud.inject(endpoint, kind, times=100, after={"submit": 1, "status": 3}[endpoint])
    with pytest.raises(RemoteJobError, match=f"gave up {what} on sim:mock .*after 4 faults in a row") as caught:
        get_or_sample(request, store, progress=False, backend=remote(cloud, max_retries=3))
    assert caught.value.n_received == CHUNK
    assert (caught.value.job_id is None) == (endpoint == "submit")
    assert store.partial(request.request_id()).load()[0].shape == (CHUNK, 4)


def test_permanent_rejection_of_a_job_is_not_retried(cloud):
    cloud.inject("submit", "400", times=1)
    with pytest.raises(RemoteJobError, match="submitting a job on sim:mock failed with HTTP 400"):
        remote(cloud).sample(make_request())
    assert len(submitted(cloud)) == 1


def test_a_job_past_its_timeout_is_polled_again_on_resume(tmp_path):
    store = SampleStore(tmp_path)
    request = make_request(n_samples=CHUNK)
    with MockCloud(status_sequence=("running",)) as cloud:
        with pytest.raises(RemoteJobError, match="did not complete within 0.05 s; it stays recorded") as caught:
            get_or_sample(request, store, progress=False, backend=remote(cloud, job_timeout=0.05))
        assert caught.value.job_id == list(cloud.jobs)[0]
        cloud.status_sequence = ("completed",)
        sample_set = get_or_sample(request, store, progress=False, backend=remote(cloud))
        assert sample_set.provenance["backend"]["jobs"][0]["job_id"] == caught.value.job_id
        assert len(submitted(cloud)) == 1


def test_sample_count_platforms_and_threshold_detection(tmp_path):
    specs = {**DEFAULT_SPECS, "available_commands": ["sample_count", "probs"]}
    with MockCloud(platforms={"sim:counts": {"type": "simulator", "specs": specs}}) as cloud:
        request = make_request(platform="sim:counts", detection="threshold")
        sample_set = remote(cloud, "sim:counts").sample(request)
    assert sample_set.provenance["backend"]["command"] == "sample_count"
    assert sample_set.counts.shape == (N_SAMPLES, 4) and sample_set.counts.max() == 1


def test_physical_qpus_take_no_simulated_noise():
    with MockCloud(platforms={"qpu:mock": {"type": "qpu", "specs": DEFAULT_SPECS}}) as cloud:
        with pytest.raises(ValueError, match="physical QPU with its own noise"):
            remote(cloud, "qpu:mock").sample(make_request(platform="qpu:mock", transmission=0.5))
        sample_set = remote(cloud, "qpu:mock").sample(make_request(platform="qpu:mock", n_samples=5))
    assert sample_set.provenance["backend"]["platform_type"] == "qpu"


def test_backend_options_are_checked():
    with pytest.raises(ValueError, match="chunk_size must be positive"):
        RemoteBackend("sim:mock", token="t", chunk_size=0)


def test_postselection_on_remote_shots_counts_the_rejected_ones(cloud):
    """Threshold clicks of two photons, keep two clicks: bunched shots are dropped and counted."""
    request = make_request(detection="threshold", min_detected=2)
    sample_set = remote(cloud).sample(request)
    assert sample_set.counts.shape == (N_SAMPLES, 4) and np.all(sample_set.counts.sum(axis=1) == 2)
    post = sample_set.provenance["backend"]["postselection"]
    assert post["n_shots"] == sum(job["n_samples"] for job in sample_set.provenance["backend"]["jobs"])
    assert post["n_passed"] >= N_SAMPLES and post["acceptance"] == post["n_passed"] / post["n_shots"] < 1


def test_ctrl_c_reaches_python_after_a_remote_run(cloud, tmp_path):
    from test_qpu_perceval import sigint_reaches_python

    get_or_sample(make_request(), SampleStore(tmp_path), progress=False, backend=remote(cloud))
    assert sigint_reaches_python()


def _cli_fetch(store, cloud, *options):
    import argparse

    from qlatent.qpu.cli import add_subparser

    parser = argparse.ArgumentParser(prog="qlatent")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["samples", "--store", str(store), "fetch", "--backend", "remote:sim:mock", "--haar", "4",
                              "--photons", "2", "--n", "5", "--url", cloud.url, "--token", "test-token", "--quiet",
                              *options])
    return args.func(args)


def test_the_job_timeout_is_a_command_line_option(tmp_path, capsys):
    with MockCloud(status_sequence=("running",)) as cloud:
        assert _cli_fetch(tmp_path, cloud, "--job-timeout", "0.05") == 2
    err = capsys.readouterr().err
    assert "did not complete within 0.05 s; it stays recorded" in err and err.count("\n") == 1


def test_ctrl_c_while_a_remote_job_runs_stops_the_fetch_keeping_the_job(tmp_path, capsys):
    """SIGINT while polling: status 130, one line naming the partial file, the job recorded for resume."""
    import os
    import signal
    import threading
    import time

    store = SampleStore(tmp_path)
    request = SampleRequest("remote:sim:mock", haar_interferometer(4, seed=0), (1, 1, 0, 0), 5)
    partial = store.partial(request.request_id())

    def interrupt_once_the_job_is_recorded():
        deadline = time.monotonic() + 60
        while not partial.path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    with MockCloud(status_sequence=("running",)) as cloud:
        interrupter = threading.Thread(target=interrupt_once_the_job_is_recorded)
        interrupter.start()
        try:
            status = _cli_fetch(tmp_path, cloud, "--job-timeout", "30")
        finally:
            interrupter.join()
        (job_id,) = cloud.jobs
    assert status == 130
    assert capsys.readouterr().err == (f"interrupted: the samples received so far are kept in {partial.path}; "
                                       "the same command resumes\n")
    assert partial.load()[1]["pending"]["job_id"] == job_id
