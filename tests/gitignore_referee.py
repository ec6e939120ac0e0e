"""git itself as the referee of path patterns: `git check-ignore --no-index` over many patterns at once.

Each pattern goes into the .gitignore of its own folder (`p0/.gitignore`, `p1/.gitignore`, …) of a
scratch work tree, and every path is asked under every folder (`p0/src/x.py`) in one
`git check-ignore --no-index -z --stdin` run: a pattern in `pN/.gitignore` matches `pN/PATH` exactly
as it would match PATH from a top-level .gitignore. The repository itself lives outside the work
tree, so nothing but the .gitignore files exists there (git reads a trailing-slash pattern as
"folders only" and, with --no-index, finds no folder on disk for the paths asked).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
from pathlib import Path


class GitReferee:
    """A scratch work tree and repository, made once, asked many times."""

    def __init__(self) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="aigate-wildmatch-")
        root = Path(self._scratch.name)
        self.work_tree, git_dir = root / "work", root / "git"
        self.work_tree.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self._scratch.name,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_DIR": str(git_dir),
            "GIT_WORK_TREE": str(self.work_tree),
            "LC_ALL": "C",
        }
        subprocess.run(["git", "init", "-q"], check=True, env=self.env, cwd=self.work_tree)

    def close(self) -> None:
        self._scratch.cleanup()

    def ignored(self, patterns: list[str], paths: list[str], *, ignore_case: bool = False) -> list[set[str]]:
        """For each pattern, the subset of `paths` that a .gitignore holding that pattern alone ignores."""
        queries = []
        for index, pattern in enumerate(patterns):
            folder = self.work_tree / f"p{index}"
            folder.mkdir(exist_ok=True)
            (folder / ".gitignore").write_bytes(pattern.encode("utf-8") + b"\n")
            queries += [f"p{index}/{path}" for path in paths]  # "pN/" first: never pathspec magic
        # Command: printf 'pN/PATH\0'… | git -c core.ignoreCase=BOOL check-ignore --no-index -z --stdin
        result = subprocess.run(
            ["git", "-c", f"core.ignoreCase={str(ignore_case).lower()}", "check-ignore", "--no-index", "-z", "--stdin"],
            input=b"".join(query.encode("utf-8") + b"\0" for query in queries),
            capture_output=True,
            env=self.env,
            cwd=self.work_tree,
            check=False,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"git check-ignore failed: {result.stderr.decode(errors='replace')}")
        answers: list[set[str]] = [set() for _ in patterns]
        for line in result.stdout.decode("utf-8").split("\0"):
            if line:
                folder, _, path = line.partition("/")
                answers[int(folder[1:])].add(path)
        return answers


_REFEREE: list[GitReferee] = []


def git_ignored(patterns: list[str], paths: list[str], *, ignore_case: bool = False) -> list[set[str]]:
    """`GitReferee.ignored` on one referee per test process (removed when the process ends)."""
    if not _REFEREE:
        _REFEREE.append(GitReferee())
        atexit.register(_REFEREE[0].close)
    return _REFEREE[0].ignored(patterns, paths, ignore_case=ignore_case)


def fold_for_git(pattern: str) -> str:
    """The pattern git matches, with core.ignoreCase=true, as aigate matches `pattern` case-insensitively.

    git lowers the path's characters but not a bracket's members nor an escaped letter, so with
    ignoreCase `[S]` and `\\S` match nothing. aigate reads them as `[s]`/`\\s` (any case) instead, so
    folding case never narrows a blocked pattern. Here every such upper-case letter gets its lower-case
    form added (a range's ends are left alone: git folds ranges itself). Written apart from aigate's
    translator, after wildmatch.c, so that the two cannot share a mistake.
    """
    out: list[str] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            escaped = pattern[index + 1]
            out.append("\\" + (escaped.lower() if escaped.isascii() and escaped.isupper() else escaped))
            index += 2
        elif char == "[":
            index = _fold_bracket(pattern, index, out)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _fold_bracket(pattern: str, start: int, out: list[str]) -> int:
    length = len(pattern)
    at = start + 1
    if at < length and pattern[at] in "!^":
        at += 1
    pieces = [pattern[start:at]]
    previous = False  # dowild's prev_ch != 0
    first = True
    while True:
        if at >= length:
            out.append(pattern[start:])  # unterminated: as written (git matches nothing)
            return length
        if not first and pattern[at] == "]":
            out.append("".join(pieces) + "]")
            return at + 1
        first = False
        char = pattern[at]
        if char == "\\" and at + 1 < length:
            member = pattern[at + 1]
            if member.isascii() and member.isupper():
                pieces.append(member.lower())
            pieces.append(pattern[at : at + 2])
            at += 2
            previous = True
        elif char == "-" and previous and at + 1 < length and pattern[at + 1] != "]":
            end = 3 if pattern[at + 1] == "\\" else 2
            pieces.append(pattern[at : at + end])
            at += end
            previous = False
        elif char == "[" and pattern[at + 1 : at + 2] == ":":
            close = pattern.find("]", at + 2)
            if close != -1 and close - (at + 2) >= 1 and pattern[close - 1] == ":":
                pieces.append(pattern[at : close + 1])
                at = close + 1
                previous = False
            else:
                pieces.append("[")
                at += 1
                previous = True
        else:
            if char.isascii() and char.isupper():
                pieces.append(char.lower())
            pieces.append(char)
            at += 1
            previous = True
