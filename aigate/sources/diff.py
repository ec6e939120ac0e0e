"""`git diff` text into one FileChange per changed file, counted exactly as `git diff --numstat` counts.

unidiff parses: it splits the diff into file entries, reads each hunk by its header counts (so content
that looks like a header stays content), counts lines, spots binary patches and reads the modes. This
module covers what unidiff 1.0.1 gets wrong or lets through, each where it happens:
- paths come from git's own header lines, unquoted here (unidiff keeps git's C quoting, and splits a
  `diff --git` line at its last " b/", failing on a path such as "Part b/x.txt");
- lines after a file's last hunk are checked against the hunk counts (unidiff drops them silently);
- a type change (file <-> symlink) is one numstat line but two diff entries, merged back here;
- errors get a line number.

Most entries never reach unidiff, which reads hunks line by line in Python (2.0 s for 10,000 files and
1,000,000 changed lines): `_read_all` checks every hunk against its header counts with `str.count` over
the hunk's text, at C speed, and reads well-formed entries from these counts. Anything it does not
recognise exactly (a "No newline" marker, an e-mail signature, lines that are not hunk lines) goes to
unidiff, and errors are always reported by the unidiff path: results and messages stay those of unidiff
(the tests compare both readings).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from functools import cache
from io import StringIO
from itertools import accumulate, repeat
from operator import itemgetter, methodcaller, ne, or_, sub
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import TypeAdapter

from aigate.errors import DiffError
from aigate.models import FILE_DETAILS, FileChange, FileStatus, git_path_problem, resolve_link_target
from aigate.sources._io import no_gc_pauses

if TYPE_CHECKING:
    from unidiff.patch import PatchedFile

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
# A hunk header line as the fast path finds it: from the newline before it to the end of the line.
_HUNK_HEADER_LINE = re.compile(r"\n@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@[^\n]*")
_MATCH_START, _MATCH_END = re.Match.start, re.Match.end
# A line that is not a hunk line ("+", "-", " "): in a hunk body, only the hunk headers are.
_OTHER_LINE = re.compile(r"\n[^-+ ]")
_EXTENDED_LINE = re.compile(rf"({'|'.join(_EXTENDED_KEYS)}) ([^\n]*)\n")
# The extended header lines that give a mode, and what it sets: the old mode, the new one, or whichever of
# them is not set yet (an index line, whose mode, when it has one, follows its blob ids).
_MODE_LINES = {"new file mode": "new", "deleted file mode": "old", "old mode": "old", "new mode": "new",
               "index": "unset"}  # fmt: skip
_INDEX_MODE = re.compile(r"[0-9a-f]+\.\.[0-9a-f]+ (.*)")
# A mode as git apply reads it (apply.c parse_mode_line): strtoul(value, &end, 8), which skips leading
# whitespace and takes a sign, then a space or the line's end. "0120000", " 120000" and "120000 x" are
# all a symlink to git, so to aigate: read as the exact digits, they let a symlink pass as no mode at all.
_MODE_VALUE = re.compile(r"[ \t\v\f\r]*(\+?)([0-7]+)(?:[ \t\v\f\r].*)?")
_ULONG_MAX = (1 << 64) - 1


def _git_mode(value: str) -> str:
    """The mode git apply stages for a header line's `value` (cache.h create_ce_mode, git 2.39): 120000 for a
    symlink, 160000 for a submodule (or folder), else a regular file, 100755 with the owner's execute bit and
    100644 without. ValueError where git apply refuses the line ("invalid mode"); a negative mode too."""
    found = _MODE_VALUE.fullmatch(value)
    if found is None:
        raise ValueError(f"invalid mode {value!r}")
    mode = min(int(found[2], 8), _ULONG_MAX) & 0xFFFFFFFF  # strtoul saturates; git keeps an unsigned int
    kind = mode & 0o170000
    if kind == 0o120000:
        return "120000"
    if kind in (0o040000, 0o160000):
        return "160000"
    # Any other type bits make a regular file: its lines are counted and checked like any file's.
    return "100755" if mode & 0o100 else "100644"


def _line_mode(key: str, value: str) -> str | None:
    """The mode an extended header line gives (`_git_mode`); None for an index line without one."""
    if key == "index":
        found = _INDEX_MODE.fullmatch(value)
        return None if found is None else _git_mode(found[1])
    return _git_mode(value)


# A `diff --git` line unidiff can split (the most lenient of its three patterns); others go to unidiff.
_SPLITTABLE_NAMES = re.compile(r"[^\t\n]+ [^\t\n]+")
# The whole body of a binary entry with `--binary`, as git writes it (base85 lines start with a letter).
_GIT_BINARY_PATCH = re.compile(r"GIT binary patch\n(?:(?:literal|delta) \d+\n|[A-Za-z][!-~]*\n|\n)*")
# What `git format-patch` ends a patch with; after it comes the git version, or the next e-mail.
_SIGNATURE = "-- "
# A unified-diff file header, a hunk or a binary change: what may not come before the first entry.
_STRAY_FILE_DIFF = re.compile(r"^(?:--- [^\n]*\n\+\+\+ |@@ -\d|Binary files |GIT binary patch$)", re.MULTILINE)
# git's base85 alphabet (the same as Python's b85), and one data line of a binary patch: a length
# character (A-Z: 1-26 bytes, a-z: 27-52) and five characters per four bytes.
_BASE85 = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~")
_BINARY_BLOCK = re.compile(r"(literal|delta) (\d+)")
_SYMLINK_MODE = "120000"


class _Entry(NamedTuple):
    """One file's part of the diff, from its `diff --git` line up to the next one."""

    start: int  # offsets into the diff text
    body_start: int  # after the header, `---`/`+++` included
    end: int
    line_no: int  # 0 until `_number_lines` counts them (only error messages need them)
    body_line_no: int
    names: str  # the `diff --git` line after "diff --git "
    extended: dict[str, str]
    file_lines: tuple[int, int] | None  # offsets of the `---`/`+++` pair
    modes: tuple[str | None, str | None]  # (old, new) as git apply reads them from the header


