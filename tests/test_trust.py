"""Tamper resistance: the PR being judged cannot choose the config, policies, servers or files of
the gate that judges it, and reading a config cannot hang or exhaust the machine."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from gitrepo import GitRepo

from aigate import _resources
from aigate.config import MAX_YAML_NODES, load_config
from aigate.errors import MAX_MESSAGE_CHARS, ConfigError

EMPTY_PR = '{"files": []}'  # an input document of a PR that changes nothing
BASE_CONFIG = 'detection:\n  labels: ["ai-generated"]\npolicy:\n  blocked_patterns: ["secrets/**"]\n'
CLAUDE = ("Claude", "noreply@anthropic.com")


def _decision(result: object) -> dict:  # type: ignore[type-arg]
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def _rules(decision: dict) -> set[tuple[str, str | None]]:  # type: ignore[type-arg]
    return {(v["rule"], v["path"]) for v in decision["violations"]}


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repository = GitRepo(tmp_path / "checkout")
    repository.commit("base", {".ai-code-gate.yml": BASE_CONFIG, "src/app.py": "print('hi')\n"})
    repository.git("checkout", "-q", "-b", "claude/fix")
    return repository


# --- the base revision rules ---------------------------------------------------------------------


def test_pr_that_edits_the_config_to_allow_its_blocked_path_is_blocked(repo: GitRepo) -> None:
    repo.commit(
        "unblock my path",
        {".ai-code-gate.yml": "policy:\n  blocked_patterns: []\n", "secrets/token.txt": "s3cr3t\n"},
    )
    # Run as CI does: inside the PR's checkout, with --repo and no --config.
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    assert result.code == 1, result.stderr
    decision = _decision(result)
    assert decision["outcome"] == "block"
    assert {("blocked_path", "secrets/token.txt"), ("gate_config_changed", ".ai-code-gate.yml")} <= _rules(decision)
    assert decision["config_source"] == "base"
    # Reviewers see the proposed change, which the gate did not apply.
    change = decision["config_change"]
    assert change.startswith("diff --git a/.ai-code-gate.yml b/.ai-code-gate.yml\n")
    assert '-  blocked_patterns: ["secrets/**"]\n' in change and "+  blocked_patterns: []\n" in change


def test_pr_that_deletes_the_config_is_judged_by_the_base_config(repo: GitRepo) -> None:
    repo.commit("drop the gate", {".ai-code-gate.yml": None, "secrets/key.txt": "k\n"})
    result = run_cli("evaluate", "--repo", repo.root, "--base", "main", "--head", "claude/fix", cwd=REPO)
    decision = _decision(result)
    assert result.code == 1
    assert decision["config_source"] == "base"
    assert {("blocked_path", "secrets/key.txt"), ("gate_config_changed", ".ai-code-gate.yml")} <= _rules(decision)
    assert decision["config_change"].startswith("diff --git a/.ai-code-gate.yml b/.ai-code-gate.yml\ndeleted file")


def test_pr_that_deletes_the_policy_dir_is_judged_by_the_base_policies(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    policies = _resources.policies_dir() / "aigate"
    files = {f"gate-policies/{p.relative_to(policies).as_posix()}": p.read_text() for p in policies.rglob("*.rego")}
    # The base's own policies: the built-in ones, with any PR touching docs/ blocked.
    files["gate-policies/decision/decision.rego"] = files["gate-policies/decision/decision.rego"].replace(
        'outcome := "block" if {',
        'outcome := "block" if {\n\tsome f in input.files\n\tstartswith(f.path, "docs/")\n} else := "block" if {',
    )
    repo.commit("base", {".ai-code-gate.yml": "policy:\n  policy_dir: gate-policies\n", **files})
    repo.git("checkout", "-q", "-b", "claude/docs")
    repo.commit("remove the gate's policies", {"gate-policies": None, "docs/a.md": "hello\n"})
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    decision = _decision(result)
    assert (result.code, decision["outcome"], decision["config_source"]) == (1, "block", "base"), result.stderr
    gate_changes = {path for rule, path in _rules(decision) if rule == "gate_config_changed"}
    assert "gate-policies/decision/decision.rego" in gate_changes


MIGRATIONS_RULE = """package aigate.custom.migrations

import rego.v1

