"""Versioned schema migrations of the SQL audit stores, which aigate applies itself on opening.

Each migration runs once, in order, recorded in `aigate_schema_migrations`; a store written by a
newer aigate (a version above the last known here) is refused rather than written to. Never edit a
released migration: add the next one.
"""

from __future__ import annotations

__all__ = ["POSTGRES_MIGRATIONS", "SQLITE_MIGRATIONS"]

# (version, name, statements)
SQLITE_MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "audit events and chain heads", (
        """CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            correlation_id TEXT NOT NULL,
            decision_id TEXT,
            pr_number INTEGER,
            agent TEXT,
            outcome TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            event TEXT NOT NULL,
            UNIQUE (stream, sequence)
        )""",
        "CREATE INDEX audit_events_correlation ON audit_events (correlation_id, timestamp)",
        "CREATE INDEX audit_events_timestamp ON audit_events (timestamp)",
        "CREATE INDEX audit_events_decision ON audit_events (decision_id)",
        "CREATE INDEX audit_events_pr ON audit_events (pr_number)",
        """CREATE TABLE audit_chain_heads (
            stream TEXT PRIMARY KEY,
            sequence INTEGER NOT NULL,
            hash TEXT NOT NULL,
            signature TEXT
        )""",
    )),
)

POSTGRES_MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "audit events and chain heads", (
        """CREATE TABLE audit_events (
            id BIGSERIAL PRIMARY KEY,
            stream TEXT NOT NULL,
            sequence BIGINT NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            correlation_id TEXT NOT NULL,
            decision_id TEXT,
            pr_number BIGINT,
            agent TEXT,
            outcome TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            event TEXT NOT NULL,
            UNIQUE (stream, sequence)
        )""",
        "CREATE INDEX audit_events_correlation ON audit_events (correlation_id, timestamp)",
        "CREATE INDEX audit_events_timestamp ON audit_events (timestamp)",
        "CREATE INDEX audit_events_decision ON audit_events (decision_id)",
        "CREATE INDEX audit_events_pr ON audit_events (pr_number)",
        """CREATE TABLE audit_chain_heads (
            stream TEXT PRIMARY KEY,
            sequence BIGINT NOT NULL,
            hash TEXT NOT NULL,
            signature TEXT
        )""",
    )),
)
