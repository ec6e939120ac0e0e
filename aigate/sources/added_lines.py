"""The lines a PR adds, per file, read on demand from the diff text (the input document keeps only counts).

Used for diff-aware findings, changed-line coverage, the built-in secret check and manifest hunks.
Hand-written: one pass over the lines with a hunk-count walker (unidiff builds an object per line:
2.0 s per 1,000,000 changed lines, measured in aigate/sources/diff.py); the diff was already validated by
`parse_diff`, so only the well-formed shape is walked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["DiffLines", "LazyLines", "read_diff_lines"]

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_QUOTED_ESCAPE = re.compile(rb"\\([0-3][0-7][0-7]|.)", re.DOTALL)
_C_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


@dataclass(frozen=True)
class DiffLines:
    """Per new path: the added lines (new-side line number → text) and removed lines (old-side number → text)."""

    added: Mapping[str, Mapping[int, str]]
    removed: Mapping[str, Mapping[int, str]]
    # Reads the lines of the given paths (None: of every file) together, ahead of their use: a repository's
    # lines come from git, one diff for all the paths asked, where reading them file by file runs git per file.
    read_ahead: Callable[[Collection[str] | None], None] | None = field(default=None, repr=False, compare=False)

    def prepare(self, paths: Collection[str] | None = None) -> None:
        """Reads the lines of `paths` (either side; None: every file) now, in one go. Reading works without
        it, file by file; lines already known (from a diff's text) make it a no-op."""
        if self.read_ahead is not None:
            self.read_ahead(paths)

    def added_numbers(self) -> dict[str, frozenset[int]]:
        self.prepare()
        return {path: frozenset(lines) for path, lines in self.added.items()}


class LazyLines(Mapping[int, str]):
    """One side's changed lines of one file (line number → text), read only when first asked for.

    `count` is known up front (None: only once read) and `load()` reads the lines, so a PR's 1,000,000 added
    lines cost one count per file until some are read (the secret check reads a budget of them, diff-aware
    findings the files they name)."""

    __slots__ = ("_count", "_load", "_lines")

    def __init__(self, count: int | None, load: Callable[[], Mapping[int, str]]) -> None:
        self._count = count
        self._load = load
        self._lines: Mapping[int, str] | None = None

    def __len__(self) -> int:
        return len(self._read()) if self._count is None else self._count

    def __getitem__(self, number: int) -> str:
        return self._read()[number]

    def __iter__(self) -> Iterator[int]:
        return iter(self._read())

    def __contains__(self, number: object) -> bool:
        return number in self._read()

    def _read(self) -> Mapping[int, str]:
        if self._lines is None:
            self._lines = self._load()
        return self._lines


def read_diff_lines(text: str) -> DiffLines:
    added: dict[str, dict[int, str]] = {}
    removed: dict[str, dict[int, str]] = {}
    path: str | None = None
    old_path: str | None = None
    old_remaining = new_remaining = 0
    old_line = new_line = 0
    for line in text.split("\n"):
        if old_remaining > 0 or new_remaining > 0:
            marker = line[:1]
            if marker == "+":
                if path is not None:
                    added.setdefault(path, {})[new_line] = line[1:]
                new_line += 1
                new_remaining -= 1
                continue
            if marker == "-":
                if old_path is not None:
                    removed.setdefault(old_path, {})[old_line] = line[1:]
                old_line += 1
                old_remaining -= 1
                continue
            if marker == " " or line == "":
                old_line += 1
                new_line += 1
                old_remaining -= 1
                new_remaining -= 1
                continue
            if marker == "\\":
                continue
            old_remaining = new_remaining = 0  # not a hunk line: the hunk ended early
        if line.startswith("diff --git "):
            path = old_path = None
        elif line.startswith("--- "):
            old_path = _header_path(line[4:])
        elif line.startswith("+++ "):
            path = _header_path(line[4:])
        elif line.startswith("@@ "):
            hunk = _HUNK.match(line)
            if hunk is not None:
                old_line, new_line = int(hunk[1]), int(hunk[3])
                old_remaining = int(hunk[2]) if hunk[2] is not None else 1
                new_remaining = int(hunk[4]) if hunk[4] is not None else 1
    return DiffLines(added=added, removed=removed)


def _header_path(name: str) -> str | None:
    # git ends a name holding a space with a tab, quoted or not.
    name = name.rstrip("\t").split("\t")[0] if not name.startswith('"') else name.rstrip("\t")
    if name == "/dev/null":
        return None
    if name.startswith('"') and name.endswith('"') and len(name) >= 2:
        raw = _QUOTED_ESCAPE.sub(_unescape, name[1:-1].encode())
        name = raw.decode("utf-8", errors="replace")
    for prefix in ("a/", "b/"):
        if name.startswith(prefix):
            return name[2:]
    return name


def _unescape(escape: re.Match[bytes]) -> bytes:
    code = escape[1]
    if len(code) == 3:
        return bytes([int(code, 8)])
    return bytes([_C_ESCAPES.get(code, code[0])])
