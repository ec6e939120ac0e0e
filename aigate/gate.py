"""`Gate`: from a pull request's sources to a decision, on one compiled engine."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from aigate import _resources
from aigate.config import GateConfig, load_config
from aigate.document import (
    build_input_document,
    canonical_json,
    input_digest,
    load_input_document,
)
from aigate.engines.connection import OpaConnection, parse_urls
from aigate.engines.interface import DECISION_PATH, Engine, PolicySet, load_policy_set
from aigate.engines.select import EngineKind, create_engine
from aigate.errors import ConfigError, PolicyError
from aigate.models import AuditEvent, AuditPullRequest, AuditViolation, Decision, InputDocument
from aigate.redaction import redact
from aigate.sources._io import first_validation_problem

__all__ = ["Gate"]

_LAYER_ORDER = {"paths": 0, "scope": 1, "tests": 2, "scanning": 3, "sandbox": 4, "risk": 5}


class Gate:
    """Evaluates PRs against one configuration and one set of policies.

    >>> from aigate import Gate
    >>> gate = Gate.from_config("examples/.ai-code-gate.yml")   # doctest: +SKIP
    >>> decision = gate.evaluate(pr=Path("pr.json"), diff=Path("pr.diff"))   # doctest: +SKIP
    >>> decision.outcome   # doctest: +SKIP
    'review'

    The policies are compiled once; `evaluate` may be called many times, from several threads.
    """

    def __init__(
        self,
        config: GateConfig | None = None,
        *,
        engine: Engine | EngineKind | None = None,
        policies: PolicySet | None = None,
        opa_url: str | Sequence[str] | None = None,
        connection: OpaConnection | None = None,
    ) -> None:
        """`engine` is an Engine, or `embedded`/`opa`/`auto` (default: the config's `policy.engine.backend`).

        How OPA is reached comes from `connection`, else from the config's `policy.engine` section,
        whose server URLs `opa_url` (one URL, several separated by commas, or a list) replaces.
        """
        self.config = config or load_config(None)
        self.policies = policies or load_policy_set(self.config.policy_dir or _resources.policies_dir())
        if engine is None or isinstance(engine, str):
            engine = self._create_engine(engine, opa_url, connection)
        self.engine = engine

    def _create_engine(
        self, kind: EngineKind | None, opa_url: str | Sequence[str] | None, connection: OpaConnection | None
    ) -> Engine:
        settings = self.config.settings["policy"]["engine"]
        if connection is None:
            connection = OpaConnection.from_settings(settings, self.config.resolve, urls=opa_url)
        elif opa_url:
            connection = replace(connection, urls=parse_urls(opa_url))
        return create_engine(kind or settings["backend"], self.policies, self.config, connection=connection)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> Gate:
        """A gate for a `.ai-code-gate.yml`; `None` uses the defaults."""
        return cls(load_config(path), **kwargs)

    # Normalise the given sources into the input document the policies see.
    input_document = staticmethod(build_input_document)

    def evaluate(
        self,
        document: InputDocument | Mapping[str, Any] | Path | None = None,
        **sources: Any,
    ) -> Decision:
        """Decide on one PR: give a ready input document, or the sources `input_document` takes."""
        started = time.perf_counter()
        if document is None:
            document = self.input_document(**sources)
        elif sources:
            raise TypeError("give either an input document or its sources, not both")
        elif not isinstance(document, InputDocument):
            document = load_input_document(document)
        canonical = canonical_json(document)
        eval_started = time.perf_counter_ns()
        raw = self.engine.evaluate_json(canonical)
        eval_ns = time.perf_counter_ns() - eval_started
        decision = self._decision(raw, input_digest(canonical))
        audit = self.config.settings["audit"]
        if audit["enabled"]:
            self.write_audit_event(self.audit_event(decision, document, time.perf_counter() - started))
        if audit["decision_log"] is not None:
            metrics = {"timer_rego_query_eval_ns": eval_ns,
                       "timer_aigate_evaluate_ns": int((time.perf_counter() - started) * 1e9)}
            self._append_jsonl(audit["decision_log"], json.dumps(self.decision_log(decision, document, metrics)))
        return decision

    def decision_log(self, decision: Decision, document: InputDocument, metrics: dict[str, int]) -> dict[str, Any]:
        """The decision as an OPA decision-log event, redacted as the `audit` config says."""
        from aigate.decision_log import decision_log_record  # imports importlib.metadata: only when logging

        audit = self.config.settings["audit"]
        return decision_log_record(
            decision_id=decision.decision_id,
            path=DECISION_PATH,
            input_document=document.model_dump(mode="json"),
            result=decision.model_dump(mode="json"),
            bundles={"aigate": decision.policy_revision},
            metrics=metrics,
            input_mode=audit["input"],
            redact=audit["redact"],
        )

    def _decision(self, raw: Mapping[str, Any], digest: str) -> Decision:
        from aigate._decision_check import decision_problem

        problem = decision_problem(raw)
        if problem is not None:
            raise PolicyError(f"data.aigate.decision is not a valid decision: {problem} ({self.engine.where})")
        try:
            detection = dict(raw["detection"])
            detection["signals"] = sorted(
                detection.get("signals") or [], key=lambda s: (s["kind"], s["value"], s["pattern"])
            )
            for kinds in ("checked", "matched", "unchecked"):
                detection[kinds] = sorted(detection.get(kinds) or [])
            violations = sorted(
                raw.get("violations") or [],
                key=lambda v: (_LAYER_ORDER.get(v["layer"], 99), v["rule"], v.get("path") or "", v["message"]),
            )
            return Decision.model_validate(
                {
                    "outcome": raw["outcome"],
                    "is_ai": raw["is_ai"],
                    "detection": detection,
                    "violations": violations,
                    "risk": raw.get("risk"),
                    "engine": self.engine.name,
                    "policy_revision": self.engine.bundle_revision,
                    "config_digest": self.config.digest,
                    "input_digest": digest,
                    "decision_id": self.engine.decision_id or str(uuid.uuid4()),
                }
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise PolicyError(f"data.aigate.decision is not a valid decision: missing or malformed {e}") from e
        except ValidationError as e:
            raise PolicyError(f"data.aigate.decision is not a valid decision: {first_validation_problem(e)}") from e

    def audit_event(self, decision: Decision, document: InputDocument, duration_s: float = 0.0) -> AuditEvent:
        """The structured audit record of a decision, redacted as the `audit` config says."""
        audit = self.config.settings["audit"]
        pr = document.pr
        full_input = None
        if audit["input"] == "full":
            full_input, _ = redact(document.model_dump(mode="json"), audit["redact"])
        return AuditEvent(
            timestamp=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            decision_id=decision.decision_id,
            outcome=decision.outcome,
            is_ai=decision.is_ai,
            signal_kinds=tuple(sorted({signal.kind for signal in decision.detection.signals})),
            violations=tuple(
                AuditViolation(rule=v.rule, layer=v.layer, severity=v.severity, path=v.path, blocking=v.blocking)
                for v in decision.violations
            ),
            risk_score=decision.risk.score if decision.risk else None,
            risk_tier=decision.risk.tier if decision.risk else None,
            pr=AuditPullRequest(
                number=pr.number,
                url=pr.url,
                author=pr.author.login,
                head_branch=pr.head_branch,
                base_branch=pr.base_branch,
            ),
            engine=decision.engine,
            policy_revision=decision.policy_revision,
            config_digest=decision.config_digest,
            input_digest=decision.input_digest if audit["input"] != "none" else "",
            input=full_input,
            duration_ms=round(duration_s * 1000, 3),
        )

    def write_audit_event(self, event: AuditEvent) -> None:
        """Append the event to the configured JSON Lines file. A failure to audit is an error."""
        path = self.config.settings["audit"]["path"]
        if path is not None:
            self._append_jsonl(path, event.model_dump_json())

    def _append_jsonl(self, path: str, line: str) -> None:
        target = self.config.resolve(path)
        try:
            with target.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as e:
            raise ConfigError(f"audit: {target}: cannot append: {e.strerror or e}") from e

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