violations contains {"rule": "migration_changed", "severity": "high", "path": f.path, "message": "a migration"} if {
\tsome f in input.files
\tstartswith(f.path, "db/migrations/")
}
"""
NO_RULE = "package aigate.custom.migrations\n\nimport rego.v1\n\nviolations := set()\n"


def test_pr_that_rewrites_the_custom_policies_is_judged_by_the_base_ones(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("base", {
        ".ai-code-gate.yml": "policy:\n  custom_dir: gate-custom\n", "gate-custom/migrations.rego": MIGRATIONS_RULE,
        "db/migrations/001.sql": "CREATE TABLE t (id int);\n",
    })  # fmt: skip
    repo.git("checkout", "-q", "-b", "claude/migrate")
    repo.commit("drop a table, quiet the rule", {
        "db/migrations/001.sql": "DROP TABLE users;\n", "gate-custom/migrations.rego": NO_RULE,
    }, author=CLAUDE)  # fmt: skip
    # CI runs in the PR's checkout: the custom folder on disk is the PR's.
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    decision = _decision(result)
    assert (result.code, decision["outcome"], decision["config_source"]) == (1, "block", "base"), result.stderr
    assert {("migration_changed", "db/migrations/001.sql"),
            ("gate_config_changed", "gate-custom/migrations.rego")} <= _rules(decision)  # fmt: skip


def test_a_custom_folder_missing_at_the_base_is_an_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("base", {".ai-code-gate.yml": "policy:\n  custom_dir: gate-custom\n", "src/a.py": "a = 1\n"})
    repo.git("checkout", "-q", "-b", "claude/add")
    repo.commit("add my own rules", {"gate-custom/mine.rego": NO_RULE}, author=CLAUDE)
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    assert result.code == 2
    assert result.stderr.strip() == "aigate: error: main:gate-custom: policy folder not found at the base revision"


def test_files_the_base_config_names_are_read_from_the_base(tmp_path: Path) -> None:
    """The registry snapshot and the custom settings' schema: the PR's copies on disk are not the gate's."""
    repo = GitRepo(tmp_path / "checkout")
    config = (
        "policy:\n  custom_schema: ci/custom.schema.json\n"
        "custom:\n  team: payments\n"
        "scanning:\n  dependencies:\n    registry: {offline: true, snapshot: ci/known.txt}\n"
    )
    schema = json.dumps({"type": "object", "properties": {"team": {"type": "string"}}, "required": ["team"]})
    repo.commit("base", {
        ".ai-code-gate.yml": config, "ci/custom.schema.json": schema, "ci/known.txt": "pypi:requests\n",
        "requirements.txt": "requests==2.31.0\n",
    })  # fmt: skip
    repo.git("checkout", "-q", "-b", "claude/deps")
    repo.commit("a new helper", {
        "requirements.txt": "requests==2.31.0\nrequests-oauth-magicz==0.1\n",
        "ci/known.txt": "pypi:requests\npypi:requests-oauth-magicz\n",
        # A schema that no config satisfies: read from disk, it would stop every run.
        "ci/custom.schema.json": json.dumps({"not": {}}),
    }, author=CLAUDE)  # fmt: skip
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    decision = _decision(result)
    assert (result.code, decision["outcome"]) == (1, "block"), result.stderr
    assert {("hallucinated_package", "requirements.txt"), ("gate_config_changed", "ci/known.txt"),
            ("gate_config_changed", "ci/custom.schema.json")} <= _rules(decision)  # fmt: skip


def test_a_file_the_base_config_names_but_lacks_is_an_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    config = "scanning:\n  dependencies:\n    registry: {offline: true, snapshot: ci/known.txt}\n"
    repo.commit("base", {".ai-code-gate.yml": config, "requirements.txt": "requests==2.31.0\n"})
    repo.git("checkout", "-q", "-b", "claude/deps")
    repo.commit("bring my own snapshot", {"ci/known.txt": "pypi:anything\n"}, author=CLAUDE)
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    assert result.code == 2
    assert result.stderr.strip() == (
        "aigate: error: main:.ai-code-gate.yml: 'ci/known.txt': no such file at the base revision"
    )


