"""osv-scanner JSON (`osv-scanner scan --format json …`): `results[].packages[].vulnerabilities/groups`.

One finding per group of aliases (osv-scanner's own de-duplication), else per vulnerability. Severity:
the group's `max_severity` (a CVSS score), else the database's own
label (CRITICAL, HIGH, MODERATE → medium, LOW); none of these → high.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.models import Finding, Severity
from aigate.sources._scan_common import (
    ScanResult,
    cvss_severity,
    fingerprint,
    get,
    items,
    mapped_severity,
    mapping,
    relative_path,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "osv-scanner"
TOOL = "osv-scanner"
CATEGORIES = ("dependency",)
LABELS: dict[str, Severity] = {"critical": "critical", "high": "high", "moderate": "medium", "medium": "medium",
                               "low": "low"}
_ECOSYSTEMS = {"PyPI": "pypi", "npm": "npm", "Go": "go", "crates.io": "cargo", "RubyGems": "rubygems"}


def looks_like(data: Any) -> bool:
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
        return False
    results = data["results"]
    if not results:
        return "experimental_config" in data or set(data) <= {"results"}
    return isinstance(results[0], Mapping) and "packages" in results[0] and "source" in results[0]


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    findings = []
    for r_index, result in enumerate(items(get(report, "results", list, source, "(top level)"), source, "results")):
        where = f"results[{r_index}]"
        result = mapping(result, source, where)
        origin = result.get("source")
        manifest = relative_path(origin.get("path")) if isinstance(origin, Mapping) else None
        for p_index, package in enumerate(items(result.get("packages") or [], source, f"{where}.packages")):
            p_where = f"{where}.packages[{p_index}]"
            package = mapping(package, source, p_where)
            info = mapping(get(package, "package", Mapping, source, p_where), source, f"{p_where}.package")
            name = get(info, "name", str, source, f"{p_where}.package")
            version = get(info, "version", str, source, f"{p_where}.package", required=False)
            ecosystem = str(info.get("ecosystem") or "")
            vulns = {
                v.get("id"): v
                for v in items(package.get("vulnerabilities") or [], source, f"{p_where}.vulnerabilities")
                if isinstance(v, Mapping)
            }
            groups = [g for g in package.get("groups") or [] if isinstance(g, Mapping)] or [
                {"ids": [vuln_id]} for vuln_id in vulns
            ]
            for group in groups:
                ids = sorted(str(i) for i in group.get("ids") or [])
                severity, tool_severity = _severity(group, [vulns[i] for i in ids if i in vulns])
                summaries = sorted({str(vulns[i]["summary"]) for i in ids if vulns.get(i, {}).get("summary")})
                findings.append(Finding(
                    tool=TOOL, category="dependency", severity=severity, tool_severity=tool_severity,
                    rule_id=", ".join(ids), message=" ".join(
                        f"{name} {version or ''}: {'; '.join(summaries) or ', '.join(ids)}".split())[:500],
                    path=manifest, package=name, package_version=version,
                    ecosystem=_ECOSYSTEMS.get(ecosystem, ecosystem.lower() or None),
                    fingerprint=fingerprint(TOOL, ecosystem, name, version, ",".join(ids)),
                ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))


def _severity(group: Mapping[str, Any], vulns: list[Mapping[str, Any]]) -> tuple[Severity, str]:
    score = group.get("max_severity")
    try:
        if score not in (None, ""):
            return cvss_severity(float(str(score))), str(score)
    except ValueError:
        pass
    for vuln in vulns:
        specific = vuln.get("database_specific")
        label = specific.get("severity") if isinstance(specific, Mapping) else None
        if isinstance(label, str) and label.lower() in LABELS:
            return mapped_severity(label, LABELS, "high")
    return "high", ""
