"""Diffs a hostile PR could shape to hide a path: what git never writes is a malformed diff (exit 2),
binary patches give their size, symlinks their target. Real diffs come from git in a scratch repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from aigate.document import canonical_json, document_data, load_input_document
from aigate.errors import DiffError
from aigate.models import FileChange, resolve_link_target
from aigate.sources.diff import parse_diff

_ENTRY = "diff --git a/{0} b/{0}\nindex 1111111..2222222 100644\n--- a/{0}\n+++ b/{0}\n@@ -1 +1 @@\n-x\n+y\n"


@pytest.mark.parametrize("path", ["a/./x", "a//x", "a/../x", "../x", "./x", "a/..", "a/.", "/x", "/x/y"])
def test_paths_git_never_writes_are_malformed(path: str) -> None:
    # git's own `diff --git` line for a path P is "a/P b/P": "a//x" is P "/x".
    with pytest.raises(DiffError, match=r"line 1: .*is not one git writes"):
        parse_diff(_ENTRY.format(path))


def test_rename_to_a_dot_dot_path_is_malformed() -> None:
    diff = "diff --git a/x b/y/../.env\nsimilarity index 100%\nrename from x\nrename to y/../.env\n"
    with pytest.raises(DiffError, match="is not one git writes"):
        parse_diff(diff)


@pytest.mark.parametrize(
    ("minus", "plus"),
    [("a/src/x.py", "b/.env"), ("a/.env", "b/src/x.py"), ("/dev/null", "b/src/x.py"), ("a/src/x.py", "/dev/null")],
)
def test_file_lines_that_disagree_with_the_diff_git_line_are_malformed(minus: str, plus: str) -> None:
    diff = f"diff --git a/src/x.py b/src/x.py\nindex 1111111..2222222 100644\n--- {minus}\n+++ {plus}\n"
    diff += "@@ -1 +1 @@\n-x\n+y\n"
    with pytest.raises(DiffError, match=r"line 1: '(---|\+\+\+)' names"):
        parse_diff(diff)


def test_file_lines_of_new_deleted_renamed_and_spaced_files_are_accepted(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "old name.txt").write_text("1\n2\n3\n4\n5\n")
    (repo / "gone.txt").write_text("x\n")
    _commit(repo, "base")
    (repo / "gone.txt").unlink()
    (repo / "old name.txt").rename(repo / "new name.txt")
    (repo / "new name.txt").write_text("1\n2\n3\n4\n5\n6\n")
    (repo / "added.txt").write_text("a\n")
    _commit(repo, "head")
    changes = parse_diff(_git(repo, "diff", "-M", "HEAD~1", "HEAD"))
    assert {(c.path, c.status) for c in changes} == {
        ("added.txt", "added"),
        ("gone.txt", "deleted"),
        ("new name.txt", "renamed"),
    }


def test_a_file_diff_before_the_first_diff_git_line_is_malformed() -> None:
    hidden = "--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-A=1\n+A=2\n"
    with pytest.raises(DiffError, match="line 1: a file's diff before the first 'diff --git' line"):
        parse_diff(hidden + _ENTRY.format("README.md"))
    email = "From 123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\n---\n README.md | 2 +-\n\n"
    assert [c.path for c in parse_diff(email + _ENTRY.format("README.md"))] == ["README.md"]


def test_binary_patch_body_must_be_base85() -> None:
    good = "diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..d5d0b8b\nGIT binary patch\n"
    good += "literal 3\nKcmb<ms0083<N)#j\n\nliteral 0\nHcmV?d00001\n\n"
    assert parse_diff(good)[0].binary_size == 3
    for broken in (
        good.replace("Kcmb<ms0083<N)#j", "Kcmb<ms0083<N)#"),  # wrong length for 3 bytes
        good.replace("Kcmb<ms0083<N)#j", 'Kcmb<ms0083<N)#"'),  # '"' is not base85
        good.replace("literal 3\n", "literal three\n"),
        good.replace("GIT binary patch\n", "GIT binary patch\nnot base85 at all\n"),
        good + "trailing junk\n",
    ):
        with pytest.raises(DiffError, match="line 1: .*(base85|binary patch)"):
            parse_diff(broken)


def test_binary_sizes_from_git_literal_and_delta(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    blob = bytes(range(256)) * 400  # 102,400 bytes with NULs: binary to git
    (repo / "blob.bin").write_bytes(blob)
    _commit(repo, "base")
    (repo / "blob.bin").write_bytes(blob + b"\0tail")  # a small change: git writes a delta
    (repo / "new.bin").write_bytes(b"\0" * 1000)
    _commit(repo, "head")
    # Command: git diff --binary HEAD~1 HEAD
    diff = _git(repo, "diff", "--binary", "HEAD~1", "HEAD")
    assert "\ndelta " in diff
    sizes = {c.path: c.binary_size for c in parse_diff(diff)}
    assert sizes == {"blob.bin": len(blob) + 5, "new.bin": 1000}
    plain = {c.path: (c.binary, c.binary_size) for c in parse_diff(_git(repo, "diff", "HEAD~1", "HEAD"))}
    assert plain == {"blob.bin": (True, None), "new.bin": (True, None)}


def test_symlink_targets_come_from_the_diff(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("x\n")
    (repo / "swap").write_text("a file first\n")
    _commit(repo, "base")
    (repo / "src" / "app.py").write_text("y\n")
    os.symlink("../.env", repo / "src" / "cfg")
    os.symlink("/etc/passwd", repo / "abs")
    (repo / "swap").unlink()
    os.symlink("src/../../outside", repo / "swap")
    _commit(repo, "head")
    changes = {c.path: c for c in parse_diff(_git(repo, "diff", "HEAD~1", "HEAD"))}
    assert (changes["src/cfg"].link_target, changes["src/cfg"].link_target_path) == ("../.env", ".env")
    assert (changes["abs"].link_target, changes["abs"].link_target_path) == ("/etc/passwd", None)
    assert changes["swap"].status == "modified" and changes["swap"].new_mode == "120000"
    assert (changes["swap"].link_target, changes["swap"].link_target_path) == ("src/../../outside", None)
    assert changes["src/app.py"].link_target is None and changes["src/app.py"].link_target_path is None


def test_link_target_path_is_computed_never_taken() -> None:
    change = FileChange.model_validate(
        {"path": "a/b/link", "status": "added", "link_target": "../../.env", "link_target_path": "harmless"}
    )
    assert change.link_target_path == ".env"
    assert resolve_link_target("x", "..") is None
    assert resolve_link_target("a/x", "./b/./c") == "a/b/c"


@pytest.mark.parametrize("target", ["../.git", "../.git/config", "../.GIT/config", "../vendor/lib/.git/config", ".git"])
def test_a_link_into_a_git_folder_is_outside_the_repository(target: str, tmp_path: Path) -> None:
    """`.git/config` holds CI's token after actions/checkout; no pattern sees it, since git tracks no .git path."""
    assert resolve_link_target("static/g", target) is None
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "static").mkdir()
    os.symlink(target, repo / "static" / "g")
    subprocess.run(["git", "add", "static/g"], cwd=repo, check=True)
    diff = subprocess.run(["git", "diff", "--cached"], cwd=repo, capture_output=True, text=True, check=True).stdout
    change = parse_diff(diff)[0]
    assert (change.new_mode, change.link_target, change.link_target_path) == ("120000", target, None)


