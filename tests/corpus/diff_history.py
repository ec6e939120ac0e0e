"""--repo's reading of a real repository's history, commit by commit, against git's own answers.

    python tests/corpus/diff_history.py CLONE [--commits 300]

For each of the last COMMITS non-merge commits of CLONE (a clone of any public repository), against its
first parent: the changed files' counts must equal `git diff --numstat`, and the added and removed lines
must equal what read_diff_lines reads from the patch with 3 lines of context; every other commit's lines are
read with half its paths asked for first (a patch of those paths), the others' file by file. Prints the counts and every
commit that differs; exits 1 if one does. Nothing here runs in the tests (they have no network to clone
with); the slider case in tests/sources/test_diff.py came from a difference this script found.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from aigate.errors import RepositoryError
from aigate.sources.added_lines import read_diff_lines
from aigate.sources.git_repo import read_repository


def numstat(repo: Path, base: str, head: str) -> list[tuple[str, int, int]]:
    output = subprocess.run(
        ["git", "-C", str(repo), "diff", "--numstat", "-z", "-M", "-C", "--no-ext-diff", "--no-textconv",
         "--diff-algorithm=myers", f"{base}...{head}"],
        capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    counted = []
    while output and output[0]:
        added, removed, path = output.pop(0).decode().split("\t")
        if not path:  # a rename or copy: its two paths follow
            path = (output.pop(0), output.pop(0))[1].decode()
        counted.append((path, 0 if added == "-" else int(added), 0 if removed == "-" else int(removed)))
    return counted


def _plain(side: Mapping[str, Mapping[int, str]]) -> dict[str, dict[int, str]]:
    return {path: dict(lines.items()) for path, lines in side.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("--commits", type=int, default=300)
    args = parser.parse_args()
    log = ["git", "-C", str(args.clone), "log", "--format=%H", "--no-merges", "-n", str(args.commits)]
    commits = subprocess.run(log, capture_output=True, text=True, check=True).stdout.split()
    differing = files = lines = skipped = 0
    for number, sha in enumerate(commits):
        try:
            snapshot = read_repository(args.clone, f"{sha}~1", sha)
        except RepositoryError:
            skipped += 1  # the root commit: no parent
            continue
        expected = read_diff_lines(snapshot.patch())
        read = snapshot.lines
        if number % 2:
            read.prepare(sorted({p for c in snapshot.files for p in (c.path, c.old_path) if p})[::2])
        same = (
            [(c.path, c.added, c.removed) for c in snapshot.files] == numstat(args.clone, f"{sha}~1", sha)
            and _plain(read.added) == _plain(expected.added)
            and _plain(read.removed) == _plain(expected.removed)
        )
        if not same:
            differing += 1
            print(f"differs: {sha}")
        files += len(snapshot.files)
        lines += sum(len(v) for v in read.added.values())
    print(f"{len(commits) - skipped} commits ({skipped} without a parent skipped), {files} changed files, "
          f"{lines} added lines: {differing} differ")  # fmt: skip
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
