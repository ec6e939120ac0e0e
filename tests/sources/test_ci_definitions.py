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
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aigate.patterns import compile_path_pattern
from aigate.sources.ci_definitions import _gitlab_patterns, ci_definition_patterns

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
  pre: ../../../scripts/pre-setup.sh
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
        "/.github/actions/setup", "/tools/inner-action", "/scripts/pre-setup.sh", "/action.yml", "/action.yaml",
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


# --- a review's evasions: each was a PR changing CI without gate_config_changed ------------------------

def _base(tmp_path: Path, files: dict[str, str]) -> GitRepo:
    repository = GitRepo(tmp_path / "r")
    repository.commit("base", {"src/app.py": "print('hi')\n", **files})
    return repository


def _protected(patterns: tuple[str, ...], path: str) -> bool:
    return any(re.search(compile_path_pattern(p).regex, path) for p in patterns)


@pytest.mark.parametrize(("files", "changed"), [
    # A file included by name inside a folder a wildcard also reads: its own includes are followed.
    ({".gitlab-ci.yml": "include:\n  - local: 'ci/*.yml'\n  - local: 'ci/sub/deploy.yml'\n",
      "ci/sub/deploy.yml": "include: 'ci/sub/secret.yml'\n", "ci/sub/secret.yml": "s: {script: [x]}\n"},
     "ci/sub/secret.yml"),
    # Two wildcards over one folder: both are read.
    ({".gitlab-ci.yml": "include:\n  - 'ci/*.yml'\n  - 'ci/*.yaml'\n", "ci/a.yml": "include: 'lib/x.yml'\n",
      "ci/b.yaml": "b: {script: [x]}\n", "lib/x.yml": "x: {script: [x]}\n"}, "lib/x.yml"),
    # A `spec:` header: the pipeline is the second document.
    ({".gitlab-ci.yml": "spec:\n  inputs:\n    env:\n      default: dev\n---\ninclude: ci/jobs.yml\n",
      "ci/jobs.yml": "j: {script: [x]}\n"}, "ci/jobs.yml"),
    # `**` inside a name also matches within one folder.
    ({".gitlab-ci.yml": "include: 'ci/*-**.yml'\n", "ci/build-base.yml": "b: {script: [x]}\n"}, "ci/deploy-prod.yml"),
    # Text git would read as pathspec magic is a file name.
    ({".gitlab-ci.yml": "include: ['ci/a.yml', ':(exclude)legacy.yml']\n", "ci/a.yml": "a: {script: [x]}\n"},
     "ci/a.yml"),
    # Deeper than the old reader's 16 levels.
    ({".gitlab-ci.yml": "include: ci/l1.yml\n",
      **{f"ci/l{i}.yml": f"include: ci/l{i + 1}.yml\n" for i in range(1, 30)}}, "ci/l30.yml"),
    # 150 workflows do not use up GitLab's 150 includes.
    ({**{f".github/workflows/w{i:03}.yml": "on: [push]\njobs: {a: {runs-on: x, steps: [{run: echo}]}}\n"
         for i in range(150)}, ".gitlab-ci.yml": "include: ci/deploy.yml\n", "ci/deploy.yml": "d: {}\n"},
     "ci/deploy.yml"),
])
def test_included_files_the_first_reader_missed(tmp_path: Path, files: dict[str, str], changed: str) -> None:
    assert _protected(ci_definition_patterns(_base(tmp_path, files).root, "HEAD"), changed)


def test_a_symlinked_action_folder_protects_its_target(tmp_path: Path) -> None:
    repository = _base(tmp_path, {
        ".github/workflows/ci.yml": "jobs:\n  g:\n    steps:\n      - uses: ./.github/actions/setup\n",
        "tools/setup/action.yml": "runs:\n  using: composite\n  steps:\n    - uses: ./tools/inner\n",
    })
    (repository.root / ".github/actions").mkdir(parents=True)
    (repository.root / ".github/actions/setup").symlink_to("../../tools/setup")
    repository.git("add", "-A")
    repository.git("commit", "-qm", "link")
    patterns = ci_definition_patterns(repository.root, "HEAD")
    for path in (".github/actions/setup", "tools/setup/action.yml", "tools/setup/run.sh", "tools/inner/action.yml"):
        assert _protected(patterns, path), path
    assert not _protected(patterns, "tools/other/action.yml")


