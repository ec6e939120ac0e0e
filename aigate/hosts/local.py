"""Local git: a `pre-push` hook that judges what is being pushed before it leaves the machine.

git runs the hook with the remote's name and URL as arguments and one line per pushed ref on
standard input: `<local ref> <local sha> <remote ref> <remote sha>`. pre-commit's pre-push stage
gives the same as `PRE_COMMIT_FROM_REF` / `PRE_COMMIT_TO_REF` instead. The base of a new branch is
`--base`, else the remote's default branch (`refs/remotes/REMOTE/HEAD`, else its `main` or `master`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aigate.errors import AigateError
from aigate.hosts.interface import HostAdapter, HostRun
from aigate.models import Decision, PullRequest

__all__ = ["PushedRef", "PushAdapter", "hook_script", "pushed_refs"]

_ZERO = re.compile(r"0+")


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def pushed_refs(stdin_text: str, environ: Mapping[str, str]) -> list[PushedRef]:
    """The refs being pushed, from pre-commit's variables or git's hook input; deletions left out."""
    if environ.get("PRE_COMMIT_TO_REF"):
        return [
            PushedRef(
                environ.get("PRE_COMMIT_LOCAL_BRANCH", ""),
                environ["PRE_COMMIT_TO_REF"],
                environ.get("PRE_COMMIT_REMOTE_BRANCH", ""),
                environ.get("PRE_COMMIT_FROM_REF", ""),
            )
        ]
    refs = []
    for number, line in enumerate(stdin_text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise AigateError(f"pre-push input line {number}: expected '<local ref> <sha> <remote ref> <sha>'")
        ref = PushedRef(*fields)
        if not _ZERO.fullmatch(ref.local_sha):  # a deletion pushes nothing to judge
            refs.append(ref)
    return refs


class PushAdapter(HostAdapter):
    """One pushed ref, judged like a PR from its base to the pushed commit."""

    name = "pre-push"

    def __init__(self, ref: PushedRef, *, repo: Path, remote: str, base: str | None) -> None:
        self.ref = ref
        self.repo = repo
        self.remote = remote
        self.base = base

    def plan(self, environ: Mapping[str, str]) -> HostRun:
        base = self.ref.remote_sha if self.ref.remote_sha and not _ZERO.fullmatch(self.ref.remote_sha) else ""
        if not base:
            from aigate.sources.git_repo import revision_exists

            candidates = (
                [self.base]
                if self.base
                else [f"refs/remotes/{self.remote}/{name}" for name in ("HEAD", "main", "master")]
            )
            base = next((c for c in candidates if revision_exists(self.repo, c)), "")
            if not base:
                raise AigateError(
                    f"pre-push {self.ref.local_ref}: a new branch and no base to compare with "
                    f"({', '.join(candidates)} not found); give --base REF"
                )
        pr = PullRequest(
            head_branch=self.ref.local_ref.removeprefix("refs/heads/"),
            base_branch=self.ref.remote_ref.removeprefix("refs/heads/"),
        )
        return HostRun(repo=self.repo, base=base, head=self.ref.local_sha, pr=pr)

    def publish(self, decision: Decision, environ: Mapping[str, str]) -> None:
        """Nothing to publish: the hook prints the decision and its exit code stops the push."""


def hook_script(python: str) -> str:
    """The `pre-push` hook `aigate hook install` writes: this interpreter, running aigate."""
    return (
        "#!/bin/sh\n# Installed by `aigate hook install`: judge what is pushed before it leaves.\n"
        f'exec "{python}" -m aigate hook pre-push "$@"\n'
    )