class _Parsed(NamedTuple):
    """What the FileChange needs from one entry's body, whichever parser read it."""

    has_hunks: bool
    binary: bool
    added: int
    removed: int
    source_mode: str | None
    target_mode: str | None

    @classmethod
    def of(cls, patched: PatchedFile, entry: _Entry) -> _Parsed:
        # The modes as git apply reads them (`_git_mode`), not unidiff's digits.
        return cls(
            has_hunks=bool(patched),
            binary=patched.is_binary_file,
            added=patched.added,
            removed=patched.removed,
            source_mode=entry.modes[0],
            target_mode=entry.modes[1],
        )


def parse_diff(text: str, *, source: str = "diff") -> tuple[FileChange, ...]:
    """One FileChange per file changed by a `git diff` (`-M`, `-C`, `--binary` and format-patch included).

    An empty diff is no change at all; anything that is not a well-formed git diff raises DiffError
    (never a partial result).
    """
    if text.isspace() or not text:
        return ()
    if "\x00" in text:
        raise DiffError(source, "contains NUL bytes: binary data, not a diff")
    if not text.endswith("\n"):
        text += "\n"  # the last line may lack its newline; every line below ends with one
    with no_gc_pauses():
        return _parse(text, source)


def _parse(text: str, source: str) -> tuple[FileChange, ...]:
    entries = _read_entries(text, source)
    if not entries:
        raise DiffError(source, "not a git diff: no 'diff --git' line")
    # Before the first entry only an e-mail (format-patch) may come: a file's diff there would be
    # applied by `patch` but never seen by the policies.
    stray = _STRAY_FILE_DIFF.search(text, 0, entries[0].start)
    if stray is not None:
        line_no = text.count("\n", 0, stray.start()) + 1
        raise DiffError(source, f"line {line_no}: a file's diff before the first 'diff --git' line")
    parsed = _read_all(text, entries)
    if parsed is not None:
        changes = [_file_change(entry, body, source, text) for entry, body in zip(entries, parsed, strict=True)]
    else:  # some entry is malformed: unidiff, on the whole diff, says where and why
        entries = _number_lines(text, entries)
        changes = []
        for entry, patched in zip(entries, _parse_with_unidiff(text, entries, source), strict=True):
            _check_hunk_lines(text, entry, patched, source)
            changes.append(_file_change(entry, _Parsed.of(patched, entry), source, text))
    return _merge_type_changes(changes)


