"""`Gate`: from a pull request's sources to a decision, on one compiled engine."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aigate._input_document import canonical_json, document_data, input_digest, load_input_document
from aigate.config import GateConfig, load_config
from aigate.engines.connection import OpaConnection, parse_urls
from aigate.engines.interface import DECISION_PATH, Engine, PolicySet
from aigate.engines.opa_binary import ENV_OPA_URL
from aigate.engines.select import EngineKind, create_engine
from aigate.errors import ConfigError, PolicyError
from aigate.models import Decision, InputDocument
from aigate.sources._io import first_validation_problem

if TYPE_CHECKING:
    from aigate.audit import AuditEvent, AuditTrail
    from aigate.scanning import PendingSecretCheck, ScanningOptions

__all__ = ["Gate"]

_LAYER_ORDER = {"paths": 0, "scope": 1, "tests": 2, "scanning": 3, "sandbox": 4, "risk": 5}


# From this many characters of canonical JSON, the digest is hashed in a thread beside the engine.
_HASHED_BESIDE_ENGINE = 1 << 20


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
        if policies is None:
            from aigate.custom_policies import gate_policy_set

            # policy.custom_dir's modules next to the built-in (or trusted base) policies.
            policies = gate_policy_set(self.config)
        self.policies = policies
        if engine is None or isinstance(engine, str):
            engine = self._create_engine(engine, opa_url, connection)
        self.engine = engine
        self._audit_trail: AuditTrail | None = None
        # One trail per gate, however many threads evaluate at first: each trail would start a chain of its
        # own (two sequence 1s in one stream) and hold sink connections that close() never closes.
        self._audit_lock = threading.Lock()

    @property
    def audit(self) -> AuditTrail:
        """The audit trail of this gate's config: record reviews and merges on it (`record_review`, `record_merge`)."""
        with self._audit_lock:
            if self._audit_trail is None:
                from aigate.audit import AuditTrail  # sinks and their drivers: only when auditing

                self._audit_trail = AuditTrail.from_config(self.config)
            return self._audit_trail

    def _create_engine(
        self, kind: EngineKind | None, opa_url: str | Sequence[str] | None, connection: OpaConnection | None
    ) -> Engine:
        settings = self.config.settings["policy"]["engine"]
        kind = kind or settings["backend"]
        if connection is None:
            # CI's environment outranks any file: CI's token must only ever go to CI's server.
            env_urls = None if kind == "embedded" else os.environ.get(ENV_OPA_URL) or None
            connection = OpaConnection.from_settings(settings, self.config.input_path, urls=opa_url or env_urls)
        elif opa_url:
            connection = replace(connection, urls=parse_urls(opa_url))
        return create_engine(kind, self.policies, self.config, connection=connection)

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> Gate:
        """A gate for a `.ai-code-gate.yml`; `None` uses the defaults."""
        return cls(load_config(path), **kwargs)

    def input_document(self, **sources: Any) -> InputDocument:
        """Normalise the given sources (those `build_input_document` takes) into the input document the
        policies see, with the scanning options of this gate's config unless `scanning` is given."""
        # Normalising sources (diffs, repositories, scanner reports) is imported only here: a ready
        # document (`aigate evaluate --input`) needs none of it.
        from aigate.document import build_input_document

        if sources.get("scanning") is None:
            sources["scanning"] = self.scanning_options
        return build_input_document(**sources)

    @cached_property
    def scanning_options(self) -> ScanningOptions:
        from aigate.scanning import ScanningOptions

        config = self.config
        return ScanningOptions.from_settings(config.settings["scanning"], config.base_dir, config.input_dir)

    def evaluate(
        self,
        document: InputDocument | Mapping[str, Any] | Path | None = None,
        *,
        correlation_id: str | None = None,
        prompt: str | None = None,
        **sources: Any,
    ) -> Decision:
        """Decide on one PR: give a ready input document, or the sources `input_document` takes.

        With `audit.enabled`, the evaluation's audit events go to every configured sink before the decision
        is returned; a sink that fails raises `AuditError` (no decision without its record).
        `correlation_id` overrides the one derived from the PR; `prompt` (the agent's prompt) reaches only
        the audit trail, as a SHA-256 unless `audit.store_prompts` is true."""
        started = time.perf_counter()
        # From the command line, aigate's secret check of a large PR goes on in a forked helper while the engine
        # decides on the document without its findings (most PRs have none); when it finds some, the engine
        # decides again on the whole document. Either way the decision is the whole document's. The embedded
        # engine only: an OPA server would log the first decision as one of its own.
        pending: list[PendingSecretCheck] = []
        try:
            if document is None:
                from aigate.document import require_diff_source

                deferred = pending.append if self.engine.name == "embedded" else None
                document = self.input_document(**sources, defer_secret_check=deferred)
                require_diff_source(sources.get("diff"), sources.get("repo"))
            elif sources:
                raise TypeError("give either an input document or its sources, not both")
            elif not isinstance(document, InputDocument):
                document = load_input_document(document)
            if document.evaluated_on is None and self.config.data["exceptions"]:
                # Exceptions expire by the day: the evaluation's day is part of the input (UTC).
                document = document.model_copy(update={"evaluated_on": datetime.now(UTC).date().isoformat()})
            digest, raw, eval_ns = self._evaluated(document, beside_engine=pending)
            for check in pending:
                whole = check.completed(document)
                if whole is not document:
                    document = whole
                    digest, raw, eval_ns = self._evaluated(document)
        finally:
            for check in pending:
                check.cancel()
        decision = self._decision(raw, digest, document.config_change)
        audit = self.config.settings["audit"]
        if audit["enabled"]:
            self.audit.record_evaluation(decision, document, duration_s=time.perf_counter() - started,
                                         correlation_id=correlation_id, prompt=prompt)
        if audit["decision_log"] is not None:
            metrics = {"timer_rego_query_eval_ns": eval_ns,
                       "timer_aigate_evaluate_ns": int((time.perf_counter() - started) * 1e9)}
            self._append_jsonl(audit["decision_log"], json.dumps(self.decision_log(decision, document, metrics)))
        return decision

    def _evaluated(
        self, document: InputDocument, beside_engine: Sequence[PendingSecretCheck] = ()
    ) -> tuple[str, Mapping[str, Any], int]:
        """The document's digest, the engine's raw decision on it, and the evaluation's nanoseconds.
        `beside_engine`: checks started once the JSON is written, to run while the engine works."""
        canonical = canonical_json(document)
        for check in beside_engine:
            check.start()
        digest: list[str] = []
        hashing = None
        if len(canonical) >= _HASHED_BESIDE_ENGINE:
            # SHA-256 runs without the GIL, so a large document is hashed while the engine decides (5 ms for a
            # 10,000-file PR's 4.6 MB, once after it). Started after the secret check's fork: none runs yet.
            hashing = threading.Thread(target=lambda: digest.append(input_digest(canonical)), daemon=True)
            hashing.start()
        try:
            eval_started = time.perf_counter_ns()
            raw = self.engine.evaluate_json(canonical)
            eval_ns = time.perf_counter_ns() - eval_started
        finally:
            if hashing is not None:
                hashing.join()
        return (digest[0] if digest else input_digest(canonical)), raw, eval_ns

    def decision_log(self, decision: Decision, document: InputDocument, metrics: dict[str, int]) -> dict[str, Any]:
        """The decision as an OPA decision-log event, redacted as the `audit` config says."""
        from aigate.decision_log import decision_log_record  # imports importlib.metadata: only when logging

        audit = self.config.settings["audit"]
        input_document = document_data(document)
        pointers = list(audit["redact"])
        if pointers or document.findings:
            # What derives from a redacted field goes too: its NFKC form in the input, and its echoes in the
            # result (violation messages and paths, signal values), as in the audit trail.
            from aigate.audit.build import Scrubber, scrub_decision

            scrubber = Scrubber(document, pointers)
            if "nfkc" in scrubber.redacted:
                input_document["nfkc"] = scrubber.redacted["nfkc"]
            decision = scrub_decision(decision, scrubber)
            pointers = scrubber.pointers  # with the trailers of redacted messages and secret findings' messages
        return decision_log_record(
            decision_id=decision.decision_id,
            path=DECISION_PATH,
            input_document=input_document,
            result=decision.model_dump(mode="json"),
            bundles={"aigate": decision.policy_revision},
            metrics=metrics,
            input_mode=audit["input"],
            redact=pointers,
        )

    def _decision(self, raw: Mapping[str, Any], digest: str, config_change: str | None = None) -> Decision:
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
                    "config_source": self.config.config_source,
                    "config_change": config_change,
                    **{key: raw[key] for key in ("agent", "exceptions", "required_reviewers", "custom") if key in raw},
                }
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise PolicyError(f"data.aigate.decision is not a valid decision: missing or malformed {e}") from e
        except ValidationError as e:
            raise PolicyError(f"data.aigate.decision is not a valid decision: {first_validation_problem(e)}") from e

    def audit_events(self, decision: Decision, document: InputDocument, duration_s: float = 0.0, *,
                     correlation_id: str | None = None, prompt: str | None = None) -> list[AuditEvent]:
        """The typed audit events of a decision (not yet chained or stored), redacted as the `audit` config says."""
        return self.audit.evaluation_events(decision, document, duration_s=duration_s,
                                            correlation_id=correlation_id, prompt=prompt)

    def _append_jsonl(self, path: str, line: str) -> None:
        # Checked against the repository and state folder: a config cannot send the trail elsewhere.
        target = self.config.written_path(path, "audit")
        try:
            # One unbuffered O_APPEND write per record: a buffered text file writes a record over 8 KiB in
            # several calls, between which another thread's or process's record could land.
            with target.open("ab", buffering=0) as handle:
                handle.write((line + "\n").encode("utf-8"))
        except OSError as e:
            raise ConfigError(f"audit: {target}: cannot append: {e.strerror or e}") from e

    def close(self) -> None:
        if self._audit_trail is not None:
            self._audit_trail.close()
        self.engine.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
