"""Commits of a PR: aigate's own JSON form or GitHub's "list commits on a pull request" response,
and the trailers of a commit message exactly as `git interpret-trailers --parse --no-divider` finds
them (and `git log --format=%(trailers)`): a commit message is not a patch, so a `---` line in its
body (a Markdown rule, common in agent-written messages) does not end it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aigate.errors import CommitsError
from aigate.models import Commit, Person, Trailer
from aigate.sources._io import read_json

__all__ = ["load_commits", "load_commits_file", "parse_trailers"]

# Hand-written because no maintained Python library parses trailers as git's trailer.c (2.39) does.

# git's own ctype (git-compat-util.h) is ASCII-only: isspace is exactly these four characters, so
# Python's Unicode-aware str.isspace()/str.isalnum() would disagree on "\v", "\f", U+00A0 or "é".
_GIT_SPACE = " \t\n\r"
_GIT_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_COMMENT_CHAR = "#"
_SEPARATORS = ":"
# Lines git itself writes; one of them lets a block of only 25% trailers count (trailer.c).
_GIT_GENERATED_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
# `git commit -v` scissors: everything from this line on is not part of the message.
_CUT_LINE = f"{_COMMENT_CHAR} ------------------------ >8 ------------------------\n"


def parse_trailers(message: str) -> tuple[Trailer, ...]:
    """The trailers of `message`, as `git interpret-trailers --parse --no-divider` prints them with no
    `trailer.*` configuration (the tests compare the two).

    Only the last paragraph can hold trailers; it counts when all its lines are trailers, or when it
    has a git-generated one (`Signed-off-by: `) and at least 25% trailer lines. Continuation lines
    (starting with whitespace) are folded into the previous value; keys keep their written case.
    """
    # git reads the message as a C string: nothing after a NUL exists for it.
    text = message.split("\0", 1)[0]
    # --no-divider: the whole message is the message; no `---` line starts a patch part.
    trailer_end = len(text) - _ignored_tail_length(text, len(text))
    trailer_start = _find_trailer_start(text, trailer_end)
    trailers: list[Trailer] = []
    for entry in _trailer_entries(text[trailer_start:trailer_end]):
        if entry.startswith(_COMMENT_CHAR):
            continue
        separator = _find_separator(entry)
        if separator >= 1:
            value = _unfold(entry[separator + 1 :].strip(_GIT_SPACE))
            trailers.append(Trailer(key=entry[:separator].strip(_GIT_SPACE), value=value))
    return tuple(trailers)


def _line_end(text: str, start: int) -> int:
    """Where the line starting at `start` ends, its newline included."""
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline + 1


def _last_line_start(text: str, end: int) -> int:
    """Start of the last line of text[:end] (a final newline belongs to that line); -1 if empty."""
    if end <= 0:
        return -1
    return text.rfind("\n", 0, end - 1) + 1


def _is_blank(line: str) -> bool:
    return all(char in _GIT_SPACE for char in line)


def _ignored_tail_length(text: str, end: int) -> int:
    """How much of text[:end] git ignores at the end: trailing comments and empty lines, an old
    `Conflicts:` block, and everything from the scissors line on (commit.c, ignore_non_trailer)."""
    if text.startswith(_CUT_LINE):
        cutoff = 0
    else:
        found = text.find("\n" + _CUT_LINE)
        cutoff = end if found < 0 else found + 1
    start_of_ignored = 0
    in_conflicts_block = False
    line_start = 0
    while line_start < cutoff:
        line = text[line_start : _line_end(text, line_start)]
        if line.startswith(_COMMENT_CHAR) or line.startswith("\n"):
            if not start_of_ignored:
                start_of_ignored = line_start
        elif line == "Conflicts:\n":
            in_conflicts_block = True
            if not start_of_ignored:
                start_of_ignored = line_start
        elif in_conflicts_block and line.startswith("\t"):
            pass
        elif start_of_ignored:
            start_of_ignored = 0
            in_conflicts_block = False
        line_start += len(line)
    return end - start_of_ignored if start_of_ignored else end - cutoff


def _find_separator(line: str) -> int:
    """Position of the separator in `Token: value` or `Token : value`; -1 if not of that form."""
    whitespace_found = False
    for position, char in enumerate(line):
        if char in _SEPARATORS:
            return position
        if not whitespace_found and (char in _GIT_ALNUM or char == "-"):
            continue
        if position and char in " \t":
            whitespace_found = True
            continue
        break
    return -1


def _find_trailer_start(text: str, end: int) -> int:
    """Start of the trailer block in text[:end], or `end` when the last paragraph is not one."""
    # The first paragraph is the title and never holds trailers.
    end_of_title = 0
    while end_of_title < end:
        line = text[end_of_title : _line_end(text, end_of_title)]
        if not line.startswith(_COMMENT_CHAR) and _is_blank(line):
            break
        end_of_title += len(line)

    only_blank_so_far = True
    recognized_prefix = False
    trailer_lines = non_trailer_lines = 0
    # Lines starting with whitespace belong to the trailer above them, or are plain text if the
    # line above is not a trailer; they are counted once that line is seen.
    possible_continuation_lines = 0
    line_start = _last_line_start(text, end)
    while line_start >= end_of_title:
        line_end = _line_end(text, line_start)
        line = text[line_start:line_end]
        next_start = _last_line_start(text, line_start)
        if line.startswith(_COMMENT_CHAR):
            non_trailer_lines += possible_continuation_lines
            possible_continuation_lines = 0
        elif _is_blank(line):
            if not only_blank_so_far:
                non_trailer_lines += possible_continuation_lines
                if recognized_prefix and trailer_lines * 3 >= non_trailer_lines:
                    return line_end
                if trailer_lines and not non_trailer_lines:
                    return line_end
                return end
        else:
            only_blank_so_far = False
            if line.startswith(_GIT_GENERATED_PREFIXES):
                trailer_lines += 1
                possible_continuation_lines = 0
                recognized_prefix = True
            elif _find_separator(line) >= 1:
                trailer_lines += 1
                possible_continuation_lines = 0
            elif line[0] in _GIT_SPACE:
                possible_continuation_lines += 1
            else:
                non_trailer_lines += 1 + possible_continuation_lines
                possible_continuation_lines = 0
        line_start = next_start
    return end


def _trailer_entries(block: str) -> list[str]:
    """The block's lines, with each continuation line joined to the trailer line above it."""
    entries: list[str] = []
    last_is_trailer = False
    for line in _split_lines(block):
        if last_is_trailer and line[0] in _GIT_SPACE:
            entries[-1] += line
            continue
        entries.append(line)
        last_is_trailer = _find_separator(line) >= 1
    return entries


