"""The host adapters, run as the hosts run them: a temporary git repository with real commits, the
host's own variables, and real payloads (tests/assets/hosts/SOURCES.md says where each is from)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import ASSETS, REPO
from gitrepo import GitRepo

HOSTS = ASSETS / "hosts"
BASE_CONFIG = 'policy:\n  blocked_patterns: ["secrets/**"]\n'
CLAUDE_TRAILER = "\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"


@pytest.fixture
def shims(tmp_path: Path) -> Path:
    """`aigate` runs this checkout's aigate with this interpreter; `pip install` is what CI does
    before, so here it does nothing."""
    folder = tmp_path / "shims"
    folder.mkdir()
    (folder / "aigate").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m aigate "$@"\n')
    (folder / "pip").write_text("#!/bin/sh\nexit 0\n")
    for shim in folder.iterdir():
        shim.chmod(0o755)
    return folder


def _env(shims: Path, **variables: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_", "GITLAB_", "AIGATE_"))}
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return {**keep, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": python_path, **variables}


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _pr_repo(tmp_path: Path, *, branch: str = "claude/unblock") -> tuple[GitRepo, str, str]:
    """A base with a config that blocks secrets/**; a PR branch that edits the config to unblock it,
    adds a secret file and edits a CI workflow."""
    repo = GitRepo(tmp_path / "checkout")
    base = repo.commit(
        "base",
        {
            ".ai-code-gate.yml": BASE_CONFIG,
            "src/app.py": "print('hi')\n",
            "tests/test_app.py": "def test_app():\n    assert 2 + 2 == 4\n",
            ".github/workflows/ci.yml": "on: push\n",
        },
    )
    repo.git("checkout", "-q", "-b", branch)
    head = repo.commit(
        "Unblock my path" + CLAUDE_TRAILER,
        {
            ".ai-code-gate.yml": "policy:\n  blocked_patterns: []\n",
            "secrets/token.txt": "placeholder\n",
            ".github/workflows/ci.yml": "on: [push, pull_request]\n",
        },
    )
    return repo, base, head


def _github_payload(tmp_path: Path, base: str, head: str, pull: dict[str, Any] | None = None) -> Path:
    """GitHub's own `pull_request` `opened` payload, its SHAs and branch pointed at the repository."""
    payload = json.loads((HOSTS / "github-pull_request-opened.json").read_text())
    payload["pull_request"]["base"]["sha"] = base
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["head"]["ref"] = "claude/unblock"
    payload["pull_request"].update(pull or {})
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


def _github_env(shims: Path, tmp_path: Path, repo: GitRepo, event: Path) -> dict[str, str]:
    (tmp_path / "summary.md").touch()
    (tmp_path / "output.txt").touch()
    return _env(
        shims,
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_WORKSPACE=str(repo.root),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_OUTPUT=str(tmp_path / "output.txt"),
        RUNNER_TEMP=str(tmp_path),
    )


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def _step(workflow: dict[str, Any], step_id: str) -> str:
    steps = next(iter(workflow["jobs"].values()))["steps"]
    return str(next(step for step in steps if step.get("id") == step_id)["run"])


def test_github_example_workflow_runs_against_a_real_pull_request(shims: Path, tmp_path: Path) -> None:
    repo, base, head = _pr_repo(tmp_path)
    env = _github_env(shims, tmp_path, repo, _github_payload(tmp_path, base, head))
    workflow = yaml.safe_load((REPO / "examples/github/ai-code-gate.yml").read_text())
    # The scanner step's gitleaks command, as written (go install and PATH are the runner's setup).
    scan = [line for line in _step(workflow, "scan").splitlines() if line.strip().startswith(("mkdir", "gitleaks"))]
    assert shutil.which("gitleaks", path=env["PATH"]), "gitleaks is installed by .ci/run"
    assert _bash("\n".join(scan), repo.root, env).returncode == 0
    # The sandbox step as written, but for the runner's own package install (apt-get); pip is a shim.
    sandbox = "\n".join(line for line in _step(workflow, "sandbox").splitlines() if not line.startswith("sudo "))
    sandbox_env = {**env, "HEAD_SHA": head, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    ran = _bash(sandbox, repo.root, sandbox_env)
    assert ran.returncode == 0, ran.stderr
    report = json.loads((repo.root / "reports/sandbox.json").read_text())
    assert (report["exit_code"], report["head"], report["tests"]["tests"], report["tests"]["failures"]) == (
        0,
        head,
        1,
        0,
    ), report["output_tail"]
    assert {(a["kind"], a["path"]) for a in report["artifacts"]} == {
        ("junit", "junit.xml"),
        ("coverage", "coverage.json"),
    }
    result = _bash(_step(workflow, "gate"), repo.root, env)
    assert result.returncode == 1, result.stderr  # blocked
    outputs = _outputs(tmp_path / "output.txt")
    assert (outputs["outcome"], outputs["approvals"]) == ("block", outputs["approvals"])
    assert outputs["score"].isdigit() and outputs["tier"]
    assert "::error file=secrets/token.txt,line=1,title=aigate blocked_path" in result.stdout
    assert "::error file=.ai-code-gate.yml,line=1,title=aigate gate_config_changed" in result.stdout
    assert "::error file=.github/workflows/ci.yml,line=1,title=aigate gate_config_changed" in result.stdout
    assert (tmp_path / "summary.md").read_text().startswith("### aigate")
    assert (repo.root / "aigate.md").read_text() == (tmp_path / "summary.md").read_text().split("\n", 1)[0] + "\n" + (
        tmp_path / "summary.md"
    ).read_text().split("\n", 1)[1]
    # The gate judged the sandbox's report: its test ran and passed, so no sandbox violation.
    assert "sandbox_" not in result.stdout and "tests_failed" not in result.stdout
    sarif = json.loads((repo.root / "aigate.sarif").read_text())
    jsonschema.Draft4Validator(json.loads((ASSETS / "schemas/sarif-schema-2.1.0.json").read_text())).validate(sarif)
    assert sarif["runs"][0]["properties"]["config_source"] == "base"


def test_github_action_runs_its_composite_step(shims: Path, tmp_path: Path) -> None:
    repo, base, head = _pr_repo(tmp_path)
    env = _github_env(shims, tmp_path, repo, _github_payload(tmp_path, base, head))
    venv_bin = tmp_path / "aigate-venv" / "bin"
    venv_bin.mkdir(parents=True)
    shutil.copy(shims / "aigate", venv_bin / "aigate")  # what the action's install step puts there
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert set(action["inputs"]) == {"config", "format", "fail-on", "scan", "sandbox"}
    assert action["runs"]["using"] == "composite"
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    inputs = {
        "INPUT_CONFIG": "",
        "INPUT_FORMAT": "json",
        "INPUT_FAIL_ON": "never",
        "INPUT_SCAN": "",
        "INPUT_SANDBOX": "",
    }
    result = _bash(step["run"], repo.root, {**env, **inputs})
    assert result.returncode == 0, result.stderr  # fail-on never
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "block" and decision["config_source"] == "base"
    assert _outputs(tmp_path / "output.txt")["outcome"] == "block"


def test_bot_author_editing_a_workflow_and_the_config_is_a_gate_change(shims: Path, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    base = repo.commit("base", {".ai-code-gate.yml": BASE_CONFIG, ".github/workflows/ci.yml": "on: push\n"})
    repo.git("checkout", "-q", "-b", "update-ci")
    head = repo.commit(
        "Update CI", {".github/workflows/ci.yml": "on: [push]\n", ".ai-code-gate.yml": "policy: {}\n"},
        author=("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
    )  # fmt: skip
    user = {"login": "copilot-swe-agent[bot]", "type": "Bot"}
    event = _github_payload(
        tmp_path, base, head, {"user": user, "labels": [], "head": {"ref": "update-ci", "sha": head}}
    )
    result = _bash("aigate github --format json", repo.root, _github_env(shims, tmp_path, repo, event))
    decision = json.loads(result.stdout)
    assert decision["is_ai"] and result.returncode == 1
    changed = {v["path"] for v in decision["violations"] if v["rule"] == "gate_config_changed"}
    assert changed == {".github/workflows/ci.yml", ".ai-code-gate.yml"}


def test_plain_aigate_in_a_github_pull_request_run_is_aigate_github(shims: Path, tmp_path: Path) -> None:
    repo, base, head = _pr_repo(tmp_path)
    result = _bash("aigate", repo.root, _github_env(shims, tmp_path, repo, _github_payload(tmp_path, base, head)))
    assert result.returncode == 1 and "::error " in result.stdout
    assert _outputs(tmp_path / "output.txt")["outcome"] == "block"


def test_github_outside_a_pull_request_event_is_an_error(shims: Path, tmp_path: Path) -> None:
    repo, base, head = _pr_repo(tmp_path)
    env = {**_github_env(shims, tmp_path, repo, _github_payload(tmp_path, base, head)), "GITHUB_EVENT_NAME": "push"}
    result = _bash("aigate github", repo.root, env)
    assert result.returncode == 2
    assert result.stderr == (
        "aigate: error: GITHUB_EVENT_NAME push: aigate github runs on pull_request or pull_request_target\n"
    )


def test_ai_detected_from_a_first_commit_trailer_on_a_renamed_branch_without_label(shims: Path, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout")
    base = repo.commit("base", {".ai-code-gate.yml": BASE_CONFIG})
    repo.git("checkout", "-q", "-b", "claude/feature")
    repo.commit("First step" + CLAUDE_TRAILER, {"src/a.py": "a = 1\n"})
    head = repo.commit("Second step, by hand", {"secrets/key.txt": "k\n"})
    repo.git("branch", "-q", "-m", "claude/feature", "feature")  # the agent prefix dropped
    event = _github_payload(tmp_path, base, head, {"labels": [], "head": {"ref": "feature", "sha": head}})
    result = _bash("aigate github --format json", repo.root, _github_env(shims, tmp_path, repo, event))
    decision = json.loads(result.stdout)
    assert decision["is_ai"] is True
    assert ["co_author"] == sorted({s["kind"] for s in decision["detection"]["signals"]})
    assert ("blocked_path", "secrets/key.txt") in {(v["rule"], v["path"]) for v in decision["violations"]}


# --- GitLab ----------------------------------------------------------------------------------------------


def _gitlab_env(shims: Path, repo: GitRepo, base: str, head: str, **more: str) -> dict[str, str]:
    return (
        _env(
            shims,
            GITLAB_CI="true",
            CI_PIPELINE_SOURCE="merge_request_event",
            CI_PROJECT_DIR=str(repo.root),
            CI_PROJECT_URL="https://gitlab.example.com/acme/app",
            CI_COMMIT_SHA=head,
            CI_MERGE_REQUEST_IID="7",
            CI_MERGE_REQUEST_TITLE="Unblock my path",
            CI_MERGE_REQUEST_DESCRIPTION="",
            CI_MERGE_REQUEST_LABELS="backend,ai-generated",
            CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="unblock",
            CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
            CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
            CI_MERGE_REQUEST_PROJECT_URL="https://gitlab.example.com/acme/app",
            GITLAB_USER_LOGIN="alice",
        )
        | more
    )


def test_gitlab_example_pipeline_runs_against_a_real_merge_request(shims: Path, tmp_path: Path) -> None:
    repo, base, head = _pr_repo(tmp_path, branch="unblock")
    job = yaml.safe_load((REPO / "examples/gitlab/.gitlab-ci.yml").read_text())["aigate"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    result = _bash("\n".join(job["script"]), repo.root, _gitlab_env(shims, repo, base, head))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("### aigate")
    quality = json.loads((repo.root / job["artifacts"]["reports"]["codequality"]).read_text())
    schema = json.loads((ASSETS / "schemas/gitlab-code-quality.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(quality)
    assert {"aigate/blocked_path", "aigate/gate_config_changed"} <= {issue["check_name"] for issue in quality}
    junit = ElementTree.parse(repo.root / job["artifacts"]["reports"]["junit"]).getroot()
    assert junit.get("failures") != "0"
    assert (repo.root / "aigate.sarif").is_file()


@pytest.mark.parametrize("payload", ["gitlab-merge_request-webhook.json", "gitlab-merge_request-rest.json"])
def test_gitlab_merge_request_payloads_with_labels_as_objects(shims: Path, tmp_path: Path, payload: str) -> None:
    repo, base, head = _pr_repo(tmp_path, branch="unblock")
    data = json.loads((HOSTS / payload).read_text())
    label = {"id": 1, "title": "ai-generated", "name": "ai-generated", "color": "#ff0000"}
    if "object_attributes" in data:
        data["labels"] = [*data["labels"], label]
    else:  # the REST object with with_labels_details=true: labels are objects there too
        data["labels"] = [{"id": 2, "name": name} for name in data["labels"]] + [label]
    path = tmp_path / "mr.json"
    path.write_text(json.dumps(data))
    env = _gitlab_env(shims, repo, base, head, CI_MERGE_REQUEST_LABELS="")
    result = _bash(f"aigate gitlab --mr {path} --format json", tmp_path, env)
    decision = json.loads(result.stdout)
    assert (result.returncode, decision["is_ai"]) == (1, True), result.stderr
    assert {"kind": "label", "value": "ai-generated", "pattern": "ai-generated"} in decision["detection"]["signals"]
    # The same payload through `evaluate --pr` (which exited 2 on label objects before).
    plain = _bash(f"aigate evaluate --pr {path} --repo {repo.root} --base {base} --head {head}", tmp_path, env)
    assert plain.returncode == 1 and json.loads(plain.stdout)["is_ai"]


def test_gitlab_outside_a_merge_request_pipeline_is_an_error(shims: Path, tmp_path: Path) -> None:
    result = _bash("aigate gitlab", tmp_path, _env(shims, GITLAB_CI="true"))
    assert result.returncode == 2
    assert "CI_MERGE_REQUEST_IID is not set" in result.stderr


# --- local git: pre-push ----------------------------------------------------------------------------------


def test_pre_push_hook_stops_a_blocked_push_and_lets_a_clean_one_through(shims: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("base", {".ai-code-gate.yml": BASE_CONFIG, "src/app.py": "x = 1\n"})
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    env = _env(shims)
    install = _bash("aigate hook install", repo.root, env)
    assert install.returncode == 0, install.stderr
    assert (repo.root / ".git/hooks/pre-push").read_text().startswith("#!/bin/sh")

    repo.git("checkout", "-q", "-b", "claude/leak")
    repo.commit("Add a key" + CLAUDE_TRAILER, {"secrets/key.txt": "k\n"})
    push = _bash("git push -q origin claude/leak", repo.root, env)
    assert push.returncode != 0
    assert "blocked_path" in push.stderr
    assert subprocess.run(["git", "-C", str(remote), "rev-parse", "--verify", "-q", "claude/leak"],
                          capture_output=True).returncode != 0  # fmt: skip

    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "claude/fix")
    repo.commit("Fix" + CLAUDE_TRAILER, {"src/app.py": "x = 2\n"})
    push = _bash("git push -q origin claude/fix", repo.root, env)
    assert push.returncode == 0, push.stderr


def test_pre_commit_hook_definition(tmp_path: Path) -> None:
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["stages"]) == ("aigate", "aigate hook pre-push", ["pre-push"])
    assert hook["pass_filenames"] is False
