"""SARIF 2.1.0 for code-scanning upload: one result per violation at its file, one rule per rule id
with help text. Validated in the tests against the official OASIS SARIF 2.1.0 JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from aigate.models import Decision, Severity, Violation
from aigate.render._rules import location_of, rule_help, rules_of, violation_line
from aigate.render.interface import Renderer

__all__ = ["SarifRenderer"]

_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# GitHub code scanning ranks security results by this property (a CVSS-like 0.0-10.0 score).
_SECURITY_SEVERITY: dict[Severity, str] = {
    "critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0",
}


def _level(violation: Violation) -> str:
    # A blocking violation is an error; one reported in warn mode a warning; observe mode a note.
    return {"block": "error", "warn": "warning", "observe": "note"}[violation.mode]


class SarifRenderer(Renderer):
    name = "sarif"

    def render(self, decision: Decision) -> str:
        from aigate import __version__

        rules = rules_of(decision)
        index = {rule: i for i, rule in enumerate(rules)}
        severity_of: dict[str, Severity] = {}
        for violation in decision.violations:
            severity_of.setdefault(violation.rule, violation.severity)
        log: dict[str, Any] = {
            "$schema": _SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "aigate",
                            "version": __version__,
                            "rules": [self._rule(rule, severity_of[rule]) for rule in rules],
                        }
                    },
                    "automationDetails": {"id": f"aigate/{decision.decision_id}"},
                    "invocations": [{"executionSuccessful": True}],
                    "results": [self._result(v, index[v.rule]) for v in decision.violations],
                    "properties": {
                        "outcome": decision.outcome,
                        "is_ai": decision.is_ai,
                        "risk_score": decision.risk.score if decision.risk else None,
                        "risk_tier": decision.risk.tier if decision.risk else None,
                        "approvals": decision.risk.approvals if decision.risk else 0,
                        "policy_revision": decision.policy_revision,
                        "config_digest": decision.config_digest,
                        "config_source": decision.config_source,
                    },
                }
            ],
        }
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def _rule(rule: str, severity: Severity) -> dict[str, Any]:
        text = rule_help(rule)
        return {
            "id": rule,
            "name": "".join(part.capitalize() for part in rule.split("_")),
            "shortDescription": {"text": text.short},
            "fullDescription": {"text": text.help},
            "help": {"text": text.help, "markdown": text.help},
            "defaultConfiguration": {"level": "error" if severity in ("critical", "high") else "warning"},
            "properties": {"tags": ["security", "aigate"], "security-severity": _SECURITY_SEVERITY[severity]},
        }

    @staticmethod
    def _result(violation: Violation, rule_index: int) -> dict[str, Any]:
        return {
            "ruleId": violation.rule,
            "ruleIndex": rule_index,
            "level": _level(violation),
            "message": {"text": violation.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(location_of(violation)), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": violation_line(violation)},
                    }
                }
            ],
            "properties": {
                "layer": violation.layer,
                "severity": violation.severity,
                "mode": violation.mode,
                "blocking": violation.blocking,
            },
        }


def _uri(path: str) -> str:
    """A repository path as a relative URI reference: every byte outside RFC 3986's unreserved and
    path characters percent-encoded (a space, `#`, `?` or `%` in a file name must not end the path)."""
    from urllib.parse import quote

    return quote(path, safe="/-._~!$&'()*+,;=:@")
