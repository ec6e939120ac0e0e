"""Reading an input that is a pipe or a FIFO (`--input /dev/stdin`, a host's process substitution): the whole
stream, capped, and never a read that a signal cannot end."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

import pytest

from aigate.errors import InputError
from aigate.sources._io import parse_json, read_text


class _Writer(threading.Thread):
    """Opens the FIFO (waiting for its reader), writes, keeps it open until released (20 s at most), closes it."""

    def __init__(self, fifo: Path, data: bytes, *, hold: bool = False) -> None:
        super().__init__(daemon=True)
        self.fifo, self.data = fifo, data
        self.release = threading.Event()
        self.closed = threading.Event()
        if not hold:
            self.release.set()
        self.start()

    def run(self) -> None:
        with self.fifo.open("wb") as handle:
            handle.write(self.data)
            handle.flush()
            self.release.wait(20)
        self.closed.set()


def test_a_fifo_is_read_to_its_end(tmp_path: Path) -> None:
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    data = ("é" * 1_500_000).encode()  # 3 MB: several reads, and a character split between two
    writer = _Writer(fifo, data)
    assert read_text(fifo, InputError) == data.decode()
    writer.join()


def test_a_fifo_over_the_limit_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    writer = _Writer(fifo, b"x" * 11)
    with pytest.raises(InputError, match=r"input\.json: larger than the 10-byte limit$"):
        read_text(fifo, InputError, max_bytes=10)
    writer.join()


class _Stopped(Exception):
    """Raised by the SIGUSR1 handler; says whether the writer had closed the FIFO by then."""

    def __init__(self, writer_closed: bool) -> None:
        super().__init__(writer_closed)
        self.writer_closed = writer_closed


def test_a_signal_that_misses_the_blocked_read_still_ends_it(tmp_path: Path) -> None:
    """The race behind a hung `aigate evaluate --input FIFO` after SIGTERM: the signal lands while the main
    thread cannot take it (here: blocked on it, so the kernel hands it to another thread; in the wild: just
    before read() begins). Python's handler is then pending, and a plain blocking read() would wait for the
    writer; the reader must still run the handler while the writer stays silent."""
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    # Started before the main thread blocks SIGUSR1, so this thread takes it.
    writer = _Writer(fifo, b'{"files": [', hold=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped(writer.closed.is_set())

    previous = signal.signal(signal.SIGUSR1, stop)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.start()
        with pytest.raises(_Stopped) as stopped:
            read_text(fifo, InputError)
        timer.join()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        signal.signal(signal.SIGUSR1, previous)
        writer.release.set()
    # A plain read() ends only when the writer gives up and closes (20 s on): the handler would run too late.
    assert not stopped.value.writer_closed
    writer.join()


@pytest.mark.parametrize(
    ("text", "column"),
    [('{"title": "\\ud800"}', 12), ('{"a": ["x", "\\udc00y"]}', 14), ('{"\\uDBFF": 1}', 3),
     ('["\\ud83d\\ude00", "\\ud83d"]', 19)],  # fmt: skip
)
def test_an_unpaired_surrogate_is_invalid_json(text: str, column: int) -> None:
    """json decodes "\\ud800" alone to a str no encoder takes: the document failed later, as an internal error."""
    with pytest.raises(InputError, match=rf"^x\.json: invalid JSON at line 1, column {column}: an unpaired UTF-16"):
        parse_json(text, "x.json", InputError)


def test_surrogate_pairs_and_escaped_backslashes_are_text() -> None:
    assert parse_json('["\\ud83d\\ude00", "\\\\ud800"]', "x.json", InputError) == ["\U0001f600", "\\ud800"]
