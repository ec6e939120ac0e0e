"""The PostgreSQL sink against a real server (a throwaway cluster on 127.0.0.1): migrations, the chain
and its tampering, four concurrent writers, redaction, and reading the store back through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from conftest import run_cli

from aigate import Gate
from aigate.audit import open_store, verify_store
from aigate.audit.migrations import POSTGRES_MIGRATIONS
from aigate.audit.sinks.postgres import connect
from aigate.errors import AuditError
from audit.helpers import claude_pr, write_config
from audit.test_chain import EVENTS, SQL_TAMPERING, _fill, sql_tampering
from audit.test_concurrency import check_store, run_writers
from audit.test_redaction import REDACT, assert_clean, sensitive_pr


def test_migrations_run_once_and_are_recorded(pg_dsn: str) -> None:
    connect(pg_dsn).close()
    connect(pg_dsn).close()  # a second start applies nothing twice
    with psycopg.connect(pg_dsn) as connection:
        versions = [row[0] for row in connection.execute("SELECT version FROM aigate_schema_migrations")]
        tables = {row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert versions == [version for version, _, _ in POSTGRES_MIGRATIONS]
    assert {"audit_events", "audit_chain_heads", "aigate_schema_migrations"} <= tables


def test_a_newer_schema_is_refused(pg_dsn: str) -> None:
    connect(pg_dsn).close()
    with psycopg.connect(pg_dsn, autocommit=True) as connection:
        connection.execute("INSERT INTO aigate_schema_migrations (version, name) VALUES (999, 'future')")
    with pytest.raises(AuditError, match="schema version 999 is newer"):
        connect(pg_dsn)


def test_unreachable_server_fails_closed(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "postgres",
                                                "dsn": "postgresql://aigate:pw@127.0.0.1:1/audit"}]})
    document = tmp_path / "input.json"
    document.write_text(claude_pr().model_dump_json())
    result = run_cli("evaluate", "--config", config, "--input", document)
    assert result.code == 2
    assert "audit postgres" in result.stderr and "cannot connect" in result.stderr
    assert "pw" not in result.stderr.replace("password", "")  # the password is never echoed
    assert result.stdout == ""


def test_chain_intact_and_story_queried(tmp_path: Path, pg_dsn: str) -> None:
    _fill(tmp_path, [{"type": "postgres", "dsn": pg_dsn}])
    verified = run_cli("audit", "verify", "--db", pg_dsn)
    assert verified.code == 0, verified.stderr
    assert f"ok: {EVENTS} events" in verified.stdout
    story = run_cli("audit", "query", "--db", pg_dsn, "--correlation-id", "github.com/acme/payments#42",
                    "--format", "json")
    assert story.code == 0, story.stderr
    assert [e["type"] for e in json.loads(story.stdout)][-1] == "review"
    assert len(json.loads(story.stdout)) == 8


@pytest.mark.parametrize("kind", sorted(SQL_TAMPERING))
def test_tampering_detected(tmp_path: Path, pg_dsn: str, kind: str) -> None:
    _fill(tmp_path, [{"type": "postgres", "dsn": pg_dsn}])
    with psycopg.connect(pg_dsn, autocommit=True) as connection:
        sql_tampering(connection, "%s", kind)
    result = run_cli("audit", "verify", "--db", pg_dsn)
    position, reason = SQL_TAMPERING[kind]
    assert result.code == 1, result.stdout
    assert reason in result.stderr and f"event {position}" in result.stderr, result.stderr


def test_four_processes_one_database(tmp_path: Path, pg_dsn: str) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "postgres", "dsn": pg_dsn}]})
    run_writers(config)
    check_store(pg_dsn)


def test_redaction(tmp_path: Path, pg_dsn: str) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "postgres", "dsn": pg_dsn}], "input": "full",
                                     "redact": REDACT})
    with Gate.from_config(config) as gate:
        gate.evaluate(sensitive_pr())
    with psycopg.connect(pg_dsn) as connection:
        rows = connection.execute("SELECT * FROM audit_events").fetchall()
    assert len(rows) == 7
    assert_clean("\n".join(" ".join(map(str, row)) for row in rows), "postgres")
    store = open_store(pg_dsn)
    try:
        assert verify_store(store).ok
    finally:
        store.close()


def test_writers_taking_turns_keep_one_chain(pg_dsn: str) -> None:
    # Each sink links its next batch after the head it wrote last; when another writer moved the head
    # meanwhile, the batch is written again under the head's lock, after the real head.
    from aigate.audit.sinks.postgres import PostgresSink

    first, second = PostgresSink(pg_dsn, "aigate", None), PostgresSink(pg_dsn, "aigate", None)
    try:
        for turn in range(6):
            sink = first if turn % 2 == 0 else second
            sink.write([{"schema_version": "2", "event_id": f"e{turn}-{i}", "timestamp": "2026-12-03T00:00:00.000000Z",
                         "correlation_id": "pr#1", "type": "merge", "payload": {"actor": "a"}} for i in range(3)])
    finally:
        first.close()
        second.close()
    store = open_store(pg_dsn)
    try:
        report = verify_store(store)
    finally:
        store.close()
    assert report.ok, report.first_break
    assert report.count == 18 and report.head.sequence == 18
