"""Real training data held in memory and served in shuffled batches from the run's generator."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch


class TensorBank:
    """A fixed set of training examples, shuffled once per epoch with the caller's generator.

    Each epoch is a fresh permutation drawn from the run's ``torch.Generator``; batches are
    consecutive slices of it and an incomplete last slice is dropped, so every batch has exactly
    ``batch_size`` distinct examples. The position in the epoch is part of :meth:`state_dict`, so a
    resumed run serves the same batches as an uninterrupted one.

    Parameters
    ----------
    *arrays
        One or more arrays or tensors with the same first dimension (for example node and edge
        tensors of molecular graphs). Floating arrays become float32.
    name
        Label for the run manifest.

    Raises
    ------
    ValueError
        With no arrays, an empty bank or first dimensions that differ.
    """

    def __init__(self, *arrays: torch.Tensor | np.ndarray, name: str = "data") -> None:
        if not arrays:
            raise ValueError("TensorBank needs at least one array")
        tensors = []
        for array in arrays:
            tensor = torch.as_tensor(array)
            if tensor.is_floating_point():
                tensor = tensor.to(torch.float32)
            tensors.append(tensor.cpu())
        sizes = {int(t.shape[0]) if t.ndim else 0 for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"arrays of a TensorBank must have the same first dimension, got {sorted(sizes)}")
        if sizes == {0}:
            raise ValueError("TensorBank is empty")
        self.tensors = tuple(tensors)
        self.name = name
        digest = hashlib.sha256()
        for tensor in self.tensors:
            digest.update(f"{tuple(tensor.shape)}:".encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        self.sha256 = digest.hexdigest()
        self._order: torch.Tensor | None = None
        self._position = 0
        self.epoch = 0

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def check_batch_size(self, batch_size: int) -> None:
        """Raise ``ValueError`` if the bank cannot fill one batch of ``batch_size``."""
        if batch_size > len(self):
            raise ValueError(f"data bank {self.name!r} holds {len(self)} examples, fewer than one batch "
                             f"of batch_size={batch_size}")

    def batch(self, batch_size: int, generator: torch.Generator) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The next ``batch_size`` examples of the current epoch (a tensor, or a tuple for several arrays)."""
        self.check_batch_size(batch_size)
        if self._order is None or self._position + batch_size > len(self):
            self._order = torch.randperm(len(self), generator=generator)
            self._position = 0
            self.epoch += 1
        index = self._order[self._position:self._position + batch_size]
        self._position += batch_size
        picked = tuple(t[index] for t in self.tensors)
        return picked[0] if len(picked) == 1 else picked

    def state_dict(self) -> dict[str, Any]:
        """The epoch's permutation and position (the data themselves are not saved)."""
        return {"order": self._order, "position": self._position, "epoch": self.epoch, "size": len(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; refuses a state saved for a bank of another size."""
        if state["size"] != len(self):
            raise ValueError(f"checkpoint was saved for a data bank of {state['size']} examples, "
                             f"this bank {self.name!r} holds {len(self)}")
        self._order, self._position, self.epoch = state["order"], state["position"], state["epoch"]

    def describe(self) -> dict[str, Any]:
        """Name, size, shapes, dtypes and the SHA-256 of the examples (shape then bytes of each array),
        so a run's manifest — and its key — pins its training data."""
        return {"name": self.name, "size": len(self), "shapes": [list(t.shape[1:]) for t in self.tensors],
                "dtypes": [str(t.dtype) for t in self.tensors], "sha256": self.sha256}