def _read_all(text: str, entries: list[_Entry]) -> list[_Parsed] | None:
    """Every entry's body; None if one of them is malformed.

    One regex scan finds every hunk header, and every hunk's lines are counted by kind with `str.count`
    between its header and the next (through `map`: no Python step per line, nor per hunk). An entry whose
    hunks all hold exactly what their headers say is read from these counts, one without hunks by
    `_read_hunkless`; any other by unidiff, on that entry alone.
    """
    headers = list(_HUNK_HEADER_LINE.finditer(text, entries[0].body_start - 1))
    starts = list(map(_MATCH_START, headers))  # the newline before each "@@"
    ends = list(map(_MATCH_END, headers))  # the newline that ends each header line
    # Each entry's hunks, as a range of indices into `headers`.
    firsts = list(map(bisect_left, repeat(starts), [entry.body_start - 1 for entry in entries]))
    pasts = list(map(bisect_left, repeat(starts), [entry.end - 1 for entry in entries], firsts))
    afters = [start + 1 for start in starts[1:]]  # where each hunk's lines end: at the next header...
    afters.append(len(text))
    for entry, first, past in zip(entries, firsts, pasts, strict=True):
        if past > first:
            afters[past - 1] = entry.end  # ...or at the end of its entry
    count = text.count
    plus = list(map(count, repeat("\n+"), ends, afters))
    minus = list(map(count, repeat("\n-"), ends, afters))
    lines = list(map(count, repeat("\n"), ends, afters))  # the hunk's lines and its header's newline
    # A hunk holds exactly what its header says: its lines but the "+" ones (context, and anything else:
    # ruled out per entry below) are its old lines, its lines but the "-" ones its new lines. `lines` also
    # counts the header's own newline; a count left out of the header is 1.
    counts = list(map(methodcaller("groups", "1"), headers))
    olds = list(map(int, map(itemgetter(0), counts)))
    news = list(map(int, map(itemgetter(1), counts)))
    body_lines = list(map(sub, lines, repeat(1)))
    mismatched = list(map(or_, map(ne, map(sub, body_lines, plus), olds), map(ne, map(sub, body_lines, minus), news)))
    sum_plus = list(accumulate(plus, initial=0))
    sum_minus = list(accumulate(minus, initial=0))
    sum_mismatched = list(accumulate(mismatched, initial=0))
    parsed = []
    for entry, first, past in zip(entries, firsts, pasts, strict=True):
        body: _Parsed | None
        if entry.file_lines is None:
            body = _read_hunkless(text, entry) if past == first else None
        elif (
            past > first
            and starts[first] == entry.body_start - 1  # `---`/`+++` is followed by a hunk
            and sum_mismatched[past] == sum_mismatched[first]
            # Every line is "+", "-" or " " (context) but the hunk headers: nothing else (a "\ No newline"
            # marker, a blank line, an e-mail signature) is in the entry.
            and len(_OTHER_LINE.findall(text, entry.body_start - 1, entry.end)) == past - first
            and _SPLITTABLE_NAMES.match(entry.names) is not None
        ):
            added, removed = sum_plus[past] - sum_plus[first], sum_minus[past] - sum_minus[first]
            body = _Parsed(True, False, added, removed, *entry.modes)
        else:
            body = None
        body = body or _read_alone(text, entry)
        if body is None:
            return None
        parsed.append(body)
    return parsed


def _read_hunkless(text: str, entry: _Entry) -> _Parsed | None:
    """An entry without `---`/`+++`: nothing after its header, or a binary change; None for anything else."""
    if _SPLITTABLE_NAMES.match(entry.names) is None:
        return None
    start, end = entry.body_start, entry.end
    if start == end:
        return _Parsed(False, False, 0, 0, *entry.modes)
    if not (_is_binary_files_line(text[start:end]) or _GIT_BINARY_PATCH.fullmatch(text, start, end)):
        return None
    return _Parsed(False, True, 0, 0, *entry.modes)


def _is_binary_files_line(body: str) -> bool:
    """"Binary files A and B differ", one line, no tab: a form unidiff reads as a binary change."""
    if not (body.startswith("Binary files ") and body.endswith(" differ\n")) or "\t" in body:
        return False
    names = body[len("Binary files ") : -len(" differ\n")]
    separator = names.find(" and ")
    return "\n" not in names and 0 < separator < len(names) - len(" and ")


