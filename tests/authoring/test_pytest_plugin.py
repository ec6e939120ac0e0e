"""The pytest plugin: a team's suite collects Rego tests and fixture cases, with no conftest code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO

CUSTOM_POLICY = """package aigate.custom.docs

import rego.v1

# Docs-only PRs are fine; anything under secret/ is a custom violation.
violations contains {"rule": "no_secret_dir", "path": f.path} if {
\tsome f in input.files
\tstartswith(f.path, "secret/")
}
"""

CUSTOM_TESTS = """package aigate.custom.docs_test

import rego.v1

import data.aigate.custom.docs

test_secret_dir_flagged if {
\tcount(docs.violations) == 1 with input.files as [{"path": "secret/a"}]
}

test_wrongly_expects_nothing if {
\tcount(docs.violations) == 0 with input.files as [{"path": "secret/b"}]
}

test_uses_builtin_lib if {
\tdata.aigate.lib.changed_paths == {"a.md"} with input.files as [{"path": "a.md", "status": "added"}]
}
"""


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "aigate.pytest_plugin", "-p", "no:cacheprovider", "-q", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"aigate": "aigate.pytest_plugin"}


def test_rego_tests_and_fixtures_are_items_with_readable_failures(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "docs.rego").write_text(CUSTOM_POLICY)
    (policies / "docs_test.rego").write_text(CUSTOM_TESTS)
    fixtures = tmp_path / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    for name in ("copilot_docs_inline.yml",):
        shutil.copy(REPO / "tests" / "fixtures" / name, fixtures / name)
    wrong = (fixtures / "copilot_docs_inline.yml").read_text().replace("outcome: allow", "outcome: review")
    (fixtures / "wrong_outcome.yml").write_text(wrong)
    (fixtures / "unrelated.yml").write_text("just: some data\n")  # not a fixture: not collected

    result = _pytest(tmp_path, "-rA")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "3 passed" in out and "2 failed" in out, out
    assert "PASSED policies/docs_test.rego::test_secret_dir_flagged" in out
    assert "PASSED policies/docs_test.rego::test_uses_builtin_lib" in out
    assert "PASSED tests/fixtures/copilot_docs_inline.yml::copilot_docs_inline" in out
    assert "policies/docs_test.rego:11: data.aigate.custom.docs_test.test_wrongly_expects_nothing: FAIL" in out
    assert 'outcome:\n    expected: "review"\n    actual:   "allow"' in out
    assert "unrelated" not in out


def test_collection_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "a_test.rego").write_text("package a_test\n\nimport rego.v1\n\ntest_x if {\n\tfalse\n}\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\naigate_collect = false\n")
    result = _pytest(tmp_path)
    assert result.returncode == 5, result.stdout  # no tests collected
