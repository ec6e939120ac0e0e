"""Pipes between aigate and the processes it starts."""

from __future__ import annotations

__all__ = ["widen"]

PIPE_BYTES = 1 << 20


def widen(fd: int) -> None:
    """Lets the writer write up to 1 MiB ahead of the reader (Linux; 64 KiB by default), so that it keeps working
    while the reader is busy."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # another system, or a lower pipe-max-size: the default buffer works, only slower
