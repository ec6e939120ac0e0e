"""The `aigate` command as a host runs it: exit codes 0 / 1 / 2, one clear line on any error."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import EXAMPLES, run_cli
from gitrepo import GitRepo

from aigate import _resources
from aigate.document import load_input_document, readable_json

CONFIG = EXAMPLES / ".ai-code-gate.yml"
PRS = EXAMPLES / "prs"


def _sources(name: str) -> list[str | Path]:
    folder = PRS / name
    args: list[str | Path] = [
        "--pr",
        folder / "pr.json",
        "--commits",
        folder / "commits.json",
        "--diff",
        folder / "pr.diff",
    ]
    for scan in sorted((folder / "scans").glob("*.json")):
        args += ["--scan", scan]
    return args


@pytest.mark.parametrize(
    ("name", "code", "outcome"),
    [
        ("claude-auth", 1, "block"),
        ("copilot-small", 0, "allow"),
        ("cursor-review", 0, "review"),
        ("human-ci", 0, "allow"),
    ],
)
def test_evaluate_exit_code_follows_outcome(name: str, code: int, outcome: str) -> None:
    result = run_cli("evaluate", "--config", CONFIG, *_sources(name))
    assert (result.code, result.stderr) == (code, "")
    decision = json.loads(result.stdout)
    assert decision["outcome"] == outcome
    jsonschema.validate(decision, _resources.load_schema("decision.schema.json"))


def test_markdown_output_to_file(tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    result = run_cli("evaluate", "--config", CONFIG, *_sources("claude-auth"), "--format", "markdown", "--output", out)
    assert result.code == 1
    text = out.read_text()
    assert text.startswith("### aigate: ⛔ **Blocked**")
    assert "| `blocked_path` | paths | high | 1 | 1 path |" in text
    assert "- `src/auth/session.ts`" in text


def test_input_command_prints_valid_input_document() -> None:
    result = run_cli("input", *_sources("claude-auth"))
    assert result.code == 0
    document = json.loads(result.stdout)
    jsonschema.validate(document, _resources.load_schema("input.schema.json"))
    assert document["pr"]["head_branch"] == "claude/fix-session-timeout"
    assert [(f["path"], f["added"], f["removed"]) for f in document["files"]] == [
        ("src/auth/session.ts", 2, 1),
        ("tests/session.test.ts", 1, 0),
    ]
    assert document["commits"][0]["trailers"] == [{"key": "Co-Authored-By", "value": "Claude <noreply@anthropic.com>"}]


def test_input_round_trips_through_evaluate(tmp_path: Path) -> None:
    document = tmp_path / "input.json"
    document.write_text(run_cli("input", *_sources("copilot-small")).stdout)
    result = run_cli("evaluate", "--config", CONFIG, "--input", document)
    assert (result.code, json.loads(result.stdout)["outcome"]) == (0, "allow")


def test_input_prints_what_evaluate_reads_back_byte_for_byte(tmp_path: Path) -> None:
    # `aigate input` writes readable_json; read back, the document writes the same text again (so --input of
    # aigate's own output needs no second parse for duplicate keys), and the same JSON json.dumps would write.
    text = run_cli("input", *_sources("claude-auth")).stdout
    path = tmp_path / "input.json"
    path.write_text(text, encoding="utf-8")
    document = load_input_document(path)
    assert readable_json(document) == text
    assert json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n" == text


def test_repo_source(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    repo = tmp_path / "repo"

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=Ann", "-c", "user.email=ann@example.com", *args],
            check=True,
            env=env,
            capture_output=True,
        )

    repo.mkdir()
    git("init", "-q", "-b", "main")
    (repo / "README.md").write_text("x\n")
    git("add", "-A")
    git("commit", "-q", "-m", "init")
    git("checkout", "-q", "-b", "devin/1700000000-fix")
    (repo / ".env").write_text("TOKEN=1\n")
    git("add", "-A")
    git("commit", "-q", "-m", "add env")
    result = run_cli("evaluate", "--repo", repo, "--base", "main", "--head", "devin/1700000000-fix")
    assert result.code == 1, result.stderr
    decision = json.loads(result.stdout)
    assert [s["kind"] for s in decision["detection"]["signals"]] == ["branch"]
    assert [(v["rule"], v["path"]) for v in decision["violations"]] == [("blocked_path", ".env")]


def test_batch_reports_every_pr() -> None:
    result = run_cli("evaluate", "--config", CONFIG, "--batch", PRS, "--workers", "2")
    assert (result.code, result.stderr) == (0, "")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["name"]: line["decision"]["outcome"] for line in lines} == {
        "claude-auth": "block",
        "copilot-small": "allow",
        "cursor-review": "review",
        "human-ci": "allow",
    }


# --- bad input: exit 2, one line, never a traceback, never an allow --------------------------


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda t: ["--diff", _bad(t, "bad.diff", "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n")],
            r"bad\.diff: ",
        ),
        (lambda t: ["--diff", _bad(t, "garbage.diff", "this is not a diff\n")], r"garbage\.diff: "),
        (
            lambda t: ["--config", _bad(t, "c.yml", "policy: [\n"), "--diff", PRS / "claude-auth" / "pr.diff"],
            r"c\.yml: line 2: invalid YAML",
        ),
        (
            lambda t: ["--config", _bad(t, "c.yml", "policy:\n  scope_limits: {max_files: many}\n")],
            r"c\.yml: line 2: policy\.scope_limits\.max_files: 'many' is not of type",
        ),
        (
            lambda t: ["--config", _bad(t, "c.yml", "policy:\n  colour: red\n")],
            r"c\.yml: line 2: policy\.colour: unknown key",
        ),
        (lambda t: ["--pr", _bad(t, "pr.json", "{not json")], r"pr\.json: invalid JSON at line 1, column 2"),
        (lambda t: ["--pr", _bad(t, "pr.json", '{"labels": "ai"}')], r"pr\.json: labels: "),
        (
            lambda t: ["--pr", _bad(t, "pr.json", '{"pull_request": {"number": "7"}}')],
            r"pr\.json: pull_request\.number: expected int, got str",
        ),
        (lambda t: ["--commits", _bad(t, "commits.json", '{"sha": 1}')], r"commits\.json: "),
        (
            # SARIF-looking, but no SARIF version aigate reads (an empty 2.1.0 log is zero findings).
            lambda t: ["--scan", _bad(t, "scan.json", '{"version": "1.0.0", "runs": []}')],
            r"scan\.json: unknown scanner format",
        ),
        (
            lambda t: ["--input", _bad(t, "input.json", '{"files": [{"path": "a"}]}')],
            r"input\.json: files/0/status: Field required",
        ),
        (lambda t: ["--input", _bad(t, "input.json", '{"surprise": 1}')], r"input\.json: "),
        (lambda t: ["--input", _bad(t, "input.json", "{not json")], r"input\.json: Invalid JSON: .* line 1 column 2"),
        (
            lambda t: ["--input", _bad(t, "input.json", '{"files": [{"path": "a", "status": "added", "added": "9"}]}')],
            r"input\.json: files/0/added: Input should be a valid integer$",
        ),
        (lambda t: ["--diff", t / "missing.diff"], r"missing\.diff: cannot read"),
        (lambda t: ["--repo", t, "--base", "main", "--head", "x"], r"--repo .*"),
        (lambda t: ["--base", "main"], r"--base and --head need --repo"),
        (lambda t: ["--engine-typo"], r"unrecognized arguments: --engine-typo"),
    ],
)
def test_bad_input_fails_closed(tmp_path: Path, make_args: object, message: str) -> None:
    import re

    result = run_cli("evaluate", *make_args(tmp_path))  # type: ignore[operator]
    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aigate: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


def test_oversize_input_fails_closed(tmp_path: Path) -> None:
    big = tmp_path / "big.diff"
    with big.open("wb") as handle:
        handle.truncate((256 << 20) + 1)  # sparse: one byte over the limit without writing 256 MiB
    result = run_cli("evaluate", "--diff", big)
    assert result.code == 2
    assert (
        result.stderr.strip()
        == f"aigate: error: {big}: {(256 << 20) + 1} bytes is larger than the {256 << 20}-byte limit"
    )


@pytest.mark.parametrize(
    ("module", "source", "message"),
    [
        ("broken.rego", "package aigate.decision\n\nimport rego.v1\n\noutcome := \n", r"broken\.rego"),
        (
            "allow.rego",
            'package aigate.decision\n\nimport rego.v1\n\noutcome := "allow"\n',
            r"^aigate: error: data\.aigate\.decision is not a valid decision",
        ),
        ("other.rego", "package aigate.other\n\nimport rego.v1\n\nx := 1\n", r"data\.aigate\.decision"),
    ],
    ids=["syntax-error", "not-a-decision", "undefined-decision"],
)
def test_broken_policies_fail_closed(tmp_path: Path, module: str, source: str, message: str) -> None:
    import re

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / module).write_text(source)
    config = _bad(tmp_path, "c.yml", "policy:\n  policy_dir: policies\n")
    # copilot-small is allowed by the shipped policies: an error must not let it through.
    result = run_cli("evaluate", "--config", config, *_sources("copilot-small"))
    assert (result.code, result.stdout) == (2, "")
    [line] = result.stderr.splitlines()
    assert line.startswith("aigate: error: ") and re.search(message, line), line


def test_test_policies_flags_builtins_one_engine_lacks(tmp_path: Path) -> None:
    (tmp_path / "meta.rego").write_text(
        "package aigate.meta\n\nimport rego.v1\n\nowner := rego.metadata.rule().custom.owner\n"
    )
    (tmp_path / "meta_test.rego").write_text(
        "package aigate.meta_test\n\nimport rego.v1\n\ntest_truth if {\n\ttrue\n}\n"
    )
    result = run_cli("test-policies", tmp_path)
    assert result.code == 2
    assert f"FAIL {tmp_path / 'meta.rego'}:5: rego.metadata.rule: not allowed in policies" in result.stdout


def test_test_policies_command() -> None:
    result = run_cli("test-policies")
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("rego: ")
    assert ", 0 failed" in result.stdout


def test_one_pr_is_decided_with_the_cyclic_collector_paused_and_then_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The console script's entry point, in this process: no collection runs while it decides, and the
    # collector is on again when it returns.
    from aigate import _entry

    document = tmp_path / "input.json"
    document.write_text(run_cli("input", *_sources("copilot-small")).stdout)
    monkeypatch.setattr(sys, "argv", ["aigate", "evaluate", "--config", str(CONFIG), "--input", str(document)])
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(count)
    try:
        code = _entry.main()
    finally:
        gc.callbacks.remove(count)
    assert (code, json.loads(capsys.readouterr().out)["outcome"]) == (0, "allow")
    assert collections == []
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("arguments", "set_by_user", "seen"),
    [
        (["--help"], None, "0"),
        (["evaluate", "--help"], "1", "1"),
        (["evaluate", "--input", "x", "--help"], None, "None"),
    ],
)
def test_the_command_asks_regorus_allocator_for_no_huge_pages_unless_told(
    arguments: list[str], set_by_user: str | None, seen: str
) -> None:
    # `aigate` (`_entry.run`) sets MIMALLOC_ALLOW_THP=0 for its own process before regorus loads, where the user
    # has not set it and no ready document is read: its atexit handlers, run before the process ends, see it.
    script = (
        "import atexit, os, sys; atexit.register(lambda: print('THP', os.environ.get('MIMALLOC_ALLOW_THP')));"
        f"sys.argv = ['aigate', *{arguments!r}]; from aigate._entry import run; run()"
    )
    env = {k: v for k, v in os.environ.items() if k != "MIMALLOC_ALLOW_THP"}
    if set_by_user is not None:
        env["MIMALLOC_ALLOW_THP"] = set_by_user
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, f"THP {seen}")


def test_a_negative_worker_count_is_refused(tmp_path: Path) -> None:
    result = run_cli("evaluate", "--batch", tmp_path, "--workers", "-1")
    assert result.code == 2
    assert result.stderr.startswith("aigate: error: argument --workers: invalid whole number value: '-1'")


def test_the_command_ends_its_process_with_its_work_done(tmp_path: Path) -> None:
    # `aigate` ends its process without the interpreter's teardown (`_entry.run`): what it wrote is whole (a
    # decision larger than a pipe holds, its --output file, the audit trail) and its temporary folders are gone
    # (removed by the atexit handlers it runs first).
    repo = GitRepo(tmp_path / "repo")
    repo.commit("init", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "claude/keys")
    repo.commit("keys", {f"keys/key{i:04d}.env": "x\n" for i in range(400)})
    config = tmp_path / "gate.yml"
    config.write_text(f"audit: {{enabled: true, path: '{tmp_path / 'audit.jsonl'}'}}\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    report = tmp_path / "decision.md"
    result = run_cli(
        "evaluate", "--config", config, "--repo", repo.root, "--base", "main", "--head", "claude/keys",
        "--output", f"markdown={report}", env={"TMPDIR": str(scratch)},
    )  # fmt: skip
    assert result.code == 1, result.stderr
    assert len(result.stdout) > 1 << 16
    decision = json.loads(result.stdout)
    assert sum(v["rule"] == "blocked_path" for v in decision["violations"]) == 400
    assert decision["decision_id"] in report.read_text(encoding="utf-8").splitlines()[-1]  # its last line
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert decision["decision_id"] in {event.get("decision_id") for event in events}
    assert list(scratch.iterdir()) == []


def test_a_command_that_fails_while_git_still_diffs_leaves_no_temporary_folder(tmp_path: Path) -> None:
    # The prefetch makes its scratch folder and starts git before the config is read; the config fails (exit 2)
    # while git is still slow to answer: the folder goes at the process's end all the same.
    import shutil

    repo = GitRepo(tmp_path / "repo")
    repo.commit("init", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "claude/x")
    repo.commit("x", {"a.py": "x = 1\n"})
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "git").write_text(
        '#!/bin/sh\ncase "$*" in *"diff --raw --numstat"*) sleep 2;; esac\n'
        f'exec {shutil.which("git")} "$@"\n'
    )
    (slow / "git").chmod(0o755)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = run_cli(
        "evaluate", "--config", tmp_path / "missing.yml", "--repo", repo.root, "--base", "main", "--head", "claude/x",
        env={"TMPDIR": str(scratch), "PATH": f"{slow}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.code == 2 and "missing.yml" in result.stderr
    assert list(scratch.iterdir()) == []
