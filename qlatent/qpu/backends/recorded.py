"""Replay a recorded sample set: one from the store, or a user's files in the open format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qlatent.qpu.sampleset import SampleRequest, SampleSet, utc_now
from qlatent.qpu.store import SampleStore, read_sample_files

if TYPE_CHECKING:
    from qlatent.qpu.store import PartialRun

_MATCHED_FIELDS = ("input_state", "model", "indistinguishability", "transmission", "brightness", "detection")


class RecordedBackend:
    """Serves the counts of a recorded set (the first ``n_samples`` rows) for a matching request.

    Parameters
    ----------
    source : str
        A path to ``<name>.json`` or ``<name>.npz`` (the other file of the pair must sit beside it),
        or a request id (or unique prefix of one) in ``store``.
    store : SampleStore, optional
        Where ids are looked up; defaults to ``SampleStore()``.

    Raises
    ------
    KeyError
        If ``source`` is neither an existing file nor a stored id.
    CorruptSampleError
        If the recorded files fail verification.
    """

    def __init__(self, source: str, *, store: SampleStore | None = None) -> None:
        self.name = f"recorded:{source}"
        path = Path(source)
        if path.suffix in (".json", ".npz") and path.exists():
            self.recorded = read_sample_files(path.with_suffix(".npz"), path.with_suffix(".json"))
            self.location = str(path.with_suffix(".json"))
        else:
            store = store if store is not None else SampleStore()
            request_id = store.resolve(source)
            self.recorded = store.load(request_id)
            self.location = str(store.paths(request_id)[1])

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """The recorded counts for ``request``.

        Raises
        ------
        ValueError
            If the recording was made with another circuit, input state, photon model, noise or
            detection, or holds fewer than ``request.n_samples`` shots.
        """
        started_at = utc_now()
        recorded_request = self.recorded.provenance["request"]
        mismatched = [name for name in _MATCHED_FIELDS
                      if recorded_request[name] != request.to_dict()[name]]
        if recorded_request["circuit"]["sha256"] != request.circuit["sha256"]:
            mismatched.insert(0, "circuit")
        if mismatched:
            raise ValueError(f"recording {self.location} does not match the request: "
                             f"different {', '.join(mismatched)}")
        if self.recorded.n_samples < request.n_samples:
            raise ValueError(f"recording {self.location} holds {self.recorded.n_samples} shots, "
                             f"fewer than the {request.n_samples} requested")
        details = {"name": self.name, "replayed_from": self.recorded.request_id, "file": self.location,
                   "recorded_backend": self.recorded.provenance["backend"],
                   "recorded_at": self.recorded.provenance.get("finished_at")}
        return SampleSet.create(request, self.recorded.counts[: request.n_samples], backend_details=details,
                                started_at=started_at)
