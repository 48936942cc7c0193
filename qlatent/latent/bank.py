"""Latent vectors drawn from a pre-drawn bank of samples, so training never waits on a sampler."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from qlatent.latent.base import (
    FLOAT32_EXACT_INTEGER,
    LatentDistribution,
    as_array_2d,
    check_json,
    check_kind,
    check_name,
)
from qlatent.latent.postprocess import CountPostprocess, FittedPostprocess, count_statistics


def bank_sha256(bank: np.ndarray) -> str:
    """SHA-256 of a bank as stored: the shape ``"rows,cols;"`` in ASCII, then little-endian float32 in C order."""
    array = np.ascontiguousarray(bank, dtype="<f4")
    digest = hashlib.sha256(f"{array.shape[0]},{array.shape[1]};".encode("ascii"))
    digest.update(array.tobytes())
    return digest.hexdigest()


def _as_bank(bank: Any) -> np.ndarray:
    array = as_array_2d(bank, "bank")
    if array.dtype.kind in "iu" and array.size and np.max(np.abs(array)) > FLOAT32_EXACT_INTEGER:
        raise ValueError(
            f"bank holds integers beyond {FLOAT32_EXACT_INTEGER}, which float32 latents cannot store exactly"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


class BankLatent(LatentDistribution):
    """Rows drawn from a fixed bank of pre-drawn samples (photon counts, recorded hardware shots, ...).

    Each call draws row indices with the given ``torch.Generator`` — uniformly with replacement by
    default, or a uniform subset without replacement — then applies the optional count
    post-processing (:mod:`qlatent.latent.postprocess`), whose mean and standard deviation are
    computed once from the whole bank. Random numbers are drawn in that order: indices, then noise.

    Parameters
    ----------
    bank
        Samples of shape ``(n_rows, dim)``, NumPy array or torch tensor; stored as float32.
    name
        Short label for tables.
    description
        Where the bank came from (a string or a JSON-serialisable mapping: sampler recipe, sample
        store key, ...), recorded in :meth:`describe`.
    postprocess
        Count post-processing recipe; ``None`` returns the bank's rows unchanged.
    replace
        Draw with replacement (default). Without replacement a batch larger than the bank is an
        error, and each call costs a permutation of the whole bank.

    Raises
    ------
    ValueError
        If the bank is empty, not two-dimensional, holds NaN or infinite values, or integers too
        large for float32; if ``name`` is empty or ``description`` is not JSON-serialisable.
    """

    kind = "bank"

    def __init__(
        self,
        bank: np.ndarray | torch.Tensor,
        *,
        name: str,
        description: str | Mapping[str, Any],
        postprocess: CountPostprocess | None = None,
        replace: bool = True,
    ) -> None:
        self._bank_array = _as_bank(bank)
        self._bank = torch.from_numpy(self._bank_array)
        self.name = check_name(name)
        self.dim = int(self._bank_array.shape[1])
        if not isinstance(description, (str, Mapping)):
            raise TypeError(f"description must be a string or a mapping, got {type(description).__name__}")
        self.source = check_json(description if isinstance(description, str) else dict(description), "description")
        if not isinstance(replace, bool):
            raise TypeError(f"replace must be a bool, got {type(replace).__name__}")
        self.replace = replace
        self.sha256 = bank_sha256(self._bank_array)
        self.postprocess = FittedPostprocess(postprocess, *count_statistics(self._bank_array))

    @property
    def n_rows(self) -> int:
        """Number of rows in the bank."""
        return int(self._bank_array.shape[0])

    @property
    def bank(self) -> np.ndarray:
        """A read-only view of the stored bank (float32)."""
        view = self._bank_array.view()
        view.flags.writeable = False
        return view

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.replace:
            indices = torch.randint(0, self.n_rows, (n,), generator=generator)
        else:
            if n > self.n_rows:
                raise ValueError(
                    f"bank {self.name!r} holds {self.n_rows} rows, fewer than the {n} requested without replacement"
                )
            indices = torch.randperm(self.n_rows, generator=generator)[:n]
        return self.postprocess(self._bank[indices], generator)

    def describe(self) -> dict[str, Any]:
        """Recipe: the bank's SHA-256 and shape, its source description, post-processing and sampling mode.

        The bank itself is not included; :meth:`from_description` takes it back and checks the hash.
        """
        return {
            "kind": self.kind,
            "name": self.name,
            "dim": self.dim,
            "n_rows": self.n_rows,
            "sha256": self.sha256,
            "source": self.source,
            "postprocess": self.postprocess.describe(),
            "replace": self.replace,
        }

    @classmethod
    def from_description(cls, description: dict[str, Any], bank: np.ndarray | torch.Tensor) -> BankLatent:
        """Rebuild from :meth:`describe` output and the bank it was made from.

        Raises
        ------
        ValueError
            If the description is of another kind or ``bank`` does not have the recorded SHA-256.
        """
        check_kind(description, cls.kind)
        expected = description["sha256"]
        actual = bank_sha256(_as_bank(bank))
        if actual != expected:
            raise ValueError(f"bank does not match the description: sha256 {actual} != recorded {expected}")
        return cls(
            bank,
            name=description["name"],
            description=description["source"],
            postprocess=CountPostprocess.from_dict(description["postprocess"]),
            replace=description["replace"],
        )
