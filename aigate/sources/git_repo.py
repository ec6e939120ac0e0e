"""Commits, changed files and branch names of `base..head` in a local repository, read with git itself.

The changed files come from one `git diff --raw --numstat -z`: paths, status, modes and blob ids, and the line
counts as git counts them, with no hunk text. A file's changed lines are read only when something asks for them
(`RepositorySnapshot.lines`: the secret check's budget, diff-aware findings, coverage), from the same diff as a
patch with one line of context: of the files asked for (`git diff -- PATH...`), or of the whole PR when most
are. The patch with 3 lines of context, for people and fixtures, is read on demand (`RepositorySnapshot.patch`).

git runs with the format-changing settings pinned (prefixes, quoting, colour, context, encoding) so
that neither the user's nor the repository's config can change what aigate reads.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from aigate.errors import RepositoryError
from aigate.sources._git import (
    _CHANGE_OPTIONS,
    MAX_DIFF_BYTES,
    StartedChanges,
    _Background,
    _decode,
    _Git,
    _resolve,
    prefetch,
    take_prefetched,
)
from aigate.sources._io import MAX_INPUT_BYTES
from aigate.sources.added_lines import DiffLines, LazyLines, read_diff_lines

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from aigate.models import Commit, FileChange, FileStatus

__all__ = [
    "MAX_DIFF_BYTES",
    "AddedLine",
    "RepositorySnapshot",
    "prefetch",
    "read_repository",
    "RevisionEntry",
    "list_revision_files",
    "read_revision_blobs",
    "read_revision_file",
    "read_revision_tree",
    "git_path",
    "repository_root",
    "revision_exists",
]

# What only shapes a patch's text (any of them turns on the patch): pinned against diff.context,
# diff.interHunkContext, diff.srcPrefix/dstPrefix, and GIT_DIFF_OPTS.
_PATCH_OPTIONS = ("--unified=3", "--inter-hunk-context=0", "--src-prefix=a/", "--dst-prefix=b/")
_DIFF_OPTIONS = (*_CHANGE_OPTIONS, *_PATCH_OPTIONS)
# The patch the counts and lines are read from: one line of context, the least that keeps the lines where a
# patch with context shows them. With none, git first trims the files' common tail (xdiff-interface's
# trim_common_tail), which can move an ambiguous change by a line (tests/sources/test_diff.py's slider case).
_HUNK_OPTIONS = ("--unified=1", "--inter-hunk-context=0", "--src-prefix=a/", "--dst-prefix=b/")

# Fields of one commit in `git log -z` output. NUL cannot occur inside any of them (git prints the
# message with C-string functions), and `-z` ends each commit with a NUL too.
_LOG_FIELDS = ("%H", "%an", "%ae", "%cn", "%ce", "%B")
_LOG_FORMAT = "%x00".join(_LOG_FIELDS)

class AddedLine(NamedTuple):
    """One line a PR adds: the file's path (after the change), its line number there, its text."""

    path: str
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class RepositorySnapshot:
    """What a local repository says about a PR from `base` to `head`."""

    # base..head, oldest first.
    commits: tuple[Commit, ...]
    # `git diff base...head`: what the PR changes since the merge base, as a PR view shows it; counted
    # as `git diff --numstat` counts.
    files: tuple[FileChange, ...]
    # Branch names ("claude/fix-auth"); "" when the revision is not a branch (a SHA, a tag, a
    # detached HEAD).
    head_branch: str
    base_branch: str
    repository: Path
    # The commits `base` and `head` resolved to, so that hunks read later describe the same change.
    base_id: str
    head_id: str
    # Per file, in the order of `files`: (old, new) blob ids, None where the side does not exist.
    blob_ids: tuple[tuple[str | None, str | None], ...] = field(default=(), repr=False)
    # The changed lines of `files`, read from git's patch only when asked for.
    lines: DiffLines = field(default_factory=lambda: DiffLines(added={}, removed={}), repr=False, compare=False)

    def patch(self, paths: Collection[str] | None = None, *, max_bytes: int = MAX_DIFF_BYTES) -> str:
        """The unified diff (`git diff base...head`) of the whole PR, or of the changes to `paths`."""
        with _base_attributes(_Git(self.repository), self.base_id) as git:
            return _decode(git.run(self._patch_arguments(paths), limit=max_bytes))

    def added_lines(self, paths: Collection[str] | None = None) -> Iterator[AddedLine]:
        """Every line the PR adds (to `paths` only, if given), in the diff's order: `lines.added`, one by one."""
        wanted = None if paths is None else set(paths)
        self.lines.prepare(wanted)
        for path, lines in self.lines.added.items():
            if wanted is None or path in wanted:
                for number, text in lines.items():
                    yield AddedLine(path, number, text)

    def file_versions(self, change: FileChange, *, max_bytes: int = MAX_INPUT_BYTES) -> tuple[str | None, str | None]:
        """The base and head text of one changed file (None for a side where it does not exist), from its blobs:
        manifests are read whole on both sides, not from hunks."""
        try:
            old_id, new_id = self.blob_ids[self.files.index(change)]
        except (ValueError, IndexError):
            return None, None
        git = _Git(self.repository)

        def text(blob: str | None) -> str | None:
            return None if blob is None else _decode(git.run(["cat-file", "blob", blob], limit=max_bytes))

        return text(old_id), text(new_id)

    def _patch_arguments(self, paths: Collection[str] | None) -> list[str]:
        pathspecs: list[str] = []
        if paths is not None:
            wanted = set(paths)
            # A rename or copy is found only when its source is in the diff too.
            chosen = {p for change in self.files if change.path in wanted for p in (change.path, change.old_path) if p}
            if not chosen:
                return ["diff", "--no-index", "--", os.devnull, os.devnull]  # nothing to show: an empty diff
            pathspecs = _literal_pathspecs(sorted(chosen))
        return ["diff", *_DIFF_OPTIONS, "--end-of-options", f"{self.base_id}...{self.head_id}", "--", *pathspecs]


