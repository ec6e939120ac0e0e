"""GitHub secret-scanning alerts JSON: the REST API's "list secret scanning alerts" response
(`gh api repos/OWNER/REPO/secret-scanning/alerts`), a list of alerts.

Open alerts only (a resolved alert is closed). Severity: `critical` when GitHub found the secret still
active (`validity: active`) or push protection was bypassed, else `high`. `secret` is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.models import Finding
from aigate.sources._scan_common import (
    ScanResult,
    SecretScrubber,
    fingerprint,
    get,
    line_number,
    mapping,
    relative_path,
    secret_hash,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "github-secret-scanning"
TOOL = "github-secret-scanning"
CATEGORIES = ("secret",)


def looks_like(data: Any) -> bool:
    return (
        isinstance(data, list) and bool(data) and isinstance(data[0], Mapping)
        and "secret_type" in data[0] and "number" in data[0]
    )


def parse(data: Any, *, source: str) -> ScanResult:
    if not isinstance(data, list):
        from aigate.errors import ScanError

        raise ScanError(source, "a GitHub secret-scanning alerts report is a JSON list of alerts")
    alerts = [mapping(alert, source, f"alert {index}") for index, alert in enumerate(data)]
    scrub = SecretScrubber(alert.get("secret") for alert in alerts)
    findings = []
    for index, alert in enumerate(alerts):
        where = f"alert {index}"
        number = get(alert, "number", int, source, where)
        state = get(alert, "state", str, source, where)
        if state != "open":
            continue
        kind = scrub.text(get(alert, "secret_type", str, source, where))
        display = scrub.text(get(alert, "secret_type_display_name", str, source, where, required=False, default=kind))
        validity = get(alert, "validity", str, source, where, required=False, default="")
        bypassed = alert.get("push_protection_bypassed") is True
        location = alert.get("first_location_detected")
        details = location if isinstance(location, Mapping) else {}
        path = scrub(relative_path(details.get("path")))
        line = line_number(details.get("start_line"))
        secret = alert.get("secret")
        hashed = secret_hash(secret) if isinstance(secret, str) and secret else None
        findings.append(Finding(
            tool=TOOL, category="secret", severity="critical" if validity == "active" or bypassed else "high",
            tool_severity=validity, rule_id=kind,
            message=f"{display} (alert #{number}{', push protection bypassed' if bypassed else ''})",
            path=path, line=line, secret_hash=hashed, fingerprint=fingerprint(TOOL, number, kind),
        ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))
