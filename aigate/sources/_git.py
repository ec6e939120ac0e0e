"""git itself, run as a subprocess with a fixed environment and its format-changing settings pinned; and the start
of a PR's diff, which the `aigate` command begins before it imports the rest of aigate (`prefetch`).

Imported first of all by the command: only the standard library's process and file modules (subprocess, tempfile,
threading), not typing, dataclasses, json or pathlib, which git_repo's parsing needs (importing git_repo before
git started took 21-34 ms, the diff's start waited for it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import weakref

from aigate._limits import MAX_INPUT_BYTES
from aigate._pipes import widen
from aigate.errors import RepositoryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import IO, Any

    from aigate.sources.git_repo import _Changes

__all__ = ["MAX_DIFF_BYTES", "prefetch"]

MAX_DIFF_BYTES = 200 << 20

# `-c` settings outrank every config file; these would otherwise change the diff's or log's text.
_PINNED_CONFIG = (
    "-c", "core.quotepath=true",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicprefix=false",
    "-c", "color.ui=false",
    "-c", "log.showSignature=false",
    "-c", "i18n.logOutputEncoding=UTF-8",
)  # fmt: skip

# What decides the changes and their counts. Pinned against diff.renames, diff.algorithm (which changes
# numstat's counts), diff.relative, diff.ignoreSubmodules, diff.submodule, external diff and textconv.
_CHANGE_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "-C",
    "--no-relative",
    "--diff-algorithm=myers",
    "--ignore-submodules=none",
    "--submodule=short",
)

# Environment variables git itself reads that are kept: where git's programs and the user's config
# live (the config may hold safe.directory). Every other GIT_* variable is dropped, since those
# select another repository (GIT_DIR in a hook), inject config, or change the output.
_KEPT_GIT_VARIABLES = frozenset(
    {"GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"}
)

_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


class _Git:
    """Runs git in one repository with a fixed environment and output format."""

    def __init__(self, repo: str | os.PathLike[str]) -> None:
        self.repo = repo
        self.source = f"--repo {os.fspath(repo)}"
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("GIT_") or name in _KEPT_GIT_VARIABLES
        }
        environment.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                # The commits as stored, not as `git replace` refs would show them.
                "GIT_NO_REPLACE_OBJECTS": "1",
                "GIT_TERMINAL_PROMPT": "0",
                # Untranslated messages, so errors read the same everywhere.
                "LC_ALL": "C",
            }
        )
        self.environment = environment

    def with_base_attributes(self, base_id: str, scratch: str | os.PathLike[str], git_dir: str | None = None) -> _Git:
        """This git, reading attributes from the base's .gitattributes only: never the head's, the
        checkout's nor the user's. A PR adding `*.py binary` (or `-diff`) must not turn its lines
        into an uncounted binary file. `git_dir`: the repository's, when already known (`_resolve`).

        A tree-to-tree diff reads attributes from the work tree (git 2.39 has no --attr-source): the
        returned git runs in a scratch work tree holding only the base's .gitattributes files (found in a
        names-only listing of the base tree, then read from a detailed one, blob by blob), with
        `core.attributesFile` emptied."""
        if git_dir is None:
            git_dir = _decode(self.run(["rev-parse", "--absolute-git-dir"], limit=MAX_INPUT_BYTES)).strip()
        work_tree = os.path.join(scratch, "work-tree")
        os.mkdir(work_tree)
        # Names first: every entry's mode and id took 4 of the listing's 10 ms on a 10,000-file tree, before git
        # diffs. The details are listed only when a name ends in .gitattributes.
        names = self.run(["ls-tree", "-r", "-z", "--full-tree", "--name-only", base_id], limit=MAX_DIFF_BYTES)
        listing = b"" if b".gitattributes\0" not in names else self.run(
            ["ls-tree", "-r", "-z", "--full-tree", base_id], limit=MAX_DIFF_BYTES
        )
        for record in listing.split(b"\0"):
            if not record.endswith(b".gitattributes"):  # most records: no need to decode them
                continue
            info, _, raw_name = record.partition(b"\t")
            name = _decode(raw_name)
            fields = _decode(info).split()
            parts = name.split("/")
            if parts[-1] == ".gitattributes" and fields[1:2] == ["blob"]:
                if any(part in ("", ".", "..") for part in parts):
                    continue  # a tree git itself would refuse to check out: never written outside scratch
                target = os.path.join(work_tree, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as attributes:
                    attributes.write(self.run(["cat-file", "blob", fields[2]], limit=MAX_INPUT_BYTES))
        isolated = _Git(work_tree)
        isolated.source = self.source
        isolated.environment = {
            **self.environment,
            "GIT_DIR": git_dir,
            "GIT_WORK_TREE": work_tree,
            "GIT_INDEX_FILE": os.path.join(scratch, "index"),  # none: the user's index is not read
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.attributesFile",
            "GIT_CONFIG_VALUE_0": os.devnull,
        }
        return isolated

    def run(self, arguments: list[str], *, limit: int) -> bytes:
        """git's standard output; RepositoryError when git fails or prints more than `limit` bytes."""
        return b"".join(self.stream(arguments, limit=limit))

    def stream(self, arguments: list[str], *, limit: int) -> Iterator[bytes]:
        """git's standard output in chunks as git writes them; RepositoryError (raised by the iterator) when
        git fails or prints more than `limit` bytes. Stopping early ends git."""
        command = ["git", "-C", os.fspath(self.repo), *_PINNED_CONFIG, *arguments]
        size = 0
        try:
            # stderr goes to a file, not a pipe, so a chatty git cannot block while we read stdout.
            with (
                tempfile.TemporaryFile() as stderr,
                subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    env=self.environment,
                ) as process,
            ):
                assert process.stdout is not None
                widen(process.stdout.fileno())  # git keeps diffing while the reader parses what it wrote
                try:
                    while chunk := _read_some(process.stdout):
                        size += len(chunk)
                        if size > limit:
                            raise RepositoryError(
                                self.source, f"git {arguments[0]} output is larger than the {limit}-byte limit"
                            )
                        yield chunk
                except BaseException:
                    process.kill()  # an error, or the reader stopped early: git's output is not wanted
                    raise
                returncode = process.wait()
                stderr.seek(0)
                error_output = stderr.read()
        except FileNotFoundError as e:
            raise RepositoryError(self.source, "git is not installed or not on PATH") from e
        except OSError as e:
            raise RepositoryError(self.source, f"cannot run git: {e.strerror or e}") from e
        if returncode != 0:
            raise RepositoryError(self.source, _git_reason(_decode(error_output), returncode))


