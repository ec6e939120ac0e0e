"""Typed models of the input document and of the decision.

Input models forbid unknown fields: a typo in a source or a fixture fails loudly instead
of being ignored by a policy. The JSON Schemas in `schemas/` describe the same shapes and
are checked against these models in the tests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from aigate.sandbox.report import SandboxReport

__all__ = [
    "AgentInfo",
    "ChangedLineCoverage",
    "Commit",
    "CustomReport",
    "Decision",
    "Dependency",
    "Detection",
    "ExceptionReport",
    "FileChange",
    "FileCoverage",
    "FileStatus",
    "Finding",
    "Generation",
    "FindingCategory",
    "InputDocument",
    "Mode",
    "Outcome",
    "Person",
    "PrAuthor",
    "PullRequest",
    "RefusedCustomItem",
    "RegistryStatus",
    "RequiredReviewer",
    "Risk",
    "RiskFactor",
    "SandboxTestResults",
    "ScanReport",
    "Severity",
    "Signal",
    "SignalKind",
    "Trailer",
    "Violation",
    "Waiver",
]

def _is_none(value: object) -> bool:
    return value is None


def _is_false(value: object) -> bool:
    return value is False


def _is_zero(value: object) -> bool:
    return value == 0


FileStatus = Literal["added", "modified", "deleted", "renamed", "copied", "mode_changed"]
Severity = Literal["critical", "high", "medium", "low", "info"]
Mode = Literal["observe", "warn", "block"]
Outcome = Literal["allow", "review", "block"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Input):
    name: str = ""
    email: str = ""


class Trailer(_Input):
    """One trailer of a commit message, as `git interpret-trailers --parse` prints it."""

    key: str
    value: str


class Commit(_Input):
    sha: str = ""
    author: Person = Field(default_factory=Person)
    committer: Person = Field(default_factory=Person)
    message: str = ""
    # Always the trailers parsed from `message` (as `git interpret-trailers --parse --no-divider`
    # finds them), then any given ones it lacks: a given list adds to the message, never hides it.
    trailers: tuple[Trailer, ...] = ()

    @model_validator(mode="after")
    def _trailers_from_message(self) -> Commit:
        from aigate.sources.commits import parse_trailers  # commits.py builds these models

        parsed = parse_trailers(self.message)
        merged = (*parsed, *(t for t in self.trailers if t not in parsed))
        if merged != self.trailers:
            object.__setattr__(self, "trailers", merged)  # frozen model: set once, while validating
        return self


class PrAuthor(_Input):
    login: str = ""
    # GitHub's user type: "User", "Bot", "Organization"; empty when the source does not say.
    type: str = ""


class PullRequest(_Input):
    number: int | None = None
    title: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    author: PrAuthor = Field(default_factory=PrAuthor)
    head_branch: str = ""
    base_branch: str = ""
    url: str = ""


class FileChange(_Input):
    """One changed file, with counts exactly as `git diff --numstat` reports them."""

    path: str
    # Set only for renames and copies: the path the file came from.
    old_path: str | None = None
    status: FileStatus
    binary: bool = False
    added: int = Field(default=0, ge=0)
    removed: int = Field(default=0, ge=0)
    # Octal git modes ("100644", "100755", "120000" symlink, "160000" submodule); None when unknown.
    old_mode: str | None = None
    new_mode: str | None = None
    # A binary file's new size in bytes (0 when deleted); None when the diff does not say (a diff
    # made without --binary).
    binary_size: int | None = Field(default=None, ge=0)
    # A symlink's new target, as stored (the diff carries it as the file's content); None otherwise.
    link_target: str | None = None
    # The target resolved against the link's folder, as a repository path; None when there is no
    # target or it leaves the repository. Always computed from path and link_target, never taken as given.
    link_target_path: str | None = None
    # For a symlink to a folder (known from a repository, `--repo`): the files under that folder at the head, as
    # repository paths; None otherwise. `static/c -> ../certs` exposes `certs/server.pem` as the link itself would.
    link_target_files: tuple[str, ...] | None = None

    # FILE_DETAILS (below) are left out of the document's JSON when None, by the
    # dump's `exclude` (aigate._input_document), not by a serializer of this model's own, which ran Python once
    # per file (13 of the 28 ms of dumping a 10,000-file document).

    @field_validator("link_target_path", mode="before")
    @classmethod
    def _never_given(cls, value: Any, info: ValidationInfo) -> str | None:
        # Runs only when a value is given (a model validator ran Python once per file: 14 of the 66 ms of
        # validating a 10,000-file document); the document fills it in for every symlink (`_document_facts`).
        return _link_target_path(info.data.get("path"), info.data.get("link_target"))


# A file's details that only binaries and symlinks have (what git's blob gives, not its counts): the diff's
# reader carries them across a type change, and the document's JSON leaves them out when None.
FILE_DETAILS = ("binary_size", "link_target", "link_target_path", "link_target_files")


def _link_target_path(path: object, target: object) -> str | None:
    return resolve_link_target(path, target) if isinstance(path, str) and isinstance(target, str) else None


def git_path_problem(path: str) -> str | None:
    """Why `path` is not one git writes, or None. git writes a path relative to the top, without empty,
    "." or ".." parts: anything else could name a file the patterns would not see under that name
    (`a/../.env` is `.env`)."""
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        return f"path {path[:80]!r} is not one git writes (an empty, '.' or '..' part, or a leading '/')"
    return None


def resolve_link_target(path: str, target: str) -> str | None:
    """Where a symlink at `path` pointing to `target` leads, as a repository path; None outside it, and
    inside a `.git` folder (git's own, not the repository's files: its config holds CI's token)."""
    if not target or target.startswith("/"):
        return None
    parts: list[str] = path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    if any(part.lower() == ".git" for part in parts):  # git tracks no path with a .git part, in any case
        return None
    return "/".join(parts) or None


FindingCategory = Literal["secret", "sast", "iac", "dependency", "test", "other"]


class Finding(_Input):
    """One scanner finding, normalised: secrets, SAST, IaC, dependency vulnerabilities, sandbox tests.

    A secret's value is never kept: parsers drop the tool's match, source line and raw fields, and keep
    only `secret_hash`, a short hash prefix to correlate the same secret across reports.
    """

    tool: str
    category: FindingCategory
    # Normalised; the tool's own value is `tool_severity` (the mapping per tool is in the README).
    severity: Severity
    rule_id: str = ""
    message: str = ""
    path: str | None = None
    line: int | None = None
    tool_severity: str = ""
    # The same finding in two runs of the tool gets the same fingerprint.
    fingerprint: str = ""
    # True when the finding lies on a line (or dependency) the PR added or changed; True when unknown.
    introduced: bool = True
    secret_hash: str | None = None
    # For dependency findings: the vulnerable package.
    package: str | None = None
    package_version: str | None = None
    ecosystem: str | None = None


class RegistryStatus(_Input):
    """What the package registry says about a dependency (checked for added and updated ones)."""

    # found / missing: the registry answered; unreachable: it did not (with `unreachable: warn`);
    # unchecked: not looked up (an ecosystem without a registry check, the check is off, or the package comes
    # from no registry: a workspace member, a local path, a git or URL source).
    status: Literal["found", "missing", "unreachable", "unchecked"] = "unchecked"
    # Where the answer came from: the registry itself, the cache, or the offline snapshot/allowlist.
    source: Literal["registry", "cache", "snapshot", "none"] = "none"
    # Days since the package's first published file, when the registry says.
    age_days: int | None = None


class Dependency(_Input):
    """A dependency the PR adds, removes or updates."""

    ecosystem: str
    name: str
    version: str | None = None
    change: Literal["added", "removed", "updated"] = "added"
    # The manifest or lock file it was read from.
    manifest: str | None = None
    # The version is pinned exactly (==x.y.z, "1.2.3", a lock file entry).
    pinned: bool | None = None
    registry: RegistryStatus = Field(default_factory=RegistryStatus)
    # The popular package name this one is closest to (edit distance), when it is not one itself.
    similar_to: str | None = None
    similar_distance: int | None = None


class ScanReport(_Input):
    """One scanner report the PR's input was given (or aigate's own built-in check)."""

    tool: str
    format: str
    source: str
    # What the report covers, whatever it found: `scanning.required` is checked against these.
    categories: tuple[FindingCategory | Literal["coverage"], ...] = ()
    findings: int = Field(default=0, ge=0)
    # aigate's built-in secret check only: added lines past its budget (scanning.builtin_secrets.max_added_lines),
    # not read. Left out while 0, so documents without it serialise as before.
    unchecked_lines: int = Field(default=0, ge=0, exclude_if=_is_zero)


class SandboxTestResults(_Input):
    """Sandbox test results (JUnit XML), summed over every report given."""

    tests: int = Field(default=0, ge=0)
    failures: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)