def read_repository(repo: Path, base: str, head: str, *, max_diff_bytes: int = MAX_DIFF_BYTES) -> RepositorySnapshot:
    """`_read_repository`, with a hint when a revision or the merge base is missing (CI checkouts are
    shallow by default): fetch the full history, or the missing revision."""
    try:
        return _read_repository(repo, base, head, max_diff_bytes=max_diff_bytes)
    except RepositoryError as e:
        explained = with_history_hint(repo, e.problem, base)
        if explained == e.problem:
            raise
        raise RepositoryError(e.source, explained) from e


def with_history_hint(repo: Path, problem: str, base: str) -> str:
    """`problem`, followed by what to do when it is a revision or the merge base missing."""
    hint = _missing_history_hint(repo, problem, base)
    return f"{problem}; {hint}" if hint else problem


def _missing_history_hint(repo: Path, problem: str, base: str) -> str:
    """What to do when a revision or the merge base is missing (CI checkouts are shallow by default);
    "" when `problem` is about something else."""
    triggers = ("bad revision", "unknown revision", "no merge base", "bad object", "Not a valid object name")
    if not any(text in problem for text in triggers):
        return ""
    named = re.search(r"'([^']+)'", problem) or re.search(r"Not a valid object name (\S+)", problem)
    missing = (named.group(1) if named else base).removeprefix("origin/")
    try:
        shallow = _Git(repo).run(["rev-parse", "--is-shallow-repository"], limit=64).strip() == b"true"
    except RepositoryError:
        shallow = False
    if shallow:
        return (
            "the clone is shallow: fetch the full history (actions/checkout: fetch-depth: 0; GitLab: "
            f"GIT_DEPTH: 0; or git fetch --unshallow), then git fetch origin {missing}"
        )
    return f"fetch the missing revision first (git fetch origin {missing}, or check out with fetch-depth: 0)"


def _read_repository(repo: Path, base: str, head: str, *, max_diff_bytes: int = MAX_DIFF_BYTES) -> RepositorySnapshot:
    """Read the commits, changed files and branch names of the PR `base`..`head` in `repo`.

    Raises RepositoryError, naming the repository and git's own reason, when git is missing, `repo`
    is not a repository or a revision is unknown; and when git's answer exceeds `max_diff_bytes`.
    """
    git = _Git(repo)
    for option, revision in (("--base", base), ("--head", head)):
        # Checked here as well as ended by --end-of-options: no revision starts with "-", and one
        # that does must never reach git as an option.
        if not revision or revision.startswith("-"):
            raise RepositoryError(git.source, f"{option} {revision!r} is not a revision")
    started = take_prefetched(repo, base, head, max_diff_bytes)
    ids = started.resolved() if started is not None else None
    if started is not None and ids is not None:
        # git may still be diffing: the log and branch names are read meanwhile, as below.
        (base_id, head_id), changes = ids, started.changes
    else:
        # Both revisions are fixed to object ids once, so log and diff see the same snapshot.
        git_dir, base_id, head_id = _resolve(git, base, head)
        changes = _Background(lambda: _read_changes(git, base_id, head_id, limit=max_diff_bytes, git_dir=git_dir))
    # git computes the diff (the slow part) while the log and branch names are read.
    with changes:
        log = git.run(
            [
                "log",
                "-z",
                "--reverse",
                f"--format={_LOG_FORMAT}",
                "--end-of-options",
                f"{base_id}..{head_id}",
                "--",
            ],
            limit=MAX_INPUT_BYTES,
        )
        commits = _parse_log(git.source, _decode(log))
        head_branch, base_branch = _branch_name(git, head), _branch_name(git, base)
        files, blob_ids, lines = changes.result()
    return RepositorySnapshot(
        commits=commits,
        files=files,
        head_branch=head_branch,
        base_branch=base_branch,
        repository=repo,
        base_id=base_id,
        head_id=head_id,
        blob_ids=blob_ids,
        lines=lines,
    )


@contextmanager
def _base_attributes(git: _Git, base_id: str) -> Iterator[_Git]:
    """`git`, reading the base's .gitattributes only (see `_Git.with_base_attributes`), while the block runs."""
    with tempfile.TemporaryDirectory(prefix="aigate-attributes-") as scratch:
        yield git.with_base_attributes(base_id, scratch)


