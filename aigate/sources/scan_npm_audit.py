"""npm audit JSON of npm 7 and later (`npm audit --json`, `auditReportVersion: 2`).

One finding per vulnerable package (as npm counts them), with npm's own severity: critical, high,
moderate → medium, low, info. Its advisories (GHSA ids) are the rule id; a package vulnerable only
through another one names that package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
from aigate.models import Finding, Severity
from aigate.sources._scan_common import ScanResult, fingerprint, get, mapped_severity, mapping

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "npm-audit"
TOOL = "npm-audit"
CATEGORIES = ("dependency",)
SEVERITIES: dict[str, Severity] = {"critical": "critical", "high": "high", "moderate": "medium", "low": "low",
                                   "info": "info"}


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and "auditReportVersion" in data


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    version = get(report, "auditReportVersion", int, source, "(top level)")
    if version != 2:
        raise ScanError(source, f"npm audit report version {version} is not supported (npm 7 and later write 2)")
    vulnerabilities = get(report, "vulnerabilities", Mapping, source, "(top level)")
    findings = []
    for key, entry in sorted(vulnerabilities.items()):
        where = f"vulnerabilities[{key!r}]"
        entry = mapping(entry, source, where)
        name = get(entry, "name", str, source, where, required=False, default=key)
        severity, tool_severity = mapped_severity(get(entry, "severity", str, source, where), SEVERITIES, "high")
        advisories = [via for via in entry.get("via") or [] if isinstance(via, Mapping)]
        through = sorted({via for via in entry.get("via") or [] if isinstance(via, str)})
        ids = sorted({_advisory_id(via) for via in advisories})
        rule_id = ", ".join(ids) if ids else f"via {', '.join(through)}"
        titles = sorted({str(via.get("title")) for via in advisories if via.get("title")})
        vulnerable = get(entry, "range", str, source, where, required=False, default="")
        message = f"{name} {vulnerable}: {'; '.join(titles) if titles else 'vulnerable through ' + ', '.join(through)}"
        findings.append(Finding(
            tool=TOOL, category="dependency", severity=severity, tool_severity=tool_severity, rule_id=rule_id,
            message=" ".join(message.split())[:500], package=name, ecosystem="npm",
            path=_manifest(entry), fingerprint=fingerprint(TOOL, "npm", name, rule_id, vulnerable),
        ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))


def _advisory_id(via: Mapping[str, Any]) -> str:
    url = str(via.get("url") or "")
    return url.rstrip("/").rsplit("/", 1)[-1] if url else str(via.get("source") or via.get("name") or "advisory")


def _manifest(entry: Mapping[str, Any]) -> str | None:
    return "package-lock.json" if entry.get("nodes") else None