def _read_some(stream: IO[bytes]) -> bytes:
    # read1: what the pipe has now (up to 1 MiB), without waiting for a full buffer.
    data: bytes = stream.read1(1 << 20)  # type: ignore[attr-defined]
    return data


def _git_reason(stderr: str, returncode: int) -> str:
    """git's own reason: its first fatal/error line (warnings may come first), without the prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[0] if lines else f"git exited with status {returncode}"


def _decode(output: bytes) -> str:
    # "replace", not "surrogateescape": the text ends up in the JSON input document, which must be
    # valid Unicode to be hashed and handed to the Rego engine. Paths stay exact (core.quotepath
    # makes them ASCII escapes); only content bytes that are not UTF-8 become U+FFFD, which keeps
    # every line, and so every count, intact.
    return output.decode("utf-8", errors="replace")


def _resolve(git: _Git, base: str, head: str) -> tuple[str, str, str]:
    """The repository's git folder and the ids of `base` and `head`: from one `git rev-parse` when its output reads
    one way only (the folder on one line, then one id per revision), else as two questions."""
    output = _decode(git.run(["rev-parse", "--absolute-git-dir", "--end-of-options", base, head, "--"],
                             limit=MAX_INPUT_BYTES)).removesuffix("\n")  # fmt: skip
    git_dir, *ids = output.split("\n")
    # git 2.39's rev-parse echoes "--end-of-options" and "--"; newer versions may not.
    if ids[:1] == ["--end-of-options"]:
        ids.pop(0)
    if ids[-1:] == ["--"]:
        ids.pop()
    if git_dir and len(ids) == 2 and all(_OBJECT_ID.fullmatch(line) for line in ids):
        return git_dir, ids[0], ids[1]
    # A folder's name with a newline, or a revision of more or fewer than one id (`X^@`): asked apart, the second
    # question refuses the revisions as before.
    git_dir = _decode(git.run(["rev-parse", "--absolute-git-dir"], limit=MAX_INPUT_BYTES)).removesuffix("\n")
    return (git_dir, *_resolve_ids(git, base, head))


def _resolve_ids(git: _Git, base: str, head: str) -> tuple[str, str]:
    output = git.run(["rev-parse", "--end-of-options", base, head, "--"], limit=MAX_INPUT_BYTES)
    lines = [line for line in _decode(output).split("\n") if line and line not in ("--end-of-options", "--")]
    if len(lines) != 2 or not all(_OBJECT_ID.fullmatch(line) for line in lines):
        raise RepositoryError(git.source, f"--base {base!r} and --head {head!r} must each name a single revision")
    return lines[0], lines[1]


def display_path(text: str) -> str:
    """`str(pathlib.PurePosixPath(text))`, which the CLI's --repo becomes and its messages name, without importing
    pathlib (4-6 ms before git starts): empty and "." parts dropped, a trailing slash too, a leading "//" kept."""
    root = "//" if text.startswith("//") and not text.startswith("///") else "/" if text.startswith("/") else ""
    parts = [part for part in text.split("/") if part and part != "."]
    return root + "/".join(parts) if root or parts else "."


def _changes_arguments(base_id: str, head_id: str) -> list[str]:
    return [
        "diff", "--raw", "--numstat", "-z", "--no-abbrev", *_CHANGE_OPTIONS,
        "--end-of-options", f"{base_id}...{head_id}", "--",
    ]  # fmt: skip


class StartedChanges:
    """`git diff --raw --numstat -z` of a PR, running: in a scratch work tree with the base's attributes (`scratch`,
    which the reader of `chunks` removes), its output's first chunk already read. `starting`: called just before
    git is started."""

    def __init__(
        self, git: _Git, base_id: str, head_id: str, *, limit: int, git_dir: str | None = None,
        starting: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.scratch = tempfile.mkdtemp(prefix="aigate-attributes-")
        # Removed when this is dropped, or at the process's end: a command that fails while a prefetch still waits
        # for git left the folder behind. The reader of the changes takes it over (`hand_over_scratch`).
        self._removal = weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)
        try:
            self.git = git.with_base_attributes(base_id, self.scratch, git_dir)
            self._rest = self.git.stream(_changes_arguments(base_id, head_id), limit=limit)
            if starting is not None:
                starting()
            self._first = next(self._rest, b"")  # git runs from here on
        except BaseException:
            self._removal()
            raise

    def remove_scratch(self) -> None:
        """Remove the scratch folder now (nothing will read the changes)."""
        self._removal()

    def hand_over_scratch(self) -> str:
        """The scratch folder, which the caller now removes (with the reader that reads from it)."""
        self._removal.detach()
        return self.scratch

    def chunks(self) -> Iterator[bytes]:
        """git's whole output, as it streams."""
        if self._first:
            yield self._first
        yield from self._rest


