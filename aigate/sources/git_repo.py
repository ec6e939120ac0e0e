"""Commits, diff text and branch names of `base..head` in a local repository, read with git itself.

git runs with the format-changing settings pinned (prefixes, quoting, colour, context, encoding) so
that neither the user's nor the repository's config can change what the diff parser sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aigate.errors import RepositoryError
from aigate.models import Commit, Person
from aigate.sources._io import MAX_INPUT_BYTES
from aigate.sources.commits import parse_trailers

__all__ = ["MAX_DIFF_BYTES", "RepositorySnapshot", "read_repository"]

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

_DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "-C",
    # Pinned against diff.relative, diff.context, diff.interHunkContext, diff.algorithm,
    # diff.ignoreSubmodules, diff.submodule, diff.srcPrefix/dstPrefix, and GIT_DIFF_OPTS.
    "--no-relative",
    "--unified=3",
    "--inter-hunk-context=0",
    "--diff-algorithm=myers",
    "--ignore-submodules=none",
    "--submodule=short",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)

# Fields of one commit in `git log -z` output. NUL cannot occur inside any of them (git prints the
# message with C-string functions), and `-z` ends each commit with a NUL too.
_LOG_FIELDS = ("%H", "%an", "%ae", "%cn", "%ce", "%B")
_LOG_FORMAT = "%x00".join(_LOG_FIELDS)

# Environment variables git itself reads that are kept: where git's programs and the user's config
# live (the config may hold safe.directory). Every other GIT_* variable is dropped, since those
# select another repository (GIT_DIR in a hook), inject config, or change the output.
_KEPT_GIT_VARIABLES = frozenset(
    {"GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"}
)

_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True, slots=True)
class RepositorySnapshot:
    """What a local repository says about a PR from `base` to `head`."""

    # base..head, oldest first.
    commits: tuple[Commit, ...]
    # `git diff base...head`: what the PR changes since the merge base, as a PR view shows it.
    diff_text: str
    # Branch names ("claude/fix-auth"); "" when the revision is not a branch (a SHA, a tag, a
    # detached HEAD).
    head_branch: str
    base_branch: str


def read_repository(
    repo: Path, base: str, head: str, *, max_diff_bytes: int = MAX_DIFF_BYTES
) -> RepositorySnapshot:
    """Read the commits, diff text and branch names of the PR `base`..`head` in `repo`.

    Raises RepositoryError, naming the repository and git's own reason, when git is missing, `repo`
    is not a repository or a revision is unknown; and when the diff exceeds `max_diff_bytes`.
    """
    git = _Git(repo)
    for option, revision in (("--base", base), ("--head", head)):
        # Checked here as well as ended by --end-of-options: no revision starts with "-", and one
        # that does must never reach git as an option.
        if not revision or revision.startswith("-"):
            raise RepositoryError(git.source, f"{option} {revision!r} is not a revision")
    base_id, head_id = _resolve(git, base, head)
    # Both revisions are fixed to object ids once, so log and diff see the same snapshot.
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
    diff = git.run(
        ["diff", *_DIFF_OPTIONS, "--end-of-options", f"{base_id}...{head_id}", "--"], limit=max_diff_bytes
    )
    return RepositorySnapshot(
        commits=_parse_log(git.source, _decode(log)),
        diff_text=_decode(diff),
        head_branch=_branch_name(git, head),
        base_branch=_branch_name(git, base),
    )


def _decode(output: bytes) -> str:
    # "replace", not "surrogateescape": the text ends up in the JSON input document, which must be
    # valid Unicode to be hashed and handed to the Rego engine. Paths stay exact (core.quotepath
    # makes them ASCII escapes); only content bytes that are not UTF-8 become U+FFFD, which keeps
    # every line, and so every count, intact.
    return output.decode("utf-8", errors="replace")


def _resolve(git: _Git, base: str, head: str) -> tuple[str, str]:
    output = git.run(["rev-parse", "--end-of-options", base, head, "--"], limit=MAX_INPUT_BYTES)
    # git 2.39's rev-parse echoes "--end-of-options" and "--"; newer versions may not.
    lines = [line for line in _decode(output).split("\n") if line and line not in ("--end-of-options", "--")]
    if len(lines) != 2 or not all(_OBJECT_ID.fullmatch(line) for line in lines):
        raise RepositoryError(
            git.source, f"--base {base!r} and --head {head!r} must each name a single revision"
        )
    return lines[0], lines[1]


def _parse_log(source: str, output: str) -> tuple[Commit, ...]:
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


class _Git:
    """Runs git in one repository with a fixed environment and output format."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.source = f"--repo {repo}"
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

    def run(self, arguments: list[str], *, limit: int) -> bytes:
        """git's standard output; RepositoryError when git fails or prints more than `limit` bytes."""
        command = ["git", "-C", str(self.repo), *_PINNED_CONFIG, *arguments]
        chunks: list[bytes] = []
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
                while chunk := process.stdout.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        process.kill()
                        raise RepositoryError(
                            self.source, f"git {arguments[0]} output is larger than the {limit}-byte limit"
                        )
                    chunks.append(chunk)
                returncode = process.wait()
                stderr.seek(0)
                error_output = stderr.read()
        except FileNotFoundError as e:
            raise RepositoryError(self.source, "git is not installed or not on PATH") from e
        except OSError as e:
            raise RepositoryError(self.source, f"cannot run git: {e.strerror or e}") from e
        if returncode != 0:
            raise RepositoryError(self.source, _git_reason(_decode(error_output), returncode))
        return b"".join(chunks)


def _git_reason(stderr: str, returncode: int) -> str:
    """git's own reason: its first fatal/error line (warnings may come first), without the prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
    return lines[0] if lines else f"git exited with status {returncode}"
