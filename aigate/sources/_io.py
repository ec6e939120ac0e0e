"""Reading input files with a size cap, so an oversize input fails with a clear message instead of
exhausting memory."""

from __future__ import annotations

import contextlib
import gc
import json
import mmap
import os
import re
import select
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from aigate._limits import MAX_INPUT_BYTES
from aigate.errors import InputError

__all__ = [
    "MAX_INPUT_BYTES",
    "DuplicateKeyError",
    "first_validation_problem",
    "loads_unique",
    "no_gc_pauses",
    "parse_json",
    "read_json",
    "read_text",
]


def read_text(path: Path, error: type[InputError], *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(source, f"{size} bytes is larger than the {max_bytes}-byte limit")
        with path.open("rb") as handle, _contents(handle, max_bytes) as raw:
            if len(raw) > max_bytes:
                raise error(source, f"larger than the {max_bytes}-byte limit")
            try:
                return str(raw, "utf-8")
            except UnicodeDecodeError as e:
                raise error(source, f"not UTF-8 text (byte {e.start})") from e
    except MemoryError:
        raise error(source, "out of memory while reading it") from None
    except OSError as e:
        raise error(source, f"cannot read: {e.strerror or e}") from e


@contextlib.contextmanager
def _contents(handle: BinaryIO, max_bytes: int) -> Iterator[bytes | mmap.mmap]:
    """A regular file mapped read-only, decoded straight from the mapping (a 50 MiB diff is not copied
    twice: ~30 ms); anything that cannot be mapped (an empty file, a pipe) read into memory."""
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        yield _read_stream(handle.fileno(), max_bytes + 1)
        return
    with mapped:
        yield mapped


# How long a read from a pipe waits before Python looks at its pending signals.
_SIGNAL_CHECK_MS = 100


def _read_stream(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes of a pipe or FIFO, read only when poll() says some are there. A signal
    (Ctrl-C, a host's SIGTERM) that lands just before a blocking read(), or on another thread, does not
    interrupt it: aigate would wait on a silent writer for ever, its managed OPA server with it. Python
    runs the pending handler each time poll() times out."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if not poller.poll(_SIGNAL_CHECK_MS):
            continue
        chunk = os.read(fd, min(limit - size, 1 << 20))
        if not chunk:  # end of file: every writer closed
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Reading a large diff allocates hundreds of thousands of objects and no reference cycles: the cyclic
    garbage collector's passes over them (and over the rest of a long-running process's heap) find
    nothing. It is paused meanwhile (unless already paused) and resumed after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: Path, error: type[InputError], *, max_bytes: int = MAX_INPUT_BYTES) -> Any:
    text = read_text(path, error, max_bytes=max_bytes)
    return parse_json(text, str(path), error)


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's default lets the last of two equal keys win silently: `{"labels": ["ai"], "labels": []}`
    would hide a label. Refused instead, as the YAML config refuses them."""
    result = dict(pairs)
    if len(result) != len(pairs):  # rare: only then is the duplicate looked for, key by key
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


def loads_unique(text: str) -> Any:
    """json.loads refusing duplicate keys (DuplicateKeyError) and unpaired surrogates (JSONDecodeError);
    every other behaviour is json's."""
    value = json.loads(text, object_pairs_hook=_unique_keys)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _holds_surrogate(value):
        raise json.JSONDecodeError("an unpaired UTF-16 surrogate escape (\\ud800-\\udfff alone is no text)", text,
                                   _lone_surrogate_at(text))  # fmt: skip
    return value


# json decodes "\ud800" alone to a str that cannot be encoded: the document failed later, when written out,
# as an internal error. A pair (a character past U+FFFF) decodes to one character and passes.
_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"  # a high one, with its low one if paired
    r"|\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a low one alone
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_surrogate(k) or _holds_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_surrogate(item) for item in value)
    return False


def _lone_surrogate_at(text: str) -> int:
    """Where the first unpaired surrogate escape is (an escape of a pair spans 12 characters)."""
    for found in _SURROGATE_ESCAPE.finditer(text):
        if len(found[0]) == 6:
            return found.start()
    return 0


DuplicateKeyError = _DuplicateKeyError


def parse_json(text: str, source: str, error: type[InputError]) -> Any:
    """JSON with duplicate keys refused, and every failure (even running out of stack or memory on a
    hostile document) as one line naming the source."""
    try:
        return loads_unique(text)
    except _DuplicateKeyError as e:
        raise error(source, f"duplicate key {e.key!r} in a JSON object") from None
    except RecursionError:
        raise error(source, "JSON nested too deeply") from None
    except MemoryError:
        raise error(source, "out of memory while parsing the JSON") from None
    except json.JSONDecodeError as e:
        raise error(source, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e


def first_validation_problem(exc: Exception) -> str:
    """The first problem of a pydantic ValidationError, as `location: message`."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc).splitlines()[0]
    first = errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ())) or "(top level)"
    return f"{location}: {first.get('msg', 'invalid')}"
