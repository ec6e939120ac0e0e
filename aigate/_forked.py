"""Work shared with a forked copy of this process, for the command line only: `aigate` runs one PR in a process of
its own, and this VM-sized machine has a second CPU that sits idle while Python works alone after git.

The child is only an accelerator: when it fails in any way (an exception, a crash, a result that does not
unpickle), its share is computed again in the caller, which then meets the same errors as without it.
A library user's process (a bot's thread pool) never forks: `allow()` is the CLI's, and a fork happens only while
this is the process's one thread (forking beside other threads can copy a lock some thread holds)."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Forked", "allow", "available"]

T = TypeVar("T")

_allowed = False


def allow() -> None:
    """Let this process fork helpers: called by the `aigate` command, which owns its process."""
    global _allowed
    _allowed = True


def available() -> bool:
    """Whether a helper may be forked now."""
    return _allowed and hasattr(os, "fork") and threading.active_count() == 1


class Forked(Generic[T]):
    """`function()` run in a forked child from now on; `result()` waits for its value (or computes it here)."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._function = function
        self._pid = -1
        self._read = -1
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or processes left: the caller does the work itself
            os.close(read)
            os.close(write)
            return
        if pid == 0:
            os.close(read)
            _run_child(function, write)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> T:
        if self._pid < 0:
            return self._function()
        pid, self._pid = self._pid, -1
        try:
            with os.fdopen(self._read, "rb") as stream:
                data = stream.read()
        except BaseException:  # interrupted: the child goes too, no orphan left working
            os.kill(pid, signal.SIGKILL)
            raise
        finally:
            _, status = os.waitpid(pid, 0)
        if status == 0 and data:
            try:
                value: T = pickle.loads(data)
                return value
            except Exception:  # noqa: BLE001, S110 - the work is done again below, with its own errors
                pass
        return self._function()


    def cancel(self) -> None:
        """Stop the child, if it runs: its result will not be asked for."""
        if self._pid < 0:
            return
        pid, self._pid = self._pid, -1
        os.close(self._read)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _run_child(function: Callable[[], T], write: int) -> None:
    """In the child: the value, pickled into the pipe; never returns (no atexit handler, finalizer or buffered
    output of the parent runs twice)."""
    status = 1
    try:
        data = pickle.dumps(function(), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as stream:
            stream.write(data)
        status = 0
    except BaseException:  # noqa: BLE001, S110 - the parent computes the share again and reports its errors
        pass
    finally:
        os._exit(status)