def _repository_key(repo: str | os.PathLike[str]) -> str:
    """A repository's path as `prefetch` and `take_prefetched` compare it: the command line's text and the Path
    the CLI makes of it name the same folder."""
    return os.path.realpath(os.fspath(repo))


# Diffs started by `prefetch`, each taken once (`take_prefetched`) by the read_repository call with the same
# arguments.
_PREFETCHED: dict[tuple[str, str, str, int], _Prefetch] = {}


def prefetch(repo: str | os.PathLike[str], base: str, head: str, *, max_diff_bytes: int = MAX_DIFF_BYTES) -> None:
    """Start git on the diff of `base...head` now, in the background; `read_repository` with the same
    arguments takes its output. The CLI calls it before importing the rest of aigate, so git's ~0.2-1 s
    overlaps Python's start-up. Any failure is left for read_repository to meet and report."""
    if not base or not head or base.startswith("-") or head.startswith("-"):
        return
    key = (_repository_key(repo), base, head, max_diff_bytes)
    # Named in messages as read_repository names it, whatever the spelling given (`./repo/` is `repo`).
    git = _Git(display_path(repo) if isinstance(repo, str) else repo)
    started = _PREFETCHED[key] = _Prefetch(git, base, head, limit=max_diff_bytes)
    # The caller goes on to import the rest of aigate, holding the GIL for ~200 ms: the thread would get it only
    # every switch interval (5 ms) for each of its steps before git diffs (resolving, the base's attributes,
    # starting git), which took 40-60 ms so. Waited for here, they take 15-25 ms; bounded, for a slow git.
    started.diff_starting.wait(_PREFETCH_WAIT_SECONDS)


def take_prefetched(repo: str | os.PathLike[str], base: str, head: str, max_diff_bytes: int) -> _Prefetch | None:
    """The diff `prefetch` started with these arguments, once; None when none was."""
    return _PREFETCHED.pop((_repository_key(repo), base, head, max_diff_bytes), None)


# How long `prefetch` waits for git's diff to start.
_PREFETCH_WAIT_SECONDS = 0.25


class _Prefetch:
    """The revisions' ids, then the changes between them, read in a thread from now on. `diff_starting`: set just
    before git starts diffing, or once that failed."""

    def __init__(self, git: _Git, base: str, head: str, *, limit: int) -> None:
        self._ids: tuple[str, str] | None = None
        self._ids_known = threading.Event()
        self.diff_starting = threading.Event()

        def run() -> _Changes:
            try:
                try:
                    git_dir, base_id, head_id = _resolve(git, base, head)
                    self._ids = base_id, head_id
                finally:
                    self._ids_known.set()
                started = StartedChanges(git, base_id, head_id, limit=limit, git_dir=git_dir,
                                         starting=self.diff_starting.set)  # fmt: skip
            finally:
                self.diff_starting.set()
            # Imported once git runs: git_repo's parsing needs pydantic's models, dataclasses and more.
            from aigate.sources.git_repo import read_started_changes

            return read_started_changes(started, base_id, head_id, limit=limit)

        self.changes = _Background(run)
        self.changes.__enter__()

    def resolved(self) -> tuple[str, str] | None:
        """The (base, head) ids once known, without waiting for the changes; None when they could not be read
        (read_repository then reads them again, and reports the problem)."""
        self._ids_known.wait()
        return self._ids


class _Background:
    """Runs one function in a thread (git's output is read there while the caller does other work)."""

    def __init__(self, function: Callable[[], Any]) -> None:
        self._function = function
        self._outcome: tuple[bool, Any] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._outcome = (True, self._function())
        except BaseException as e:  # re-raised in the caller's thread
            self._outcome = (False, e)

    def __enter__(self) -> _Background:
        if self._thread.ident is None:  # not started yet (a prefetch's is)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        assert self._outcome is not None
        succeeded, value = self._outcome
        if not succeeded:
            raise value
        return value
