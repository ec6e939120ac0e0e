"""From one evaluation (input document + decision) to its audit events, redacted.

Redaction covers the redacted fields themselves and every value derived from them: violation
messages and paths, signal values, risk factor details, the events' `pr` block and correlation id,
and the trailers of a redacted commit message. The document is redacted first and the input-side
payloads are built from the redacted copy; output-side strings (from the policies) are scrubbed of
every redacted value (`Scrubber`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit

from aigate._input_document import document_data
from aigate.audit.events import (
    AuditEvent,
    AuditFile,
    AuditFinding,
    AuditPullRequest,
    DecisionEvent,
    DecisionPayload,
    DetectionEvent,
    DetectionPayload,
    DiffEvent,
    DiffPayload,
    GenerationEvent,
    PolicyEvent,
    PolicyPayload,
    RiskEvent,
    RiskPayload,
    ScanEvent,
    ScanPayload,
    utc_timestamp,
)
from aigate.audit.generation import infer_generation
from aigate.audit.settings import AuditSettings
from aigate.models import Decision, InputDocument, Signal, Violation
from aigate.redaction import REDACTED

__all__ = ["Scrubber", "correlation_id_for", "evaluation_events", "prompt_hash"]

# Redacted strings shorter than this are masked where they stand, not inside other text: masking
# every "a" or "1" inside messages would make them unreadable without hiding anything.
_MIN_SCRUB_LENGTH = 3
# Where a PR URL says which repository it belongs to (GitHub, GitLab, Gitea/Forgejo, Bitbucket).
_PR_URL_PATH = re.compile(r"^(?P<repo>/.+?)(?:/-)?/(?:pull|pulls|merge_requests|pull-requests)/\d+/?$")
_COMMIT_MESSAGE = re.compile(r"^/commits/([^/]+)/message$")


def prompt_hash(prompt: str) -> str:
    return "sha256:" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()


class Scrubber:
    """The input document redacted, and what it takes to keep its redacted values out of derived text."""

    def __init__(self, document: InputDocument, pointers: Iterable[str]) -> None:
        original = document_data(document)
        # A trailer is a piece of its commit message: redacting the message redacts its trailers.
        pointers = list(pointers)
        implied = [f"/commits/{m.group(1)}/trailers" for p in pointers if (m := _COMMIT_MESSAGE.match(p))]
        # A secret finding's message may hold the secret itself: never stored, whatever the config says.
        implied += [f"/findings/{i}/message" for i, f in enumerate(document.findings) if f.category == "secret"]
        # Every pointer applied: the configured ones and those they imply.
        self.pointers = [*pointers, *implied]
        redacted, masked = _redact_fresh(document, self.pointers)
        self.original = original
        self.redacted: dict[str, Any] = redacted
        self.masked = frozenset(masked)
        values: set[str] = set()
        for pointer in masked:
            values.update(_strings(_resolve(original, pointer)))
        self._secrets = sorted((v for v in values if v), key=len, reverse=True)
        self._long = [v for v in self._secrets if len(v) >= _MIN_SCRUB_LENGTH]
        self._visible: frozenset[str] | None = None
        # `nfkc` maps input texts to their NFKC forms: an entry of a redacted text is a copy of it.
        forms = self.redacted.get("nfkc")
        if isinstance(forms, dict) and self._secrets:
            self.redacted["nfkc"] = {text: form for text, form in forms.items()
                                     if self.value(text) == text and self.value(form) == form}

    @property
    def active(self) -> bool:
        return bool(self._secrets)

    def is_masked(self, pointer: str) -> bool:
        return any(pointer == m or pointer.startswith(m + "/") for m in self.masked)

    def text(self, value: str) -> str:
        """Free text (a violation message, a factor's detail) with every redacted value masked inside it."""
        if not self._secrets:
            return value
        if value in self._secrets:
            return REDACTED
        for secret in self._long:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: str) -> str:
        """A value taken from the input (a signal's value, a violation's path): masked when it is, or is part of,
        a redacted value and is not visible anywhere in the redacted input."""
        if not self._secrets or not value:
            return value
        if any(value in secret for secret in self._secrets) and value not in self._visible_strings():
            return REDACTED
        return self.text(value)

    def _visible_strings(self) -> frozenset[str]:
        if self._visible is None:
            # `nfkc` only repeats other fields: what it holds is visible only where those fields are.
            self._visible = frozenset(_strings({k: v for k, v in self.redacted.items() if k != "nfkc"}))
        return self._visible