def _with_blob_details(git: _Git, head_id: str, files: tuple[FileChange, ...]) -> tuple[FileChange, ...]:
    """`files` with what --raw and the patch leave out, read from the head commit: a binary file's size,
    and a symlink's target (its content)."""
    from aigate.models import resolve_link_target

    # A rename or copy at 100% similarity has no mode in the input document: it may be a symlink.
    wanted = [
        change.path
        for change in files
        if change.status != "deleted"
        and (
            change.binary
            or change.new_mode == "120000"
            or (change.status in ("renamed", "copied") and change.new_mode is None)
        )
    ]
    if not wanted:
        return files
    entries: dict[str, tuple[str, str, int]] = {}
    for start in range(0, len(wanted), 1000):  # bounded command lines
        listing = git.run(
            ["--literal-pathspecs", "ls-tree", "-z", "-l", "--full-tree", head_id, "--", *wanted[start : start + 1000]],
            limit=MAX_INPUT_BYTES,
        )
        for record in _decode(listing).split("\0"):
            info, tab, path = record.partition("\t")
            fields = info.split()
            if tab and len(fields) == 4 and fields[1] == "blob":
                entries[path] = (fields[0], fields[2], int(fields[3]))
    completed = []
    for change in files:
        update: dict[str, object] = {}
        mode, blob, size = entries.get(change.path, ("", "", 0))
        if mode and change.binary:
            update["binary_size"] = size
        if mode == "120000":  # few: one small object each
            update["link_target"] = target = _decode(git.run(["cat-file", "blob", blob], limit=1 << 16))
            update["link_target_path"] = resolved = resolve_link_target(change.path, target)
            if resolved is not None:
                update["link_target_files"] = _files_under(git, head_id, resolved)
        completed.append(change.model_validate({**change.model_dump(), **update}) if update else change)
    return tuple(completed)


def _files_under(git: _Git, head_id: str, folder: str) -> tuple[str, ...] | None:
    """The files under `folder` at the head, when it is a folder there: what a symlink to it exposes."""
    listing = git.run(["--literal-pathspecs", "ls-tree", "-r", "-z", "--name-only", "--full-tree", head_id, "--",
                       folder + "/"], limit=MAX_INPUT_BYTES)  # fmt: skip
    files = tuple(path for path in _decode(listing).split("\0") if path)
    return files or None


def _hunk_arguments(base_id: str, head_id: str, paths: Iterable[str] = ()) -> list[str]:
    """The patch the lines are read from, of the whole PR or of `paths`; with whole blob ids on its index lines,
    which tie a section of a patch of some paths to its change (its blob pair)."""
    pathspecs = _literal_pathspecs(paths)
    return [
        "diff", "--full-index", *_CHANGE_OPTIONS, *_HUNK_OPTIONS,
        "--end-of-options", f"{base_id}...{head_id}", "--", *pathspecs,
    ]  # fmt: skip


def _literal_pathspecs(paths: Iterable[str]) -> list[str]:
    """Paths as git pathspecs matching exactly those paths: a PR's path may hold `*`, `?`, `[` or a leading `:`."""
    return [f":(literal){path}" for path in paths]


class _Changes(NamedTuple):
    files: tuple[FileChange, ...]  # with their blob details (`_with_blob_details`)
    # Per file, in the order of `files`: (old, new) blob ids, None where the side does not exist.
    blob_ids: tuple[tuple[str | None, str | None], ...]
    lines: DiffLines


# `git diff --raw -z` status letters; T (a type change: file, symlink, submodule) is one change, as numstat
# counts it, though a patch shows it as a deletion and an addition.
_RAW_STATUS: dict[str, FileStatus] = {
    "A": "added", "D": "deleted", "M": "modified", "T": "modified", "R": "renamed", "C": "copied",
}  # fmt: skip
_NO_MODE = "000000"


class _Raw(NamedTuple):
    """One `git diff --raw -z` record."""

    old_mode: str
    new_mode: str
    old_id: str
    new_id: str
    letter: str
    old_path: str | None  # only for a rename or copy
    path: str

    @property
    def split_in_patch(self) -> bool:
        """Whether the patch shows this change as a deletion and an addition: git splits a pair whose file
        type changes (file, symlink, submodule: the mode's S_IFMT bits), and numstat does not."""
        return _NO_MODE not in (self.old_mode, self.new_mode) and self.old_mode[:-4] != self.new_mode[:-4]


def _read_changes(git: _Git, base_id: str, head_id: str, *, limit: int, git_dir: str | None = None) -> _Changes:
    """The changes of `base...head`: paths, status, modes and blob ids from `git diff --raw`, line counts from
    `--numstat`, both from one git run that prints no hunk text (0.3 MiB for benchmarks/generate.py's 10,000-file,
    1,000,000-line PR, whose patch is 45 MiB for Python to read). The lines themselves are read from the patch
    only when asked for, and only of the files asked for (`_PatchLines`)."""
    return read_started_changes(StartedChanges(git, base_id, head_id, limit=limit, git_dir=git_dir), base_id,
                                head_id, limit=limit)  # fmt: skip


def read_started_changes(started: StartedChanges, base_id: str, head_id: str, *, limit: int) -> _Changes:
    """The changes of `_read_changes`, from the diff `started` runs (which `prefetch` may have started)."""
    try:
        records, files = _read_raw_numstat(started.chunks(), started.git.source)
    except BaseException:
        started.remove_scratch()
        raise
    # The binaries' sizes and the symlinks' targets are read by git (a listing of the head) while the lines' index
    # is built here: 10-15 ms each on the 10,000-file PR, one after the other before.
    with _Background(lambda: _with_blob_details(started.git, head_id, files)) as details:
        blob_ids = tuple(
            (None if r.old_mode == _NO_MODE else r.old_id, None if r.new_mode == _NO_MODE else r.new_id)
            for r in records
        )
        reader = _PatchLines(started.git, base_id, head_id, records, files, limit=limit)
        # Every later read of the lines reads the base's attributes too: the scratch tree goes with the reader.
        weakref.finalize(reader, shutil.rmtree, started.hand_over_scratch(), ignore_errors=True)
        lines = reader.lines()
    return _Changes(details.result(), blob_ids, lines)


