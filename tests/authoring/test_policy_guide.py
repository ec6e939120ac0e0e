"""docs/policy-guide.md's worked example, run as the guide runs it, and on real `opa test`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import REPO, run_cli
from test_aigate_test import opa_binary

from aigate.config import load_config

GUIDE = REPO / "examples" / "policy-guide"


def test_the_guides_commands_pass() -> None:
    result = run_cli("test", "--builtins", GUIDE, "--config", GUIDE / ".ai-code-gate.yml", "-v")
    assert result.code == 0, result.stdout + result.stderr
    assert "fixtures: 2 passed, 0 failed, 0 errors" in result.stdout
    assert "rego: 3 passed, 0 failed, 0 errors, 0 skipped" in result.stdout
    assert "docs/policy-guide.md" in (REPO / "README.md").read_text()


def test_opa_test_agrees_on_the_example(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = load_config(GUIDE / ".ai-code-gate.yml")
    (data / "data.json").write_text(json.dumps({"aigate": {"config": config.data}}))
    result = subprocess.run(
        [opa_binary(), "test", "--format", "json", str(REPO / "policies"), str(GUIDE / "custom"), str(data)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    names = {r["name"] for r in json.loads(result.stdout) if r["package"] == "data.aigate_test.custom.migrations"}
    assert names == {
        "test_migration_needs_two_approvals_from_the_team", "test_other_paths_need_nothing_extra",
        "test_up_without_down_is_a_violation",
    }


def test_a_failing_fixture_in_the_example_fails(tmp_path: Path) -> None:
    case = (GUIDE / "fixtures" / "migration_needs_two_approvals.yml").read_text()
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(case.replace("approvals: 2", "approvals: 1").replace("config: ../", f"config: {GUIDE}/"))
    result = run_cli("test", wrong)
    assert result.code == 1
    assert "  approvals:\n    expected: 1\n    actual:   2" in result.stdout


def test_check_passes_on_the_example_and_names_problems(tmp_path: Path) -> None:
    ok = run_cli("check", "--config", GUIDE / ".ai-code-gate.yml", GUIDE / "fixtures")
    assert ok.code == 0, ok.stdout + ok.stderr
    folder = tmp_path / "cfg"
    (folder / "custom").mkdir(parents=True)
    (folder / "custom" / "bad.rego").write_text("package aigate.custom.bad\n\nimport rego.v1\n\nx := \n")
    (folder / "c.yml").write_text(
        "policy: {custom_dir: custom}\nexceptions:\n  - {rule: max_files, reason: r, owner: o, expires: 2020-01-01}\n"
    )
    bad_fixture = tmp_path / "f.yml"
    bad_fixture.write_text("expect:\n  colour: blue\n")
    result = run_cli("check", "--config", folder / "c.yml", bad_fixture)
    assert result.code == 1
    assert "bad.rego:6" in result.stdout or "bad.rego:5" in result.stdout, result.stdout
    assert "exceptions[0] (max_files, owner o) expired on 2020-01-01" in result.stdout
    assert f"{bad_fixture}:2: expect: unknown key 'colour'" in result.stdout


def test_explain_traces_every_item_to_its_rule() -> None:
    prs = REPO / "examples" / "prs" / "claude-auth"
    args = ["--config", REPO / "examples" / ".ai-code-gate.yml", "--pr", prs / "pr.json",
            "--commits", prs / "commits.json", "--diff", prs / "pr.diff"]
    text = run_cli("explain", *args)
    assert text.code == 1, text.stderr  # blocked, as `evaluate` says
    assert "blocked_path [paths, blocking]" in text.stdout and "paths.rego:" in text.stdout
    assert "input: src/auth/session.ts modified" in text.stdout
    assert "sensitive_paths: +15" in text.stdout and "risk.rego:" in text.stdout
    assert "branch: 'claude/fix-session-timeout'" in text.stdout and "detection.rego:" in text.stdout
    markdown = run_cli("explain", *args, "--format", "markdown")
    assert markdown.stdout.startswith("## Outcome: block") and "\n- blocked_path" in markdown.stdout
