"""`git diff` text into one FileChange per changed file, counted exactly as `git diff --numstat` counts.

unidiff parses: it splits the diff into file entries, reads each hunk by its header counts (so content
that looks like a header stays content), counts lines, spots binary patches and reads the modes. This
module covers what unidiff 1.0.1 gets wrong or lets through, each where it happens:
- paths come from git's own header lines, unquoted here (unidiff keeps git's C quoting, and splits a
  `diff --git` line at its last " b/", failing on a path such as "Part b/x.txt");
- lines after a file's last hunk are checked against the hunk counts (unidiff drops them silently);
- a type change (file <-> symlink) is one numstat line but two diff entries, merged back here;
- errors get a line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from aigate.errors import DiffError
from aigate.models import FileChange, FileStatus

__all__ = ["parse_diff"]

_GIT_HEADER = "diff --git "
_EXTENDED_KEYS = (
    "old mode", "new mode", "deleted file mode", "new file mode", "rename from", "rename to",
    "copy from", "copy to", "similarity index", "dissimilarity index", "index",
)  # fmt: skip
# One file entry's header: `diff --git`, git's extended header lines, then `---`/`+++` when it has hunks.
_ENTRY_HEADER = re.compile(
    r"diff --git (?P<names>[^\n]*)\n"
    rf"(?P<extended>(?:(?:{'|'.join(_EXTENDED_KEYS)}) [^\n]*\n)*)"
    r"(?P<file_lines>--- [^\n]*\n\+\+\+ [^\n]*\n)?"
)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_C_ESCAPE = re.compile(rb"\\([0-3][0-7][0-7]|.)", re.DOTALL)
_C_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}
_HUNK_HEADER = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
# What `git format-patch` ends a patch with; after it comes the git version, or the next e-mail.
_SIGNATURE = "-- "


@dataclass(frozen=True)
class _Entry:
    """One file's part of the diff, from its `diff --git` line up to the next one."""

    start: int  # offsets into the diff text
    body_start: int  # after the header, `---`/`+++` included
    end: int
    line_no: int
    body_line_no: int
    names: str  # the `diff --git` line after "diff --git "
    extended: dict[str, str]
    file_lines: tuple[int, int] | None  # offsets of the `---`/`+++` pair


def parse_diff(text: str, *, source: str = "diff") -> tuple[FileChange, ...]:
    """One FileChange per file changed by a `git diff` (`-M`, `-C`, `--binary` and format-patch included).

    An empty diff is no change at all; anything that is not a well-formed git diff raises DiffError
    (never a partial result).
    """
    if not text.strip():
        return ()
    if "\x00" in text:
        raise DiffError(source, "contains NUL bytes: binary data, not a diff")
    if not text.endswith("\n"):
        text += "\n"  # the last line may lack its newline; every line below ends with one
    entries = _read_entries(text, source)
    if not entries:
        raise DiffError(source, "not a git diff: no 'diff --git' line")
    patched_files = _parse_with_unidiff(text, entries, source)
    changes = []
    for entry, patched in zip(entries, patched_files, strict=True):
        _check_hunk_lines(text, entry, patched, source)
        changes.append(_file_change(entry, patched, source))
    return tuple(_merge_type_changes(changes))


def _entry_starts(text: str) -> Iterator[int]:
    # Content lines always start with "+", "-", " " or "\", so a line starting "diff --git " is a header.
    if text.startswith(_GIT_HEADER):
        yield 0
    at = text.find("\n" + _GIT_HEADER)
    while at != -1:
        yield at + 1
        at = text.find("\n" + _GIT_HEADER, at + 1)


def _read_entries(text: str, source: str) -> list[_Entry]:
    starts = list(_entry_starts(text))
    if not starts:
        return []
    entries = []
    line_no, counted_to = 1, 0
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        line_no += text.count("\n", counted_to, start)
        counted_to = start
        header = _ENTRY_HEADER.match(text, start)
        assert header is not None  # every part after "diff --git " is optional and the text ends in "\n"
        if header["names"].endswith("\r"):
            raise DiffError(source, f"line {line_no}: header ends in CR: the line endings were converted")
        extended = {}
        for line in header["extended"].split("\n")[:-1]:
            key = next(key for key in _EXTENDED_KEYS if line.startswith(key + " "))
            extended[key] = line[len(key) + 1 :]
        file_lines = header.span("file_lines") if header["file_lines"] else None
        body_line_no = line_no + header[0].count("\n")
        entries.append(
            _Entry(start, header.end(), end, line_no, body_line_no, header["names"], extended, file_lines)
        )
    return entries


