"""The audit trail: typed events of every evaluation, review and merge, hash-chained on every sink.

    from aigate import Gate

    with Gate.from_config(".ai-code-gate.yml") as gate:       # audit: {enabled: true, sinks: [...]}
        decision = gate.evaluate(pr=..., diff=..., prompt="add a retry to the client")
        gate.audit.record_review("github.com/acme/api#42", actor="alice")

    from aigate.audit import open_store, verify_store
    report = verify_store(open_store(".aigate/audit.db"))
"""

from __future__ import annotations

from aigate.audit.chain import ChainKey, ChainState, VerifyReport, verify_events
from aigate.audit.events import (
    AUDIT_EVENT,
    EVENT_TYPES,
    AuditEvent,
    AuditPullRequest,
    ChainLink,
    DecisionEvent,
    DetectionEvent,
    DiffEvent,
    EventType,
    GenerationEvent,
    MergeEvent,
    PolicyEvent,
    ReviewEvent,
    RiskEvent,
    ScanEvent,
)
from aigate.audit.settings import AuditSettings, audit_settings
from aigate.audit.sinks.interface import AuditSink, AuditStore, EventFilter
from aigate.audit.trail import AuditTrail, open_store

__all__ = [
    "AUDIT_EVENT",
    "EVENT_TYPES",
    "AuditEvent",
    "AuditPullRequest",
    "AuditSettings",
    "AuditSink",
    "AuditStore",
    "AuditTrail",
    "ChainKey",
    "ChainLink",
    "ChainState",
    "DecisionEvent",
    "DetectionEvent",
    "DiffEvent",
    "EventFilter",
    "EventType",
    "GenerationEvent",
    "MergeEvent",
    "PolicyEvent",
    "ReviewEvent",
    "RiskEvent",
    "ScanEvent",
    "VerifyReport",
    "audit_settings",
    "open_store",
    "verify_events",
    "verify_store",
]


def verify_store(store: AuditStore, key: ChainKey | None = None) -> VerifyReport:
    """Check every stream of a store: the first edited, dropped, inserted or reordered event, if any."""
    return verify_events(store.stored_events(), key, expected_head=store.recorded_heads())
