"""End to end on the embedded engine: sources → input document → Rego → decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from aigate import Gate, InputDocument
from aigate.config import config_from_mapping, load_config
from aigate.errors import InputDocumentError
from aigate.models import Commit, FileChange, Finding, Person, PrAuthor, PullRequest, Trailer

PRS = EXAMPLES / "prs"


@pytest.fixture(scope="module")
def example_gate() -> Gate:
    return Gate.from_config(EXAMPLES / ".ai-code-gate.yml")


@pytest.fixture(scope="module")
def default_gate() -> Gate:
    return Gate()


def _example(gate: Gate, name: str) -> Any:
    folder = PRS / name
    return gate.evaluate(
        pr=folder / "pr.json",
        commits=folder / "commits.json",
        diff=folder / "pr.diff",
        scans=sorted((folder / "scans").glob("*.json")),
    )


def test_claude_pr_touching_auth_is_blocked(example_gate: Gate) -> None:
    decision = _example(example_gate, "claude-auth")
    assert decision.outcome == "block"
    assert decision.is_ai
    assert {(s.kind, s.pattern) for s in decision.detection.signals} == {
        ("co_author", "*noreply@anthropic.com"),  # the seed's pattern, added to the built-in one
        ("co_author", "noreply@anthropic.com"),
        ("message_marker", "Generated with [Claude Code]"),
        ("branch", "claude/"),
    }
    assert [(v.rule, v.path, v.blocking) for v in decision.violations] == [
        ("blocked_path", "src/auth/session.ts", True),
    ]


def test_small_copilot_pr_auto_merges(example_gate: Gate) -> None:
    decision = _example(example_gate, "copilot-small")
    assert decision.outcome == "allow"
    assert decision.violations == ()
    assert decision.risk is not None
    assert (decision.risk.tier, decision.risk.auto_merge, decision.risk.approvals) == ("low", True, 0)
    assert {s.kind for s in decision.detection.signals} == {"label", "bot_author", "branch"}


def test_cursor_pr_with_medium_finding_needs_review(example_gate: Gate) -> None:
    decision = _example(example_gate, "cursor-review")
    assert decision.outcome == "review"
    assert decision.risk is not None
    assert {f.name: f.points for f in decision.risk.factors} == {
        "files_changed": 4,
        "lines_added": 2,
        "sensitive_paths": 15,
        "scan_findings": 10,
    }
    assert (decision.risk.score, decision.risk.tier, decision.risk.approvals) == (31, "medium", 1)


def test_human_pr_passes_without_checks(example_gate: Gate) -> None:
    decision = _example(example_gate, "human-ci")
    assert (decision.outcome, decision.is_ai, decision.violations, decision.risk) == ("allow", False, (), None)


def test_human_pr_checked_when_configured() -> None:
    gate = Gate(config_from_mapping({"policy": {"apply_to_human": True}}))
    decision = _example(gate, "human-ci")
    assert decision.outcome == "block"
    # The PR edits a CI workflow: a blocked path, and a change to the gate itself.
    assert [v.rule for v in decision.violations] == ["blocked_path", "gate_config_changed"]


# --- one document builder for the rest ------------------------------------------------------


def _doc(
    *,
    files: list[tuple[str, int]] | None = None,
    labels: tuple[str, ...] = ("ai-generated",),
    findings: tuple[Finding, ...] = (),
    **pr: Any,
) -> InputDocument:
    return InputDocument(
        pr=PullRequest(labels=labels, **pr),
        files=tuple(FileChange(path=p, status="modified", added=n) for p, n in (files or [])),
        findings=findings,
    )


def _commit(author: str = "Ann <ann@example.com>", message: str = "change\n", **trailers: str) -> Commit:
    name, email = author[:-1].split(" <")
    return Commit(
        sha="0" * 40,
        author=Person(name=name, email=email),
        committer=Person(name=name, email=email),
        message=message,
        trailers=tuple(Trailer(key=k.replace("_", "-"), value=v) for k, v in trailers.items()),
    )


@pytest.mark.parametrize(
    ("document", "kind", "value"),
    [
        (_doc(labels=("AI-Generated",)), "label", "AI-Generated"),
        (
            InputDocument(commits=(_commit(Co_authored_by="Claude Opus 4.5 <noreply@anthropic.com>"),)),
            "co_author",
            "Claude Opus 4.5 <noreply@anthropic.com>",
        ),
        (
            InputDocument(commits=(_commit(Co_authored_by="Cursor Agent <cursoragent@cursor.com>"),)),
            "co_author",
            "Cursor Agent <cursoragent@cursor.com>",
        ),
        (
            InputDocument(pr=PullRequest(author=PrAuthor(login="devin-ai-integration[bot]", type="Bot"))),
            "bot_author",
            "devin-ai-integration[bot]",
        ),
        (
            InputDocument(commits=(_commit("copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>"),)),
            "bot_author",
            "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
        ),
        (
            InputDocument(commits=(_commit("Ann (aider) <ann@example.com>"),)),
            "bot_author",
            "Ann (aider) <ann@example.com>",
        ),
        (InputDocument(pr=PullRequest(head_branch="codex/add-tests")), "branch", "codex/add-tests"),
        (
            InputDocument(commits=(_commit(message="x\n\nReplit-Commit-Author: Agent\n"),)),
            "message_marker",
            "Replit-Commit-Author: Agent",
        ),
        (
            InputDocument(commits=(_commit(message="x\n\nAssisted-by: Claude:claude-opus-4-5\n"),)),
            "message_marker",
            "Assisted-by:",
        ),
    ],
)
def test_each_detection_signal(default_gate: Gate, document: InputDocument, kind: str, value: str) -> None:
    decision = default_gate.evaluate(document)
    assert decision.is_ai
    assert value in {s.value for s in decision.detection.signals if s.kind == kind}


@pytest.mark.parametrize(
    "document",
    [
        InputDocument(pr=PullRequest(author=PrAuthor(login="claude", type="User"), head_branch="fix/claude-x")),
        InputDocument(commits=(_commit("Devin Smith <devin@example.com>"),)),
        InputDocument(commits=(_commit(Co_authored_by="Jules <12345+jules@users.noreply.github.com>"),)),
        InputDocument(pr=PullRequest(author=PrAuthor(login="dependabot[bot]", type="Bot"))),
    ],
)
def test_human_names_and_other_bots_are_not_ai(default_gate: Gate, document: InputDocument) -> None:
    decision = default_gate.evaluate(document)
    assert (decision.is_ai, decision.detection.signals, decision.outcome) == (False, (), "allow")


def _factors(gate: Gate, document: InputDocument) -> dict[str, int]:
    risk = gate.evaluate(document).risk
    assert risk is not None
    return {f.name: f.points for f in risk.factors if f.name != "no_changes"}


def test_score_formula_factor_by_factor(default_gate: Gate) -> None:
    f = lambda severity: Finding(tool="t", category="sast", severity=severity)  # noqa: E731
    assert _factors(default_gate, _doc(files=[("docs/a.md", 0)] * 1)) == {"files_changed": 2}
    assert _factors(default_gate, _doc(files=[(f"docs/{i}.md", 0) for i in range(15)])) == {"files_changed": 20}
    assert _factors(default_gate, _doc(files=[("docs/a.md", 99)])) == {"files_changed": 2, "lines_added": 1}
    assert _factors(default_gate, _doc(files=[("docs/a.md", 1999)])) == {"files_changed": 2, "lines_added": 20}
    assert _factors(default_gate, _doc(files=[("src/auth/a.ts", 0), ("infra/main.tf", 0)])) == {
        "files_changed": 4,
        "sensitive_paths": 30,
    }
    assert _factors(default_gate, _doc(findings=(f("critical"), f("high"), f("medium"), f("low")))) == {
        "scan_findings": 55
    }
    assert _factors(default_gate, _doc(files=[("tests/test_a.py", 5), ("docs/a.md", 0)])) == {
        "files_changed": 4,
        "tests_included": -10,
    }


def test_score_not_below_zero_nor_above_100(default_gate: Gate) -> None:
    low = default_gate.evaluate(_doc(files=[("tests/test_a.py", 5)])).risk
    high = default_gate.evaluate(
        _doc(findings=tuple(Finding(tool="t", category="sast", severity="low") for _ in range(30)))
    ).risk
    assert low is not None and high is not None
    assert (low.score, high.score) == (0, 100)


def test_risk_weights_configurable() -> None:
    gate = Gate(config_from_mapping({"review": {"risk_weights": {"points_per_file": 7, "max_file_points": 50}}}))
    assert _factors(gate, _doc(files=[("docs/a.md", 0), ("docs/b.md", 0)])) == {"files_changed": 14}


@pytest.mark.parametrize(
    ("low_findings", "tier", "outcome"),
    [
        (0, "low", "allow"),
        # Tier low, but the scans are not clean: low findings hold auto-merge (review.auto_merge_max_severity).
        (5, "low", "review"),
        (6, "medium", "review"),
        (13, "medium", "review"),
        (14, "high", "review"),
        (19, "high", "review"),
    ],
)
def test_tier_boundaries(example_gate: Gate, low_findings: int, tier: str, outcome: str) -> None:
    # One file of 150 lines (2 + 3 points; an empty PR is never auto-merged) and 5 points per finding.
    findings = tuple(Finding(tool="t", category="sast", severity="low") for _ in range(low_findings))
    decision = example_gate.evaluate(_doc(files=[("src/a.ts", 150)], findings=findings))
    assert decision.risk is not None
    assert (decision.risk.score, decision.risk.tier, decision.outcome) == (5 * (low_findings + 1), tier, outcome)
    assert decision.risk.require_security_team is (tier == "high")


@pytest.mark.parametrize(
    ("mode", "outcome", "blocking"),
    [("block", "block", True), ("warn", "allow", False), ("observe", "allow", False)],
)
@pytest.mark.parametrize(
    ("layer", "config", "document"),
    [
        ("paths", {}, _doc(files=[(".github/workflows/ci.yml", 1)])),
        ("scope", {"policy": {"scope_limits": {"max_files": 1}}}, _doc(files=[("a.md", 0), ("b.md", 0)])),
        ("tests", {"policy": {"require_tests": {"enabled": True}}}, _doc(files=[("src/a.py", 1)])),
        ("scanning", {}, _doc(findings=(Finding(tool="gitleaks", category="secret", severity="low"),))),
    ],
)
def test_each_layer_in_each_mode(
    layer: str, config: dict[str, Any], document: InputDocument, mode: str, outcome: str, blocking: bool
) -> None:
    settings = {**config, "policy": {**config.get("policy", {}), "modes": {layer: mode}}}
    # A lenient risk layer so that only the layer under test decides the outcome.
    settings["review"] = {"mode": "observe"}
    decision = Gate(config_from_mapping(settings)).evaluate(document)
    assert decision.outcome == outcome
    assert {(v.layer, v.mode, v.blocking) for v in decision.violations} == {(layer, mode, blocking)}


def test_risk_layer_modes() -> None:
    doc = _doc(findings=tuple(Finding(tool="t", category="sast", severity="low") for _ in range(10)))
    for mode, outcome in (("block", "review"), ("warn", "allow"), ("observe", "allow")):
        decision = Gate(config_from_mapping({"review": {"mode": mode}})).evaluate(doc)
        assert decision.risk is not None
        assert (decision.outcome, decision.risk.tier, decision.risk.mode) == (outcome, "medium", mode)


def test_scope_limits_from_issue_example(example_gate: Gate) -> None:
    decision = example_gate.evaluate(_doc(files=[(f"src/m{i}.ts", 30) for i in range(21)]))
    assert {v.rule for v in decision.violations} == {"max_files", "max_lines_added"}
    assert decision.outcome == "block"


def test_rename_checked_under_old_and_new_path(example_gate: Gate) -> None:
    doc = InputDocument(
        pr=PullRequest(labels=("claude",)),
        files=(FileChange(path="src/session.ts", old_path="src/auth/session.ts", status="renamed"),),
    )
    decision = example_gate.evaluate(doc)
    assert [(v.rule, v.path) for v in decision.violations] == [("blocked_path", "src/auth/session.ts")]


def test_decision_metadata(default_gate: Gate) -> None:
    first = default_gate.evaluate(_doc())
    second = default_gate.evaluate(_doc())
    assert first.engine == "embedded"
    assert first.policy_revision.startswith("sha256:")
    assert first.config_digest == load_config(None).digest
    assert first.input_digest == second.input_digest
    assert first.decision_id != second.decision_id


def test_input_digest_is_the_canonical_json_hash_for_small_and_large_documents(default_gate: Gate) -> None:
    # From 1 MiB of JSON the digest is hashed in a thread while the engine decides: the same hash either way.
    from aigate.document import canonical_json, input_digest
    from aigate.gate import _HASHED_BESIDE_ENGINE

    small = _doc()
    large = _doc(files=[(f"src/module_{i:05}/component_{i:05}.ts", 3) for i in range(12_000)])
    assert len(canonical_json(small)) < _HASHED_BESIDE_ENGINE <= len(canonical_json(large))
    for document in (small, large):
        assert default_gate.evaluate(document).input_digest == input_digest(canonical_json(document))
    assert default_gate.evaluate(large).input_digest != default_gate.evaluate(small).input_digest


def test_ready_input_document_validated(default_gate: Gate, tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"pr": {"labels": "ai-generated"}}))
    with pytest.raises(InputDocumentError, match=r"input\.json: pr/labels: Input should be a valid array"):
        default_gate.evaluate(path)


def test_audit_event_written(tmp_path: Path) -> None:
    config = config_from_mapping(
        {"audit": {"enabled": True, "path": "audit.jsonl", "input": "full"}}, base_dir=tmp_path
    )
    gate = Gate(config)
    decision = gate.evaluate(_doc(files=[("docs/a.md", 1)], body="secret plan"))
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events] == ["generation", "diff", "detection", "policy", "scan", "risk", "decision"]
    assert {e["decision_id"] for e in events} == {decision.decision_id}
    [event] = [e for e in events if e["type"] == "decision"]
    assert event["outcome"] == "allow"
    assert event["payload"]["decision"] == json.loads(decision.model_dump_json())
    assert event["payload"]["input"]["pr"]["body"] == "**REDACTED**"
    assert event["payload"]["input"]["files"][0]["path"] == "docs/a.md"


def test_tests_credit_is_earned_not_bought(default_gate: Gate) -> None:
    """The issue's two measured cases. An AI edit to an OAuth handler with its test under auth/ scored
    24 (low, auto-merged): the test no longer cancels the sensitive points. An empty file under tests/
    turned a review (34) into an auto-merge (26): an empty test file earns nothing."""
    oauth = default_gate.evaluate(_doc(files=[("src/auth/oauth.py", 120), ("src/auth/test_oauth.py", 60)]))
    assert oauth.risk is not None
    assert {f.name for f in oauth.risk.factors} == {"files_changed", "lines_added", "sensitive_paths"}
    assert (oauth.risk.score, oauth.risk.auto_merge, oauth.outcome) == (37, False, "review")
    big = [(f"src/app/m{i}.py", 100) for i in range(7)]  # 14 + 14 points: 28 would be low
    padded = default_gate.evaluate(_doc(files=[*big, ("docs/notes.md", 300), ("tests/test_new.py", 0)]))
    assert padded.risk is not None and "tests_included" not in {f.name for f in padded.risk.factors}
    assert padded.outcome == "review"
    real = default_gate.evaluate(_doc(files=[*big, ("tests/test_new.py", 40)]))
    assert real.risk is not None and {f.name: f.points for f in real.risk.factors}["tests_included"] == -10
