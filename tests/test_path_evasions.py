"""The evasions a hostile review measured, end to end through `aigate evaluate`: each one is now caught
(exit 1, the violation named) or refused as a malformed diff (exit 2, one line). Repositories are real
git repositories built in the test; the default configuration is the one a new user gets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

BRANCH = "claude/change"


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            "PATH": os.environ["PATH"], "HOME": str(path.parent), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "ann@example.com",
            "GIT_COMMITTER_NAME": "Ann", "GIT_COMMITTER_EMAIL": "ann@example.com",
        }  # fmt: skip
        path.mkdir()
        self.git("init", "-q", "-b", "main")
        (path / "README.md").write_text("x\n")
        self.commit("base")
        self.git("checkout", "-q", "-b", BRANCH)

    def git(self, *arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=self.path, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def evaluate(self, *extra: str | Path) -> tuple[int, dict[str, object], str]:
        result = run_cli("evaluate", "--repo", self.path, "--base", "main", "--head", BRANCH, *extra)
        return result.code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def _rules(decision: dict[str, object]) -> set[tuple[str, str | None]]:
    return {(v["rule"], v["path"]) for v in decision["violations"]}  # type: ignore[attr-defined, index]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def test_path_with_a_newline_from_repo_is_caught(repo: Repo) -> None:
    (repo.path / "cfg\nprod").mkdir()
    (repo.path / "cfg\nprod" / ".env").write_text("TOKEN=1\n")
    repo.commit("add")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert ("blocked_path", "cfg\nprod/.env") in _rules(decision)


def test_case_of_a_blocked_path_does_not_matter(repo: Repo) -> None:
    (repo.path / ".ENV").write_text("TOKEN=1\n")
    (repo.path / "KEY.PEM").write_text("k\n")
    repo.commit("add")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert {("blocked_path", ".ENV"), ("blocked_path", "KEY.PEM")} <= _rules(decision)


def test_copy_of_a_blocked_file_is_caught(repo: Repo, tmp_path: Path) -> None:
    """A copy's source is checked like a rename's old path. `--repo` diffs with `-C`, which finds
    copies of files the PR also changes; this diff finds every copy (`--find-copies-harder`)."""
    (repo.path / ".env").write_text("TOKEN=1\nOTHER=2\nMORE=3\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "env on main too")
    repo.git("branch", "-f", "main")
    (repo.path / "public").mkdir()
    (repo.path / "public" / "x.txt").write_text((repo.path / ".env").read_text())
    repo.commit("publish")
    diff = tmp_path / "pr.diff"
    # Command: git diff -C --find-copies-harder main claude/change
    diff.write_text(repo.git("diff", "-C", "--find-copies-harder", "main", BRANCH))
    assert "copy from .env\ncopy to public/x.txt\n" in diff.read_text()
    config = tmp_path / ".ai-code-gate.yml"
    config.write_text("policy:\n  apply_to_human: true\n")
    result = run_cli("evaluate", "--config", config, "--diff", diff)
    assert result.code == 1
    assert [v["message"] for v in json.loads(result.stdout)["violations"]] == [
        ".env matches blocked pattern *.env* (copied to public/x.txt)"
    ]


def test_symlink_to_a_blocked_file_is_caught(repo: Repo) -> None:
    (repo.path / "src").mkdir()
    os.symlink("../.env", repo.path / "src" / "cfg")
    repo.commit("link")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert [v["message"] for v in decision["violations"] if v["path"] == ".env"] == [  # type: ignore[attr-defined]
        ".env matches blocked pattern *.env* (the target of symlink src/cfg)"
    ]


def test_symlink_to_a_folder_holding_blocked_files_is_caught(repo: Repo) -> None:
    """`static/c -> ../certs` serves certs/server.pem as static/c/server.pem: the link exposes every file under
    its folder. It was allowed and auto-merged, the policies seeing only the folder's own path."""
    (repo.path / "certs").mkdir()
    (repo.path / "certs" / "server.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (repo.path / "docs").mkdir()
    (repo.path / "docs" / "a.md").write_text("a\n")
    repo.commit("files on main")
    repo.git("branch", "-f", "main")
    (repo.path / "static").mkdir()
    os.symlink("../certs", repo.path / "static" / "c")
    os.symlink("../docs", repo.path / "static" / "d")
    repo.commit("links")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert [(v["rule"], v["path"], v["message"]) for v in decision["violations"]] == [  # type: ignore[attr-defined]
        ("blocked_path", "certs/server.pem",
         "certs/server.pem matches blocked pattern **/*.pem (under certs, the target of symlink static/c)"),
    ]  # fmt: skip
    document = json.loads(run_cli("input", "--repo", repo.path, "--base", "main", "--head", BRANCH).stdout)
    links = {f["path"]: f.get("link_target_files") for f in document["files"]}
    assert links == {"static/c": ["certs/server.pem"], "static/d": ["docs/a.md"]}


def test_renamed_symlink_target_is_read_from_the_head(repo: Repo) -> None:
    (repo.path / "a").mkdir()
    os.symlink("x", repo.path / "a" / "link")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "link on main")
    repo.git("branch", "-f", "main")
    repo.git("mv", "a/link", "link")  # same target, now read from the top: "x" is a different file
    repo.commit("move")
    document = json.loads(run_cli("input", "--repo", repo.path, "--base", "main", "--head", BRANCH).stdout)
    [moved] = document["files"]
    assert (moved["status"], moved["link_target"], moved["link_target_path"]) == ("renamed", "x", "x")