def _parse_with_unidiff(text: str, entries: list[_Entry], source: str) -> list[PatchedFile]:
    # unidiff checks `+++` against its own split of the `diff --git` line, wrong for paths holding " b/",
    # so each `---`/`+++` pair is blanked: the `diff --git` and "new/deleted file mode" lines say the same.
    # Blank lines keep every line number. Text before the first entry (format-patch's e-mail) is left out.
    pieces, copied_to = [], entries[0].start
    for entry in entries:
        if entry.file_lines is not None:
            pieces += [text[copied_to : entry.file_lines[0]], "\n\n"]
            copied_to = entry.file_lines[1]
    pieces.append(text[copied_to:])
    stream = StringIO("".join(pieces))
    lines_before = entries[0].line_no - 1
    try:
        # metadata_only: counts and checks the hunks without keeping their lines, ~4x faster.
        patch_set = PatchSet(stream, metadata_only=True)
    except UnidiffParseError as e:
        consumed = stream.getvalue()[: stream.tell()]
        failed_line_no = lines_before + consumed.count("\n")  # unidiff reads whole lines
        raise DiffError(source, _describe_failure(text, entries, failed_line_no, str(e))) from e
    patched_files: list[PatchedFile] = list(patch_set)
    entry_line_nos = {entry.line_no for entry in entries}
    patched_line_nos = {(patched.diff_line_no or 0) + lines_before for patched in patched_files}
    if outside := patched_line_nos - entry_line_nos:
        # unidiff also starts a file at a bare `---`/`+++` pair or a "Binary files" line...
        raise DiffError(source, f"line {min(outside)}: file header outside any 'diff --git' entry")
    if unread := entry_line_nos - patched_line_nos:
        # ...and skips a `diff --git` line it cannot split.
        raise DiffError(source, f"line {min(unread)}: cannot read this 'diff --git' line")
    return patched_files


def _check_hunk_lines(text: str, entry: _Entry, patched: PatchedFile, source: str) -> None:
    # unidiff drops lines that follow a file's last hunk beyond its header counts, so hunk-like lines
    # are counted (at C speed) against the counts; only a surplus needs the line-by-line walk.
    counted = sum(hunk.source_length + hunk.added for hunk in patched)
    found = sum(text.count(prefix, entry.body_start - 1, entry.end) for prefix in ("\n+", "\n-", "\n "))
    if found > counted:
        problem = _first_hunk_problem(text, entry)
        if problem is not None:
            raise DiffError(source, problem)


def _describe_failure(text: str, entries: list[_Entry], line_no: int, unidiff_problem: str) -> str:
    # The hunk at fault is in the entry of the line unidiff stopped at, or in the entry before when
    # that line is the next entry's header.
    preceding = [entry for entry in entries if entry.line_no <= line_no]
    for entry in reversed(preceding[-2:]):
        problem = _first_hunk_problem(text, entry)
        if problem is not None:
            return problem
    return f"line {line_no}: {unidiff_problem.strip()}"


def _first_hunk_problem(text: str, entry: _Entry) -> str | None:
    """Walk the entry's hunks by their header counts, as `git apply` does; describe the first mismatch."""
    lines = text[entry.body_start : entry.end].split("\n")[:-1]
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("@@"):
            problem, index = _walk_hunk(lines, index, entry.body_line_no)
            if problem is not None:
                return problem
        elif line == _SIGNATURE:
            return None  # format-patch's e-mail signature: the rest is not diff
        elif line[:1] in ("+", "-", " "):
            return f"line {entry.body_line_no + index}: hunk line {line[:40]!r} outside any hunk"
        else:
            index += 1
    return None


def _walk_hunk(lines: list[str], header_index: int, first_line_no: int) -> tuple[str | None, int]:
    """The problem of the hunk whose header is lines[header_index] (None if it matches), and where it ends."""
    header_line_no = first_line_no + header_index
    header = _HUNK_HEADER.match(lines[header_index])
    if header is None:
        return f"line {header_line_no}: malformed hunk header {lines[header_index][:40]!r}", len(lines)
    old_count, new_count = (1 if count is None else int(count) for count in header.groups())
    old_seen = new_seen = 0
    index = header_index + 1
    while index < len(lines) and (old_seen, new_seen) != (old_count, new_count):
        kind = lines[index][:1]
        if kind == "+":
            new_seen += 1
        elif kind == "-":
            old_seen += 1
        elif kind in (" ", "", "\r"):  # an empty line is context whose space was stripped
            old_seen += 1
            new_seen += 1
        elif kind != "\\":
            break
        if old_seen > old_count or new_seen > new_count:
            break
        index += 1
    says = f"line {header_line_no}: hunk header '{header[0]}' says {old_count} old and {new_count} new lines"
    if old_seen > old_count or new_seen > new_count:
        return f"{says} but more follow (line {first_line_no + index})", index
    if (old_seen, new_seen) != (old_count, new_count):
        return f"{says} but {old_seen} old and {new_seen} new follow", index
    after = index
    while after < len(lines) and lines[after][:1] in ("\\", ""):  # "No newline" markers, blank lines
        after += 1
    if after < len(lines) and lines[after][:1] in ("+", "-", " ") and lines[after] != _SIGNATURE:
        return f"{says} but more follow (line {first_line_no + after})", index
    return None, index