def test_include_paths_no_pattern_can_hold_are_skipped(tmp_path: Path) -> None:
    repository = _base(tmp_path, {".gitlab-ci.yml": 'include: ["ci/a.yml", "ci/a\\0b.yml", "ci/a\\nb.yml"]\n',
                                  "ci/a.yml": "a: {}\n"})
    assert ci_definition_patterns(repository.root, "HEAD") == ("/ci/a.yml",)


def test_past_the_reading_budget_the_gate_fails_closed(tmp_path: Path) -> None:
    # More definitions than aigate reads (2,000 files; GitLab itself runs 150 includes unless an admin raises
    # it): the protection cannot be complete, so the gate stops (exit 2), unless gate protection is off.
    files = {".gitlab-ci.yml": "include: 'ci/*.yml'\n", **{f"ci/j{i:04}.yml": "j: {}\n" for i in range(2001)}}
    repository = _base(tmp_path, files)
    repository.git("checkout", "-q", "-b", "claude/x")
    repository.commit("pr", {"src/app.py": "print('bye')\n"})
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repository.root)
    assert result.code == 2
    assert "CI definitions too many or too large" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    repository.git("checkout", "-q", "main")
    repository.commit("off", {".ai-code-gate.yml": "policy:\n  gate_protection:\n    enabled: false\n"})
    repository.git("checkout", "-q", "claude/x")
    repository.git("rebase", "-q", "main")
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repository.root)
    assert result.code == 0, result.stderr


def test_gitlabs_own_limits_are_not_aigates(tmp_path: Path) -> None:
    # 150 includes (GitLab's default limit, the root not counted), and a child pipeline with its own.
    files = {".gitlab-ci.yml": "include: 'ci/*.yml'\nchild:\n  trigger:\n    include: 'child/*.yml'\n",
             **{f"ci/j{i:03}.yml": "j: {}\n" for i in range(150)},
             **{f"child/c{i:02}.yml": "c: {}\n" for i in range(60)}}
    patterns = ci_definition_patterns(_base(tmp_path, files).root, "HEAD")
    assert patterns == ("/ci/*.yml", "/child/*.yml")


def _gitlab_regex(local: str) -> str:
    # GitLab's own translation of a local include's wildcards (Repository#search_files_by_wildcard_path):
    # `**` is `.*?`, `*` is `[^/]*?`, the rest literal; the whole path must match.
    return ".*?".join("[^/]*?".join(re.escape(p) for p in piece.split("*")) for piece in local.split("**"))


_SEGMENT = st.text(alphabet="ab-.*", min_size=1, max_size=4).filter(lambda s: s not in (".", ".."))
_NAME = st.text(alphabet="ab-.", min_size=1, max_size=3).filter(lambda s: s not in (".", ".."))


@settings(max_examples=2000, deadline=None, derandomize=True)
# Seeds, one per class: `*` then `**` in one name, `**` alone, at either end, three stars, `**` as a folder.
@example("ci/*-**.yml", "ci/deploy-prod.yml")
@example("ci/*-**.yml", "ci/a-b/c.yml")
@example("**.yml", "a/b.yml")
@example("ci/a**", "ci/ab")
@example("ci/***b", "ci/a/b")
@example("ci/**/a", "ci/a")
@example("ci/**/a", "ci/b/a")
@example("**", "a")
@given(st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join).filter(lambda p: p.count("**") <= 3),
       st.lists(_NAME, min_size=1, max_size=4).map("/".join))
def test_gitlab_wildcards_are_protected_as_gitlab_matches_them(local: str, path: str) -> None:
    ours = any(re.search(compile_path_pattern(p).regex, path) for p in _gitlab_patterns(local))
    gitlab = re.fullmatch(_gitlab_regex(local), path) is not None
    # Every file GitLab includes is protected; whatever else is, is a folder holding one GitLab could include.
    assert ours or not gitlab
    parents = ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 1)]
    assert not ours or gitlab or any(re.fullmatch(_gitlab_regex(local), p) for p in parents)


