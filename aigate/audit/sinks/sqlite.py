"""SQLite sink and store: the embedded default, safe for several processes writing one database.

Writers take SQLite's write lock up front (`BEGIN IMMEDIATE`), read the stream's head, insert the
batch and move the head in one transaction, so that concurrent processes extend one unbroken chain.
WAL mode lets readers (queries) run while a writer holds the lock."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aigate.audit.chain import ChainKey, ChainState, link_event
from aigate.audit.migrations import SQLITE_MIGRATIONS
from aigate.audit.sinks import _sql
from aigate.audit.sinks.interface import AuditSink, AuditStore, EventFilter, StoredEvent
from aigate.errors import AuditError

__all__ = ["SqliteSink", "SqliteStore", "connect"]

# How long a writer waits for another process's transaction before failing (closed).
_BUSY_TIMEOUT_MS = 60_000
_INSERT = (f"INSERT INTO audit_events ({', '.join(_sql.COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_sql.COLUMNS))})")


def connect(path: Path, *, create: bool = True, durable: bool = False) -> sqlite3.Connection:
    """A connection with the schema migrated to the latest version."""
    if not create and not path.exists():
        raise AuditError(f"{path}: no such audit database")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL fsyncs the WAL at every commit, so a record survives a power cut too (~ one fsync per
        # decision); NORMAL (WAL's usual setting) survives a crash of any process, and syncs at checkpoints.
        connection.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        _migrate(connection, path)
        return connection
    except sqlite3.Error as e:
        raise AuditError(f"audit sqlite {path}: {e}") from e
    except OSError as e:
        raise AuditError(f"audit sqlite {path}: cannot create: {e.strerror or e}") from e


def _require_audit_database(path: Path) -> None:
    """Before a store is read: `connect` would write the schema into an empty or truncated file, and
    `audit verify` would then call it an intact chain of 0 events. Looked at read-only."""
    if not path.exists():
        raise AuditError(f"{path}: no such audit database")
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = probe.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'aigate_schema_migrations'"
            ).fetchone()[0]
        finally:
            probe.close()
    except sqlite3.Error as e:
        raise AuditError(f"audit sqlite {path}: cannot read: {e}") from e
    if not found:
        raise AuditError(f"audit sqlite {path}: not an aigate audit database (no schema: an empty or foreign file)")


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS aigate_schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in connection.execute("SELECT version FROM aigate_schema_migrations")}
        known = {version for version, _, _ in SQLITE_MIGRATIONS}
        if applied - known:
            raise AuditError(f"audit sqlite {path}: schema version {max(applied)} is newer than this aigate "
                             f"knows ({max(known)}); upgrade aigate")
        for version, name, statements in SQLITE_MIGRATIONS:
            if version in applied:
                continue
            for statement in statements:
                connection.execute(statement)
            connection.execute("INSERT INTO aigate_schema_migrations VALUES (?, ?, ?)",
                                (version, name, datetime.now(UTC).isoformat()))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


class SqliteSink(AuditSink):
    name = "sqlite"

    def __init__(self, path: Path, stream: str, key: ChainKey | None, *, durable: bool = False) -> None:
        super().__init__(stream, key)
        self.path = path
        self.durable = durable
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork (batch workers): each process opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection = connect(self.path, durable=self.durable)
            self._pid = os.getpid()
        return self._connection

    def write(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    row = connection.execute(
                        "SELECT sequence, hash FROM audit_chain_heads WHERE stream = ?", (self.stream,)
                    ).fetchone()
                    state = ChainState(row[0], row[1]) if row else ChainState()
                    rows = []
                    for event in events:
                        state = link_event(event, self.stream, state, self.key)
                        rows.append(_sql.event_row(event))
                    connection.executemany(_INSERT, rows)
                    signature = events[-1]["chain"]["signature"] if events else None
                    connection.execute(
                        "INSERT INTO audit_chain_heads (stream, sequence, hash, signature) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (stream) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash, "
                        "signature = excluded.signature",
                        (self.stream, state.sequence, state.hash, signature),
                    )
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise AuditError(f"audit sqlite {self.path}: cannot record: {e}") from e

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


class SqliteStore(AuditStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        _require_audit_database(path)
        self._connection = connect(path, create=False)

    def query(self, event_filter: EventFilter, limit: int | None = None) -> list[StoredEvent]:
        import json

        where, params = _sql.filter_sql(event_filter, "?")
        sql = f"SELECT event FROM audit_events{where} ORDER BY timestamp, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            return [json.loads(row[0]) for row in self._connection.execute(sql, params)]
        except sqlite3.Error as e:
            raise AuditError(f"audit sqlite {self.path}: cannot query: {e}") from e

    def stored_events(self) -> Iterator[tuple[StoredEvent | None, str]]:
        rows: Any = self._connection.execute(f"SELECT id, {', '.join(_sql.COLUMNS)} FROM audit_events ORDER BY id")
        return _sql.row_events(rows)

    def recorded_heads(self) -> dict[str, Any]:
        return _sql.heads(self._connection.execute("SELECT stream, sequence, hash FROM audit_chain_heads"))

    def close(self) -> None:
        self._connection.close()