def test_symlink_leaving_the_repository_is_caught(repo: Repo) -> None:
    os.symlink("/etc/passwd", repo.path / "passwd")
    repo.commit("link")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert ("symlink_outside_repository", "passwd") in _rules(decision)


def test_file_in_place_of_a_blocked_folder_is_caught(repo: Repo) -> None:
    (repo.path / ".github").mkdir()
    os.symlink("../attacker", repo.path / ".github" / "workflows")
    repo.commit("workflows elsewhere")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert ("blocked_path", ".github/workflows") in _rules(decision)


def test_head_attributes_cannot_hide_lines(repo: Repo) -> None:
    (repo.path / ".gitattributes").write_text("*.py binary\n")
    (repo.path / "big.py").write_text("".join(f"x{i} = {i}\n" for i in range(5000)))
    repo.commit("big")
    document = json.loads(run_cli("input", "--repo", repo.path, "--base", "main", "--head", BRANCH).stdout)
    big = next(f for f in document["files"] if f["path"] == "big.py")
    assert (big["binary"], big["added"]) == (False, 5000)
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert ("max_lines_added", None) in _rules(decision)


@pytest.mark.parametrize("folder", ["", "vendor/pinned/"])
def test_base_attributes_still_apply(repo: Repo, folder: str) -> None:
    # A .gitattributes in a folder, too: the base's listing is searched by name before its details are read.
    (repo.path / folder).mkdir(parents=True, exist_ok=True)
    (repo.path / folder / ".gitattributes").write_text("*.lock -diff\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "attributes on main")
    repo.git("branch", "-f", "main")
    (repo.path / folder / "deps.lock").write_text("".join(f"dep{i}\n" for i in range(100)))
    (repo.path / "other.lock").write_text("".join(f"dep{i}\n" for i in range(100)))
    repo.commit("lock")
    document = json.loads(run_cli("input", "--repo", repo.path, "--base", "main", "--head", BRANCH).stdout)
    files = {file["path"]: file for file in document["files"]}
    lock = files[f"{folder}deps.lock"]
    assert (lock["binary"], lock["binary_size"]) == (True, len((repo.path / folder / "deps.lock").read_bytes()))
    # A folder's attributes do not reach outside it.
    other = files["other.lock"]
    assert (other["binary"], other["added"]) == ((True, 0) if folder == "" else (False, 100))


def test_binary_bytes_count(repo: Repo) -> None:
    (repo.path / "data.py").write_bytes(b"\0" + b"x = 1\n" * 300_000)  # one NUL: binary to git
    repo.commit("blob")
    code, decision, _ = repo.evaluate()
    assert code == 1
    assert ("max_binary_bytes", None) in _rules(decision)


@pytest.mark.parametrize(
    ("diff", "problem"),
    [
        ("diff --git a/a/../.env b/a/../.env\nnew file mode 100644\nindex 0000000..1111111\n", "is not one git writes"),
        ("diff --git a//x b//x\nnew file mode 100644\nindex 0000000..1111111\n", "is not one git writes"),
        (
            "diff --git a/x b/x\nindex 1111111..2222222 100644\n--- a/x\n+++ b/.env\n@@ -1 +1 @@\n-a\n+b\n",
            "'+++' names 'b/.env'",
        ),
        (
            "--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/x b/x\nnew file mode 100644\n"
            "index 0000000..1111111\n",
            "a file's diff before the first 'diff --git' line",
        ),
        (
            "diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\n"
            "literal 3\nnot base85\n\n",
            "not base85",
        ),
    ],
)
def test_malformed_diffs_exit_2(tmp_path: Path, diff: str, problem: str) -> None:
    source = tmp_path / "pr.diff"
    source.write_text(diff)
    result = run_cli("evaluate", "--diff", source)
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and str(source) in result.stderr and problem in result.stderr