@pytest.mark.parametrize(("files", "changed"), [
    # A wildcard at the top: the whole tree is listed, and what it matches is read.
    ({".gitlab-ci.yml": "include: '**/ci.yml'\n", "pkg/ci.yml": "include: shared/deploy.yml\n",
      "shared/deploy.yml": "d: {}\n"}, "shared/deploy.yml"),
    ({".gitlab-ci.yml": "include: ['*.ci.yml', ci/jobs.yml]\n", "ci/jobs.yml": "include: ci/deploy.yml\n",
      "ci/deploy.yml": "d: {}\n", "x.ci.yml": "x: {}\n"}, "ci/deploy.yml"),
    # An empty document after the pipeline.
    ({".gitlab-ci.yml": "include: ci/jobs.yml\n---\n", "ci/jobs.yml": "j: {}\n"}, "ci/jobs.yml"),
    # Scalars YAML's safe loader refuses but CI reads as text.
    ({".gitlab-ci.yml": "variables: {SEP: =, CUTOFF: 2024-02-30}\ninclude: ci/jobs.yml\n", "ci/jobs.yml": "j: {}\n"},
     "ci/jobs.yml"),
    ({".github/workflows/ci.yml": "env: {SEP: =}\njobs:\n  a:\n    steps:\n      - uses: ./tools/act\n",
      "tools/act/action.yml": "runs: {using: node20, main: index.js}\n"}, "tools/act/index.js"),
    # A definition YAML cannot read: the paths it names the way includes are written are protected.
    ({".gitlab-ci.yml": "? [a, b]\n: c\ninclude:\n  - local: ci/jobs.yml\n", "ci/jobs.yml": "j: {}\n"},
     "ci/jobs.yml"),
    # The project's own component, as GitLab has a project test its components.
    ({".gitlab-ci.yml": "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/build@$CI_COMMIT_SHA\n",
      "templates/build.yml": "b: {}\n"}, "templates/build.yml"),
    # An action at the top runs its `runs.main`.
    ({".github/workflows/ci.yml": "jobs:\n  a:\n    steps:\n      - uses: ./\n",
      "action.yml": "runs:\n  using: node20\n  main: dist/index.js\n"}, "dist/index.js"),
])
def test_definitions_the_second_reader_missed(tmp_path: Path, files: dict[str, str], changed: str) -> None:
    assert _protected(ci_definition_patterns(_base(tmp_path, files).root, "HEAD"), changed)


def test_symbolic_links_on_the_way_to_an_action(tmp_path: Path) -> None:
    repository = _base(tmp_path, {
        ".github/workflows/ci.yml": "jobs:\n  g:\n    steps:\n      - uses: ./.github/actions/setup\n"
                                    "      - uses: ./.github/self\n",
        "tools/actions/setup/action.yml": "runs: {using: composite, steps: []}\n",
        "action.yml": "runs: {using: node20, main: dist/index.js}\n", ".gitlab-ci.yml": "include: ci/odd.yml\n",
    })
    (repository.root / ".github/actions").symlink_to("../tools/actions")  # a parent folder of the action
    (repository.root / ".github/self").symlink_to("..")  # the top, through a link
    (repository.root / "ci").mkdir()
    (repository.root / "ci/odd.yml").symlink_to("../shared/x\nb.yml")  # no pattern can hold the target
    repository.git("add", "-A")
    repository.git("commit", "-qm", "links")
    patterns = ci_definition_patterns(repository.root, "HEAD")
    for path in (".github/actions", "tools/actions/setup/action.yml", ".github/self", "action.yml", "dist/index.js",
                 "ci/odd.yml"):
        assert _protected(patterns, path), path
    assert not _protected(patterns, "tools/other/action.yml")


def test_a_symbolic_link_loop_ends(tmp_path: Path) -> None:
    # A link that leads back to itself is no working action: the link is protected and reading stops (it went
    # round until the level limit, and every PR exited 2).
    repository = _base(tmp_path, {".github/workflows/ci.yml": "jobs:\n  a:\n    steps:\n"
                                                              "      - uses: ./.github/actions/setup\n"})
    (repository.root / ".github/actions").symlink_to("../.github/actions")
    repository.git("add", "-A")
    repository.git("commit", "-qm", "loop")
    patterns = ci_definition_patterns(repository.root, "HEAD")
    assert _protected(patterns, ".github/actions") and _protected(patterns, ".github/actions/setup")
