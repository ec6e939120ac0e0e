"""Fixture cases run end to end, field-by-field mismatch reports, and `aigate record` from real git."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import REPO, run_cli

FIXTURES = REPO / "tests" / "fixtures"


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Claude", "GIT_AUTHOR_EMAIL": "noreply@anthropic.com",
        "GIT_COMMITTER_NAME": "Claude", "GIT_COMMITTER_EMAIL": "noreply@anthropic.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "HOME": str(repo), "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def test_project_fixtures_pass() -> None:
    result = run_cli("test", FIXTURES, "-v")
    assert result.code == 0, result.stdout + result.stderr
    assert "fixtures: 2 passed, 0 failed, 0 errors" in result.stdout


def test_a_mismatch_is_shown_field_by_field(tmp_path: Path) -> None:
    case = yaml.safe_load((FIXTURES / "copilot_docs_inline.yml").read_text())
    case["expect"] = {
        "outcome": "block",
        "tier": "low",
        "score": {"min": 50, "max": 60},
        "violations": [{"rule": "blocked_path", "path": "docs/guide.md"}],
        "signals": ["label", "bot_author", "branch", "co_author"],
    }
    path = tmp_path / "fixtures" / "wrong.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    result = run_cli("test", path)
    assert result.code == 1
    out = result.stdout
    assert f"FAIL {path}:" in out and "fixture copilot docs change auto-merges: 4 field(s) differ" in out
    assert '  outcome:\n    expected: "block"\n    actual:   "allow"' in out
    assert '  score:\n    expected: {"max": 60, "min": 50}\n    actual:   ' in out
    missing = '  violations: missing:\n    expected: {"path": "docs/guide.md", "rule": "blocked_path"}\n    actual: '
    assert missing in out
    assert '  signals: missing:\n    expected: {"kind": "co_author"}' in out
    outcome_line = path.read_text().splitlines().index("  outcome: block") + 1
    assert f"FAIL {path}:{outcome_line}: fixture" in out  # the line of the first field that differs
    report = json.loads(run_cli("test", path, "--format", "json").stdout)
    [fixture] = report["fixtures"]
    assert [m["field"] for m in fixture["mismatches"]] == [
        "outcome", "score", "violations: missing", "signals: missing"
    ]


def test_unexpected_violation_is_a_mismatch(tmp_path: Path) -> None:
    case = yaml.safe_load((FIXTURES / "claude_auth_blocked.yml").read_text())
    for key in ("config", "pr", "commits", "diff"):
        case[key] = str(FIXTURES / case[key])
    case["expect"] = {"violations": []}
    path = tmp_path / "case.yml"
    path.write_text(yaml.safe_dump(case))
    result = run_cli("test", path)
    assert result.code == 1
    assert f"FAIL {path}:" in result.stdout
    unexpected = '{"path": "src/auth/session.ts", "rule": "blocked_path"}'
    assert f"  violations: unexpected:\n    expected: null\n    actual:   {unexpected}" in result.stdout


def test_a_broken_fixture_cannot_run_and_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("name: x\nexpect:\n  outcome: allow\n  colour: blue\n")
    result = run_cli("test", path)
    assert (result.code, result.stdout) == (2, "")
    assert f"aigate: error: {path}:4: expect: unknown key 'colour'" in result.stderr
    path.write_text("expect: [unclosed\n")
    result = run_cli("test", path)
    assert result.code == 2 and f"{path}:2: invalid YAML" in result.stderr


def test_a_bad_inline_source_is_an_error_naming_the_fixture_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_diff.yml"
    path.write_text("diff: |\n  not a diff\n  at all\nexpect:\n  outcome: allow\n")
    result = run_cli("test", path)
    assert result.code == 1
    assert f"ERROR {path}:1: fixture bad_diff: {path}:1: diff" in result.stdout


def test_record_writes_a_fixture_that_passes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial")
    _git(repo, "checkout", "-q", "-b", "claude/add-env")
    (repo / ".env.local").write_text("TOKEN=1\n")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print('hi')\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "Add settings\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    out = tmp_path / "fixtures" / "incident.yml"
    out.parent.mkdir()
    result = run_cli("record", "--repo", repo, "--base", "main", "--head", "claude/add-env", "-o", out)
    assert result.code == 0, result.stderr
    case = yaml.safe_load(out.read_text())
    assert case["expect"]["outcome"] == "block"
    assert case["expect"]["violations"] == [{"rule": "blocked_path", "path": ".env.local"}]
    assert "co_author" in case["expect"]["signals"] and "branch" in case["expect"]["signals"]
    assert case["diff"].startswith("diff --git")
    shutil.rmtree(repo)  # the fixture stands alone: the repository is no longer needed
    result = run_cli("test", out)
    assert result.code == 0, result.stdout + result.stderr
    assert "fixtures: 1 passed" in result.stdout
