"""PostgreSQL sink and store (psycopg 3), for a team's central audit store.

The schema is created and upgraded by aigate's own versioned migrations (`aigate.audit.migrations`),
under an advisory lock so that several processes starting at once migrate it once. A writer locks
its stream's head row for the transaction, so concurrent writers extend one unbroken chain. The
connection string is libpq's: keep the password in PGPASSWORD or ~/.pgpass, not in the config."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from aigate.audit.chain import ChainKey, ChainState, link_event
from aigate.audit.migrations import POSTGRES_MIGRATIONS
from aigate.audit.sinks import _sql
from aigate.audit.sinks.interface import AuditSink, AuditStore, EventFilter, StoredEvent
from aigate.errors import AuditError

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresSink", "PostgresStore", "connect", "safe_dsn"]

# Any constant works: it only has to be the same for every aigate process.
_MIGRATION_LOCK = 0x41_49_47_41_54_45
_INSERT = (f"INSERT INTO audit_events ({', '.join(_sql.COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(_sql.COLUMNS))})")
# One row of a VALUES list, typed as the columns are (a NULL parameter alone would be text).
_COLUMN_TYPES = {"sequence": "bigint", "pr_number": "bigint"}
_TYPED_ROW = "(" + ", ".join(f"%s::{_COLUMN_TYPES.get(column, 'text')}" for column in _sql.COLUMNS) + ")"


def safe_dsn(dsn: str) -> str:
    """The connection string without a password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(dsn)
        if "password" in parts:
            parts["password"] = "***"
        return make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})
    except Exception:  # an unparsable string: say nothing of it
        return "<postgres dsn>"


def connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError as e:
        raise AuditError("audit postgres: psycopg is not installed; pip install 'aigate[postgres]'") from e
    try:
        connection = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
    except psycopg.Error as e:
        raise AuditError(f"audit postgres {safe_dsn(dsn)}: cannot connect: {' '.join(str(e).split())}") from e
    try:
        _migrate(connection)
    except psycopg.Error as e:
        connection.close()
        raise AuditError(f"audit postgres {safe_dsn(dsn)}: migration failed: {' '.join(str(e).split())}") from e
    return connection


def _migrate(connection: psycopg.Connection[Any]) -> None:
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS aigate_schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cursor.execute("SELECT version FROM aigate_schema_migrations")
        applied = {row[0] for row in cursor.fetchall()}
        known = {version for version, _, _ in POSTGRES_MIGRATIONS}
        if applied - known:
            raise AuditError(f"audit postgres: schema version {max(applied)} is newer than this aigate knows "
                             f"({max(known)}); upgrade aigate")
        for version, name, statements in POSTGRES_MIGRATIONS:
            if version in applied:
                continue
            for statement in statements:
                cursor.execute(statement)
            cursor.execute("INSERT INTO aigate_schema_migrations (version, name) VALUES (%s, %s)", (version, name))