# Changes validated together as their counts arrive: git computes the counts file by file, so most are validated
# while it still diffs (10,000 files: 35 ms, once all on the critical path after git).
_CHANGES_PER_VALIDATION = 500


def _read_raw_numstat(chunks: Iterable[bytes], source: str) -> tuple[list[_Raw], tuple[FileChange, ...]]:
    """What `git diff --raw --numstat -z` prints: every --raw record (in the order of the diff), then every
    --numstat record in the same order; the records, and the change of each (its counts as numstat writes them)."""
    fields = _fields(chunks, source)
    records: list[_Raw] = []
    counted = 0  # numstat records read
    files: list[FileChange] = []
    pending: list[dict[str, Any]] = []
    for header in fields:
        if header.startswith(b":"):
            parts = header[1:].decode("ascii", "replace").split(" ")
            if len(parts) != 5 or not parts[4] or parts[4][0] not in _RAW_STATUS:
                raise _unexpected(source, header)
            letter = parts[4][0]
            first = _path(next(fields, None), source)
            second = _path(next(fields, None), source) if letter in "RC" else None
            old_mode, new_mode, old_id, new_id = parts[:4]
            records.append(_Raw(old_mode, new_mode, old_id, new_id, letter, first if second else None, second or first))
            continue
        # The first --numstat record: from here on, every record is one.
        for added, removed, path, old_path in _numstat_records(header, fields, source):
            if counted == len(records):
                raise RepositoryError(source, "git diff printed more counts than changes")
            record = records[counted]
            if (path, old_path) != (record.path, record.old_path):
                problem = f"git diff printed counts for {path!r} where {record.path!r} was expected"
                raise RepositoryError(source, problem)
            counted += 1
            pending.append(_change(record, (added, removed), source))
            if len(pending) == _CHANGES_PER_VALIDATION:
                files.extend(_file_changes().validate_python(pending))
                pending = []
    if counted != len(records):
        raise RepositoryError(source, "git diff printed fewer counts than changes")
    files.extend(_file_changes().validate_python(pending))
    return records, tuple(files)


def _numstat_records(first: bytes, fields: Iterator[bytes], source: str) -> Iterator[tuple[str, str, str, str | None]]:
    """(added, removed, path, old path) per --numstat record, the first one's header given."""
    header: bytes | None = first
    while header is not None:
        parts = header.split(b"\t", 2)
        if len(parts) != 3:
            raise _unexpected(source, header)
        added, removed = parts[0].decode("ascii", "replace"), parts[1].decode("ascii", "replace")
        if parts[2]:
            yield added, removed, _path(parts[2], source), None
        else:  # a rename or copy: "added\tremoved\t\0old\0new\0"
            old = _path(next(fields, None), source)
            yield added, removed, _path(next(fields, None), source), old
        header = next(fields, None)


def _change(record: _Raw, counts: tuple[str, str], source: str) -> dict[str, Any]:
    """One FileChange's fields, as `parse_diff` reads them from the same diff's patch text."""
    status = _RAW_STATUS[record.letter]
    if record.letter == "M" and record.old_id == record.new_id:
        status = "mode_changed"
    modes = (
        None if record.old_mode == _NO_MODE else record.old_mode,
        None if record.new_mode == _NO_MODE else record.new_mode,
    )
    if record.old_id == record.new_id and record.old_mode == record.new_mode:
        modes = (None, None)  # an exact rename or copy: its patch has no index line, so no mode either
    binary = counts == ("-", "-")
    try:
        added, removed = (0, 0) if binary else (int(counts[0]), int(counts[1]))
    except ValueError as e:
        raise RepositoryError(source, f"git diff printed counts {counts[0]!r} {counts[1]!r} for {record.path!r}") from e
    return {
        "path": record.path,
        "old_path": record.old_path,
        "status": status,
        "binary": binary,
        "added": added,
        "removed": removed,
        "old_mode": modes[0],
        "new_mode": modes[1],
    }


_SECTION_AT = b"\ndiff --git "
_BLOCK_BYTES = 1 << 20
# Past this many files asked for, the whole patch is read instead of a patch of the files named: git matches
# each of the PR's paths against every path named. On benchmarks/generate.py's 10,000-file PR (100-line hunks),
# a patch of 200 of its paths took 0.06 s, of 1,000 0.3 s, of 2,000 0.5 s, the whole patch 0.8 s.
_MAX_NAMED_FILES = 1000
# Paths named on one git command line, in bytes (Linux allows 2 MiB of arguments; a path can be 4 KiB).
_MAX_PATHSPEC_BYTES = 256 << 10
# Files read one at a time (a reader that did not `prepare` them) before the rest are read at once.
_MAX_SINGLE_READS = 8

# One side's lines of one change, and both sides of it.
_Lines = Mapping[int, str]
_Sides = tuple[_Lines, _Lines]
_NO_LINES: _Sides = ({}, {})


class _Section(NamedTuple):
    """One file section of git's patch, as far as matching it to its change needs."""

    old_name: str | None  # from "--- a/NAME"; None for /dev/null, or with no such line (no hunks)
    new_name: str | None  # from "+++ b/NAME", likewise
    ids: tuple[str, str] | None  # the index line's (old, new) blob ids; None without an index line
    sides: _Sides | None  # None: no hunks


