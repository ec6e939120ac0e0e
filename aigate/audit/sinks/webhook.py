"""HTTP webhook sink, for a SIEM collector: at-least-once delivery through a bounded on-disk spool.

Each batch of events is first chained and written to the spool (one file per batch, fsynced, renamed
into place); then the spool is delivered oldest first over one keep-alive connection, one POST per
event with the event's id as `Idempotency-Key`, each retried with exponential backoff. What is not
delivered stays in the spool for the next evaluation (or `aigate audit flush`), across restarts. A full spool fails the
evaluation closed, unless `on_spool_full: drop` says to drop new events (with a warning)."""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

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

    def _batches(self) -> list[tuple[Path, int]]:
        """Spooled batches not yet delivered, oldest first, with how many events each holds."""
        if not self.events_dir.is_dir():
            return []
        found = []
        for path in self.events_dir.iterdir():
            first, sep, count = path.stem.partition("-")
            if path.suffix == ".jsonl" and sep and first.isdigit() and count.isdigit():
                found.append((int(first), path, int(count)))
        return [(path, count) for _, path, count in sorted(found)]

    def pending_events(self) -> int:
        return sum(count for _, count in self._batches())

    def write(self, events: Sequence[StoredEvent]) -> None:
        self._prepare()
        try:
            with _locked(self.spool_dir / "spool.lock"):
                waiting = self.pending_events()
                if waiting + len(events) > self.spool_max_events:
                    message = (f"audit webhook {self.url}: the spool {self.spool_dir} is full ({waiting} undelivered "
                               f"events, limit {self.spool_max_events})")
                    if self.on_spool_full == "fail":
                        raise AuditError(message + "; failing closed rather than dropping events")
                    print(f"aigate: warning: {message}; dropped {len(events)} new events", file=sys.stderr)
                    return
                state = before = self._state()
                lines = []
                for event in events:
                    state = link_event(event, self.stream, state, self.key)
                    lines.append(canonical(event))
                # One file (one fsync) per batch; the chain state moves only once the batch is safe.
                _write_atomically(self.events_dir / f"{before.sequence + 1:016d}-{len(lines)}.jsonl",
                                  "".join(line + "\n" for line in lines))
                _write_atomically(self.spool_dir / "state.json",
                                  json.dumps({"stream": self.stream, "sequence": state.sequence, "hash": state.hash}))
        except OSError as e:
            raise AuditError(f"audit webhook spool {self.spool_dir}: cannot write: {e.strerror or e}") from e
        report = self.deliver()
        if report.error is not None:
            # Not an error of the evaluation: the events are safe in the spool and go with the next delivery.
            print(f"aigate: warning: audit webhook {report.error}; {report.pending} events waiting in the spool "
                  f"{self.spool_dir}", file=sys.stderr)

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
        """Send what the spool holds, oldest first, stopping at the first event that cannot be delivered.

        Whoever holds the delivery lock looks at the spool again once it lets go: a writer that found the
        lock taken leaves its batch to the holder, and the holder had listed the spool before that batch
        (measured: 8 threads, 1,400 events, up to 168 left behind without a word)."""
        self._prepare()
        delivered = 0
        while True:
            with _locked(self.spool_dir / "deliver.lock", blocking=False) as mine:
                if not mine:  # another thread or process is delivering this spool, and will look again
                    return DeliveryReport(delivered, self.pending_events(), None)
                sent, error = self._deliver_listed()
                delivered += sent
                if error is not None:
                    return DeliveryReport(delivered, self.pending_events(), error)
            if not self._batches():
                return DeliveryReport(delivered, 0, None)

    def _deliver_listed(self) -> tuple[int, str | None]:
        """Send every batch the spool lists now: (events delivered, the error that stopped it)."""
        delivered = 0
        with _Client(self.url, self.timeout) as client:
            for path, _ in self._batches():
                try:
                    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
                except FileNotFoundError:
                    continue
                for index, line in enumerate(lines):
                    error = self._post(client, line.encode("utf-8"))
                    if error is not None:
                        if index:  # keep only what is left of the batch
                            first = json.loads(lines[index])["chain"]["sequence"]
                            rest = lines[index:]
                            _write_atomically(self.events_dir / f"{first:016d}-{len(rest)}.jsonl",
                                              "".join(item + "\n" for item in rest))
                            path.unlink(missing_ok=True)
                        return delivered, error
                    delivered += 1
                path.unlink(missing_ok=True)
        return delivered, None

    def _post(self, client: _Client, body: bytes) -> str | None:
        event_id = str(json.loads(body).get("event_id", ""))
        headers = {"Content-Type": "application/json", "Idempotency-Key": event_id, "User-Agent": "aigate-audit"}
        token = os.environ.get(self.token_env) if self.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        error = "not attempted"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF_S))
            try:
                status = client.post(body, headers)
                if 200 <= status < 300:
                    return None
                error = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as e:
                client.reset()
                error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return f"{self.url}: {error} after {self.retries + 1} attempts"


class _Client:
    """One keep-alive connection to the collector for a delivery run (reopened after an error)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AuditError(f"audit webhook {url}: not an http(s) URL")
        self.parts = parts
        self.timeout = timeout
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            self._connection = kind(self.parts.hostname or "", self.parts.port, timeout=self.timeout)
        self._connection.request("POST", self.target, body=body, headers=headers)
        response = self._connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.reset()
        return response.status

    def reset(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()
