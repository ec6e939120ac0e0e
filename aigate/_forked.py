"""Work shared with a forked copy of this process, for the command line only: `aigate` runs one PR in a process of
its own, and the machine's second CPU sits idle while Python works alone after git.

The child only accelerates: when it fails (an exception, a crash, a result that does not unpickle), all its work
is done again in the caller, which then meets the same errors as without it.
A library user's process (a bot's thread pool) never forks: `allow()` is the CLI's, and a fork happens only while
this is the process's one thread (forking beside other threads can copy a lock some thread holds)."""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from aigate._pipes import widen

__all__ = ["Shared", "allow", "available"]

T = TypeVar("T")

# Work on parts `indices` of a job, in that order: yields (index, result) as each part is done. A generator, so
# that what a process needs once (settings, reading its inputs) is done once for all its parts.
Work = Callable[[Sequence[int]], Iterator[tuple[int, T]]]

_allowed = False
# A frame: its pickle's length in 8 bytes, then the pickle. The limit: 4 bytes.
_FRAME_BYTES = 8
_LIMIT_BYTES = 4


def allow() -> None:
    """Let this process fork helpers: called by the `aigate` command, which owns its process."""
    global _allowed
    _allowed = True


def available() -> bool:
    """Whether a helper may be forked now. Not while SIGCHLD is ignored (a supervisor can start aigate so): the
    kernel then reaps the child itself, and its exit status, which says whether its parts can be trusted, is lost."""
    return (
        _allowed and hasattr(os, "fork") and threading.active_count() == 1
        and signal.getsignal(signal.SIGCHLD) != signal.SIG_IGN
    )


class Shared(Generic[T]):
    """A job of `parts` parts, started now in a forked child from the first part on. `results()`, called when this
    process is free to help, tells the child where to stop (about half of what it has not reached), does the rest
    here, and returns every part's result in order. The child sends each part's result as it is done."""

    def __init__(self, work: Work[T], parts: int) -> None:
        self._work = work
        self._parts = parts
        self._pid = -1
        results_read, results_write = os.pipe()
        limit_read, limit_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or processes left: the caller does it all
            for fd in (results_read, results_write, limit_read, limit_write):
                os.close(fd)
            return
        if pid == 0:
            os.close(results_read)
            os.close(limit_write)
            _run_child(work, parts, results_write, limit_read)
        os.close(results_write)
        os.close(limit_read)
        widen(results_read)  # the child rarely waits for this process, busy elsewhere, to read
        self._pid, self._results, self._limit = pid, results_read, limit_write
        os.set_blocking(results_read, False)
        self._buffer = b""
        self._received: dict[int, T] = {}

    def results(self) -> list[T]:
        if self._pid < 0:
            return [result for _, result in self._work(range(self._parts))]
        pid, self._pid = self._pid, -1
        try:
            self._receive(wait=False)
            # The child is most likely doing the part after those it sent: it does that one and half of the rest.
            reached = max(self._received, default=-1) + 1
            limit = min(self._parts, reached + 1 + (self._parts - reached - 1) // 2)
            try:
                os.write(self._limit, limit.to_bytes(_LIMIT_BYTES, "little"))
            except OSError:  # the child is gone: its parts are done here
                pass
            os.close(self._limit)
            remaining = [index for index in range(limit, self._parts) if index not in self._received]
            # Nothing left (the child was quicker): a job's setup can cost more than a part (detect-secrets: 25 ms).
            own = dict(self._work(remaining)) if remaining else {}
            self._receive(wait=True)
        except BaseException:  # interrupted or failed: the child goes too, no orphan left working
            _stop(pid)
            raise
        finally:
            os.close(self._results)
            succeeded = _reaped(pid)
        results = {**own, **self._received}
        if not succeeded or len(results) < self._parts:
            # The child failed: all is done again here as without it, so that its errors are met the same way (a
            # part done alone can succeed where the whole fails: git's whole patch over its size limit).
            return [result for _, result in self._work(range(self._parts))]
        return [results[index] for index in range(self._parts)]

    def cancel(self) -> None:
        """Stop the child, if it runs: the results will not be asked for."""
        if self._pid < 0:
            return
        pid, self._pid = self._pid, -1
        os.close(self._results)
        os.close(self._limit)
        _stop(pid)
        _reaped(pid)

    def _receive(self, *, wait: bool) -> None:
        """The parts the child has sent so far; with `wait`, every one until it closes the pipe."""
        import pickle  # here and in the child: `aigate` imports this module before it knows whether it forks

        while True:
            if wait:
                select.select([self._results], [], [])
            try:
                chunk = os.read(self._results, 1 << 20)
            except BlockingIOError:
                if not wait:
                    return
                continue
            if not chunk:
                return
            self._buffer += chunk
            while len(self._buffer) >= _FRAME_BYTES:
                size = int.from_bytes(self._buffer[:_FRAME_BYTES], "little")
                if len(self._buffer) < _FRAME_BYTES + size:
                    break
                frame = self._buffer[_FRAME_BYTES:_FRAME_BYTES + size]
                self._buffer = self._buffer[_FRAME_BYTES + size:]
                try:
                    index, result = pickle.loads(frame)
                except Exception:  # noqa: BLE001, S112 - that part is done again here
                    continue
                self._received[index] = result


def _reaped(pid: int) -> bool:
    """Waits for the child; whether it exited 0 (False when it cannot be known)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped by someone else: its status is lost
        return False
    return status == 0


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_child(work: Work[T], parts: int, results: int, limit_pipe: int) -> None:
    """In the child: each part's result into the pipe as it is done, until the parent's limit; never returns (no
    atexit handler, finalizer or buffered output of the parent runs twice)."""
    import pickle

    status = 1
    limit = parts
    try:
        for index, result in work(range(parts)):
            data = pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(results, len(data).to_bytes(_FRAME_BYTES, "little") + data)
            if limit == parts and select.select([limit_pipe], [], [], 0)[0]:
                message = os.read(limit_pipe, _LIMIT_BYTES)
                limit = int.from_bytes(message, "little") if len(message) == _LIMIT_BYTES else parts
            if index + 1 >= limit:
                break
        status = 0
    except BaseException:  # noqa: BLE001, S110 - the parent does the parts it did not get, and reports their errors
        pass
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