def _redact_fresh(document: InputDocument, pointers: list[str]) -> tuple[dict[str, Any], list[str]]:
    """`redact` on a dump of its own, masked in place (no deep copy: the dump is new)."""
    from aigate.redaction import _mask, _unescape

    data = document_data(document)
    masked: list[str] = []
    for pointer in pointers:
        _mask(data, [_unescape(segment) for segment in pointer.split("/")[1:]], "", masked)
    return data, sorted(masked)


def _resolve(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.split("/")[1:]:
        segment = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, int | float):
        yield str(node)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _strings(item)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def correlation_id_for(document: InputDocument, scrubber: Scrubber | None = None) -> str:
    """Repository + PR number, else `pr#N`, else the head branch (a local run). Hashed when a part is redacted."""
    pr = document.pr
    used: list[str] = []
    repository = ""
    if pr.url:
        parts = urlsplit(pr.url)
        match = _PR_URL_PATH.match(parts.path)
        if parts.netloc and match:
            repository = f"{parts.netloc.lower()}{match.group('repo')}"
            used.append("/pr/url")
    if pr.number is not None:
        used.append("/pr/number")
        correlation = f"{repository}#{pr.number}" if repository else f"pr#{pr.number}"
    elif pr.head_branch:
        used = ["/pr/head_branch"]
        correlation = f"branch:{pr.head_branch}"
    else:
        return "unknown"
    if scrubber is not None and any(scrubber.is_masked(pointer) for pointer in used):
        return "sha256:" + hashlib.sha256(correlation.encode("utf-8")).hexdigest()
    return correlation


def _scrub_signal(signal: Signal, scrubber: Scrubber) -> Signal:
    return signal.model_copy(update={"value": scrubber.value(signal.value)})


def _scrub_violation(violation: Violation, scrubber: Scrubber) -> Violation:
    return violation.model_copy(update={
        "message": scrubber.text(violation.message),
        "path": None if violation.path is None else scrubber.value(violation.path),
    })


def scrub_decision(decision: Decision, scrubber: Scrubber) -> Decision:
    if not scrubber.active:
        return decision
    detection = decision.detection.model_copy(
        update={"signals": tuple(_scrub_signal(s, scrubber) for s in decision.detection.signals)}
    )
    risk = decision.risk
    if risk is not None:
        risk = risk.model_copy(update={
            "factors": tuple(f.model_copy(update={"detail": scrubber.text(f.detail)}) for f in risk.factors),
            "sensitive_files": tuple(scrubber.value(path) for path in risk.sensitive_files),
        })
    return decision.model_copy(update={
        "detection": detection,
        "violations": tuple(_scrub_violation(v, scrubber) for v in decision.violations),
        "risk": risk,
    })