class FileCoverage(_Input):
    path: str
    # Added lines the coverage report measures (executable), and how many of them ran.
    measured: int = Field(default=0, ge=0)
    covered: int = Field(default=0, ge=0)


class ChangedLineCoverage(_Input):
    """Coverage of the lines the PR added, from a coverage report and the diff."""

    measured: int = Field(default=0, ge=0)
    covered: int = Field(default=0, ge=0)
    files: tuple[FileCoverage, ...] = ()


class Generation(_Input):
    """How the change was generated, as the host knows it. Optional: the audit trail's `generation`
    event adds what trailers, markers and the PR say. (A prompt is not part of the input: it is given
    to `Gate.evaluate(prompt=…)` and reaches only the audit trail, hashed unless configured otherwise.)"""

    agent: str | None = None
    model: str | None = None
    tools: tuple[str, ...] = ()
    # Links the agent left to its session (e.g. `Claude-Session: https://claude.ai/code/session_…`).
    session_links: tuple[str, ...] = ()


class InputDocument(_Input):
    """Everything the policies see, as `input`."""

    schema_version: Literal["1"] = "1"
    pr: PullRequest = Field(default_factory=PullRequest)
    commits: tuple[Commit, ...] = ()
    files: tuple[FileChange, ...] = ()
    findings: tuple[Finding, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    # The scanner reports given (and aigate's own secret check), whatever they found.
    scans: tuple[ScanReport, ...] = ()
    # Test results from JUnit reports given with --scan, summed.
    test_results: SandboxTestResults | None = None
    # Coverage of the PR's added lines, from a coverage report given with --scan.
    coverage: ChangedLineCoverage | None = None
    # What the PR's tests did in the sandbox (`aigate sandbox run`); null when no report was given.
    sandbox: SandboxReport | None = None
    # The day of the evaluation (YYYY-MM-DD), against which exceptions expire; the gate fills it in
    # when the config has exceptions and the document does not give one.
    evaluated_on: str | None = Field(default=None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    # Filled by aigate (a given value is replaced): the Unicode NFKC form of each PR and commit text
    # that NFKC changes, so that the policies compare "ｃｌａｕｄｅ/x" as "claude/x" (Rego has no NFKC).
    nfkc: dict[str, str] = Field(default_factory=dict)
    # Optional: absent (None) unless the host gives it; left out of the canonical form when absent, so
    # documents without one keep their digest.
    generation: Generation | None = None
    # The PR's change to `.ai-code-gate.yml` as unified diff text, so that reviewers can read the
    # proposed config without the gate trusting it; None when the PR does not change it (or no diff
    # text was given).
    config_change: str | None = None

    @model_validator(mode="after")
    def _document_facts(self) -> InputDocument:
        """What aigate fills in, whatever was given: each symlink's target as a repository path, and
        the NFKC forms. Once per document, not once per file."""
        from aigate._text import nfkc_changes

        for change in self.files:
            if change.link_target is not None or change.link_target_path is not None:
                resolved = _link_target_path(change.path, change.link_target)
                if resolved != change.link_target_path:
                    object.__setattr__(change, "link_target_path", resolved)  # frozen: set while validating

        pr = self.pr
        texts = [pr.title, pr.body, *pr.labels, pr.author.login, pr.author.type, pr.head_branch]
        for commit in self.commits:
            texts += [commit.author.name, commit.author.email, commit.committer.name, commit.committer.email,
                      commit.message, *(trailer.value for trailer in commit.trailers)]
        forms = nfkc_changes(texts)
        if forms != self.nfkc:
            object.__setattr__(self, "nfkc", forms)
        return self


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# label: a PR label. co_author: an identity in a commit trailer. bot_author: the PR author, or a
# commit's author or committer. branch: the head branch. message_marker: text in a commit message or
# the PR title or body. unknown_bot: a bot account on no list (neither agent nor known automation).
SignalKind = Literal["label", "co_author", "bot_author", "branch", "message_marker", "unknown_bot", "custom"]


class Signal(_Output):
    """One detection signal that matched: where (kind), what text (value), which configured pattern."""

    kind: SignalKind
    value: str
    pattern: str
    # For a custom rule's signal: the rule that produced it (data.aigate.custom.<name>.signals).
    # Left out of the output while unset, so built-in items serialise as they always have.
    source: str | None = Field(default=None, exclude_if=_is_none)


class Detection(_Output):
    is_ai: bool
    signals: tuple[Signal, ...] = ()
    # Every kind is checked at once; a kind whose input is missing (no branch name, no commits, no PR
    # metadata) is listed under `unchecked`, so a host can tell "no signal" from "not looked at".
    checked: tuple[SignalKind, ...] = ()
    matched: tuple[SignalKind, ...] = ()
    unchecked: tuple[SignalKind, ...] = ()


class Waiver(_Output):
    """Why a violation is waived: the exception (its index in the config's `exceptions`) or custom rule."""

    exception: int | None = None
    reason: str
    owner: str | None = None
    expires: str | None = None
    source: str


class Violation(_Output):
    rule: str
    layer: str
    severity: Severity
    message: str
    path: str | None = None
    mode: Mode
    # True only in block mode, and not waived: a blocking violation makes the outcome "block".
    blocking: bool
    # For a custom rule's violation: the rule that produced it (data.aigate.custom.<name>.violations).
    source: str | None = Field(default=None, exclude_if=_is_none)
    # Waived by a config exception (or, when allowed, a custom waiver): still reported, never blocking.
    # Both left out of the output unless waived.
    waived: bool = Field(default=False, exclude_if=_is_false)
    waiver: Waiver | None = Field(default=None, exclude_if=_is_none)


class RiskFactor(_Output):
    name: str
    points: int
    detail: str
    # For a custom rule's factor: the rule that produced it (data.aigate.custom.<name>.risk_factors).
    source: str | None = Field(default=None, exclude_if=_is_none)


class Risk(_Output):
    score: int = Field(ge=0, le=100)
    factors: tuple[RiskFactor, ...] = ()
    tier: str
    approvals: int = Field(ge=0)
    auto_merge: bool
    require_security_team: bool
    # The risk layer's mode: only "block" lets the tier turn an allow into a review.
    mode: Mode
    # The review.minimum_tier reasons that held the tier at or above their floor (sensitive_path,
    # new_dependency, gate_config, submodule); empty when the score alone set it.
    raised_by: tuple[str, ...] = ()
    # The changed files that matched a sensitive (or blocked) pattern, by their new path, sorted.
    sensitive_files: tuple[str, ...] = ()


class AgentInfo(_Output):
    """The agent detection names (`human`: not AI; `unknown`: AI, no agent named) and the override applied."""

    name: str
    override: str | None = None


class ExceptionReport(_Output):
    """Config exceptions: the ids (indexes) that waived something, the expired, the unused."""

    applied: tuple[int, ...] = ()
    expired: tuple[Waiver, ...] = ()
    unused: tuple[Waiver, ...] = ()


class RequiredReviewer(_Output):
    reviewer: str
    reason: str = ""
    # The approvals the PR needs at least (the decision's risk.approvals is raised to it).
    approvals: int = Field(default=1, ge=0)
    source: str


class RefusedCustomItem(_Output):
    """Something a custom rule tried that would weaken the gate, refused (policy.custom_can_weaken is false)."""

    source: str
    item: str
    reason: str


class CustomReport(_Output):
    refused: tuple[RefusedCustomItem, ...] = ()


class Decision(_Output):
    """What the host should do with the PR, and why."""

    outcome: Outcome
    is_ai: bool
    detection: Detection
    violations: tuple[Violation, ...] = ()
    # None when the PR is not AI-generated and checks are not applied to human PRs.
    risk: Risk | None = None
    engine: str
    policy_revision: str
    config_digest: str
    input_digest: str
    decision_id: str
    # Where the config came from: the PR's base revision, a file, or the defaults alone.
    config_source: Literal["base", "file", "defaults"] = "defaults"
    # The PR's proposed change to `.ai-code-gate.yml` (unified diff), for reviewers; never applied.
    config_change: str | None = None
    # Added with the policy-authoring toolkit (all optional, so older decisions still validate):
    agent: AgentInfo | None = None
    exceptions: ExceptionReport = Field(default_factory=ExceptionReport)
    # Reviewers custom rules require; any of them turns an allow into a review.
    required_reviewers: tuple[RequiredReviewer, ...] = ()
    custom: CustomReport = Field(default_factory=CustomReport)

    @property
    def blocked(self) -> bool:
        return self.outcome == "block"