class PostgresSink(AuditSink):
    name = "postgres"

    def __init__(self, dsn: str, stream: str, key: ChainKey | None, *, durable: bool = False) -> None:
        super().__init__(stream, key)
        self.dsn = dsn
        self.durable = durable
        self._connection: psycopg.Connection[Any] | None = None
        self._pid = 0
        self._lock = threading.Lock()
        # The head this process last wrote: the next batch is linked after it optimistically.
        self._head: ChainState | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed or self._pid != os.getpid():
            self._connection = connect(self.dsn)
            self._pid = os.getpid()
            self._head = None
            # Each statement is its own transaction unless a `transaction()` block says otherwise.
            self._connection.autocommit = True
            if not self.durable:
                # The commit returns before the WAL reaches the disk (the server flushes it within
                # 3 x wal_writer_delay): a server crash may lose the last batches, never half of one.
                self._connection.execute("SET synchronous_commit = off")
        return self._connection

    def write(self, events: Sequence[StoredEvent]) -> None:
        import psycopg

        with self._lock:
            connection = self._connect()
            try:
                if self._head is None or not self._write_after_known_head(connection, events, self._head):
                    self._write_locked(connection, events)
            except psycopg.Error as e:
                self._head = None
                if connection.broken:
                    self._connection = None
                raise AuditError(
                    f"audit postgres {safe_dsn(self.dsn)}: cannot record: {' '.join(str(e).split())}"
                ) from e

    def _link(self, events: Sequence[StoredEvent], head: ChainState) -> tuple[ChainState, list[tuple[Any, ...]]]:
        state = head
        rows = []
        for event in events:
            state = link_event(event, self.stream, state, self.key)
            rows.append(_sql.event_row(event))
        return state, rows

    def _write_after_known_head(self, connection: psycopg.Connection[Any], events: Sequence[StoredEvent],
                                head: ChainState) -> bool:
        """The usual case, one statement and one round trip: link after the head this process wrote last;
        the statement moves the head only if it is still there (locking its row first, as the locked path
        does: no deadlock) and inserts the batch only if it did. If another writer moved the head
        meanwhile, nothing is written and False says to write under the lock instead."""
        import psycopg

        state, rows = self._link(events, head)
        signature = events[-1]["chain"]["signature"] if events else None
        values = ", ".join([_TYPED_ROW] * len(rows))
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "WITH moved AS (UPDATE audit_chain_heads SET sequence = %s, hash = %s, signature = %s "
                    "WHERE stream = %s AND sequence = %s AND hash = %s RETURNING 1) "
                    f"INSERT INTO audit_events ({', '.join(_sql.COLUMNS)}) "
                    f"SELECT * FROM (VALUES {values}) AS batch WHERE EXISTS (SELECT 1 FROM moved)",
                    [state.sequence, state.hash, signature, self.stream, head.sequence, head.hash,
                     *(value for row in rows for value in row)],
                )
                written = cursor.rowcount == len(rows)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            written = False
        self._head = state if written else None
        return written

    def _write_locked(self, connection: psycopg.Connection[Any], events: Sequence[StoredEvent]) -> None:
        with connection.transaction(), connection.cursor() as cursor:
            # Creates the head on first use and locks it until commit, in one round trip.
            cursor.execute(
                "INSERT INTO audit_chain_heads (stream, sequence, hash) VALUES (%s, 0, %s) "
                "ON CONFLICT (stream) DO UPDATE SET stream = excluded.stream RETURNING sequence, hash",
                (self.stream, ChainState().hash),
            )
            row = cursor.fetchone()
            assert row is not None
            state, rows = self._link(events, ChainState(int(row[0]), str(row[1])))
            cursor.executemany(_INSERT, rows)
            signature = events[-1]["chain"]["signature"] if events else None
            cursor.execute(
                "UPDATE audit_chain_heads SET sequence = %s, hash = %s, signature = %s WHERE stream = %s",
                (state.sequence, state.hash, signature, self.stream),
            )
        self._head = state

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


class PostgresStore(AuditStore):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection = connect(dsn)
        self._connection.autocommit = True

    def query(self, event_filter: EventFilter, limit: int | None = None) -> list[StoredEvent]:
        where, params = _sql.filter_sql(event_filter, "%s")
        sql = f"SELECT event FROM audit_events{where} ORDER BY timestamp, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [json.loads(row[0]) for row in cursor.fetchall()]

    def stored_events(self) -> Iterator[tuple[StoredEvent | None, str]]:
        from psycopg.rows import dict_row

        with self._connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(f"SELECT id, {', '.join(_sql.COLUMNS)} FROM audit_events ORDER BY id")
            rows = cursor.fetchall()
        return _sql.row_events(rows)

    def recorded_heads(self) -> dict[str, Any]:
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT stream, sequence, hash FROM audit_chain_heads")
            return _sql.heads(cursor.fetchall())

    def close(self) -> None:
        self._connection.close()