class _PatchLines:
    """The changed lines of a PR's files, read from git's patch (one line of context) when first wanted: of the
    files asked for (`git diff -- PATH...`: the secret check's budget, the files findings name), or of the whole
    PR when many are. A file's section of a patch of some paths is its change's only when its names and blob ids
    are the change's, and its line counts numstat's: otherwise the whole patch is read.

    The two patches agree line for line: a file's hunks depend only on its blob pair, the diff options and the
    attributes of its path, which are the same in both."""

    def __init__(
        self, git: _Git, base_id: str, head_id: str, records: list[_Raw], files: tuple[FileChange, ...], *, limit: int
    ) -> None:
        self._git = git
        self._revisions = (base_id, head_id)
        self._records = records
        self._files = files
        self._limit = limit
        self._source = git.source
        self._single_reads = 0
        # The changes whose patch is a deletion and an addition (a type change): few.
        self._split = {index for index, record in enumerate(records) if record.split_in_patch}
        # Per change read (or with nothing to read): its (added, removed) lines.
        self._sides: dict[int, _Sides] = {
            index: _NO_LINES
            for index, change in enumerate(files)
            if change.added + change.removed == 0 and index not in self._split
        }

    @functools.cached_property
    def _by_path(self) -> dict[str, list[int]]:
        """Per path (old or new), the changes that name it: made when first wanted, which with the command line is
        in the secret check's helper, beside the engine (10,000 files: ~5 ms)."""
        by_path: dict[str, list[int]] = {}
        for index, record in enumerate(self._records):
            by_path.setdefault(record.path, []).append(index)
            if record.old_path is not None and record.old_path != record.path:
                by_path.setdefault(record.old_path, []).append(index)
        return by_path

    def lines(self) -> DiffLines:
        """Every changed file's lines, each side read when first used; a type change's now, since its patch (a
        deletion and an addition) has other counts than numstat's."""
        split = self._split
        self._read(split)
        added: dict[str, _Lines] = {}
        removed: dict[str, _Lines] = {}
        side = self._side
        # One pass of plain dict stores for the usual file (10,000 files: 40 -> 15 ms); _keep merges the rest.
        for index, (record, change) in enumerate(zip(self._records, self._files, strict=True)):
            path = record.path
            old_path = record.old_path or path
            if index in split:
                new_lines, old_lines = self._sides[index]
                _keep(added, path, new_lines)
                _keep(removed, old_path, old_lines)
                continue
            if change.added:
                lines = LazyLines(change.added, functools.partial(side, index, 0))
                if path in added:
                    _keep(added, path, lines)
                else:
                    added[path] = lines
            if change.removed:
                lines = LazyLines(change.removed, functools.partial(side, index, 1))
                if old_path in removed:
                    _keep(removed, old_path, lines)
                else:
                    removed[old_path] = lines
        return DiffLines(added=added, removed=removed, read_ahead=self.read_ahead)

    def read_ahead(self, paths: Collection[str] | None) -> None:
        if paths is None:
            self._read(set(range(len(self._records))))
        else:
            self._read({index for path in paths for index in self._by_path.get(path, ())})

    def _side(self, index: int, side: int) -> _Lines:
        if index not in self._sides:
            self._single_reads += 1
            self._read({index} if self._single_reads <= _MAX_SINGLE_READS else set(range(len(self._records))))
        return self._sides[index][side]

    def _read(self, indices: set[int]) -> None:
        unread = indices - self._sides.keys()
        if not unread:
            return
        # Most of a PR's files: the whole patch at once (and no paths to match).
        if len(unread) <= _MAX_NAMED_FILES and 2 * len(unread) <= len(self._records):
            self._read_named(unread)
        if not unread <= self._sides.keys():
            self._read_whole()

    def _read_named(self, indices: set[int]) -> None:
        """The lines of `indices`' changes, from a patch of their paths (a rename's or copy's source included: git
        pairs them only when both are in its diff). A change whose section is not found is left unread."""
        group: list[int] = []
        size = 0
        for index in sorted(indices):
            record = self._records[index]
            group.append(index)
            size += len(record.path) + len(record.old_path or "") + 24
            if size >= _MAX_PATHSPEC_BYTES:
                self._read_group(group)
                group, size = [], 0
        if group:
            self._read_group(group)

    def _read_group(self, indices: list[int]) -> None:
        paths = sorted({path for index in indices for path in (self._records[index].path, self._records[index].old_path)
                        if path})  # fmt: skip
        patch = self._git.run(_hunk_arguments(*self._revisions, paths), limit=self._limit)
        sections: dict[tuple[str, str], list[_Section]] = {}
        if patch and not patch.startswith(_SECTION_AT[1:]):
            raise _unexpected(self._source, patch)
        for start, end in _section_bounds(patch):
            section = _parse_section(patch, start, end, self._source)
            if section.ids is not None:
                sections.setdefault(section.ids, []).append(section)
        for index in indices:
            record = self._records[index]
            found = [_find_section(sections, part) for part in _expected_sections(record)]
            if any(section is None for section in found):
                continue  # git paired this change otherwise among fewer paths: left for the whole patch
            sides = _joined([section.sides for section in found if section is not None and section.sides])
            if not record.split_in_patch:
                self._check_counts(index, sides)
            self._sides[index] = sides

    def _read_whole(self) -> None:
        """The lines of every change not yet read, from the whole patch, read block by block as git writes it
        (its pipe widened, so that git keeps diffing while the blocks are split): git writes the patch and the
        --raw records from one queue, in the same order; a type change has two sections (a deletion, then an
        addition)."""
        parts = [2 if record.split_in_patch else 1 for record in self._records]
        record_index = 0
        found: dict[int, list[_Sides]] = {}
        for block in _blocks(self._git.stream(_hunk_arguments(*self._revisions), limit=self._limit)):
            if not block.startswith(_SECTION_AT[1:]):
                raise _unexpected(self._source, block)
            for start, end in _section_bounds(block):
                if record_index >= len(self._records):
                    raise RepositoryError(
                        self._source, f"git diff printed more patches than the {len(self._records)} changes"
                    )
                index = record_index
                parts[index] -= 1
                if parts[index] == 0:
                    record_index += 1
                if index in self._sides:
                    continue
                section = _parse_section(block, start, end, self._source)
                if section.sides is None:
                    continue
                _check_names(section, self._records[index], self._source)
                found.setdefault(index, []).append(section.sides)
        if record_index != len(self._records):
            raise RepositoryError(
                self._source, f"git diff printed patches for {record_index} of {len(self._records)} changes"
            )
        for index, record in enumerate(self._records):
            if index not in self._sides:
                sides = _joined(found.get(index, []))
                if not record.split_in_patch:
                    self._check_counts(index, sides)
                self._sides[index] = sides

    def _check_counts(self, index: int, sides: _Sides) -> None:
        change = self._files[index]
        if (len(sides[0]), len(sides[1])) != (change.added, change.removed):
            raise RepositoryError(
                self._source, f"git diff printed other lines for {change.path!r} than it counted ({change.added} "
                f"added, {change.removed} removed)"
            )  # fmt: skip


