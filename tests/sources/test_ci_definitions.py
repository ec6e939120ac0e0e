"""CI definitions beyond `.gitlab-ci.yml` and `.github/workflows/` (GitLab's local includes, GitHub's local
actions), read from the base revision of a real git repository, and protected by the gate like the CI files
themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli
from gitrepo import GitRepo

from aigate.patterns import compile_path_pattern
from aigate.sources.ci_definitions import ci_definition_patterns

GITLAB_CI = """\
include:
  - local: '/ci/jobs.yml'
  - 'ci/common.yml'
  - project: 'platform/ci-templates'
    file: '/security/scan.yml'
  - remote: 'https://example.invalid/remote.yml'
  - template: 'Security/SAST.gitlab-ci.yml'
  - component: 'example.invalid/group/component@1.0'
  - local: '$CI_PROJECT_DIR/generated.yml'
  - local: '../outside.yml'
  - local: 'ci/[odd] name.yml'

test:
  script: !reference [.setup, script]

deploy-child:
  trigger:
    include: ci/child.yml
"""
JOBS = "include:\n  - local: 'ci/nested/*.yml'\n.setup:\n  script: [make]\n"
NESTED_A = "include: 'ci/deep.yml'\n"
NESTED_README = "include: 'ci/never.yml'\n"  # not a .yml file: the wildcard does not include it

WORKFLOW = """\
on: [pull_request]
jobs:
  gate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/setup
      - uses: ./
  reusable:
    uses: ./.github/workflows/shared.yml
"""
SETUP_ACTION = """\
name: setup
runs:
  using: composite
  steps:
    - uses: ./tools/inner-action
    - run: echo ready
      shell: bash
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repository = GitRepo(tmp_path / "checkout")
    repository.commit("base", {
        ".gitlab-ci.yml": GITLAB_CI, "ci/jobs.yml": JOBS, "ci/common.yml": "lint:\n  script: [ruff]\n",
        "ci/child.yml": "child:\n  script: [true]\n", "ci/nested/a.yml": NESTED_A, "ci/nested/README.md": NESTED_README,
        "ci/deep.yml": "deep:\n  script: [true]\n", "ci/unrelated.yml": "include: ci/unrelated-too.yml\n",
        "ci/[odd] name.yml": "odd:\n  script: [true]\n",
        ".github/workflows/gate.yml": WORKFLOW, ".github/actions/setup/action.yml": SETUP_ACTION,
        "tools/inner-action/action.yml": "runs:\n  using: node20\n  main: index.js\n",
        "src/app.py": "print('hi')\n",
    })
    repository.git("checkout", "-q", "-b", "claude/ci")
    return repository


def test_the_base_revisions_local_includes_and_actions(repo: GitRepo) -> None:
    assert set(ci_definition_patterns(repo.root, "main")) == {
        "/ci/jobs.yml", "/ci/common.yml", "/ci/child.yml", "/ci/nested/*.yml", "/ci/deep.yml",
        r"/ci/\[odd\]\ name.yml",
        "/.github/actions/setup/**", "/tools/inner-action/**", "/action.yml", "/action.yaml",
    }


@pytest.mark.parametrize(("path", "protected"), [
    ("ci/jobs.yml", True), ("ci/nested/new.yml", True), ("ci/nested/deeper/x.yml", False),
    ("ci/[odd] name.yml", True), ("ci/o name.yml", False), (".github/actions/setup/run.sh", True),
    ("tools/inner-action/index.js", True), ("action.yml", True), ("src/action.yml", False),
    ("ci/unrelated.yml", False),
])
def test_each_pattern_matches_what_it_names(repo: GitRepo, path: str, protected: bool) -> None:
    regexes = [compile_path_pattern(p).regex for p in ci_definition_patterns(repo.root, "main")]
    assert any(re.search(r, path) for r in regexes) is protected


def test_a_repository_without_ci_definitions_has_none(tmp_path: Path) -> None:
    repository = GitRepo(tmp_path / "r")
    repository.commit("base", {"src/app.py": "print('hi')\n", ".gitlab-ci.yml": "include: [unclosed\n"})
    assert ci_definition_patterns(repository.root, "HEAD") == ()  # CI refuses that file too: nothing to follow


def _evaluate(repo: GitRepo) -> dict:  # type: ignore[type-arg]
    pr = repo.root.parent / "pr.json"
    pr.write_text(json.dumps({"labels": ["ai-generated"]}))
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", "--pr", pr, cwd=repo.root)
    assert result.code in (0, 1), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _gate_files(decision: dict) -> set[str]:  # type: ignore[type-arg]
    return {v["path"] for v in decision["violations"] if v["rule"] == "gate_config_changed"}


def test_a_pr_changing_an_included_file_changes_the_gate(repo: GitRepo) -> None:
    repo.commit("ci", {"ci/jobs.yml": "noop:\n  script: [true]\n", "ci/nested/new.yml": "x:\n  script: [true]\n",
                       ".github/actions/setup/action.yml": "runs:\n  using: composite\n  steps: []\n",
                       "ci/unrelated.yml": "changed: {}\n", "src/app.py": "print('bye')\n"})
    decision = _evaluate(repo)
    assert _gate_files(decision) == {"ci/jobs.yml", "ci/nested/new.yml", ".github/actions/setup/action.yml"}
    assert decision["outcome"] != "allow"


def test_protection_comes_from_the_base_not_the_pr(repo: GitRepo) -> None:
    # The PR drops the include and edits the file: the base included it, so it is still the gate's.
    repo.commit("ci", {".gitlab-ci.yml": "test:\n  script: [true]\n", "ci/jobs.yml": "noop: {}\n"})
    assert _gate_files(_evaluate(repo)) == {".gitlab-ci.yml", "ci/jobs.yml"}


def test_a_pr_touching_no_ci_definition_is_not_flagged(repo: GitRepo) -> None:
    repo.commit("code", {"src/app.py": "print('bye')\n", "ci/unrelated.yml": "changed: {}\n"})
    assert _gate_files(_evaluate(repo)) == set()


def test_a_trusted_config_outside_the_checkout_protects_them_too(repo: GitRepo, tmp_path: Path) -> None:
    config = tmp_path / "gate.yml"
    config.write_text("detection:\n  labels: [ai-generated]\n")
    repo.commit("ci", {"ci/deep.yml": "deep: {}\n"})
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"labels": ["ai-generated"]}))
    result = run_cli("evaluate", "--config", config, "--repo", ".", "--base", "main", "--head", "HEAD", "--pr", pr,
                     cwd=repo.root)
    assert result.code == 1, result.stderr
    assert _gate_files(json.loads(result.stdout)) == {"ci/deep.yml"}