def _read_alone(text: str, entry: _Entry) -> _Parsed | None:
    """One entry read by unidiff on its own (as it reads it within the whole diff); None if that fails."""
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    pieces = [text[entry.start : entry.file_lines[0]], "\n\n", text[entry.file_lines[1] : entry.end]] if (
        entry.file_lines is not None
    ) else [text[entry.start : entry.end]]
    try:
        patched_files = list(PatchSet(StringIO("".join(pieces)), metadata_only=True))
    except UnidiffParseError:
        return None
    if len(patched_files) != 1 or patched_files[0].diff_line_no != 1:
        return None
    patched = patched_files[0]
    counted = sum(hunk.source_length + hunk.added for hunk in patched)
    found = sum(text.count(prefix, entry.body_start - 1, entry.end) for prefix in ("\n+", "\n-", "\n "))
    if found > counted and _first_hunk_problem(text, entry) is not None:
        return None
    return _Parsed.of(patched, entry)


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
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        header = _ENTRY_HEADER.match(text, start)
        assert header is not None  # every part after "diff --git " is optional and the text ends in "\n"
        if header["names"].endswith("\r"):
            line_no = text.count("\n", 0, start) + 1
            raise DiffError(source, f"line {line_no}: header ends in CR: the line endings were converted")
        extended_lines = _EXTENDED_LINE.findall(header["extended"])
        file_lines = header.span("file_lines") if header["file_lines"] else None
        try:
            modes = _header_modes(extended_lines)
        except ValueError as e:
            line_no = text.count("\n", 0, start) + 1
            raise DiffError(source, f"line {line_no}: {e} in the header of this diff --git entry") from e
        entries.append(
            _Entry(start, header.end(), end, 0, 0, header["names"], dict(extended_lines), file_lines, modes)
        )
    return entries


def _number_lines(text: str, entries: list[_Entry]) -> list[_Entry]:
    """The entries with the line numbers of their `diff --git` line and of their body."""
    numbered = []
    line_no, counted_to = 1, 0
    for entry in entries:
        line_no += text.count("\n", counted_to, entry.start)
        counted_to = entry.start
        body_line_no = line_no + text.count("\n", entry.start, entry.body_start)
        numbered.append(entry._replace(line_no=line_no, body_line_no=body_line_no))
    return numbered