def test_the_document_resolves_every_symlink_and_leaves_absent_details_out() -> None:
    # The document, not each file, fills link_target_path in: a file that gives only link_target gets it,
    # a path given without a target (or a wrong one) is dropped, and details that are None are left out.
    document = load_input_document({"files": [
        {"path": "a/b/link", "status": "added", "link_target": "../../.env"},
        {"path": "a/lie", "status": "added", "link_target_path": "harmless"},
        {"path": "a/other", "status": "added", "link_target": "x", "link_target_path": "harmless"},
        {"path": "x.bin", "status": "modified", "binary": True, "binary_size": None, "link_target": None},
        {"path": "y.bin", "status": "modified", "binary": True, "binary_size": 0},
    ]})
    files = document_data(document)["files"]
    details = [{key: f[key] for key in ("binary_size", "link_target", "link_target_path") if key in f} for f in files]
    assert details == [
        {"link_target": "../../.env", "link_target_path": ".env"},
        {},
        {"link_target": "x", "link_target_path": "a/x"},
        {},
        {"binary_size": 0},
    ]
    assert '"link_target_path":".env"' in canonical_json(document)
    assert "harmless" not in canonical_json(document) and "null" not in str(details)


def test_newline_in_a_quoted_path_is_kept() -> None:
    diff = 'diff --git "a/cfg\\nprod/.env" "b/cfg\\nprod/.env"\nnew file mode 100644\nindex 0000000..1111111\n'
    diff += '--- /dev/null\n+++ "b/cfg\\nprod/.env"\n@@ -0,0 +1 @@\n+A=1\n'
    assert [c.path for c in parse_diff(diff)] == ["cfg\nprod/.env"]


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    return repo


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _git(repo: Path, *arguments: str) -> str:
    env = {
        "PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }  # fmt: skip
    return subprocess.run(["git", *arguments], cwd=repo, env=env, check=True, capture_output=True).stdout.decode(
        "utf-8", errors="replace"
    )


_NEW_LINK = "diff --git a/src/cfg b/src/cfg\nnew file mode {0}\nindex 0000000..1111111\n--- /dev/null\n+++ b/src/cfg\n"
_NEW_LINK += "@@ -0,0 +1 @@\n+../.env\n\\ No newline at end of file\n"


@pytest.mark.parametrize("mode", ["120000", "0120000", "00120000", " 120000", "+120000", "120000 x", "120000\t",
                                  "100644", "100755", "100664", "0100755", "100000", "644", "755", "010644",
                                  "140755", "170000", "160000"])  # fmt: skip
def test_header_modes_are_read_as_git_apply_reads_them(mode: str, tmp_path: Path) -> None:
    """git apply reads a mode with strtoul(…, 8): "0120000" makes a symlink. Read as bare digits, it made a
    symlink to .env pass as a file of no known mode. git apply, staging the patch, is the referee."""
    diff = _NEW_LINK.format(mode)
    (tmp_path / "x.diff").write_text(diff)
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    applied = subprocess.run(["git", "apply", "--index", str(tmp_path / "x.diff")], cwd=tmp_path / "r",
                             capture_output=True, text=True)  # fmt: skip
    change = parse_diff(diff)[0]
    if applied.returncode != 0:  # a submodule's patch holds "Subproject commit <id>", not text
        assert mode == "160000", applied.stderr
        assert change.new_mode == "160000"
        return
    staged = subprocess.run(["git", "ls-files", "-s", "src/cfg"], cwd=tmp_path / "r", capture_output=True,
                            text=True, check=True).stdout.split()[0]  # fmt: skip
    assert change.new_mode == staged
    assert (change.link_target_path == ".env") == (staged == "120000")


@pytest.mark.parametrize("mode", ["999999", "abc", "", " ", "-120000", "12x000"])
def test_modes_git_apply_refuses_are_malformed(mode: str, tmp_path: Path) -> None:
    diff = _NEW_LINK.format(mode)
    with pytest.raises(DiffError, match=r"line 1: invalid mode"):
        parse_diff(diff)
    if mode.startswith("-"):
        return  # git makes a regular file of a negative mode; aigate refuses it
    (tmp_path / "x.diff").write_text(diff)
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    applied = subprocess.run(["git", "apply", str(tmp_path / "x.diff")], cwd=tmp_path / "r", capture_output=True)
    assert applied.returncode != 0
