"""semgrep JSON (`semgrep scan --json`): `results`, `errors`, `paths`.

Severity: ERROR → high, WARNING → medium, INFO → low; semgrep's newer CRITICAL/HIGH/MEDIUM/LOW levels map
to themselves, EXPERIMENT/INVENTORY → info. Ignored results (`nosemgrep`) are left out. The matched source
(`extra.lines`) is never read; rules whose metadata says they find secrets are category secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.models import Finding, Severity
from aigate.sources._scan_common import (
    ScanResult,
    fingerprint,
    get,
    items,
    line_number,
    mapped_severity,
    mapping,
    relative_path,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "semgrep"
TOOL = "semgrep"
CATEGORIES = ("sast",)
SEVERITIES: dict[str, Severity] = {
    "critical": "critical", "high": "high", "error": "high", "medium": "medium", "warning": "medium",
    "low": "low", "info": "low", "experiment": "info", "inventory": "info",
}


def looks_like(data: Any) -> bool:
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
        return False
    results = data["results"]
    if results:
        return isinstance(results[0], Mapping) and "check_id" in results[0]
    return "errors" in data and ("paths" in data or "version" in data) and "metrics" not in data


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    findings = []
    end_lines: list[int | None] = []
    for index, result in enumerate(items(get(report, "results", list, source, "(top level)"), source, "results")):
        where = f"results[{index}]"
        result = mapping(result, source, where)
        rule_id = get(result, "check_id", str, source, where)
        extra = mapping(get(result, "extra", Mapping, source, where), source, f"{where}.extra")
        if extra.get("is_ignored") is True:
            continue
        severity, tool_severity = mapped_severity(extra.get("severity"), SEVERITIES, "medium")
        start = result.get("start")
        line = line_number(start.get("line")) if isinstance(start, Mapping) else None
        end = result.get("end")
        path = relative_path(get(result, "path", str, source, where))
        metadata = extra.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        secret = "secret" in str(metadata.get("category", "")).lower() or "secrets" in rule_id.split(".")
        message = get(extra, "message", str, source, f"{where}.extra", required=False, default="")
        findings.append(Finding(
            tool=TOOL, category="secret" if secret else "sast", severity=severity, tool_severity=tool_severity,
            rule_id=rule_id,
            # A secret rule's message may interpolate the match: only the rule id is kept then.
            message=rule_id if secret else " ".join(message.split())[:500],
            path=path, line=line, fingerprint=fingerprint(TOOL, rule_id, path, line),
        ))
        end_lines.append(line_number(end.get("line")) if isinstance(end, Mapping) else None)
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings),
                      end_lines=tuple(end_lines))
