"""Tamper evidence: `aigate audit verify` catches an edited, dropped, inserted or reordered event on a
JSON Lines file, SQLite and PostgreSQL, and a signed chain catches a stream rewritten whole."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from aigate import Gate
from aigate.audit.chain import ChainState, canonical, link_event
from audit.helpers import claude_pr, jsonl_events, write_config

EVENTS = 7 * 2 + 1  # two evaluations and a review


def _fill(tmp_path: Path, sinks: list[dict[str, Any]], **audit: Any) -> Path:
    config = write_config(tmp_path, {"sinks": sinks, **audit})
    with Gate.from_config(config) as gate:
        gate.evaluate(claude_pr(42))
        gate.evaluate(claude_pr(43))
        gate.audit.record_review("github.com/acme/payments#42", actor="alice")
    return config


def _verify(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = run_cli("audit", "verify", *args)
    return result.code, result.stdout + result.stderr


# --- JSON Lines ---------------------------------------------------------------------------------

def _edit_line(lines: list[str]) -> list[str]:
    event = json.loads(lines[4])
    event["payload"]["counts"] = {"critical": 0}  # the scan event of the first evaluation
    lines[4] = canonical(event)
    return lines


def _insert_line(lines: list[str]) -> list[str]:
    # A forged event linked correctly after event 4 (hash recomputed): the chain breaks at the next one.
    forged = json.loads(lines[3])
    forged["event_id"] = "forged"
    state = ChainState(forged["chain"]["sequence"], forged["chain"]["hash"])
    link_event(forged, "aigate", state, None)
    return [*lines[:4], canonical(forged), *lines[4:]]


JSONL_TAMPERING: dict[str, tuple[Callable[[list[str]], list[str]], int, str]] = {
    "edit": (_edit_line, 5, "edited"),
    "drop": (lambda lines: lines[:4] + lines[5:], 5, "event 5 was dropped or moved"),
    "insert": (_insert_line, 6, "inserted"),
    "reorder": (lambda lines: [*lines[:4], lines[5], lines[4], *lines[6:]], 5, "dropped or moved"),
    "not json": (lambda lines: [*lines[:2], "{oops", *lines[3:]], 3, "line 3 is not JSON"),
}


def test_jsonl_chain_intact(tmp_path: Path) -> None:
    _fill(tmp_path, [{"type": "jsonl", "path": "audit.jsonl"}])
    code, output = _verify(tmp_path / "audit.jsonl")
    assert code == 0, output
    assert f"ok: {EVENTS} events" in output
    events = jsonl_events(tmp_path / "audit.jsonl")
    assert [e["chain"]["sequence"] for e in events] == list(range(1, EVENTS + 1))
    assert all(b["chain"]["prev_hash"] == a["chain"]["hash"] for a, b in zip(events, events[1:], strict=False))


@pytest.mark.parametrize("kind", sorted(JSONL_TAMPERING))
def test_jsonl_tampering_detected(tmp_path: Path, kind: str) -> None:
    _fill(tmp_path, [{"type": "jsonl", "path": "audit.jsonl"}])
    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines()
    tamper, position, reason = JSONL_TAMPERING[kind]
    path.write_text("\n".join(tamper(lines)) + "\n")
    code, output = _verify(path)
    assert code == 1, output
    assert f"event {position} (" in output and reason in output, output


# --- SQL stores (SQLite here; PostgreSQL in test_postgres.py reuses these) ----------------------

def sql_tampering(connection: Any, placeholder: str, kind: str) -> None:
    """Tamper with the audit_events table through a DB-API connection."""
    p = placeholder

    def rows() -> list[tuple[Any, ...]]:
        cursor = connection.cursor()
        cursor.execute("SELECT id, sequence, event FROM audit_events ORDER BY id")
        return list(cursor.fetchall())

    def execute(sql: str, params: tuple[Any, ...] = ()) -> None:
        cursor = connection.cursor()
        cursor.execute(sql.replace("?", p), params)

    ids = {sequence: row_id for row_id, sequence, _ in rows()}
    if kind == "edit":
        event = json.loads(next(e for _, s, e in rows() if s == 5))
        event["payload"]["counts"] = {"critical": 0}
        execute("UPDATE audit_events SET event = ? WHERE id = ?", (canonical(event), ids[5]))
    elif kind == "edit column":
        execute("UPDATE audit_events SET agent = 'Human' WHERE id = ?", (ids[7],))
    elif kind == "drop":
        execute("DELETE FROM audit_events WHERE id = ?", (ids[5],))
    elif kind == "drop last":
        execute("DELETE FROM audit_events WHERE id = ?", (ids[max(ids)],))
    elif kind in ("insert", "insert and move head"):
        # A forged event linked correctly after the last one (hash recomputed, no key): it passes as the
        # chain's next event; the recorded head (or, when the attacker moves it too, the signature) catches it.
        last = max(ids)
        forged = json.loads(next(e for _, s, e in rows() if s == last))
        forged["event_id"] = "forged"
        forged["type"] = "review"
        forged["payload"] = {"actor": "mallory", "state": "approved", "override": "forged", "comment": None}
        state = link_event(forged, "aigate", ChainState(last, forged["chain"]["hash"]), None)
        from aigate.audit.sinks._sql import COLUMNS, event_row

        insert = f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({', '.join([p] * len(COLUMNS))})"
        connection.cursor().execute(insert, event_row(forged))
        if kind == "insert and move head":
            execute("UPDATE audit_chain_heads SET sequence = ?, hash = ?", (state.sequence, state.hash))
    elif kind == "reorder":
        execute("UPDATE audit_events SET id = -1 WHERE id = ?", (ids[5],))
        execute("UPDATE audit_events SET id = ? WHERE id = ?", (ids[5], ids[6]))
        execute("UPDATE audit_events SET id = ? WHERE id = -1", (ids[6],))
    else:
        raise AssertionError(kind)


SQL_TAMPERING: dict[str, tuple[int | None, str]] = {
    "edit": (5, "edited"),
    "edit column": (7, "column agent"),
    "drop": (5, "event 5 was dropped or moved"),
    "drop last": (EVENTS - 1, "recorded head"),
    "insert": (EVENTS + 1, "recorded head"),
    "reorder": (5, "dropped or moved"),
}


def test_sqlite_chain_intact(tmp_path: Path) -> None:
    _fill(tmp_path, [{"type": "sqlite", "path": "audit.db"}])
    for target in (["--db", f"sqlite:///{tmp_path / 'audit.db'}"], ["--db", str(tmp_path / "audit.db")]):
        code, output = _verify(*target)
        assert code == 0, output
        assert f"ok: {EVENTS} events" in output


@pytest.mark.parametrize("kind", sorted(SQL_TAMPERING))
def test_sqlite_tampering_detected(tmp_path: Path, kind: str) -> None:
    _fill(tmp_path, [{"type": "sqlite", "path": "audit.db"}])
    connection = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    sql_tampering(connection, "?", kind)
    connection.close()
    code, output = _verify("--db", str(tmp_path / "audit.db"))
    position, reason = SQL_TAMPERING[kind]
    assert code == 1, output
    assert reason in output, output
    assert f"event {position}" in output, output


# --- Signing the chain ------------------------------------------------------------------------------

def _rewrite_without_key(path: Path) -> None:
    """What an attacker with write access does: edit an event and recompute the whole chain."""
    events = jsonl_events(path)
    events[6]["payload"]["decision"]["outcome"] = "allow"
    state = ChainState()
    for event in events:
        event.pop("chain")
        state = link_event(event, "aigate", state, None)
    path.write_text("".join(canonical(e) + "\n" for e in events))


def test_hmac_signed_chain_catches_a_rewritten_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGATE_AUDIT_KEY", "s3cret-key")
    _fill(tmp_path, [{"type": "jsonl", "path": "audit.jsonl"}],
          signing={"algorithm": "hmac-sha256", "key_env": "AIGATE_AUDIT_KEY"})
    path = tmp_path / "audit.jsonl"
    assert all(e["chain"]["signature"].startswith("hmac-sha256:") for e in jsonl_events(path))
    assert "s3cret-key" not in path.read_text()
    code, output = _verify(path, "--hmac-key-env", "AIGATE_AUDIT_KEY")
    assert code == 0, output
    _rewrite_without_key(path)
    assert _verify(path)[0] == 0  # the chain alone is consistent again ...
    code, output = _verify(path, "--hmac-key-env", "AIGATE_AUDIT_KEY")
    assert code == 1  # ... but not its signatures
    assert "event 1 (" in output and "signature" in output, output


def test_ed25519_signed_chain_verified_with_the_public_key(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "audit-key.pem").write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "audit-pub.pem").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    _fill(tmp_path, [{"type": "sqlite", "path": "audit.db"}, {"type": "jsonl", "path": "audit.jsonl"}],
          signing={"algorithm": "ed25519", "key_file": "audit-key.pem"})
    for target in (["--db", str(tmp_path / "audit.db")], [str(tmp_path / "audit.jsonl")]):
        code, output = _verify(*target, "--public-key", tmp_path / "audit-pub.pem")
        assert code == 0, output
        assert "chain and signature intact" in output
    # The attacker appends a correctly linked event and moves the head: only the signature tells.
    connection = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    sql_tampering(connection, "?", "insert and move head")
    connection.close()
    assert _verify("--db", str(tmp_path / "audit.db"))[0] == 0
    code, output = _verify("--db", str(tmp_path / "audit.db"), "--public-key", tmp_path / "audit-pub.pem")
    assert code == 1 and f"event {EVENTS + 1} (forged)" in output and "signature" in output, output


def test_verify_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _verify()[0] == 2
    code, output = _verify(tmp_path / "missing.jsonl")
    assert code == 2 and "missing.jsonl" in output
