"""Typed audit events: one envelope (type, timestamp, ids, chain link) and one payload per type.

Every evaluation emits `generation`, `diff`, `detection`, `policy`, `scan`, `risk` and `decision`
events sharing one `decision_id`; the host records `review` and `merge` events later. Events of one
PR share a `correlation_id` across runs. Sinks fill in `chain`, which links each event to the one
before it in the sink's stream (see `aigate.audit.chain`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from aigate.models import Decision, Dependency, FileStatus, Outcome, Risk, Severity, Signal, Violation

__all__ = [
    "AUDIT_EVENT",
    "EVENT_TYPES",
    "AuditEvent",
    "AuditFile",
    "AuditFinding",
    "AuditPullRequest",
    "ChainLink",
    "DecisionEvent",
    "DecisionPayload",
    "DetectionEvent",
    "DetectionPayload",
    "DiffEvent",
    "DiffPayload",
    "EventType",
    "GenerationEvent",
    "GenerationEvidence",
    "GenerationPayload",
    "MergeEvent",
    "MergePayload",
    "PolicyEvent",
    "PolicyPayload",
    "ReviewEvent",
    "ReviewPayload",
    "RiskEvent",
    "RiskPayload",
    "ScanEvent",
    "ScanPayload",
    "new_event_id",
    "utc_timestamp",
]

EventType = Literal["generation", "diff", "detection", "policy", "scan", "risk", "decision", "review", "merge"]
EVENT_TYPES: tuple[str, ...] = (
    "generation", "diff", "detection", "policy", "scan", "risk", "decision", "review", "merge",
)


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC to the microsecond, fixed width: such timestamps sort as text."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_event_id() -> str:
    return str(uuid.uuid4())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditPullRequest(_Model):
    """The PR an event is about, after redaction (a redacted field reads "**REDACTED**", a redacted number null)."""

    number: int | None = None
    url: str = ""
    author: str = ""
    head_branch: str = ""
    base_branch: str = ""


class ChainLink(_Model):
    """Where the event sits in its sink's stream; filled in by the sink that stores it."""

    stream: str
    sequence: int = Field(ge=1)
    # `hash` of the event before this one in the stream; 64 zeros for the first.
    prev_hash: str
    # SHA-256 of the event's canonical JSON with `chain.hash` and `chain.signature` left out.
    hash: str
    # Over "stream\nsequence\nhash" with the configured key ("hmac-sha256:…" or "ed25519:…"); null when unsigned.
    signature: str | None = None


class _Envelope(_Model):
    schema_version: Literal["2"] = "2"
    event_id: str = Field(default_factory=new_event_id)
    timestamp: str = Field(default_factory=utc_timestamp)
    # Ties every event of one PR together across runs: "<host>/<owner>/<repo>#<number>", "pr#<number>",
    # "branch:<head branch>" for a local run, or "sha256:…" when a part of it is redacted.
    correlation_id: str
    decision_id: str | None = None
    pr: AuditPullRequest | None = None
    # The agent and outcome of the evaluation the event belongs to, for querying every event type alike.
    agent: str | None = None
    outcome: Outcome | None = None
    chain: ChainLink | None = None


class GenerationEvidence(_Model):
    """One place that said how the change was generated."""

    source: Literal["input", "trailer", "marker", "pr_author", "branch", "api"]
    text: str


class GenerationPayload(_Model):
    agent: str | None = None
    model: str | None = None
    tools: tuple[str, ...] = ()
    session_links: tuple[str, ...] = ()
    # "sha256:…" of the prompt given to `Gate.evaluate(prompt=…)`; the prompt itself only with `audit.store_prompts`.
    prompt_sha256: str | None = None
    prompt: str | None = None
    evidence: tuple[GenerationEvidence, ...] = ()


class AuditFile(_Model):
    path: str
    old_path: str | None = None
    status: FileStatus
    binary: bool = False
    added: int = 0
    removed: int = 0


class DiffPayload(_Model):
    files: tuple[AuditFile, ...] = ()
    file_count: int
    lines_added: int
    lines_removed: int
    # SHA-256 of the changed files as the input document lists them (canonical JSON of `files`).
    content_hash: str


class DetectionPayload(_Model):
    is_ai: bool
    signals: tuple[Signal, ...] = ()


class PolicyPayload(_Model):
    violations: tuple[Violation, ...] = ()
    blocking: int
    policy_revision: str
    config_digest: str


class AuditFinding(_Model):
    tool: str
    category: str
    severity: Severity
    rule_id: str = ""
    # Redacted as `audit.redact` says; a secret finding's message is never stored.
    message: str = ""
    path: str | None = None
    line: int | None = None
    # As the input document's finding has them (aigate.models.Finding): a secret's value never, only
    # a short hash prefix of it.
    tool_severity: str = ""
    fingerprint: str = ""
    introduced: bool = True
    secret_hash: str | None = None
    package: str | None = None
    package_version: str | None = None
    ecosystem: str | None = None


class ScanPayload(_Model):
    findings: tuple[AuditFinding, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    counts: dict[str, int] = Field(default_factory=dict)


class RiskPayload(_Model):
    # None when the checks did not apply (a human PR, unless configured otherwise).
    risk: Risk | None = None


class DecisionPayload(_Model):
    decision: Decision
    # The input as `audit.input` says: the redacted document ("full"), else None.
    input: dict[str, Any] | None = None
    duration_ms: float


class ReviewPayload(_Model):
    actor: str
    state: Literal["approved", "changes_requested", "commented", "dismissed"] = "approved"
    # Set when the reviewer overrides a block: why.
    override: str | None = None
    comment: str | None = None


class MergePayload(_Model):
    actor: str
    commit_sha: str | None = None
    override: str | None = None


class GenerationEvent(_Envelope):
    type: Literal["generation"] = "generation"
    payload: GenerationPayload


class DiffEvent(_Envelope):
    type: Literal["diff"] = "diff"
    payload: DiffPayload


class DetectionEvent(_Envelope):
    type: Literal["detection"] = "detection"
    payload: DetectionPayload


class PolicyEvent(_Envelope):
    type: Literal["policy"] = "policy"
    payload: PolicyPayload


class ScanEvent(_Envelope):
    type: Literal["scan"] = "scan"
    payload: ScanPayload


class RiskEvent(_Envelope):
    type: Literal["risk"] = "risk"
    payload: RiskPayload


class DecisionEvent(_Envelope):
    type: Literal["decision"] = "decision"
    payload: DecisionPayload


class ReviewEvent(_Envelope):
    type: Literal["review"] = "review"
    payload: ReviewPayload


class MergeEvent(_Envelope):
    type: Literal["merge"] = "merge"
    payload: MergePayload


AuditEvent = Annotated[
    GenerationEvent | DiffEvent | DetectionEvent | PolicyEvent | ScanEvent | RiskEvent | DecisionEvent
    | ReviewEvent | MergeEvent,
    Field(discriminator="type"),
]
"""Any audit event; `AUDIT_EVENT.validate_python(...)` / `.validate_json(...)` parses one."""

AUDIT_EVENT: TypeAdapter[AuditEvent] = TypeAdapter(AuditEvent)
