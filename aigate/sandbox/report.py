"""The sandbox report: what a command did inside the sandbox, as evidence for the policies.

Published as `schemas/sandbox_report.schema.json` and carried in the input document as `sandbox`.
Each field says what was observed, and `observed_by` says how, so that a policy (and an auditor)
can tell "nothing happened" from "nothing could be seen".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LimitName",
    "NetworkAttempt",
    "SandboxArtifact",
    "SandboxReport",
    "SandboxTests",
    "WriteAttempt",
]

LimitName = Literal["wall_time", "cpu_time", "memory", "processes", "output"]


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkAttempt(_Report):
    """One `connect` to an IP address, as the monitor saw the system call."""

    family: Literal["inet", "inet6"]
    address: str
    port: int = Field(ge=0, le=65535)
    # The call's result as the kernel gave it: "ok", or the errno name (ENETUNREACH, ECONNREFUSED, ...).
    result: str


class WriteAttempt(_Report):
    """A file opened for writing (or created, renamed, removed) outside the worktree and private /tmp."""

    path: str
    call: str
    # The kernel's answer: "ok" (the write happened), or the errno that refused it (EROFS, EACCES...).
    result: str


class SandboxTests(_Report):
    """Test counts from the JUnit files the command wrote (zero when it wrote none)."""

    tests: int = Field(default=0, ge=0)
    failures: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)


class SandboxArtifact(_Report):
    """A JUnit or coverage file the command produced, copied out of the scratch worktree."""

    kind: Literal["junit", "coverage"]
    # Relative to the worktree, as the config's pattern matched it.
    path: str
    # Where the copy was written, relative to the report's folder; null when no copy was kept.
    saved_as: str | None = None
    sha256: str
    size: int = Field(ge=0)


class SandboxReport(_Report):
    """One sandboxed run of a PR's command at its head revision."""

    schema_version: Literal["1"] = "1"
    command: tuple[str, ...]
    setup_command: str | None = None
    head: str
    # The command's exit status; negative when a signal ended it (-9: SIGKILL), as Python reports it.
    exit_code: int
    # The signal that ended the command, when one did (e.g. SIGKILL from the watchdog).
    signal: str | None = None
    duration_seconds: float = Field(ge=0)
    cpu_seconds: float = Field(ge=0)
    # Largest resident set of any process of the run, from the kernel's rusage (bytes).
    peak_memory_bytes: int = Field(ge=0)
    # The first limit the run hit, or null.
    limit_hit: LimitName | None = None
    limits: dict[str, float]
    # How each limit was enforced here (rlimit, pids cgroup, watchdog, pipe cap).
    enforced_by: dict[str, str]
    network_attempted: bool
    network_attempts: tuple[NetworkAttempt, ...] = ()
    # Writes outside the worktree that succeeded: the mounts make this impossible, and it is checked.
    writes_outside_worktree: tuple[WriteAttempt, ...] = ()
    # Writes outside the worktree that the sandbox refused (the first 100), and how many there were.
    refused_writes: tuple[WriteAttempt, ...] = ()
    refused_write_count: int = Field(default=0, ge=0)
    # What produced the two lists above ("strace"), and what it cannot see.
    observed_by: str
    unobserved: tuple[str, ...] = ()
    tests: SandboxTests = Field(default_factory=SandboxTests)
    artifacts: tuple[SandboxArtifact, ...] = ()
    # The end of the command's output, capped (stdout and stderr interleaved as read).
    output_tail: str = ""
    output_bytes: int = Field(default=0, ge=0)
