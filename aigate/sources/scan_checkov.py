"""checkov JSON (`checkov -d DIR -o json`): one check type's report, a list of them (several frameworks),
or the bare summary checkov prints when it found nothing to scan.

Failed checks only. Severity: checkov's own (CRITICAL, HIGH, MEDIUM, LOW, INFO) when set (it is set with
a platform API key); otherwise `medium` with tool_severity empty. The `secrets` check type is category
secret, every other one iac. `code_block` (the source) is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
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

FORMAT = "checkov"
TOOL = "checkov"
SEVERITIES: dict[str, Severity] = {"critical": "critical", "high": "high", "medium": "medium", "low": "low",
                                   "info": "info"}
_SUMMARY_KEYS = {"passed", "failed", "skipped", "parsing_errors", "resource_count", "checkov_version"}


def looks_like(data: Any) -> bool:
    if isinstance(data, list):
        return bool(data) and all(isinstance(d, Mapping) and "check_type" in d for d in data)
    return isinstance(data, Mapping) and ("check_type" in data or (
        "checkov_version" in data and set(data) <= _SUMMARY_KEYS | {"url"}))


def parse(data: Any, *, source: str) -> ScanResult:
    reports = data if isinstance(data, list) else [data]
    findings: list[Finding] = []
    categories: set[str] = set()
    for r_index, report in enumerate(reports):
        where = f"report {r_index}" if isinstance(data, list) else "(top level)"
        report = mapping(report, source, where)
        if "check_type" not in report:
            if isinstance(data, list) or "checkov_version" not in report:
                raise ScanError(source, f'{where}: missing "check_type"')
            categories.add("iac")  # the summary alone: nothing was scanned
            continue
        check_type = get(report, "check_type", str, source, where)
        category = "secret" if check_type == "secrets" else "iac"
        categories.add(category)
        results = mapping(get(report, "results", Mapping, source, where), source, f"{where}.results")
        for index, check in enumerate(items(results.get("failed_checks") or [], source, f"{where}.failed_checks")):
            c_where = f"{where}.failed_checks[{index}]"
            check = mapping(check, source, c_where)
            check_id = get(check, "check_id", str, source, c_where)
            severity, tool_severity = mapped_severity(check.get("severity"), SEVERITIES, "medium")
            path = relative_path(check.get("repo_file_path") or get(check, "file_path", str, source, c_where))
            lines = check.get("file_line_range")
            line = line_number(lines[0]) if isinstance(lines, list) and lines else None
            resource = get(check, "resource", str, source, c_where, required=False, default="")
            name = get(check, "check_name", str, source, c_where, required=False, default=check_id)
            findings.append(Finding(
                tool=TOOL, category=category, severity=severity, tool_severity=tool_severity or "",
                rule_id=check_id,
                message=(name if category == "secret" else f"{name} ({resource})" if resource else name)[:500],
                path=path, line=line,
                fingerprint=fingerprint(TOOL, check_type, check_id, path, resource if category != "secret" else line),
            ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=tuple(sorted(categories or {"iac"})),
                      findings=tuple(findings))