def _blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """git's patch as it streams, in blocks of whole file sections (each from a `diff --git` line on)."""
    pending: list[bytes] = []
    size = 0
    wanted = _BLOCK_BYTES  # doubled while one section is larger: each byte is joined a bounded number of times
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size < wanted:
            continue
        joined = b"".join(pending)
        cut = joined.rfind(_SECTION_AT)
        if cut < 0:
            pending, wanted = [joined], 2 * size
            continue
        yield joined[: cut + 1]
        pending, size, wanted = [joined[cut + 1 :]], len(joined) - cut - 1, _BLOCK_BYTES
    if pending:
        yield b"".join(pending)


def _section_bounds(block: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each file section of a block of git's patch (each from a `diff --git` line on)."""
    start = 0
    while start < len(block):
        end = block.find(_SECTION_AT, start)
        end = len(block) if end < 0 else end + 1
        yield start, end
        start = end


def _parse_section(block: bytes, start: int, end: int, source: str) -> _Section:
    """A section's names, blob ids and its lines of each side, read when first used. Every hunk line starts with
    its kind ("+", "-", " " or "\\"): a side's count is a byte count."""
    first_hunk = block.find(b"\n@@ -", start, end)
    header = block[start : end if first_hunk < 0 else first_hunk + 1]
    old_name = new_name = None
    ids = None
    for line in header.split(b"\n"):
        # git ends a name holding a space with a tab (for patch(1)).
        if line.startswith(b"--- "):
            name = line[4:].removesuffix(b"\t")
            old_name = None if name == b"/dev/null" else _patch_path(name, source, "a/")
        elif line.startswith(b"+++ "):
            name = line[4:].removesuffix(b"\t")
            new_name = None if name == b"/dev/null" else _patch_path(name, source, "b/")
        elif line.startswith(b"index "):
            old_id, dots, new_id = line[6:].split(b" ")[0].partition(b"..")
            ids = (old_id.decode("ascii", "replace"), new_id.decode("ascii", "replace")) if dots else None
    if first_hunk < 0:
        return _Section(old_name, new_name, ids, None)
    section = functools.partial(_section_lines, block, start, end, source)
    added, removed = block.count(b"\n+", first_hunk, end), block.count(b"\n-", first_hunk, end)
    # read_diff_lines keys a side by its header's name (/dev/null's side has no lines: a count of them fails).
    sides = (
        LazyLines(added, functools.partial(section, "added", new_name or "", added)) if added else {},
        LazyLines(removed, functools.partial(section, "removed", old_name or "", removed)) if removed else {},
    )
    return _Section(old_name, new_name, ids, sides)


def _expected_sections(record: _Raw) -> list[tuple[str | None, str | None, str, str]]:
    """The (old name, new name, old blob id, new blob id) of each patch section of a change."""
    zero = "0" * len(record.old_id)
    if record.split_in_patch:
        return [(record.path, None, record.old_id, zero), (None, record.path, zero, record.new_id)]
    old_name = None if record.old_mode == _NO_MODE else record.old_path or record.path
    return [(old_name, None if record.new_mode == _NO_MODE else record.path, record.old_id, record.new_id)]


def _find_section(
    sections: Mapping[tuple[str, str], list[_Section]], expected: tuple[str | None, str | None, str, str]
) -> _Section | None:
    """The section of a patch of some paths that is this change's: its blob pair, and its names when it has
    hunks (a section without hunks has no lines to take)."""
    old_name, new_name, old_id, new_id = expected
    for section in sections.get((old_id, new_id), ()):
        if section.sides is None or (section.old_name, section.new_name) == (old_name, new_name):
            return section
    return None


def _joined(found: list[_Sides]) -> _Sides:
    """One change's (added, removed) lines from its sections: a type change's deletion gives the removed lines,
    its addition the added ones."""
    added = [sides[0] for sides in found if sides[0]]
    removed = [sides[1] for sides in found if sides[1]]
    return _merged(added), _merged(removed)


def _merged(sides: list[_Lines]) -> _Lines:
    if len(sides) <= 1:
        return sides[0] if sides else {}
    return LazyLines(None, lambda: {number: text for lines in sides for number, text in lines.items()})


def _check_names(section: _Section, record: _Raw, source: str) -> None:
    """A section's `---`/`+++` names are its record's: the two outputs were read in step."""
    named, expected = section.new_name, record.path
    if named is None:
        named, expected = section.old_name, record.old_path or record.path
    if named != expected:
        raise RepositoryError(source, f"git diff printed the lines of {named!r} where {expected!r} was expected")


def _keep(side: dict[str, _Lines], path: str, lines: _Lines) -> None:
    """Adds a change's lines of one side under `path`. Two changes name the same old path when a file is both
    changed and copied: their removed lines are merged, as read_diff_lines merges them."""
    if lines:
        side[path] = lines if path not in side else _merged([side[path], lines])


def _section_lines(
    block: bytes, start: int, end: int, source: str, side: str, path: str, count: int
) -> Mapping[int, str]:
    """One side's lines (side "added" or "removed") of one file's section of the patch, as read_diff_lines reads
    them, checked against the count of that side's lines."""
    changed = read_diff_lines(_decode(block[start:end]))
    lines = (changed.added if side == "added" else changed.removed).get(path, {})
    if len(lines) != count:
        raise RepositoryError(source, f"git diff printed hunks for {path!r} that do not match their headers")
    return lines


def _fields(chunks: Iterable[bytes], source: str) -> Iterator[bytes]:
    """The NUL-terminated fields of git's `-z` output, as its chunks arrive."""
    pending = b""
    for chunk in chunks:
        parts = (pending + chunk).split(b"\0") if pending else chunk.split(b"\0")
        pending = parts.pop()
        yield from parts
    if pending:
        raise RepositoryError(source, "git diff output ends in the middle of a record")


def _path(name: bytes | None, source: str) -> str:
    if not name:
        raise RepositoryError(source, "git diff printed a record without its path")
    # As the patch text is read: paths must be valid Unicode for the JSON input document.
    return name.decode("utf-8", errors="replace")


def _unexpected(source: str, record: bytes) -> RepositoryError:
    return RepositoryError(source, f"git diff printed an unexpected record {record[:60]!r}")


@cache
def _file_changes() -> TypeAdapter[list[FileChange]]:
    from pydantic import TypeAdapter

    from aigate.models import FileChange

    return TypeAdapter(list[FileChange])


def _patch_path(name: bytes, source: str, prefix: str = "b/") -> str:
    """A `+++ b/PATH` (or `--- a/PATH`) name, unquoted as git quotes it under core.quotepath."""
    from aigate.sources.diff import _path as unquote  # the one reading of git's C quoting

    try:
        text = unquote(_decode(name))
    except ValueError as e:
        raise RepositoryError(source, f"git diff printed an unreadable path {name[:60]!r}") from e
    if not text.startswith(prefix):
        raise RepositoryError(source, f"git diff printed an unexpected path {name[:60]!r}")
    return text[len(prefix) :]


def revision_exists(repo: Path, revision: str) -> bool:
    """Whether `revision` names a commit in `repo`."""
    if not revision or revision.startswith("-"):
        return False
    arguments = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"]
    try:
        _Git(repo).run(arguments, limit=MAX_INPUT_BYTES)
    except RepositoryError:
        return False
    return True


def git_path(repo: Path, name: str) -> Path:
    """Where git keeps `name` (e.g. `hooks/pre-push`) for the repository at `repo`."""
    output = _Git(repo).run(["rev-parse", "--git-path", name], limit=MAX_INPUT_BYTES)
    path = Path(_decode(output).strip())
    return path if path.is_absolute() else repo / path


def repository_root(path: Path) -> Path | None:
    """The top folder of the work tree `path` is in; None when it is not in one."""
    try:
        output = _Git(path).run(["rev-parse", "--show-toplevel"], limit=MAX_INPUT_BYTES)
    except RepositoryError:
        return None
    top = _decode(output).strip()
    return Path(top).resolve() if top else None


def read_revision_file(repo: Path, revision: str, path: str, *, limit: int) -> bytes | None:
    """The content of the regular file `path` at `revision` (`git show REV:path`); None when absent.

    RepositoryError when it is there but not a regular file (a symlink, a folder, a submodule):
    at the revision that configures the gate, that is an error, never a silent fallback."""
    git = _Git(repo)
    entry = next((e for e in _tree_entries(git, revision, [path], recursive=False) if e.path == path), None)
    if entry is None:
        return None
    if not entry.is_file:
        what = {"120000": "a symbolic link", "040000": "a folder", "160000": "a submodule"}.get(entry.mode, entry.kind)
        raise RepositoryError(git.source, f"{revision}:{path} is {what}, not a regular file")
    return git.run(["cat-file", "blob", entry.object_id], limit=limit)


def read_revision_tree(
    repo: Path, revision: str, directory: str, *, suffix: str, limit: int
) -> tuple[tuple[str, bytes], ...] | None:
    """Every regular file below `directory` at `revision` whose name ends with `suffix`, as
    (path relative to `directory`, content), sorted; None when `directory` is not a folder there."""
    git = _Git(repo)
    folder = directory.rstrip("/")
    prefix = folder + "/"
    if not any(e.kind == "tree" and e.path == folder for e in _tree_entries(git, revision, [folder], recursive=False)):
        return None
    files = []
    total = 0
    for entry in _tree_entries(git, revision, [prefix], recursive=True):
        if entry.kind != "blob" or not entry.path.endswith(suffix) or not entry.path.startswith(prefix):
            continue
        if not entry.is_file:
            raise RepositoryError(git.source, f"{revision}:{entry.path} is not a regular file")
        content = git.run(["cat-file", "blob", entry.object_id], limit=limit - total)
        total += len(content)
        files.append((entry.path.removeprefix(prefix), content))
    return tuple(sorted(files))


class RevisionEntry(NamedTuple):
    """One entry of a revision's tree, as `git ls-tree -l` lists it: kind blob, tree or commit (a submodule);
    size 0 for the last two."""

    mode: str
    kind: str
    object_id: str
    size: int
    path: str

    @property
    def is_file(self) -> bool:
        return self.mode in ("100644", "100755")

    @property
    def is_symlink(self) -> bool:
        return self.mode == "120000"


def list_revision_files(
    repo: Path, revision: str, paths: Sequence[str] | None, *, recursive: bool = True
) -> list[RevisionEntry]:
    """The files (blobs: regular files and symbolic links) at `revision` that are `paths` or lie below them
    (not below them: `recursive=False`), the paths taken literally (no pathspec magic or wildcards); None:
    every file."""
    if paths is not None and not paths:
        return []
    return [e for e in _tree_entries(_Git(repo), revision, paths, recursive=recursive) if e.kind == "blob"]


def read_revision_blobs(repo: Path, entries: Sequence[RevisionEntry]) -> list[bytes]:
    """The contents of `entries` (a symbolic link's is its target), in order: one `git show` of their blobs,
    split by the sizes the listing gave."""
    if not entries:
        return []
    output = _Git(repo).run(["show", "--no-textconv", *(e.object_id for e in entries)],
                            limit=sum(e.size for e in entries))
    contents, offset = [], 0
    for entry in entries:
        contents.append(output[offset:offset + entry.size])
        offset += entry.size
    if offset != len(output):
        raise RepositoryError(f"--repo {repo}", "git show printed other sizes than git ls-tree listed")
    return contents


def _tree_entries(git: _Git, revision: str, paths: Sequence[str] | None, *, recursive: bool) -> list[RevisionEntry]:
    """`git ls-tree -l` entries of `paths` at `revision` (None: the whole tree), from the top of the tree, the
    paths taken literally (as names or leading folders, never as wildcards or pathspec magic)."""
    if not revision or revision.startswith("-"):
        raise RepositoryError(git.source, f"{revision!r} is not a revision")
    # git 2.39 reads a `--` after --end-of-options as a path: only written before paths.
    arguments = ["--literal-pathspecs", "ls-tree", *(["-r"] if recursive else []), "-l", "-z", "--full-tree",
                 "--end-of-options", revision, *(["--", *paths] if paths else [])]  # fmt: skip
    entries = []
    for record in _decode(git.run(arguments, limit=MAX_INPUT_BYTES)).split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, object_id, size = meta.split()
        entries.append(RevisionEntry(mode, kind, object_id, int(size) if size.isdigit() else 0, path))
    return entries


def _parse_log(source: str, output: str) -> tuple[Commit, ...]:
    from aigate.models import Commit, Person
    from aigate.sources.commits import parse_trailers

    fields = output.split("\0")
    # Every commit ends with a NUL, so a complete output splits into whole records plus one "".
    if fields[-1] != "" or (len(fields) - 1) % len(_LOG_FIELDS):
        raise RepositoryError(source, "git log printed output in an unexpected format")
    commits: list[Commit] = []
    for start in range(0, len(fields) - 1, len(_LOG_FIELDS)):
        sha, author_name, author_email, committer_name, committer_email, message = fields[
            start : start + len(_LOG_FIELDS)
        ]
        commits.append(
            Commit(
                sha=sha,
                author=Person(name=author_name, email=author_email),
                committer=Person(name=committer_name, email=committer_email),
                message=message,
                trailers=parse_trailers(message),
            )
        )
    return tuple(commits)


def _branch_name(git: _Git, revision: str) -> str:
    """The branch `revision` names: a local branch, a remote-tracking one without its remote, or the
    branch HEAD is on; "" for anything else, including a name git finds ambiguous."""
    try:
        output = git.run(
            ["rev-parse", "--symbolic-full-name", "--end-of-options", revision, "--"],
            limit=MAX_INPUT_BYTES,
        )
    except RepositoryError:
        return ""
    full_names = [line for line in _decode(output).split("\n") if line.startswith("refs/")]
    if len(full_names) != 1:
        return ""
    full_name = full_names[0]
    if full_name.startswith("refs/heads/"):
        return full_name.removeprefix("refs/heads/")
    if full_name.startswith("refs/remotes/"):
        remote_branch = full_name.removeprefix("refs/remotes/")
        remotes = _decode(git.run(["remote"], limit=MAX_INPUT_BYTES)).split()
        # Remote names may contain "/": strip the longest one that matches.
        for remote in sorted(remotes, key=len, reverse=True):
            branch = remote_branch.removeprefix(f"{remote}/")
            if branch != remote_branch:
                return "" if branch == "HEAD" else branch
    return ""


