"""What the SQL stores (SQLite, PostgreSQL) share: the row of an event, the query, verification reads.

The event is stored whole as canonical JSON text (so its hash can be recomputed byte for byte); the
other columns are copies for querying, and verification checks they agree with the JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from aigate.audit.chain import ChainState, canonical
from aigate.audit.sinks.interface import EventFilter, StoredEvent, pr_number_of

__all__ = ["COLUMNS", "check_row", "event_row", "filter_sql", "row_events"]

COLUMNS = ("stream", "sequence", "event_id", "type", "timestamp", "correlation_id", "decision_id",
           "pr_number", "agent", "outcome", "prev_hash", "hash", "event")
_COPIED = ("event_id", "type", "timestamp", "correlation_id", "decision_id", "agent", "outcome")


def event_row(event: Mapping[str, Any]) -> tuple[Any, ...]:
    chain = event["chain"]
    return (chain["stream"], chain["sequence"], event["event_id"], event["type"], event["timestamp"],
            event["correlation_id"], event.get("decision_id"), pr_number_of(event), event.get("agent"),
            event.get("outcome"), chain["prev_hash"], chain["hash"], canonical(event))


def check_row(row: Mapping[str, Any]) -> tuple[StoredEvent | None, str]:
    """The event of a row, or why the row is not a consistent copy of it."""
    try:
        event = json.loads(row["event"])
    except (TypeError, ValueError):
        return None, f"row id {row['id']}: the event column is not JSON"
    if not isinstance(event, dict) or not isinstance(event.get("chain"), dict):
        return None, f"row id {row['id']}: the event column is not an audit event"
    expected = {key: event.get(key) for key in _COPIED}
    chain = event["chain"]
    expected.update(stream=chain.get("stream"), sequence=chain.get("sequence"), prev_hash=chain.get("prev_hash"),
                    hash=chain.get("hash"), pr_number=pr_number_of(event))
    for column, value in expected.items():
        if row[column] != value:
            return None, (f"row id {row['id']} (event {event.get('event_id')}): column {column} is "
                          f"{row[column]!r} but the stored event says {value!r} (the row was edited)")
    return event, ""


def row_events(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[StoredEvent | None, str]]:
    for row in rows:
        yield check_row(row)


def filter_sql(event_filter: EventFilter, placeholder: str) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(clause: str, value: Any) -> None:
        clauses.append(clause.replace("?", placeholder))
        params.append(value)

    if event_filter.correlation_id is not None:
        add("correlation_id = ?", event_filter.correlation_id)
    if event_filter.pr_number is not None:
        add("pr_number = ?", event_filter.pr_number)
    if event_filter.agent is not None:
        add("lower(agent) = lower(?)", event_filter.agent)
    if event_filter.outcome is not None:
        add("outcome = ?", event_filter.outcome)
    if event_filter.decision_id is not None:
        add("decision_id = ?", event_filter.decision_id)
    if event_filter.types:
        clauses.append("type IN (" + ", ".join([placeholder] * len(event_filter.types)) + ")")
        params.extend(event_filter.types)
    if event_filter.since is not None:
        add("timestamp >= ?", event_filter.since)
    if event_filter.until is not None:
        add("timestamp < ?", event_filter.until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def heads(rows: Iterable[tuple[Any, ...]]) -> dict[str, ChainState]:
    return {str(stream): ChainState(int(sequence), str(hash_)) for stream, sequence, hash_ in rows}
