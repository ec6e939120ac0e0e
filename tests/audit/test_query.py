"""A PR's story across two runs and a review, told by `aigate audit query`; export and stats."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from aigate.models import FileChange
from audit.helpers import claude_pr, write_config, write_document


def _story(tmp_path: Path) -> Path:
    """Run 1 blocks (a workflow file), run 2 (after a fix) asks for review, then alice approves."""
    config = write_config(tmp_path, {"sinks": [{"type": "sqlite", "path": "audit.db"}]})
    first = write_document(tmp_path / "run1.json", claude_pr(42, files=(
        FileChange(path=".github/workflows/ci.yml", status="modified", added=3, removed=1),
        FileChange(path="src/client.py", status="modified", added=12, removed=3),
    )))
    second = write_document(tmp_path / "run2.json", claude_pr(42, files=(
        FileChange(path="src/client.py", status="modified", added=12, removed=3),
        FileChange(path="src/auth/tokens.py", status="modified", added=400, removed=2),
        FileChange(path="deploy/app.tf", status="modified", added=10, removed=2),
    )))
    other = write_document(tmp_path / "other.json", claude_pr(7))
    assert run_cli("evaluate", "--config", config, "--input", first).code == 1
    assert run_cli("evaluate", "--config", config, "--input", second).code == 0
    assert run_cli("evaluate", "--config", config, "--input", other).code == 0
    recorded = run_cli("audit", "record", "--config", config, "--correlation-id", "github.com/acme/payments#42",
                       "--type", "review", "--actor", "alice", "--override", "reviewed the workflow change")
    assert recorded.code == 0, recorded.stderr
    assert json.loads(recorded.stdout)["payload"]["override"] == "reviewed the workflow change"
    return config


def test_story_of_a_pr_across_two_runs_and_a_review(tmp_path: Path) -> None:
    config = _story(tmp_path)
    result = run_cli("audit", "query", "--config", config, "--correlation-id", "github.com/acme/payments#42",
                     "--format", "json")
    assert result.code == 0, result.stderr
    events = json.loads(result.stdout)
    assert [e["type"] for e in events] == [
        *["generation", "diff", "detection", "policy", "scan", "risk", "decision"] * 2, "review"]
    decisions = [e["payload"]["decision"] for e in events if e["type"] == "decision"]
    assert [d["outcome"] for d in decisions] == ["block", "review"]
    assert len({e["decision_id"] for e in events[:7]}) == 1 and events[0]["decision_id"] != events[7]["decision_id"]
    policy = events[3]["payload"]["violations"]
    assert any(v["path"] == ".github/workflows/ci.yml" and v["message"] for v in policy)
    assert events[0]["payload"]["agent"] == "Claude Code"
    assert events[-1]["payload"] == {"actor": "alice", "state": "approved",
                                     "override": "reviewed the workflow change", "comment": None}
    # The same story as a table, and by PR number.
    table = run_cli("audit", "query", "--config", config, "--correlation-id", "github.com/acme/payments#42")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TIMESTAMP", "TYPE", "CORRELATION", "OUTCOME", "AGENT", "DETAIL"]
    assert len(lines) == 16
    assert "OVERRIDE: reviewed the workflow change" in lines[-1]
    assert "block" in lines[7] and "review" in lines[14]
    by_pr = json.loads(run_cli("audit", "query", "--config", config, "--pr", "42", "--format", "json").stdout)
    assert [e["event_id"] for e in by_pr] == [e["event_id"] for e in events]


def test_query_filters(tmp_path: Path) -> None:
    config = _story(tmp_path)

    def query(*args: str) -> list[dict[str, object]]:
        result = run_cli("audit", "query", "--config", config, "--format", "json", *args)
        assert result.code == 0, result.stderr
        return list(json.loads(result.stdout))

    blocked = query("--outcome", "block", "--type", "decision")
    assert len(blocked) == 1 and blocked[0]["correlation_id"] == "github.com/acme/payments#42"
    assert len(query("--agent", "claude code", "--type", "decision")) == 3
    assert query("--agent", "Devin") == []
    assert query("--since", "2999-01-01") == []
    assert len(query("--until", "2999-01-01")) == 22
    assert len(query("--since", "1h")) == 22
    bad = run_cli("audit", "query", "--config", config, "--since", "yesterday")
    assert bad.code == 2 and "--since 'yesterday': not a time" in bad.stderr


def test_export_and_stats(tmp_path: Path) -> None:
    config = _story(tmp_path)
    exported = run_cli("audit", "export", "--config", config, "--since", "2000-01-01", "--until", "2999-01-01",
                       "-o", tmp_path / "export.jsonl")
    assert exported.code == 0, exported.stderr
    # The export is a JSON Lines file whose chain verifies on its own (nothing filtered out).
    verified = run_cli("audit", "verify", tmp_path / "export.jsonl")
    assert verified.code == 0, verified.stderr
    assert "ok: 22 events" in verified.stdout
    stats = run_cli("audit", "stats", "--config", config, "--since", "1d", "--format", "json")
    assert stats.code == 0, stats.stderr
    result = json.loads(stats.stdout)
    assert result["decisions"] == 3
    assert result["by_outcome"] == {"block": 1, "review": 1, "allow": 1}
    assert result["by_agent"] == {"Claude Code": 3}
    assert result["by_rule"]["blocked_path"] == 1
    assert sum(result["by_tier"].values()) == 3
    table = run_cli("audit", "stats", "--config", config)
    assert table.code == 0 and "3 decisions" in table.stdout and "blocked_path" in table.stdout


def test_record_needs_audit_enabled(tmp_path: Path) -> None:
    config = tmp_path / "off.yml"
    config.write_text("audit:\n  enabled: false\n")
    result = run_cli("audit", "record", "--config", config, "--correlation-id", "x#1", "--type", "merge",
                     "--actor", "bob")
    assert result.code == 2 and "audit.enabled is false" in result.stderr


def test_evaluate_with_generation_prompt_and_correlation_id(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}]})
    generation = tmp_path / "generation.json"
    generation.write_text(json.dumps({"agent": "Devin", "model": "devin-2", "tools": ["shell"],
                                      "session_links": ["https://app.devin.ai/sessions/7"]}))
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("make the payments client retry")
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"number": 5, "head_branch": "devin/1-retry", "labels": ["ai-generated"]}))
    diff = tmp_path / "pr.diff"
    diff.write_text("")
    result = run_cli("evaluate", "--config", config, "--pr", pr, "--diff", diff, "--generation", generation,
                     "--prompt-file", prompt, "--correlation-id", "JIRA-123")
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert {e["correlation_id"] for e in events} == {"JIRA-123"}
    generation_event = events[0]["payload"]
    assert (generation_event["agent"], generation_event["model"], generation_event["tools"]) == (
        "Devin", "devin-2", ["shell"])
    assert generation_event["prompt_sha256"].startswith("sha256:") and generation_event["prompt"] is None
    assert "make the payments client retry" not in (tmp_path / "audit.jsonl").read_text()


def test_a_sink_that_cannot_record_fails_the_evaluation_closed(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    config = write_config(tmp_path, {"sinks": [{"type": "sqlite", "path": "not-a-folder/audit.db"}]})
    document = write_document(tmp_path / "input.json", claude_pr())
    result = run_cli("evaluate", "--config", config, "--input", document)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("aigate: error: audit sqlite") and len(result.stderr.splitlines()) == 1


def test_reading_a_file_that_is_no_audit_store_is_an_error(tmp_path: Path) -> None:
    """An empty or truncated database verified as "ok: 0 events, chain intact" (the read wrote the schema into
    it), and a JSON Lines file of garbage queried as an empty trail. Exit 2 (verify: 1, a broken chain, for
    the damaged file it can read), and nothing is written."""
    empty = tmp_path / "audit.db"
    empty.write_bytes(b"")
    foreign = tmp_path / "other.db"
    foreign.write_bytes(b"SQLite format 3\x00" + bytes(4080))  # a header, then nothing of aigate's
    garbage = tmp_path / "audit.jsonl"
    garbage.write_text('{"type": "decision"}\nnot json\n')
    for command in ("verify", "query", "stats", "export"):
        for store, problem in ((empty, "not an aigate audit database"), (garbage, "line 2 is not JSON")):
            result = run_cli("audit", command, "--db", store)
            broken = command == "verify" and store == garbage
            assert result.code == (1 if broken else 2), (command, store, result.stdout)
            if not broken:
                assert problem in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert run_cli("audit", command, "--db", foreign).code == 2
    assert empty.read_bytes() == b""