def _file_change(entry: _Entry, patched: PatchedFile, source: str) -> FileChange:
    extended = entry.extended
    old_path: str | None = None
    status: FileStatus
    try:
        if "rename from" in extended or "copy from" in extended:
            kind, status = ("rename", "renamed") if "rename from" in extended else ("copy", "copied")
            if f"{kind} to" not in extended:
                raise ValueError(f"'{kind} from' without '{kind} to'")
            old_path, path = _path(extended[f"{kind} from"]), _path(extended[f"{kind} to"])
        else:
            path = _path_of_names(entry.names)
            if "new file mode" in extended:
                status = "added"
            elif "deleted file mode" in extended:
                status = "deleted"
            elif patched or patched.is_binary_file or patched.source_mode == patched.target_mode:
                status = "modified"
            else:
                status = "mode_changed"
    except ValueError as e:
        raise DiffError(source, f"line {entry.line_no}: cannot read the paths of this entry ({e})") from e
    binary = patched.is_binary_file
    return FileChange(
        path=path,
        old_path=old_path,
        status=status,
        binary=binary,
        added=0 if binary else patched.added,
        removed=0 if binary else patched.removed,
        old_mode=patched.source_mode,
        new_mode=patched.target_mode,
    )


def _path_of_names(names: str) -> str:
    """The path of a `diff --git a/P b/P` line that is not a rename or copy, both sides naming P."""
    if names.startswith('"'):
        first = _QUOTED.match(names)
        if first is None or names[first.end() : first.end() + 1] != " ":
            raise ValueError("unterminated quoted path")
        return _same_path(_path(first[0]), _path(names[first.end() + 1 :]))
    # Unquoted paths may hold spaces, so (as git does) split where both sides name the same path.
    for at, char in enumerate(names):
        if char == " ":
            try:
                return _same_path(names[:at], names[at + 1 :])
            except ValueError:
                continue
    raise ValueError("the two paths of the 'diff --git' line differ")


def _same_path(old: str, new: str) -> str:
    if old == new:
        return old  # --no-prefix
    old_prefix, _, old_path = old.partition("/")
    new_prefix, _, new_path = new.partition("/")
    if old_prefix and new_prefix and old_path and old_path == new_path:
        return old_path
    raise ValueError("the two paths of the 'diff --git' line differ")


def _path(name: str) -> str:
    """A path as git writes it in a header: as is, or C-quoted with octal escapes for bytes."""
    if not name.startswith('"'):
        return name
    if _QUOTED.fullmatch(name) is None:
        raise ValueError(f"malformed quoted path {name[:40]!r}")
    raw = _C_ESCAPE.sub(_unescape, name[1:-1].encode())
    # Like the repository source: paths must be valid Unicode for the JSON input document.
    return raw.decode("utf-8", errors="replace")


def _unescape(escape: re.Match[bytes]) -> bytes:
    code = escape[1]
    if len(code) == 3:
        return bytes([int(code, 8)])
    if code not in _C_ESCAPES:
        raise ValueError(f"unknown escape '\\{code.decode(errors='replace')}' in a quoted path")
    return bytes([_C_ESCAPES[code]])


def _merge_type_changes(changes: list[FileChange]) -> list[FileChange]:
    # git prints a type change (file <-> symlink <-> submodule) as a deletion and an addition of the same
    # path, one after the other; numstat reports it as one change with both counts.
    merged: list[FileChange] = []
    for change in changes:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and (previous.status, change.status) == ("deleted", "added")
            and previous.path == change.path
        ):
            binary = previous.binary or change.binary
            merged[-1] = FileChange(
                path=change.path,
                status="modified",
                binary=binary,
                added=0 if binary else change.added,
                removed=0 if binary else previous.removed,
                old_mode=previous.old_mode,
                new_mode=change.new_mode,
            )
        else:
            merged.append(change)
    return merged
