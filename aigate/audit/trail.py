"""`AuditTrail`: the configured sinks, fed with the events of each evaluation and of later reviews and merges."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from aigate.audit.build import correlation_id_for, evaluation_events
from aigate.audit.chain import ChainKey
from aigate.audit.events import AuditEvent, AuditPullRequest, MergeEvent, MergePayload, ReviewEvent, ReviewPayload
from aigate.audit.settings import AuditSettings, SinkSettings, audit_settings
from aigate.audit.sinks.interface import AuditSink, AuditStore, StoredEvent
from aigate.errors import AuditError, ConfigError
from aigate.models import Decision, InputDocument

__all__ = ["AuditTrail", "chain_key", "open_store", "sink_for"]

ReviewState = Literal["approved", "changes_requested", "commented", "dismissed"]


def chain_key(settings: AuditSettings) -> ChainKey | None:
    signing = settings.signing
    if signing is None:
        return None
    if signing.key_env:
        return ChainKey.from_env(signing.algorithm, signing.key_env)
    assert signing.key_file is not None
    return ChainKey.from_file(signing.algorithm, signing.key_file)


def sink_for(sink: SinkSettings, key: ChainKey | None) -> AuditSink:
    """One sink; each kind lives in its own module, imported only when configured."""
    if sink.type == "jsonl":
        from aigate.audit.sinks.jsonl import JsonlSink

        assert sink.path is not None
        return JsonlSink(sink.path, sink.stream, key, durable=sink.durable)
    if sink.type == "stdout":
        from aigate.audit.sinks.stdout import StdoutSink

        return StdoutSink(sink.stream, key)
    if sink.type == "sqlite":
        from aigate.audit.sinks.sqlite import SqliteSink

        assert sink.path is not None
        return SqliteSink(sink.path, sink.stream, key, durable=sink.durable)
    if sink.type == "postgres":
        from aigate.audit.sinks.postgres import PostgresSink

        assert sink.dsn is not None
        return PostgresSink(sink.dsn, sink.stream, key, durable=sink.durable)
    if sink.type == "webhook":
        from aigate.audit.sinks.webhook import WebhookSink

        assert sink.url is not None and sink.spool_dir is not None
        return WebhookSink(sink.url, sink.spool_dir, sink.stream, key, spool_max_events=sink.spool_max_events,
                           on_spool_full=sink.on_spool_full, timeout=sink.timeout, retries=sink.retries,
                           backoff=sink.backoff, token_env=sink.token_env)
    raise ConfigError(f"audit: unknown sink type {sink.type!r}")


def open_store(location: str | Path) -> AuditStore:
    """A store to read: `sqlite:///PATH` or a `.db`/`.sqlite` file, `postgresql://…` (or `postgres://…`),
    or a JSON Lines file."""
    text = str(location)
    if re.match(r"^postgres(ql)?://", text) or (" " in text and "dbname=" in text):
        from aigate.audit.sinks.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") - 1:] if text.startswith("sqlite:////") else text[len("sqlite:///"):]
        from aigate.audit.sinks.sqlite import SqliteStore

        return SqliteStore(Path(text))
    path = Path(text)
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        from aigate.audit.sinks.sqlite import SqliteStore

        return SqliteStore(path)
    from aigate.audit.sinks.jsonl import JsonlStore

    return JsonlStore(path)


class AuditTrail:
    """Writes audit events to every configured sink.

    >>> trail = AuditTrail.from_config(load_config(".ai-code-gate.yml"))   # doctest: +SKIP
    >>> trail.record_review("github.com/acme/api#42", actor="alice", override="hotfix, see INC-7")   # doctest: +SKIP

    Every sink must take every batch: a sink that fails raises `AuditError`, and `Gate.evaluate`
    lets it through (the gate fails closed). Sinks are opened on first use, once per process.
    """

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings
        self._sinks: list[AuditSink] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any) -> AuditTrail:
        """From a `GateConfig`."""
        return cls(audit_settings(config.settings["audit"], config.base_dir))

    @property
    def sinks(self) -> list[AuditSink]:
        with self._lock:  # Gate.evaluate may run on several threads: open the sinks once
            if self._sinks is None:
                key = chain_key(self.settings)
                self._sinks = [sink_for(sink, key) for sink in self.settings.sinks]
            return self._sinks

    def write(self, events: Sequence[AuditEvent]) -> list[list[StoredEvent]]:
        """Store `events` on every sink; what each sink stored (with its chain links), in sink order."""
        if not self.settings.sinks:
            raise AuditError("audit: no sinks are configured")
        stored = []
        for sink in self.sinks:
            batch = [event.model_dump(mode="json") for event in events]
            sink.write(batch)
            stored.append(batch)
        return stored

    def evaluation_events(self, decision: Decision, document: InputDocument, *, duration_s: float = 0.0,
                          correlation_id: str | None = None, prompt: str | None = None) -> list[AuditEvent]:
        return evaluation_events(decision, document, self.settings, duration_s=duration_s,
                                 correlation_id=correlation_id, prompt=prompt)

    def record_evaluation(self, decision: Decision, document: InputDocument, *, duration_s: float = 0.0,
                          correlation_id: str | None = None, prompt: str | None = None) -> list[AuditEvent]:
        events = self.evaluation_events(decision, document, duration_s=duration_s, correlation_id=correlation_id,
                                        prompt=prompt)
        self.write(events)
        return events

    def record_review(self, correlation_id: str, *, actor: str, state: ReviewState = "approved",
                      override: str | None = None, comment: str | None = None,
                      decision_id: str | None = None) -> ReviewEvent:
        """Record who reviewed the PR, and any override of a block with its reason."""
        event = ReviewEvent(correlation_id=_required(correlation_id, "correlation id"),
                            decision_id=decision_id, pr=_pr_of(correlation_id),
                            payload=ReviewPayload(actor=_required(actor, "actor"), state=state,
                                                  override=override, comment=comment))
        self.write([event])
        return event

    def record_merge(self, correlation_id: str, *, actor: str, commit_sha: str | None = None,
                     override: str | None = None, decision_id: str | None = None) -> MergeEvent:
        """Record who merged the PR (and the merge commit), and any override of a block with its reason."""
        event = MergeEvent(correlation_id=_required(correlation_id, "correlation id"),
                           decision_id=decision_id, pr=_pr_of(correlation_id),
                           payload=MergePayload(actor=_required(actor, "actor"), commit_sha=commit_sha,
                                                override=override))
        self.write([event])
        return event

    def close(self) -> None:
        for sink in self._sinks or []:
            sink.close()
        self._sinks = None


def _required(value: str, what: str) -> str:
    if not value or not value.strip():
        raise AuditError(f"audit record: the {what} is empty")
    return value


def _pr_of(correlation_id: str) -> AuditPullRequest | None:
    head, sep, tail = correlation_id.rpartition("#")
    return AuditPullRequest(number=int(tail)) if sep and tail.isdigit() else None


__all__ += ["correlation_id_for"]
