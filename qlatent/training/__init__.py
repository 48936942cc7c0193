"""Training: one seeded, checkpointed, resumable loop for every model of the project.

- :class:`~qlatent.training.loop.Trainer`, :class:`~qlatent.training.loop.TrainerConfig`,
  :class:`~qlatent.training.loop.TrainingDivergedError` — the loop and its settings.
- :class:`~qlatent.training.bank.TensorBank` — real data served in shuffled batches.
- :func:`~qlatent.training.device.resolve_device` — ``"auto"`` picks CUDA when present.
- :class:`~qlatent.training.checkpoint.CorruptCheckpointError` — no intact checkpoint is left
  (damaged files are named and kept as ``*.corrupt``).
- :mod:`~qlatent.training.checkpoint`, :mod:`~qlatent.training.runlog` — checkpoints, metrics CSV
  and run manifest, all written atomically.

Names are imported lazily so that importing the package does not import torch.
"""

from __future__ import annotations

from qlatent.lazy import lazy_exports

_EXPORTS = {
    "Trainer": "qlatent.training.loop",
    "TrainerConfig": "qlatent.training.loop",
    "TrainingDivergedError": "qlatent.training.loop",
    "TensorBank": "qlatent.training.bank",
    "resolve_device": "qlatent.training.device",
    "CorruptCheckpointError": "qlatent.training.checkpoint",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
