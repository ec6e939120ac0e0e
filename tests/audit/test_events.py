"""Every audit event type, against the published schema; what generation, diff and decision events hold."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from aigate import Gate, _resources
from aigate.audit import AUDIT_EVENT, EVENT_TYPES, AuditTrail
from aigate.audit.build import correlation_id_for
from aigate.config import config_from_mapping, load_config
from aigate.document import build_input_document, canonical_json, load_input_document
from aigate.errors import InputDocumentError
from aigate.models import FileChange, Finding, Generation, InputDocument, PullRequest
from audit.helpers import claude_pr, commit, jsonl_events, write_config

SCHEMA = _resources.load_schema("audit_event.schema.json")


def _all_event_types(tmp_path: Path) -> list[dict[str, object]]:
    write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}], "input": "full"})
    with Gate.from_config(tmp_path / ".ai-code-gate.yml") as gate:
        gate.evaluate(claude_pr(findings=(Finding(tool="semgrep", category="sast", severity="low", rule_id="r1",
                                                  message="m", path="src/client.py", line=3),)),
                      prompt="add retries")
        gate.audit.record_review("github.com/acme/payments#42", actor="alice", state="approved",
                                 override="hotfix for INC-7")
        gate.audit.record_merge("github.com/acme/payments#42", actor="bob", commit_sha="b" * 40)
    return jsonl_events(tmp_path / "audit.jsonl")


def test_every_event_type_validates_against_the_schema(tmp_path: Path) -> None:
    events = _all_event_types(tmp_path)
    assert sorted({e["type"] for e in events}) == sorted(EVENT_TYPES)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for event in events:
        validator.validate(event)
        assert AUDIT_EVENT.validate_python(event).type == event["type"]
        assert event["timestamp"].endswith("Z") and event["timestamp"][10] == "T"
        assert event["correlation_id"] == "github.com/acme/payments#42"
    evaluation = [e for e in events if e["type"] not in ("review", "merge")]
    assert len({e["decision_id"] for e in evaluation}) == 1
    assert len({e["event_id"] for e in events}) == len(events)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_rejects_a_payload_of_another_type(tmp_path: Path, event_type: str) -> None:
    events = {e["type"]: e for e in _all_event_types(tmp_path)}
    other = "review" if event_type != "review" else "merge"
    forged = {**events[event_type], "payload": events[other]["payload"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(forged, SCHEMA)


def test_generation_from_claude_trailers_markers_and_session(tmp_path: Path) -> None:
    events = _all_event_types(tmp_path)
    [generation] = [e for e in events if e["type"] == "generation"]
    payload = generation["payload"]
    assert payload["agent"] == "Claude Code"
    assert payload["model"] == "Claude Opus 4.5"
    assert payload["session_links"] == ["https://claude.ai/code/session_01ABC"]
    assert payload["prompt_sha256"] == "sha256:" + hashlib.sha256(b"add retries").hexdigest()
    assert payload["prompt"] is None
    assert "add retries" not in (tmp_path / "audit.jsonl").read_text()
    assert {e["agent"] for e in events if e["type"] not in ("review", "merge")} == {"Claude Code"}


def test_generation_from_assisted_by_trailer() -> None:
    document = InputDocument(
        pr=PullRequest(number=3, head_branch="feature/x"),
        commits=(commit("Fix the parser\n\nAssisted-by: Aider:gpt-5-codex [ripgrep] [pytest]\n"),),
    )
    trail = AuditTrail.from_config(load_config(None))
    decision = Gate().evaluate(document)
    [generation] = [e for e in trail.evaluation_events(decision, document) if e.type == "generation"]
    assert generation.payload.agent == "Aider"
    assert generation.payload.model == "gpt-5-codex"
    assert generation.payload.tools == ("ripgrep", "pytest")


def test_prompt_stored_only_when_configured() -> None:
    config = config_from_mapping({"audit": {"store_prompts": True}})
    trail = AuditTrail.from_config(config)
    document = claude_pr()
    decision = Gate(config).evaluate(document)
    [generation] = [e for e in trail.evaluation_events(decision, document, prompt="p") if e.type == "generation"]
    assert generation.payload.prompt == "p"


def test_input_generation_is_optional_and_additive(tmp_path: Path) -> None:
    plain = claude_pr()
    with_generation = plain.model_copy(update={"generation": Generation(agent="Devin", model="x-1", tools=("bash",))})
    # No `generation`: the canonical form (and digest) is what it was before the field existed.
    assert '"generation"' not in canonical_json(plain)
    path = tmp_path / "input.json"
    path.write_text(with_generation.model_dump_json())
    assert load_input_document(path).generation == with_generation.generation
    path.write_text(json.dumps({"generation": {"agent": "Devin", "prompt": "no prompts in the input"}}))
    with pytest.raises(InputDocumentError, match="generation"):
        load_input_document(path)
    generation_file = tmp_path / "generation.json"
    generation_file.write_text(json.dumps({"agent": "Devin", "session_links": ["https://app.devin.ai/sessions/1"]}))
    built = build_input_document(pr=PullRequest(number=1), diff="", generation=generation_file)
    assert built.generation == Generation(agent="Devin", session_links=("https://app.devin.ai/sessions/1",))
    trail = AuditTrail.from_config(load_config(None))
    decision = Gate().evaluate(built)
    [event] = [e for e in trail.evaluation_events(decision, built) if e.type == "generation"]
    assert event.payload.agent == "Devin"
    assert event.payload.session_links == ("https://app.devin.ai/sessions/1",)


def test_diff_event_counts_and_hash() -> None:
    files = (FileChange(path="a.py", status="added", added=5), FileChange(path="b.py", status="modified", added=1,
                                                                            removed=7))
    document = InputDocument(pr=PullRequest(number=9), files=files)
    decision = Gate().evaluate(document)
    [diff] = [e for e in AuditTrail.from_config(load_config(None)).evaluation_events(decision, document)
              if e.type == "diff"]
    assert (diff.payload.file_count, diff.payload.lines_added, diff.payload.lines_removed) == (2, 6, 7)
    other = InputDocument(pr=PullRequest(number=9), files=files[:1])
    [other_diff] = [e for e in AuditTrail.from_config(load_config(None)).evaluation_events(decision, other)
                    if e.type == "diff"]
    assert diff.payload.content_hash.startswith("sha256:")
    assert diff.payload.content_hash != other_diff.payload.content_hash


def test_detection_policy_risk_and_decision_events_are_complete(tmp_path: Path) -> None:
    document = claude_pr(files=(FileChange(path=".env.production", status="added", added=2),))
    gate = Gate()
    decision = gate.evaluate(document)
    events = {e.type: e for e in gate.audit_events(decision, document)}
    assert events["detection"].payload.signals == decision.detection.signals
    assert events["policy"].payload.violations == decision.violations
    assert all(v.message for v in events["policy"].payload.violations)
    assert events["risk"].payload.risk == decision.risk
    assert events["decision"].payload.decision == decision


@pytest.mark.parametrize(
    ("pr", "expected"),
    [
        (PullRequest(number=7, url="https://github.com/Acme/API/pull/7"), "github.com/Acme/API#7"),
        (PullRequest(number=8, url="https://gitlab.example.com/g/sub/p/-/merge_requests/8"),
         "gitlab.example.com/g/sub/p#8"),
        (PullRequest(number=9), "pr#9"),
        (PullRequest(head_branch="claude/local-work"), "branch:claude/local-work"),
    ],
)
def test_correlation_id(pr: PullRequest, expected: str) -> None:
    assert correlation_id_for(InputDocument(pr=pr)) == expected


def test_decision_log_joins_the_audit_trail_on_decision_id(tmp_path: Path) -> None:
    write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}], "decision_log": "decisions.jsonl"})
    with Gate.from_config(tmp_path / ".ai-code-gate.yml") as gate:
        decision = gate.evaluate(claude_pr())
    [record] = jsonl_events(tmp_path / "decisions.jsonl")
    events = jsonl_events(tmp_path / "audit.jsonl")
    assert record["decision_id"] == decision.decision_id
    assert {e["decision_id"] for e in events} == {decision.decision_id}
    assert "generation" not in record["result"] and record["path"]
