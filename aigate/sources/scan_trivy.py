"""trivy JSON (`trivy fs|config|image --format json`, SchemaVersion 2): per target, `Vulnerabilities`,
`Misconfigurations` and `Secrets`.

Severity: trivy's own CRITICAL, HIGH, MEDIUM, LOW; UNKNOWN → high. Passed misconfigurations are left out.
Secrets' `Match` and `Code` are never kept; their text is scrubbed from titles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
from aigate.models import Finding, Severity
from aigate.sources._scan_common import (
    ScanResult,
    SecretScrubber,
    fingerprint,
    get,
    items,
    line_number,
    mapped_severity,
    mapping,
    relative_path,
    secret_hash,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "trivy"
TOOL = "trivy"
SEVERITIES: dict[str, Severity] = {"critical": "critical", "high": "high", "medium": "medium", "low": "low",
                                   "unknown": "high"}
_ECOSYSTEMS = {"pip": "pypi", "pipenv": "pypi", "poetry": "pypi", "uv": "pypi", "npm": "npm", "yarn": "npm",
               "pnpm": "npm", "gomod": "go", "cargo": "cargo", "bundler": "rubygems"}


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and "SchemaVersion" in data and ("ArtifactName" in data or "Results" in data)


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    version = get(report, "SchemaVersion", int, source, "(top level)")
    if version != 2:
        raise ScanError(source, f"trivy report schema version {version} is not supported (2 is)")
    findings: list[Finding] = []
    categories = {"dependency", "iac"}
    for r_index, result in enumerate(items(report.get("Results") or [], source, "Results")):
        where = f"Results[{r_index}]"
        result = mapping(result, source, where)
        target = relative_path(get(result, "Target", str, source, where))
        kind = str(result.get("Type") or "")
        for index, vuln in enumerate(items(result.get("Vulnerabilities") or [], source, f"{where}.Vulnerabilities")):
            findings.append(_vulnerability(mapping(vuln, source, f"{where}.Vulnerabilities[{index}]"), target, kind,
                                           source, f"{where}.Vulnerabilities[{index}]"))
        for index, misconfig in enumerate(items(result.get("Misconfigurations") or [], source,
                                                f"{where}.Misconfigurations")):
            finding = _misconfiguration(mapping(misconfig, source, f"{where}.Misconfigurations[{index}]"), target,
                                        source, f"{where}.Misconfigurations[{index}]")
            if finding is not None:
                findings.append(finding)
        secrets = items(result.get("Secrets") or [], source, f"{where}.Secrets")
        if secrets or result.get("Class") == "secret":
            categories.add("secret")
        for index, secret in enumerate(secrets):
            findings.append(_secret(mapping(secret, source, f"{where}.Secrets[{index}]"), target, source,
                                    f"{where}.Secrets[{index}]"))
    return ScanResult(tool=TOOL, format=FORMAT, categories=tuple(sorted(categories)), findings=tuple(findings))


def _vulnerability(vuln: Mapping[str, Any], target: str | None, kind: str, source: str, where: str) -> Finding:
    vuln_id = get(vuln, "VulnerabilityID", str, source, where)
    name = get(vuln, "PkgName", str, source, where)
    version = get(vuln, "InstalledVersion", str, source, where, required=False)
    severity, tool_severity = mapped_severity(get(vuln, "Severity", str, source, where), SEVERITIES, "high")
    fixed = get(vuln, "FixedVersion", str, source, where, required=False, default="")
    title = get(vuln, "Title", str, source, where, required=False, default="")
    message = f"{name} {version or ''}: {title or vuln_id}" + (f"; fixed in {fixed}" if fixed else "")
    return Finding(
        tool=TOOL, category="dependency", severity=severity, tool_severity=tool_severity, rule_id=vuln_id,
        message=" ".join(message.split())[:500], path=target, package=name, package_version=version,
        ecosystem=_ECOSYSTEMS.get(kind, kind or None),
        fingerprint=fingerprint(TOOL, vuln_id, kind, name, version, target),
    )


def _misconfiguration(check: Mapping[str, Any], target: str | None, source: str, where: str) -> Finding | None:
    if get(check, "Status", str, source, where, required=False, default="FAIL") != "FAIL":
        return None
    check_id = get(check, "ID", str, source, where)
    severity, tool_severity = mapped_severity(get(check, "Severity", str, source, where), SEVERITIES, "high")
    cause = check.get("CauseMetadata")
    line = line_number(cause.get("StartLine")) if isinstance(cause, Mapping) else None
    title = get(check, "Title", str, source, where, required=False, default=check_id)
    message = get(check, "Message", str, source, where, required=False, default="")
    return Finding(
        tool=TOOL, category="iac", severity=severity, tool_severity=tool_severity, rule_id=check_id,
        message=" ".join(f"{title}: {message}".split())[:500] if message else title, path=target, line=line,
        fingerprint=fingerprint(TOOL, check_id, target, line),
    )


def _secret(secret: Mapping[str, Any], target: str | None, source: str, where: str) -> Finding:
    scrub = SecretScrubber()
    scrub.add_matched_text(secret.get("Match"))
    code = secret.get("Code")
    if isinstance(code, Mapping):
        scrub.add_matched_text(*(line.get("Content") for line in code.get("Lines") or [] if isinstance(line, Mapping)))
    rule_id = scrub.text(get(secret, "RuleID", str, source, where))
    severity, tool_severity = mapped_severity(get(secret, "Severity", str, source, where), SEVERITIES, "high")
    line = line_number(secret.get("StartLine"))
    match = secret.get("Match")
    hashed = secret_hash(match) if isinstance(match, str) and match else None
    return Finding(
        tool=TOOL, category="secret", severity=severity, tool_severity=tool_severity, rule_id=rule_id,
        message=scrub.text(get(secret, "Title", str, source, where, required=False, default=rule_id))[:500],
        path=scrub(target), line=line, secret_hash=hashed,
        fingerprint=fingerprint(TOOL, rule_id, scrub(target), line),
    )
