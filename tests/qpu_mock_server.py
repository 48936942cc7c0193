"""A small stand-in for the Quandela cloud on 127.0.0.1, so Perceval's real remote client runs offline.

It answers the requests Perceval 1.3.1's ``RPCHandler`` makes (``perceval/providers/quandela/
rpc_handler.py``): platform details (new endpoint answers 404, so the client falls back to the old
one, as it does for platforms without an ``architecture``), job creation, status, results,
cancellation and availability. Samples come from the exact output distribution (Perceval's SLOS)
of the experiment the client sent, drawn with the mock's own seeded generator.

Faults are injected per endpoint (``platform``, ``submit``, ``status``, ``results``):
``timeout`` (answer only after the client's timeout), ``500``/``503``, ``400``, ``malformed`` (unparseable
body or results), ``job_error`` (status says the job failed), ``wrong_modes`` (results of the wrong
size). The server lives at most ``lifetime`` seconds.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

import numpy as np

DEFAULT_SPECS = {
    "available_commands": ["samples", "sample_count", "probs"],
    "constraints": {"max_mode_count": 12, "max_photon_count": 6, "min_mode_count": 1, "min_photon_count": 1},
    "description": "qlatent test double of a cloud simulator",
    "pcvl_version": "1.3.1",
}


@dataclasses.dataclass
class Fault:
    endpoint: str
    kind: str
    times: int
    after: int


class MockCloud:
    """Run with ``with MockCloud() as cloud: ... cloud.url ...``; inject faults with :meth:`inject`."""

    def __init__(self, *, token: str = "test-token", platforms: dict[str, dict[str, Any]] | None = None,
                 status_sequence: tuple[str, ...] = ("waiting", "running", "completed"),
                 timeout_sleep: float = 0.6, lifetime: float = 60.0, seed: int = 0) -> None:
        self.token = token
        self.platforms = platforms if platforms is not None else {
            "sim:mock": {"type": "simulator", "specs": DEFAULT_SPECS}}
        self.status_sequence = status_sequence
        self.timeout_sleep = timeout_sleep
        self.lifetime = lifetime
        self.rng = np.random.default_rng(seed)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------------------------
    def inject(self, endpoint: str, kind: str, *, times: int = 1, after: int = 0) -> None:
        """Make the next ``times`` requests to ``endpoint`` fail with ``kind``, after ``after`` good ones."""
        self.faults.append(Fault(endpoint, kind, times, after))

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> MockCloud:
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                cloud._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                cloud._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    # -- request handling ----------------------------------------------------------------------
    def _take_fault(self, endpoint: str) -> str | None:
        with self._lock:
            seen = self.hits.get(endpoint, 0)
            self.hits[endpoint] = seen + 1
            for fault in self.faults:
                if fault.endpoint == endpoint and fault.times > 0 and seen >= fault.after:
                    fault.times -= 1
                    return fault.kind
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path
        self.log.append((method, path))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(handler, 401, {"error": "invalid token"})
        routes = [
            ("GET", r"/api/platforms/(.+)/processor", lambda m: (404, {"error": "not here"})),
            ("GET", r"/api/platform/(.+)", lambda m: self._platform(unquote_plus(m.group(1)), handler)),
            ("POST", r"/api/job", lambda m: self._submit(body, handler)),
            ("GET", r"/api/job/status/(.+)", lambda m: self._status(m.group(1), handler)),
            ("GET", r"/api/job/result/(.+)", lambda m: self._results(m.group(1), handler)),
            ("POST", r"/api/job/cancel/(.+)", lambda m: (200, {})),
            ("GET", r"/api/jobs/availability/?", lambda m: (200, {"max_jobs_in_queue": 1, "num_jobs_in_queue": 0})),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                answer = action(match)
                if answer is not None:
                    self._reply(handler, *answer)
                return
        self._reply(handler, 404, {"error": f"no route {method} {path}"})

    def _reply(self, handler: BaseHTTPRequestHandler, code: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _common_fault(self, endpoint: str) -> tuple[int, Any] | str | None:
        """Apply transport-level faults; return a reply, or the fault kind left for the endpoint."""
        kind = self._take_fault(endpoint)
        if kind == "timeout":
            time.sleep(self.timeout_sleep)
            return 504, {"error": "gateway timeout"}
        if kind in ("400", "500", "503"):
            return int(kind), {"error": "rejected" if kind == "400" else "internal server error"}
        if kind == "malformed" and endpoint != "results":
            return 200, b"<html>not json"
        return kind

    def _platform(self, name: str, handler: BaseHTTPRequestHandler) -> tuple[int, Any]:
        fault = self._common_fault("platform")
        if isinstance(fault, tuple):
            return fault
        if name not in self.platforms:
            return 404, {"error": f"platform {name} not found"}
        details = self.platforms[name]
        return 200, {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "name": name, "perfs": {},
                     "status": "available", **details}

    def _submit(self, body: bytes, handler: BaseHTTPRequestHandler) -> tuple[int, Any]:
        fault = self._common_fault("submit")
        if isinstance(fault, tuple):
            return fault
        request = json.loads(body)
        payload = request["payload"]
        if request.get("platform_name") not in self.platforms:
            return 400, {"error": "unknown platform"}
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {"request": request, "polls": 0, "command": payload["command"],
                             "size": int(payload.get("max_samples") or payload["max_shots"])}
        return 200, {"job_id": job_id}

    def _status(self, job_id: str, handler: BaseHTTPRequestHandler) -> tuple[int, Any]:
        fault = self._common_fault("status")
        if isinstance(fault, tuple):
            return fault
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {"error": "unknown job"}
        status = self.status_sequence[min(job["polls"], len(self.status_sequence) - 1)]
        job["polls"] += 1
        message = None
        if fault == "job_error":
            status, message = "error", "simulated failure on the platform"
        now = time.time()
        return 200, {"status": status, "progress": 1.0 if status == "completed" else 0.5,
                     "progress_message": "", "status_message": message,
                     "creation_datetime": now, "start_time": now, "duration": 1}

    def _results(self, job_id: str, handler: BaseHTTPRequestHandler) -> tuple[int, Any]:
        from perceval.serialization import serialize

        fault = self._common_fault("results")
        if isinstance(fault, tuple):
            return fault
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {"error": "unknown job"}
        if fault == "malformed":
            return 200, {"results": '{"results": ":PCVL:zip:truncat'}
        results = self._sample(job, wrong_modes=(fault == "wrong_modes"))
        return 200, {"results": json.dumps(serialize({"results": results, "physical_perf": 1.0}))}

    def _sample(self, job: dict[str, Any], *, wrong_modes: bool) -> Any:
        """Exact samples of the experiment the client sent, as Perceval ``BSSamples`` or ``BSCount``."""
        import perceval as pcvl
        from perceval.serialization import deserialize

        experiment = deserialize(job["request"]["payload"]["experiment"])
        unitary = np.asarray(experiment.unitary_circuit().compute_unitary())
        job["unitary"] = unitary
        input_state = pcvl.BasicState(list(experiment.input_state))
        job["input_state"] = list(input_state)
        backend = pcvl.BackendFactory.get_backend("SLOS")
        backend.set_circuit(pcvl.Unitary(pcvl.Matrix(unitary)))
        backend.set_input_state(input_state)
        distribution = backend.prob_distribution()
        states = list(distribution.keys())
        probs = np.array([distribution[state] for state in states])
        draws = self.rng.choice(len(states), size=job["size"], p=probs / probs.sum())
        if wrong_modes:
            states = [pcvl.BasicState(list(state) + [0]) for state in states]
        if job["command"] == "sample_count":
            counts = pcvl.BSCount()
            for index, number in zip(*np.unique(draws, return_counts=True)):
                counts[states[index]] = int(number)
            return counts
        samples = pcvl.BSSamples()
        for index in draws:
            samples.append(states[index])
        return samples
