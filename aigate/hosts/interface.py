"""The host adapter interface, and the one run every adapter shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aigate.models import Decision, PullRequest

__all__ = ["FailOn", "HostAdapter", "HostOptions", "HostRun", "exit_code"]

FailOn = Literal["block", "review", "never"]


@dataclass(frozen=True)
class HostOptions:
    config: Path | None = None
    scans: tuple[str | Path, ...] = ()
    sandbox: Path | None = None  # the report of `aigate sandbox run` for the PR's head
    fail_on: FailOn = "block"
    state_dir: Path | None = None
    engine: str | None = None
    opa_url: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostRun:
    """What to evaluate: the checkout, the PR's base and head revisions, and its metadata."""

    repo: Path
    base: str
    head: str
    pr: PullRequest


class HostAdapter(ABC):
    name: str

    @abstractmethod
    def plan(self, environ: Mapping[str, str]) -> HostRun:
        """Read the host's environment and payload. Raises AigateError when they do not describe a PR."""

    @abstractmethod
    def publish(self, decision: Decision, environ: Mapping[str, str]) -> None:
        """Write the decision where the host shows it."""


def exit_code(decision: Decision, fail_on: FailOn) -> int:
    """1 when the outcome reaches `fail_on` (block; or review and block), else 0."""
    if fail_on == "never":
        return 0
    failing = {"block"} if fail_on == "block" else {"block", "review"}
    return 1 if decision.outcome in failing else 0
