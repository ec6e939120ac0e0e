"""The interface every audit sink implements, and the one every queryable store implements.

A sink receives the events of one evaluation (or one review/merge) as a batch, links them into its
own hash chain and stores them, all or nothing. It raises `AuditError` when it cannot: the gate then
fails closed rather than deciding without a record.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aigate.audit.chain import ChainKey, ChainState

__all__ = ["AuditSink", "AuditStore", "EventFilter", "StoredEvent"]

# An event as stored: its JSON object, chain link included.
StoredEvent = dict[str, Any]


@dataclass(frozen=True)
class EventFilter:
    correlation_id: str | None = None
    pr_number: int | None = None
    agent: str | None = None
    outcome: str | None = None
    decision_id: str | None = None
    types: tuple[str, ...] = ()
    # RFC 3339 UTC timestamps in aigate's fixed-width form (`aigate.audit.events.utc_timestamp`).
    since: str | None = None
    until: str | None = None

    def matches(self, event: Mapping[str, Any]) -> bool:
        """The same filter in Python, for stores that cannot query (a JSON Lines file)."""
        if self.correlation_id is not None and event.get("correlation_id") != self.correlation_id:
            return False
        if self.pr_number is not None and pr_number_of(event) != self.pr_number:
            return False
        if self.agent is not None and (event.get("agent") or "").lower() != self.agent.lower():
            return False
        if self.outcome is not None and event.get("outcome") != self.outcome:
            return False
        if self.decision_id is not None and event.get("decision_id") != self.decision_id:
            return False
        if self.types and event.get("type") not in self.types:
            return False
        timestamp = str(event.get("timestamp") or "")
        if self.since is not None and timestamp < self.since:
            return False
        return not (self.until is not None and timestamp >= self.until)


def pr_number_of(event: Mapping[str, Any]) -> int | None:
    """The PR number an event is about: its `pr` block, else the `#N` that ends its correlation id."""
    pr = event.get("pr")
    if isinstance(pr, Mapping) and isinstance(pr.get("number"), int):
        number: int = pr["number"]
        return number
    correlation = str(event.get("correlation_id") or "")
    head, sep, tail = correlation.rpartition("#")
    return int(tail) if sep and tail.isdigit() else None


class AuditSink(abc.ABC):
    """Stores events; one module per kind of sink."""

    name: str

    def __init__(self, stream: str, key: ChainKey | None) -> None:
        self.stream = stream
        self.key = key

    @abc.abstractmethod
    def write(self, events: Sequence[StoredEvent]) -> None:
        """Link `events` (JSON-ready dicts without `chain`) after the stream's head and store them, all or none."""

    def close(self) -> None:  # noqa: B027 - optional hook: most sinks hold nothing open
        """Release connections and files."""


class AuditStore(abc.ABC):
    """A store that can be read back: queried, exported and verified."""

    @abc.abstractmethod
    def query(self, event_filter: EventFilter, limit: int | None = None) -> list[StoredEvent]:
        """Matching events, oldest first."""

    @abc.abstractmethod
    def stored_events(self) -> Iterator[tuple[StoredEvent | None, str]]:
        """Every event in stored order, for verification: (event, "") or (None, why it cannot be read)."""

    def recorded_heads(self) -> dict[str, ChainState]:
        """The head of each stream as recorded apart from the events, where the store keeps one."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""
