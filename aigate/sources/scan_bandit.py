"""bandit JSON (`bandit -r SRC -f json`): `results`, `errors`, `metrics`.

Severity: HIGH → high, MEDIUM → medium, LOW → low, UNDEFINED → info (`issue_confidence` is kept in the
message). The offending source (`code`) is never read.
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

FORMAT = "bandit"
TOOL = "bandit"
CATEGORIES = ("sast",)
SEVERITIES: dict[str, Severity] = {"high": "high", "medium": "medium", "low": "low", "undefined": "info"}


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("results"), list) and "metrics" in data and (
        "generated_at" in data or "errors" in data
    )


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    findings = []
    for index, result in enumerate(items(get(report, "results", list, source, "(top level)"), source, "results")):
        where = f"results[{index}]"
        result = mapping(result, source, where)
        rule_id = get(result, "test_id", str, source, where)
        name = get(result, "test_name", str, source, where, required=False, default="")
        severity, tool_severity = mapped_severity(get(result, "issue_severity", str, source, where), SEVERITIES, "info")
        confidence = get(result, "issue_confidence", str, source, where, required=False, default="")
        path = relative_path(get(result, "filename", str, source, where))
        line = line_number(get(result, "line_number", int, source, where, required=False))
        text = get(result, "issue_text", str, source, where, required=False, default="")
        findings.append(Finding(
            tool=TOOL, category="sast", severity=severity, tool_severity=tool_severity,
            rule_id=rule_id,
            message=((f"{name}: " if name else "") + " ".join(text.split())
                     + (f" (confidence {confidence.lower()})" if confidence else ""))[:500],
            path=path, line=line, fingerprint=fingerprint(TOOL, rule_id, path, line),
        ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))
