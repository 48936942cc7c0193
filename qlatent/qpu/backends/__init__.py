"""Photonic backends behind one protocol: ``backend.sample(request) -> SampleSet``.

=================================  =========================================================
``"local"``                        our sampler (:func:`qlatent.photonics.sample`), every model
``"perceval:<Backend>"``           a Perceval local backend (SLOS, Naive, CliffordClifford2017,
                                   …) through ``Processor`` + ``Sampler`` with its noise model
``"remote:<platform>"``            a cloud QPU or simulator through Perceval's ``RemoteProcessor``
``"recorded:<path-or-id>"``        replay a stored set, or a user's file in the open format
=================================  =========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from qlatent.qpu.sampleset import SampleRequest, SampleSet
    from qlatent.qpu.store import PartialRun, SampleStore

BACKEND_FORMS = ("local", "perceval:<Backend>", "remote:<platform>", "recorded:<path-or-id>")
#: What a backend name says its samples are: our simulation, Perceval's, a cloud platform's, replayed.
BACKEND_KINDS = ("local", "perceval", "remote", "recorded")


def backend_kind(name: str) -> tuple[str, str]:
    """``(kind, argument)`` of a backend name: ``("local", "")``, ``("perceval", "SLOS")``,
    ``("remote", "qpu:belenos")``, ``("recorded", "shots.json")`` (kinds: :data:`BACKEND_KINDS`).

    Raises
    ------
    ValueError
        If ``name`` has none of the forms in :data:`BACKEND_FORMS`.
    """
    kind, _, argument = str(name).partition(":")
    if (kind == "local" and not argument) or (kind in BACKEND_KINDS[1:] and argument):
        return kind, argument
    raise ValueError(f"unknown backend {name!r}; use one of: {', '.join(BACKEND_FORMS)}")


@runtime_checkable
class PhotonicBackend(Protocol):
    """Anything that turns a :class:`SampleRequest` into a :class:`SampleSet`."""

    name: str

    def sample(self, request: SampleRequest, *, checkpoint: PartialRun | None = None,
               progress: bool = False) -> SampleSet:
        """Sample ``request``; ``checkpoint`` keeps partial results of long remote runs."""


def get_backend(name: str, *, store: SampleStore | None = None, **options: Any) -> PhotonicBackend:
    """Build the backend a request names.

    Parameters
    ----------
    name : str
        One of the forms in :data:`BACKEND_FORMS`.
    store : SampleStore, optional
        Where ``"recorded:<id>"`` looks for the id (other backends do not use it).
    **options
        Passed to the backend's constructor (e.g. ``token``, ``url``, ``poll_interval`` for remote
        backends, ``chunk_size`` for Perceval ones).

    Raises
    ------
    ValueError
        If ``name`` has none of the known forms.
    """
    kind, argument = backend_kind(name)
    if kind == "local":
        from qlatent.qpu.backends.local import LocalBackend

        return LocalBackend(**options)
    if kind == "perceval":
        from qlatent.qpu.backends.perceval_local import PercevalBackend

        return PercevalBackend(argument, **options)
    if kind == "remote":
        from qlatent.qpu.backends.perceval_remote import RemoteBackend

        return RemoteBackend(argument, **options)
    from qlatent.qpu.backends.recorded import RecordedBackend

    return RecordedBackend(argument, store=store, **options)
