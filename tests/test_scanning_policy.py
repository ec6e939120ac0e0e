"""The scanning policy end to end, through the Gate: real reports, AI and human PRs, thresholds, required
reports, failed tests and changed-line coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ASSETS

from aigate import ConfigError, Gate
from aigate.config import config_from_mapping
from aigate.models import Finding

SCANS = ASSETS / "scans"
AI = {"labels": ["ai-generated"]}
HUMAN = {"labels": [], "author": {"login": "alice", "type": "User"}, "head_branch": "fix/x"}
FILES = "diff --git a/{p} b/{p}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{p}\n"


def _gate(**scanning: Any) -> Gate:
    return Gate(config_from_mapping({"policy": {"apply_to_human": True},
                                     "scanning": {"builtin_secrets": {"enabled": False}, **scanning}}))


def _rules(gate: Gate, pr: dict[str, Any], severity: str, category: str) -> set[str]:
    finding = Finding(tool="t", category=category, severity=severity, rule_id="r")  # type: ignore[arg-type]
    decision = gate.evaluate(pr=pr, diff="", findings=[finding])
    return {v.rule for v in decision.violations if v.layer == "scanning" and v.blocking}


@pytest.mark.parametrize(
    ("category", "ai_blocks_from", "human_blocks_from"),
    [("sast", "medium", "high"), ("dependency", "high", "critical"), ("iac", "medium", "high")],
)
def test_thresholds_for_ai_and_human_prs(category: str, ai_blocks_from: str, human_blocks_from: str) -> None:
    gate = _gate(max_findings={"critical": None, "high": None})
    order = ["critical", "high", "medium", "low", "info"]
    for severity in order:
        ai = "scan_block_on" in _rules(gate, AI, severity, category)
        human = "scan_block_on" in _rules(gate, HUMAN, severity, category)
        assert ai is (order.index(severity) <= order.index(ai_blocks_from)), (category, severity)
        assert human is (order.index(severity) <= order.index(human_blocks_from)), (category, severity)


def test_secret_blocks_both_at_low() -> None:
    gate = _gate()
    assert "secret_detected" in _rules(gate, AI, "low", "secret")
    assert "secret_detected" in _rules(gate, HUMAN, "low", "secret")


def test_ai_thresholds_laxer_than_human_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"scanning\.block_on\.sast: 'critical' is laxer than block_on_human\.sast"):
        config_from_mapping({"scanning": {"block_on": {"sast": "critical"}}})
    with pytest.raises(ConfigError, match=r"scanning\.block_on\.iac: None is laxer"):
        config_from_mapping({"scanning": {"block_on": {"iac": None}}})
    config_from_mapping({"scanning": {"block_on": {"sast": "low"}, "block_on_human": {"sast": None}}})


def test_required_report_missing_blocks() -> None:
    gate = _gate(required=["sast", "secret"])
    decision = gate.evaluate(pr=AI, diff="", scans=[SCANS / "semgrep-empty.json"])
    assert [(v.rule, v.message) for v in decision.violations if v.rule == "scan_missing"] == [
        ("scan_missing", "no secret report was given, and scanning.required lists secret")]
    assert decision.outcome == "block"
    both = gate.evaluate(pr=AI, diff="", scans=[SCANS / "semgrep-empty.json", SCANS / "gitleaks.json"])
    assert "scan_missing" not in {v.rule for v in both.violations}


def test_failed_sandbox_tests_block(tmp_path: Path) -> None:
    decision = _gate().evaluate(pr=AI, diff="", scans=[SCANS / "junit.xml"])
    [failed] = [v for v in decision.violations if v.rule == "test_failed"]
    assert failed.blocking and failed.message.startswith("1 sandbox tests failed and 1 errored: ")
    assert decision.outcome == "block"


def test_changed_line_coverage_minimum() -> None:
    body = "".join(f"+{line}\n" for line in [
        "def clamp(value, low, high):", "    if value < low:", "        return low", "    if value > high:",
        "        return high", "    return value"])
    diff = (FILES.format(p="calc/ops.py").replace("new file mode 100644\n", "").replace("/dev/null", "a/calc/ops.py")
            + f"@@ -10,0 +11,6 @@\n{body}")
    low = _gate(min_changed_line_coverage=50).evaluate(pr=AI, diff=diff, scans=[SCANS / "coverage.json"])
    assert [v.message for v in low.violations if v.rule == "changed_line_coverage"] == [
        "1 of 6 changed lines covered (16%); at least 50% required"]
    ok = _gate(min_changed_line_coverage=15).evaluate(pr=AI, diff=diff, scans=[SCANS / "cobertura.xml"])
    assert "changed_line_coverage" not in {v.rule for v in ok.violations}