def _split_lines(text: str) -> list[str]:
    """Lines split at "\\n" only, as git does (str.splitlines also splits at "\\r", "\\v", ...)."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def _unfold(value: str) -> str:
    """Each newline and the whitespace after it become one space, as `--unfold` does."""
    parts: list[str] = []
    position = 0
    while position < len(value):
        char = value[position]
        position += 1
        if char == "\n":
            while position < len(value) and value[position] in _GIT_SPACE:
                position += 1
            parts.append(" ")
        else:
            parts.append(char)
    return "".join(parts).strip(_GIT_SPACE)


def load_commits_file(path: Path) -> tuple[Commit, ...]:
    """Commits from a JSON file in either accepted form (see `load_commits`)."""
    return load_commits(read_json(path, CommitsError), source=str(path))


def load_commits(data: object, *, source: str = "commits") -> tuple[Commit, ...]:
    """Commits from a JSON list, each item in aigate's form or in GitHub's REST form.

    aigate's form: `{"sha", "author": {"name", "email"}, "committer": {...}, "message"}` and an
    optional `"trailers": [{"key", "value"}]`. The trailers are always parsed from the message; a
    given list adds to them (an empty list cannot hide the message's trailers).
    GitHub's form ("list commits on a pull request"): `{"sha", "commit": {"author", "committer",
    "message"}, ...}`; its other fields are ignored.
    """
    if not isinstance(data, list | tuple):
        raise CommitsError(source, f"expected a JSON list of commits, got {_json_type(data)}")
    commits: list[Commit] = []
    # Items are counted from 1, as a reader counts them.
    for number, item in enumerate(data, start=1):
        where = f"item {number}"
        if not isinstance(item, Mapping):
            raise CommitsError(source, f"{where}: expected a commit object, got {_json_type(item)}")
        if "commit" in item:
            commits.append(_github_commit(item, source, where))
        else:
            commits.append(_generic_commit(item, source, where))
    return tuple(commits)


_GENERIC_FIELDS = ("sha", "author", "committer", "message", "trailers")


def _generic_commit(item: Mapping[str, Any], source: str, where: str) -> Commit:
    unknown = [key for key in item if key not in _GENERIC_FIELDS]
    if unknown:
        raise CommitsError(source, f'{where}: unknown field "{unknown[0]}"')
    # Checked in the order the fields are documented, so the first problem reported is the first one.
    sha = _string(item, "sha", "", source, where)
    author = _person(item, "author", "", source, where, strict=True)
    committer = _person(item, "committer", "", source, where, strict=True)
    message = _string(item, "message", "", source, where)
    # Commit adds the trailers parsed from the message to the given ones.
    trailers = _trailers(item["trailers"], source, where) if "trailers" in item else ()
    return Commit(sha=sha, author=author, committer=committer, message=message, trailers=trailers)


def _github_commit(item: Mapping[str, Any], source: str, where: str) -> Commit:
    git_commit = item["commit"]
    if not isinstance(git_commit, Mapping):
        raise CommitsError(source, f'{where}: "commit" must be an object, got {_json_type(git_commit)}')
    sha = _string(item, "sha", "", source, where)
    author = _person(git_commit, "author", "commit.", source, where, strict=False)
    committer = _person(git_commit, "committer", "commit.", source, where, strict=False)
    message = _string(git_commit, "message", "commit.", source, where)
    return Commit(sha=sha, author=author, committer=committer, message=message)


def _person(
    obj: Mapping[str, Any], key: str, prefix: str, source: str, where: str, *, strict: bool
) -> Person:
    """`strict`: aigate's own form allows only `name` and `email`; GitHub's also has `date`."""
    value = _field(obj, key, prefix, source, where)
    if not isinstance(value, Mapping):
        raise CommitsError(source, f'{where}: "{prefix}{key}" must be an object, got {_json_type(value)}')
    if strict:
        unknown = [field for field in value if field not in ("name", "email")]
        if unknown:
            raise CommitsError(source, f'{where}: unknown field "{prefix}{key}.{unknown[0]}"')
    return Person(
        name=_string(value, "name", f"{prefix}{key}.", source, where),
        email=_string(value, "email", f"{prefix}{key}.", source, where),
    )


def _trailers(value: object, source: str, where: str) -> tuple[Trailer, ...]:
    if not isinstance(value, list):
        raise CommitsError(source, f'{where}: "trailers" must be a list, got {_json_type(value)}')
    trailers: list[Trailer] = []
    for index, trailer in enumerate(value):
        name = f"trailers[{index}]"
        if not isinstance(trailer, Mapping):
            raise CommitsError(source, f'{where}: "{name}" must be an object, got {_json_type(trailer)}')
        unknown = [field for field in trailer if field not in ("key", "value")]
        if unknown:
            raise CommitsError(source, f'{where}: unknown field "{name}.{unknown[0]}"')
        key = _string(trailer, "key", f"{name}.", source, where)
        if not key:
            raise CommitsError(source, f'{where}: "{name}.key" must not be empty')
        trailers.append(Trailer(key=key, value=_string(trailer, "value", f"{name}.", source, where)))
    return tuple(trailers)


def _field(obj: Mapping[str, Any], key: str, prefix: str, source: str, where: str) -> object:
    if key not in obj:
        raise CommitsError(source, f'{where}: "{prefix}{key}" is missing')
    return obj[key]


def _string(obj: Mapping[str, Any], key: str, prefix: str, source: str, where: str) -> str:
    value = _field(obj, key, prefix, source, where)
    if not isinstance(value, str):
        raise CommitsError(source, f'{where}: "{prefix}{key}" must be a string, got {_json_type(value)}')
    return value


def _json_type(value: object) -> str:
    """The JSON name of a value's type, which is what the author of the file wrote."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