def _header_modes(extended_lines: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(old, new) mode, read from the extended header lines in order, as git apply reads them."""
    if len(extended_lines) == 1 and extended_lines[0][0] == "index":  # the usual header: a modified file
        mode = _line_mode(*extended_lines[0])
        return mode, mode
    old = new = None
    for key, value in extended_lines:
        sets = _MODE_LINES.get(key)
        mode = None if sets is None else _line_mode(key, value)
        if mode is None:
            continue
        if sets == "old":
            old = mode
        elif sets == "new":
            new = mode
        else:  # an index line's mode is the mode of both sides, where no other line set it
            old, new = old or mode, new or mode
    return old, new


def _parse_with_unidiff(text: str, entries: list[_Entry], source: str) -> list[PatchedFile]:
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

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


def _file_change(entry: _Entry, patched: _Parsed, source: str, text: str) -> dict[str, Any]:
    """The FileChange of one entry, as the fields `_file_changes` validates all at once."""
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
            elif patched.has_hunks or patched.binary or patched.source_mode == patched.target_mode:
                status = "modified"
            else:
                status = "mode_changed"
        _check_path(path)
        if old_path is not None:
            _check_path(old_path)
    except ValueError as e:
        line_no = text.count("\n", 0, entry.start) + 1
        raise DiffError(source, f"line {line_no}: cannot read the paths of this entry ({e})") from e
    binary = patched.binary
    change: dict[str, Any] = {
        "path": path,
        "old_path": old_path,
        "status": status,
        "binary": binary,
        "added": 0 if binary else patched.added,
        "removed": 0 if binary else patched.removed,
        "old_mode": patched.source_mode,
        "new_mode": patched.target_mode,
    }
    try:
        if entry.file_lines is not None:
            _check_file_lines(text[entry.file_lines[0] : entry.file_lines[1]], old_path or path, path, status)
        body = text[entry.body_start : entry.end]
        if body.startswith("GIT binary patch\n"):
            change["binary_size"] = _binary_patch_size(body)
        elif "\nGIT binary patch\n" in body:
            raise ValueError("a 'GIT binary patch' that does not follow the entry's header")
        if patched.target_mode == _SYMLINK_MODE and patched.has_hunks and not binary:
            change["link_target"] = target = _symlink_target(body)
            change["link_target_path"] = resolve_link_target(path, target)
    except ValueError as e:
        line_no = text.count("\n", 0, entry.start) + 1
        raise DiffError(source, f"line {line_no}: {e}") from e
    return change


def _check_path(path: str) -> None:
    problem = git_path_problem(path)
    if problem is not None:
        raise ValueError(problem)


def _check_file_lines(lines: str, old_path: str, path: str, status: str) -> None:
    """The `---`/`+++` names must be the entry's own paths (git apply refuses a mismatch too)."""
    minus, plus = lines.split("\n")[:2]
    for line, expected, absent in (
        (minus, old_path, status == "added"),
        (plus, path, status == "deleted"),
    ):
        name = line[4:]
        if name.endswith("\t"):  # git ends a name holding a space with a tab
            name = name[:-1]
        if name == "/dev/null" and absent:
            continue
        named = "" if name == "/dev/null" else _path(name)
        if absent or not (named == expected or (named.partition("/")[2] == expected and "/" in named)):
            raise ValueError(f"'{line[:3]}' names {name[:80]!r}, not the path of the 'diff --git' line")


def _binary_patch_size(body: str) -> int:
    """The new size of the file a `GIT binary patch` body describes; ValueError if the body is not
    well-formed base85 blocks. A `delta` block's size is read from the delta's own header (its
    first bytes, inflated alone: bounded work whatever the patch claims)."""
    import zlib
    from base64 import b85decode

    lines = body.split("\n")
    index = 1
    blocks: list[tuple[str, int, bytes]] = []
    while index < len(lines) and len(blocks) < 2:
        header = _BINARY_BLOCK.fullmatch(lines[index])
        if header is None:
            break
        index += 1
        data = bytearray()
        while index < len(lines) and lines[index]:
            line = lines[index]
            size = ord(line[0]) - (ord("A") - 1 if "A" <= line[0] <= "Z" else ord("a") - 27)
            if not ("A" <= line[0] <= "Z" or "a" <= line[0] <= "z") or len(line) != 1 + 5 * ((size + 3) // 4):
                raise ValueError(f"binary patch line {line[:40]!r} is not base85 data")
            if not _BASE85.issuperset(line[1:]):
                raise ValueError(f"binary patch line {line[:40]!r} is not base85 data")
            data += b85decode(line[1:])[:size]
            index += 1
        if index >= len(lines) or not data:
            raise ValueError("binary patch block without data or without its closing empty line")
        index += 1
        blocks.append((header[1], int(header[2]), bytes(data)))
    rest = lines[index:]
    if not blocks or any(rest[: rest.index(_SIGNATURE) if _SIGNATURE in rest else len(rest)]):
        raise ValueError("'GIT binary patch' is not followed by base85 'literal'/'delta' blocks")
    kind, size, first = blocks[0]
    if kind == "literal":
        return size
    try:
        head = zlib.decompressobj().decompress(first, 20)
    except zlib.error as e:
        raise ValueError("binary delta is not zlib data") from e
    _, at = _varint(head, 0)  # the source's size, then the result's
    return _varint(head, at)[0]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("binary delta header is truncated")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        shift += 7
        at += 1
        if not byte & 0x80:
            return value, at


def _symlink_target(body: str) -> str:
    """A symlink's new target: its content, which the hunk adds (without a final newline, as stored)."""
    lines = body.split("\n")
    added = [index for index, line in enumerate(lines) if line.startswith("+")]
    target = "\n".join(lines[index][1:] for index in added)
    if added and not lines[added[-1] + 1].startswith("\\"):
        target += "\n"  # no "\ No newline at end of file": the content ends with one
    return target


def _path_of_names(names: str) -> str:
    """The path of a `diff --git a/P b/P` line that is not a rename or copy, both sides naming P."""
    if names.startswith('"'):
        first = _QUOTED.match(names)
        if first is None or names[first.end() : first.end() + 1] != " ":
            raise ValueError("unterminated quoted path")
        return _same_path(_path(first[0]), _path(names[first.end() + 1 :]))
    if names.count(" ") == 1:  # the usual case: the one place to split
        return _same_path(*names.split(" "))
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


def _merge_type_changes(changes: list[dict[str, Any]]) -> tuple[FileChange, ...]:
    # git prints a type change (file <-> symlink <-> submodule) as a deletion and an addition of the same
    # path, one after the other; numstat reports it as one change with both counts.
    merged: list[dict[str, Any]] = []
    for change in changes:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and (previous["status"], change["status"]) == ("deleted", "added")
            and previous["path"] == change["path"]
        ):
            binary = previous["binary"] or change["binary"]
            merged[-1] = {
                "path": change["path"],
                "old_path": None,
                "status": "modified",
                "binary": binary,
                "added": 0 if binary else change["added"],
                "removed": 0 if binary else previous["removed"],
                "old_mode": previous["old_mode"],
                "new_mode": change["new_mode"],
            }
            merged[-1].update({key: change[key] for key in FILE_DETAILS if key in change})
        else:
            merged.append(change)
    return tuple(_file_changes().validate_python(merged))  # one call for all: a third faster than one each


@cache
def _file_changes() -> TypeAdapter[list[FileChange]]:
    return TypeAdapter(list[FileChange])