def evaluation_events(
    decision: Decision,
    document: InputDocument,
    settings: AuditSettings,
    *,
    duration_s: float = 0.0,
    correlation_id: str | None = None,
    prompt: str | None = None,
) -> list[AuditEvent]:
    """The events of one evaluation, in order: generation, diff, detection, policy, scan, risk, decision."""
    scrubber = Scrubber(document, settings.redact)
    ready = _model_ready(scrubber.redacted, scrubber.masked)
    redacted_doc = InputDocument.model_validate(ready) if scrubber.masked else document
    safe = scrub_decision(decision, scrubber)
    pr_data = scrubber.redacted.get("pr") or {}
    pr = AuditPullRequest(
        number=pr_data.get("number") if isinstance(pr_data.get("number"), int) else None,
        url=pr_data.get("url", ""),
        author=(pr_data.get("author") or {}).get("login", ""),
        head_branch=pr_data.get("head_branch", ""),
        base_branch=pr_data.get("base_branch", ""),
    )
    generation = infer_generation(redacted_doc, safe, settings.agents)
    if prompt is not None:
        generation = generation.model_copy(update={
            "prompt_sha256": prompt_hash(prompt),
            "prompt": prompt if settings.store_prompts else None,
        })
    timestamp = utc_timestamp()
    common: dict[str, Any] = {
        "timestamp": timestamp,
        "correlation_id": correlation_id or correlation_id_for(document, scrubber),
        "decision_id": decision.decision_id,
        "pr": pr,
        "agent": generation.agent,
        "outcome": decision.outcome,
    }
    files = ready.get("files") or []
    diff = DiffPayload(
        files=tuple(AuditFile(**{k: f[k] for k in ("path", "old_path", "status", "binary", "added", "removed")})
                    for f in files),
        file_count=len(files),
        lines_added=sum(f["added"] for f in files),
        lines_removed=sum(f["removed"] for f in files),
        content_hash="sha256:" + hashlib.sha256(
            json.dumps(document_data(document)["files"], sort_keys=True,
                       separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ).hexdigest(),
    )
    findings = tuple(
        AuditFinding(**{**finding, "message": REDACTED if finding["category"] == "secret" and finding["message"]
                        else finding["message"]})
        for finding in ready.get("findings") or []
    )
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    full_input = None
    if settings.input == "full":
        full_input = dict(scrubber.redacted)
    decision_for_event = safe if settings.input != "none" else safe.model_copy(update={"input_digest": ""})
    return [
        GenerationEvent(**common, payload=generation),
        DiffEvent(**common, payload=diff),
        DetectionEvent(**common, payload=DetectionPayload(is_ai=safe.is_ai, signals=safe.detection.signals)),
        PolicyEvent(**common, payload=PolicyPayload(
            violations=safe.violations, blocking=sum(v.blocking for v in safe.violations),
            policy_revision=safe.policy_revision, config_digest=safe.config_digest,
        )),
        ScanEvent(**common, payload=ScanPayload(
            findings=findings, dependencies=redacted_doc.dependencies, counts=counts,
        )),
        RiskEvent(**common, payload=RiskPayload(risk=safe.risk)),
        DecisionEvent(**common, payload=DecisionPayload(
            decision=decision_for_event, input=full_input, duration_ms=round(duration_s * 1000, 3),
        )),
    ]


def _model_ready(redacted: dict[str, Any], masked: Iterable[str]) -> dict[str, Any]:
    """The redacted document in a shape the model accepts again: a redacted number, flag, list or object
    becomes its empty value (null where allowed), a redacted item of a list is left out; redacted strings
    stay "**REDACTED**". Only the masked places are looked at."""
    actions = [(pointer, action) for pointer in masked
               if (action := _placeholder(re.sub(r"/\d+(?=/|$)", "/*", pointer))) is not None]
    if not actions:
        return redacted
    data: dict[str, Any] = copy.deepcopy(redacted)
    drops: list[tuple[list[Any], int]] = []
    for pointer, action in actions:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        container: Any = data
        for segment in parents:
            container = container[int(segment)] if isinstance(container, list) else container[segment]
        if action == "drop":
            drops.append((container, int(last)))
        else:
            container[int(last) if isinstance(container, list) else last] = copy.deepcopy(action[1])
    for container, index in sorted(drops, key=lambda d: -d[1]):
        del container[index]
    return data


@functools.cache
def _placeholder(general_pointer: str) -> tuple[str, Any] | Literal["drop"] | None:
    """What stands for a redacted value at a place of the input schema: None when a string may (keep
    "**REDACTED**"), "drop" for an item of a list of non-strings, else ("value", the empty value)."""
    from aigate import _resources
    from aigate.redaction import _alternatives, _children

    root: dict[str, Any] = _resources.load_schema("input.schema.json")
    nodes = [root]
    segments = general_pointer.split("/")[1:]
    for segment in segments:
        nodes = [child for node in nodes for child in _children(_alternatives(node, root), segment)]
    options = [option for node in nodes for option in _alternatives(node, root)]
    types = {t for option in options for t in _types(option)}
    if "string" in types or not options:
        return None
    if segments and segments[-1] == "*":
        return "drop"
    for kind, empty in (("null", None), ("array", []), ("object", {}), ("boolean", False), ("integer", 0),
                        ("number", 0)):
        if kind in types:
            return ("value", empty)
    return None


def _types(option: dict[str, Any]) -> list[str]:
    declared = option.get("type")
    if isinstance(declared, list):
        return [str(t) for t in declared]
    if isinstance(declared, str):
        return [declared]
    if "enum" in option or "const" in option:
        return ["enum"]
    return []
