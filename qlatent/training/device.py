"""Choose the torch device of a run: CPU by default, CUDA when asked for or when ``auto`` finds it."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a :class:`torch.device`.

    ``"auto"`` is CUDA when :func:`torch.cuda.is_available` and the CPU otherwise.

    Raises
    ------
    ValueError
        On an unrecognised device string, or a CUDA device asked for where none is available.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"unrecognised device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from error
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {str(resolved)!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(resolved)!r} requested but CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(resolved)!r} requested but only {torch.cuda.device_count()} "
                             "CUDA device(s) exist")
    return resolved


def set_cpu_threads(n_threads: int | None) -> None:
    """Set torch's intra-op CPU threads (``None`` leaves torch's default).

    The models here are small: on two cores one thread is usually faster than two, because
    thread synchronisation costs more than it saves (measured 4-10x slower with 2 threads while
    the other core was busy). Floating-point reductions may be ordered differently with another
    thread count, so runs meant to match bit-for-bit should use the same setting.
    """
    if n_threads is None:
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    torch.set_num_threads(n_threads)
