"""The gate never allows on missing or broken input: each case is a one-line error naming its source,
exit 2. A PR that really changes nothing is an explicit outcome (review), never an auto-merge."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, run_cli

AI_PR = {"labels": ["ai-generated"], "title": "Add login"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_error(result: object, *fragments: str) -> None:
    code, stdout, stderr = result.code, result.stdout, result.stderr  # type: ignore[attr-defined]
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert lines and all(line.startswith("aigate: ") for line in lines), stderr
    for fragment in fragments:
        assert fragment in stderr, stderr
    assert '"outcome": "allow"' not in stdout


def test_evaluate_with_no_arguments(tmp_path: Path) -> None:
    assert_error(run_cli("evaluate", cwd=tmp_path), "no diff source")


def test_pr_without_a_diff_source(tmp_path: Path) -> None:
    pr = write(tmp_path / "pr.json", json.dumps(AI_PR))
    assert_error(run_cli("evaluate", "--pr", pr), "no diff source")


def test_input_document_without_files(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.json", "{}")
    assert_error(run_cli("evaluate", "--input", empty), f"{empty}: files: missing")


@pytest.mark.parametrize("layout", ["empty", "folder-with-only-pr-json", "only-pr-json"])
def test_batch_without_anything_to_evaluate(tmp_path: Path, layout: str) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    if layout == "folder-with-only-pr-json":
        write(batch / "pr1" / "pr.json", json.dumps(AI_PR))
    elif layout == "only-pr-json":
        write(batch / "pr.json", json.dumps(AI_PR))
    result = run_cli("evaluate", "--batch", batch)
    assert_error(result)
    assert '"outcome"' not in result.stdout


@pytest.mark.parametrize("target", ["/nonexistent/aigate-missing", "/dev/zero"])
def test_batch_entry_that_is_no_regular_file(tmp_path: Path, target: str) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "x.json").symlink_to(target)
    assert_error(run_cli("evaluate", "--batch", batch), f"{batch / 'x.json'}: not a regular file or a folder")


@pytest.mark.parametrize("kind", ["pr", "commits", "input", "scan"])
def test_json_duplicate_keys_are_refused(tmp_path: Path, kind: str) -> None:
    diff = write(tmp_path / "pr.diff", "")
    texts = {
        "pr": '{"labels": ["ai-generated"], "labels": []}',
        "commits": '[{"sha": "a", "author": {"name": "A", "email": "a@x", "email": "b@x"},'
        ' "committer": {"name": "A", "email": "a@x"}, "message": "m"}]',
        "input": '{"files": [], "pr": {"labels": ["ai-generated"], "labels": []}}',
        "scan": '{"version": "2.1.0", "runs": [], "runs": []}',
    }
    path = write(tmp_path / f"{kind}.json", texts[kind])
    args = ["--input", path] if kind == "input" else [f"--{kind}", path, "--diff", diff]
    assert_error(run_cli("evaluate", *args), f"{path}: duplicate key")


def test_duplicate_key_in_a_document_aigate_wrote_is_refused(tmp_path: Path) -> None:
    # A document exactly as `aigate input` writes it skips json's second parse (it cannot hold a duplicate);
    # one key added to it, even the same key again, is no longer aigate's JSON and is looked at key by key.
    diff = write(tmp_path / "pr.diff", "")
    pr = write(tmp_path / "pr.json", '{"labels": ["ai-generated"]}')
    written = run_cli("input", "--pr", pr, "--diff", diff).stdout
    path = write(tmp_path / "input.json", written)
    assert run_cli("evaluate", "--input", path).code == 0
    once = '"labels": [\n      "ai-generated"\n    ],'
    assert written.startswith('{\n  "schema_version": ') and once in written
    doubled = written.replace(once, '"labels": ["ai-generated"],\n    "labels": [],')
    assert_error(run_cli("evaluate", "--input", write(tmp_path / "doubled.json", doubled)), "duplicate key 'labels'")


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    diff = write(tmp_path / "pr.diff", "")
    deep = write(tmp_path / "pr.json", "[" * 200_000 + "]" * 200_000)
    assert_error(run_cli("evaluate", "--pr", deep, "--diff", diff), f"{deep}: JSON nested too deeply")
    assert_error(run_cli("evaluate", "--input", deep), str(deep))


def test_a_lone_surrogate_is_invalid_json_naming_the_file(tmp_path: Path) -> None:
    """It passed JSON parsing once and failed only when the document was serialised, as an internal error."""
    diff = write(tmp_path / "pr.diff", "")
    pr = write(tmp_path / "pr.json", '{"title": "x\\ud800y", "labels": ["ai-generated"]}')
    assert_error(run_cli("evaluate", "--pr", pr, "--diff", diff),
                 f"aigate: error: {pr}: invalid JSON at line 1, column 13: an unpaired UTF-16 surrogate")  # fmt: skip


def _with_injected_fault(tmp_path: Path) -> dict[str, str]:
    """An unforeseen failure, injected at start-up into every aigate process (batch workers too): the last-resort
    handler has no input left that reaches it, and must still fail closed with a line naming the sources."""
    site = tmp_path / "site"
    write(site / "sitecustomize.py", (
        "import aigate.document\n"
        "def _fault(**sources):\n"
        "    raise RuntimeError('injected fault')\n"
        "aigate.document.build_input_document = _fault\n"
    ))  # fmt: skip
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(REPO), os.environ.get("PYTHONPATH")]))}


def test_internal_error_line_names_the_sources(tmp_path: Path) -> None:
    diff = write(tmp_path / "pr.diff", "")
    pr = write(tmp_path / "pr.json", '{"title": "x", "labels": ["ai-generated"]}')
    result = run_cli("evaluate", "--pr", pr, "--diff", diff, env=_with_injected_fault(tmp_path))
    assert_error(result, f"internal error: --pr {pr} --diff {diff}: RuntimeError: injected fault")


def test_batch_internal_error_names_the_entry(tmp_path: Path) -> None:
    entry = tmp_path / "batch" / "pr1"
    write(entry / "pr.json", '{"title": "x", "labels": ["ai-generated"]}')
    write(entry / "pr.diff", "")
    result = run_cli("evaluate", "--batch", tmp_path / "batch", "--workers", "1", env=_with_injected_fault(tmp_path))
    assert_error(result, f"{entry}: internal error: ")


def test_ai_pr_that_changes_nothing_is_reviewed_never_auto_merged(tmp_path: Path) -> None:
    pr = write(tmp_path / "pr.json", json.dumps(AI_PR))
    diff = write(tmp_path / "pr.diff", "")
    result = run_cli("evaluate", "--pr", pr, "--diff", diff)
    assert result.code == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["is_ai"] and decision["outcome"] == "review"
    assert decision["risk"]["auto_merge"] is False
    assert [f["name"] for f in decision["risk"]["factors"]] == ["no_changes"]


def git(repo: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def test_shallow_clone_and_missing_ref_get_a_hint(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for number in range(4):
        git(origin, "commit", "-q", "--allow-empty", "-m", f"c{number}")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", "shallow")
    shallow = tmp_path / "shallow"
    assert_error(run_cli("evaluate", "--repo", shallow, "--base", "HEAD~3", "--head", "HEAD"),
                 "the clone is shallow", "fetch-depth: 0")  # fmt: skip
    assert_error(run_cli("evaluate", "--repo", origin, "--base", "origin/main", "--head", "HEAD"),
                 "origin/main", "git fetch origin main")  # fmt: skip


def test_fail_closed_cases_are_documented() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "no_changes" in readme and "duplicate key" in readme
