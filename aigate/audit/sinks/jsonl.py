"""JSON Lines file sink and store: one event per line, appended under an exclusive lock so that
several processes can share one file; the chain continues from the file's last line."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from aigate.audit.chain import ChainKey, ChainState, canonical, link_event
from aigate.audit.sinks.interface import AuditSink, AuditStore, EventFilter, StoredEvent
from aigate.errors import AuditError

__all__ = ["JsonlSink", "JsonlStore"]

_TAIL_CHUNK = 64 * 1024


class JsonlSink(AuditSink):
    name = "jsonl"

    def __init__(self, path: Path, stream: str, key: ChainKey | None, *, durable: bool = False) -> None:
        super().__init__(stream, key)
        self.path = path
        self.durable = durable

    def write(self, events: Sequence[StoredEvent]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    state = _tail_state(handle, self.stream, self.path)
                    lines = []
                    for event in events:
                        state = link_event(event, self.stream, state, self.key)
                        lines.append(canonical(event))
                    handle.write(("\n".join(lines) + "\n").encode("utf-8"))
                    handle.flush()
                    if self.durable:
                        os.fsync(handle.fileno())
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        except OSError as e:
            raise AuditError(f"audit jsonl {self.path}: cannot append: {e.strerror or e}") from e


def _tail_state(handle: object, stream: str, path: Path) -> ChainState:
    """The head of `stream`: the chain link of the last line of that stream (read from the end)."""
    import io

    assert isinstance(handle, io.BufferedRandom)
    end = handle.seek(0, os.SEEK_END)
    position = end
    pending = b""
    while position > 0:
        step = min(_TAIL_CHUNK, position)
        position -= step
        handle.seek(position)
        pending = handle.read(step) + pending
        lines = pending.split(b"\n")
        # lines[0] may be cut short unless we reached the start of the file.
        complete = lines if position == 0 else lines[1:]
        for raw in reversed(complete):
            if not raw.strip():
                continue
            try:
                chain = json.loads(raw)["chain"]
            except (ValueError, KeyError, TypeError) as e:
                raise AuditError(f"audit jsonl {path}: the last line is not an aigate audit event; "
                                 "run `aigate audit verify` on it") from e
            if chain.get("stream") == stream:
                return ChainState(int(chain["sequence"]), str(chain["hash"]))
        pending = lines[0] if position > 0 else b""
    return ChainState()


class JsonlStore(AuditStore):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _lines(self) -> Iterator[tuple[int, str]]:
        try:
            with self.path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield number, line
        except FileNotFoundError as e:
            raise AuditError(f"{self.path}: no such audit file") from e
        except (OSError, UnicodeDecodeError) as e:
            raise AuditError(f"{self.path}: cannot read: {getattr(e, 'strerror', None) or e}") from e

    def stored_events(self) -> Iterator[tuple[StoredEvent | None, str]]:
        for number, line in self._lines():
            try:
                event = json.loads(line)
            except ValueError:
                yield None, f"line {number} is not JSON"
                continue
            if not isinstance(event, dict):
                yield None, f"line {number} is not a JSON object"
                continue
            yield event, ""

    def query(self, event_filter: EventFilter, limit: int | None = None) -> list[StoredEvent]:
        found = []
        for event, problem in self.stored_events():
            if event is None:  # a query over a damaged trail would answer as if those events never were
                raise AuditError(f"{self.path}: {problem}; `aigate audit verify` checks the whole file")
            if event_filter.matches(event):
                found.append(event)
        found.sort(key=lambda e: (str(e.get("timestamp")), (e.get("chain") or {}).get("sequence", 0)))
        return found[:limit] if limit is not None else found
