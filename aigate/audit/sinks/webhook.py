"""HTTP webhook sink, for a SIEM collector: at-least-once delivery through a bounded on-disk spool.

Each event is first written to the spool (one file per event, fsynced, renamed into place) and
chained there; then the spool is delivered oldest first, one POST per event with the event's id as
`Idempotency-Key`, each retried with exponential backoff. What is not delivered stays in the spool
for the next evaluation (or `aigate audit flush`), across restarts. A full spool fails the
evaluation closed, unless `on_spool_full: drop` says to drop new events (with a warning)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from aigate.audit.chain import ChainKey, ChainState, canonical, link_event
from aigate.audit.sinks.interface import AuditSink, StoredEvent
from aigate.errors import AuditError

__all__ = ["DeliveryReport", "WebhookSink"]

_MAX_BACKOFF_S = 30.0


class DeliveryReport:
    def __init__(self, delivered: int, pending: int, error: str | None) -> None:
        self.delivered = delivered
        self.pending = pending
        self.error = error


@contextlib.contextmanager
def _locked(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    with path.open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class WebhookSink(AuditSink):
    name = "webhook"

    def __init__(self, url: str, spool_dir: Path, stream: str, key: ChainKey | None, *,
                 spool_max_events: int = 10_000, on_spool_full: Literal["fail", "drop"] = "fail",
                 timeout: float = 5.0, retries: int = 3, backoff: float = 0.5, token_env: str | None = None) -> None:
        super().__init__(stream, key)
        self.url = url
        self.spool_dir = spool_dir
        self.events_dir = spool_dir / "events"
        self.spool_max_events = spool_max_events
        self.on_spool_full = on_spool_full
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.token_env = token_env

    def _prepare(self) -> None:
        try:
            self.events_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AuditError(f"audit webhook spool {self.spool_dir}: cannot create: {e.strerror or e}") from e

    def pending(self) -> list[Path]:
        """Spooled events not yet delivered, oldest first."""
        if not self.events_dir.is_dir():
            return []
        return sorted(p for p in self.events_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))

    def write(self, events: Sequence[StoredEvent]) -> None:
        self._prepare()
        try:
            with _locked(self.spool_dir / "spool.lock"):
                waiting = len(self.pending())
                if waiting + len(events) > self.spool_max_events:
                    message = (f"audit webhook {self.url}: the spool {self.spool_dir} is full ({waiting} undelivered "
                               f"events, limit {self.spool_max_events})")
                    if self.on_spool_full == "fail":
                        raise AuditError(message + "; failing closed rather than dropping events")
                    print(f"aigate: warning: {message}; dropped {len(events)} new events", file=sys.stderr)
                    return
                state = self._state()
                for event in events:
                    state = link_event(event, self.stream, state, self.key)
                    _write_atomically(self.events_dir / f"{state.sequence:016d}.json", canonical(event))
                _write_atomically(self.spool_dir / "state.json",
                                  json.dumps({"stream": self.stream, "sequence": state.sequence, "hash": state.hash}))
        except OSError as e:
            raise AuditError(f"audit webhook spool {self.spool_dir}: cannot write: {e.strerror or e}") from e
        self.deliver()

    def _state(self) -> ChainState:
        path = self.spool_dir / "state.json"
        if not path.exists():
            return ChainState()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return ChainState(int(data["sequence"]), str(data["hash"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AuditError(f"audit webhook spool {path}: unreadable chain state; not starting a new chain") from e

    def deliver(self) -> DeliveryReport:
        """Send what the spool holds, oldest first, stopping at the first event that cannot be delivered."""
        self._prepare()
        delivered = 0
        with _locked(self.spool_dir / "deliver.lock", blocking=False) as mine:
            if not mine:  # another process is delivering this spool
                return DeliveryReport(0, len(self.pending()), None)
            for path in self.pending():
                try:
                    body = path.read_bytes()
                except FileNotFoundError:
                    continue
                error = self._post(body)
                if error is not None:
                    return DeliveryReport(delivered, len(self.pending()), error)
                path.unlink(missing_ok=True)
                delivered += 1
        return DeliveryReport(delivered, len(self.pending()), None)

    def _post(self, body: bytes) -> str | None:
        event_id = str(json.loads(body).get("event_id", ""))
        headers = {"Content-Type": "application/json", "Idempotency-Key": event_id, "User-Agent": "aigate-audit"}
        token = os.environ.get(self.token_env) if self.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        error = "not attempted"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF_S))
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                    if 200 <= response.status < 300:
                        return None
                    error = f"HTTP {response.status}"
            except urllib.error.HTTPError as e:
                error = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                error = str(getattr(e, "reason", None) or e)
        return f"{self.url}: {error} after {self.retries + 1} attempts"