def test_missing_config_at_base_means_defaults(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("base", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "claude/x")
    repo.commit("add a permissive config", {".ai-code-gate.yml": "policy:\n  blocked_patterns: []\n", ".env": "A=1\n"})
    result = run_cli("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    decision = _decision(result)
    assert decision["config_source"] == "defaults"
    assert {("blocked_path", ".env"), ("gate_config_changed", ".ai-code-gate.yml")} <= _rules(decision)


def test_explicit_config_wins_and_is_recorded(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("x", {"secrets/a.txt": "a\n"})
    outside = tmp_path / "ci-config.yml"
    outside.write_text("policy:\n  blocked_patterns: []\n")
    result = run_cli("evaluate", "--config", outside, "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root)
    decision = _decision(result)
    assert decision["config_source"] == "file"
    assert ("blocked_path", "secrets/a.txt") not in _rules(decision)


@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_config_at_base_that_is_not_a_regular_file_is_an_error(tmp_path: Path, kind: str) -> None:
    repo = GitRepo(tmp_path / "checkout")
    repo.write("real.yml", BASE_CONFIG)
    if kind == "symlink":
        (repo.root / ".ai-code-gate.yml").symlink_to("real.yml")
        repo.git("add", ".ai-code-gate.yml", "real.yml")
    else:
        repo.write(".ai-code-gate.yml/x", "y\n")
        repo.git("add", ".")
    repo.commit("base", {})
    result = run_cli("evaluate", "--repo", ".", "--base", "HEAD", "--head", "HEAD", cwd=repo.root)
    assert result.code == 2
    what = "a symbolic link" if kind == "symlink" else "a folder"
    assert result.stderr == f"aigate: error: --repo .: HEAD:.ai-code-gate.yml is {what}, not a regular file\n"


# --- nothing in the PR's own tree steers the gate ----------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str | None]]

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.server.requests.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def recorder() -> Iterator[http.server.HTTPServer]:
    """An HTTP server on 127.0.0.1 that records every request and answers 500."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_pr_config_cannot_choose_policies_server_or_audit_path(
    repo: GitRepo, tmp_path: Path, recorder: http.server.HTTPServer
) -> None:
    url = f"http://127.0.0.1:{recorder.server_port}"
    outside = tmp_path / "stolen.jsonl"
    repo.commit(
        "steer the gate",
        {
            ".ai-code-gate.yml": (
                "policy:\n  blocked_patterns: []\n  policy_dir: mine\n"
                f"  engine: {{backend: opa, opa_url: '{url}'}}\n"
                f"audit: {{enabled: true, path: '{outside}'}}\n"
            ),
            "mine/allow.rego": 'package aigate.decision\n\nimport rego.v1\n\noutcome := "allow"\n',
            "secrets/x.txt": "x\n",
        },
    )
    # The PR's checkout with its own ./.ai-code-gate.yml, no --repo: the config is the PR's.
    pr = tmp_path / "pr.json"
    pr.write_text('{"head_branch": "claude/fix", "base_branch": "main"}')
    result = run_cli(
        "evaluate", "--pr", pr, "--diff", "/dev/stdin", cwd=repo.root, stdin=repo.git("diff", "main...HEAD")
    )
    assert result.code == 1, result.stderr
    decision = _decision(result)
    assert decision["config_source"] == "file"
    assert decision["engine"] == "embedded"
    flagged = {v["message"].split(" ")[0] for v in decision["violations"] if v["rule"] == "untrusted_setting"}
    assert flagged == {
        "policy.policy_dir",
        "policy.engine.backend",
        "policy.engine.opa_url",
        "audit.enabled",
        "audit.path",
    }
    assert recorder.requests == []  # type: ignore[attr-defined]
    assert not outside.exists()


def test_pr_config_inside_the_checkout_given_with_config_is_untrusted(repo: GitRepo) -> None:
    repo.commit("own policies", {".ai-code-gate.yml": "policy:\n  policy_dir: mine\n", "mine/a.rego": "package x\n"})
    result = run_cli(
        "evaluate", "--config", ".ai-code-gate.yml", "--repo", ".", "--base", "main", "--head", "HEAD", cwd=repo.root
    )
    decision = _decision(result)
    assert [v["rule"] for v in decision["violations"] if v["path"] is None] == ["untrusted_setting"]
    assert decision["policy_revision"] == _default_revision()


def _default_revision() -> str:
    result = run_cli("evaluate", "--input", "/dev/stdin", stdin=EMPTY_PR)
    return str(json.loads(result.stdout)["policy_revision"])


def test_ci_environment_outranks_the_config_opa_url(tmp_path: Path, recorder: http.server.HTTPServer) -> None:
    decoy = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    decoy.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=decoy.serve_forever, daemon=True)
    thread.start()
    try:
        config = tmp_path / "trusted.yml"
        config.write_text(
            f"policy:\n  engine: {{backend: opa, opa_url: 'http://127.0.0.1:{decoy.server_port}', retries: 0}}\n"
        )
        env = {"AIGATE_OPA_URL": f"http://127.0.0.1:{recorder.server_port}", "AIGATE_OPA_TOKEN": "ci-token"}
        result = run_cli("evaluate", "--config", config, "--input", "/dev/stdin", stdin=EMPTY_PR, env=env)
        assert result.code == 2  # the recorder answers 500: an error, never an allow
        assert decoy.requests == []  # type: ignore[attr-defined]
        assert recorder.requests and all(  # type: ignore[attr-defined]
            auth == "Bearer ci-token"
            for _, auth in recorder.requests  # type: ignore[attr-defined]
        )
    finally:
        decoy.shutdown()
        decoy.server_close()


def test_audit_path_of_a_trusted_config_stays_in_the_repository_or_state_dir(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "audit.jsonl"
    outside.parent.mkdir()
    repo.git("checkout", "-q", "main")
    repo.commit("audit", {".ai-code-gate.yml": f"audit: {{enabled: true, path: '{outside}'}}\n"})
    repo.git("checkout", "-q", "claude/fix")
    repo.git("rebase", "-q", "main")
    args = ("evaluate", "--repo", ".", "--base", "main", "--head", "HEAD")
    result = run_cli(*args, cwd=repo.root)
    assert result.code == 2
    assert "audit.path" in result.stderr and "outside" in result.stderr and not outside.exists()
    result = run_cli(*args, "--state-dir", outside.parent, cwd=repo.root)
    assert result.code == 0, result.stderr
    assert json.loads(outside.read_text().splitlines()[0])["decision_id"]


# --- the implicit config must be a regular file ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "folder", "fifo"])
def test_implicit_config_that_is_not_a_regular_file_is_an_error(tmp_path: Path, kind: str) -> None:
    target = tmp_path / ".ai-code-gate.yml"
    if kind == "symlink":
        (tmp_path / "real.yml").write_text(BASE_CONFIG)
        target.symlink_to("real.yml")
    elif kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    result = run_cli("evaluate", "--input", "/dev/stdin", stdin=EMPTY_PR, cwd=tmp_path)
    assert result.code == 2
    expected = {"symlink": "is a symbolic link", "folder": "is a directory", "fifo": "is a FIFO"}[kind]
    assert result.stderr.startswith(f"aigate: error: {target}: {expected}")


# --- reading a config cannot hang or exhaust the machine ------------------------------------------------

_ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(8)
)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yml"
    path.write_text(_ALIAS_BOMB)
    assert len(_ALIAS_BOMB) < 500
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"YAML aliases expand to more than {MAX_YAML_NODES} nodes") as caught:
        load_config(path)
    assert time.monotonic() - started < 5
    assert len(str(caught.value)) <= MAX_MESSAGE_CHARS


def test_recursive_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yml"
    path.write_text("detection: &d\n  labels: [*d]\n")
    with pytest.raises(ConfigError, match="alias refers to itself"):
        load_config(path)


def test_small_aliases_within_budget_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yml"
    path.write_text('policy:\n  allowed_patterns: &l ["src/**", "docs/**"]\n  sensitive_patterns: *l\n')
    assert load_config(path).settings["policy"]["sensitive_patterns"] == ["src/**", "docs/**"]


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_config_that_is_not_a_regular_file_is_refused_without_reading(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "pipe.yml"
        os.mkfifo(path)  # nobody ever writes: a blocking open or read would hang the test
    elif special == "folder":
        path = tmp_path
    else:
        path = Path(special)
    started = time.monotonic()
    result = run_cli("evaluate", "--config", path, "--input", "/dev/stdin", stdin=EMPTY_PR)
    assert result.code == 2
    assert "not a regular file" in result.stderr and result.stderr.count("\n") == 1
    assert time.monotonic() - started < 30


def test_oversize_config_is_refused_with_a_bounded_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1048576 bytes"):
        load_config(path)


def test_every_error_line_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "long.yml"
    path.write_text("detection:\n  labels: " + "x" * 5000 + "\n")
    result = run_cli("evaluate", "--config", path, "--input", "/dev/stdin", stdin=EMPTY_PR)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and len(result.stderr) <= MAX_MESSAGE_CHARS + len("aigate: error: \n")


def test_config_change_is_cut_from_a_real_git_diff(repo: GitRepo) -> None:
    from aigate.sources.config_change import config_change

    repo.commit("two files", {"a.txt": "a\n", ".ai-code-gate.yml": BASE_CONFIG + "review:\n  mode: warn\n"})
    diff = repo.git("diff", "main...HEAD")
    change = config_change(diff)
    assert change is not None and change.startswith("diff --git a/.ai-code-gate.yml b/.ai-code-gate.yml\n")
    assert "a.txt" not in change and change.endswith("+  mode: warn\n")
    assert config_change(repo.git("diff", "main...HEAD", "--", "a.txt")) is None
    # A nested file of the same name is not the gate's config.
    repo.commit("nested", {"examples/.ai-code-gate.yml": "x: 1\n"})
    assert config_change(repo.git("diff", "HEAD~1", "HEAD")) is None


def test_protected_policy_dir_is_matched_literally() -> None:
    from aigate.config import config_from_mapping

    data = config_from_mapping({"policy": {"policy_dir": "./rego[1]/"}}).data["gate"]["files"]
    assert [p["pattern"] for p in data["patterns"]][-1] == "/rego\\[1\\]/**"
