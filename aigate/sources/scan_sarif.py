"""SARIF 2.1.0 from any tool (semgrep, CodeQL, bandit, trivy, checkov, gitleaks …).

Severity: a numeric `security-severity` property (on the result or its rule) maps like a CVSS score;
otherwise the result's `level` (else the rule's default level, else SARIF's default `warning`):
error → high, warning → medium, note → low, none → info. Category: from the tool and rule tags
(secret, vulnerability/dependency, misconfiguration/iac), else sast. Suppressed results are left out.
Code snippets (`region.snippet`, `contextRegion`) are never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
from aigate.models import Finding, FindingCategory, Severity
from aigate.sources._scan_common import (
    ScanResult,
    SecretScrubber,
    cvss_severity,
    fingerprint,
    get,
    items,
    line_number,
    mapped_severity,
    mapping,
    relative_path,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "sarif"
LEVELS: dict[str, Severity] = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
_SECRET_TOOLS = {"gitleaks", "trufflehog", "detect-secrets"}
_IAC_TOOLS = {"checkov", "kics", "tfsec", "terrascan"}


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and "runs" in data and (
        str(data.get("version", "")).startswith("2.1") or "sarif" in str(data.get("$schema", ""))
    )


def parse(data: Any, *, source: str) -> ScanResult:
    log = mapping(data, source, "(top level)")
    version = get(log, "version", str, source, "(top level)")
    if version != "2.1.0":
        raise ScanError(source, f"SARIF version {version!r} is not supported (2.1.0 is)")
    findings: list[Finding] = []
    tools: list[str] = []
    categories: set[str] = set()
    for run_index, run in enumerate(items(log["runs"], source, "runs")):
        where = f"runs[{run_index}]"
        run = mapping(run, source, where)
        driver = mapping(mapping(get(run, "tool", Mapping, source, where), source, f"{where}.tool").get("driver"),
                         source, f"{where}.tool.driver")
        tool = get(driver, "name", str, source, f"{where}.tool.driver").strip() or "sarif"
        tools.append(tool)
        rules = _rules(driver, run, source, where)
        categories.add(_tool_category(tool))
        for index, result in enumerate(items(run.get("results") or [], source, f"{where}.results")):
            finding = _finding(mapping(result, source, f"{where}.results[{index}]"), tool, rules, source,
                               f"{where}.results[{index}]")
            if finding is not None:
                findings.append(finding)
                categories.add(finding.category)
    name = tools[0].lower() if len(set(tools)) == 1 else "sarif"
    return ScanResult(tool=name, format=FORMAT, categories=tuple(sorted(categories or {"sast"})),
                      findings=tuple(findings))


def _rules(driver: Mapping[str, Any], run: Mapping[str, Any], source: str, where: str) -> list[Mapping[str, Any]]:
    listed = items(driver.get("rules") or [], source, f"{where}.tool.driver.rules")
    rules = [r for r in listed if isinstance(r, Mapping)]
    # Rules may also come from the run's tool extensions (CodeQL query packs).
    for extension in mapping(run.get("tool"), source, f"{where}.tool").get("extensions") or []:
        if isinstance(extension, Mapping):
            rules.extend(r for r in extension.get("rules") or [] if isinstance(r, Mapping))
    return rules


def _finding(result: Mapping[str, Any], tool: str, rules: list[Mapping[str, Any]], source: str,
             where: str) -> Finding | None:
    if any(isinstance(s, Mapping) and s.get("status", "accepted") == "accepted"
           for s in result.get("suppressions") or []):
        return None
    if result.get("kind") not in (None, "fail", "open", "review"):
        return None  # pass / notApplicable / informational results are not findings
    rule = _rule_of(result, rules)
    rule_id = result.get("ruleId") or (rule.get("id") if rule else None) or ""
    if not isinstance(rule_id, str):
        raise ScanError(source, f'{where}: "ruleId" has the wrong type')
    message = result.get("message")
    text = message.get("text", "") if isinstance(message, Mapping) else ""
    if not isinstance(text, str):
        raise ScanError(source, f'{where}: "message.text" has the wrong type')
    severity, tool_severity = _severity(result, rule)
    category = _category(tool, rule, result)
    path, line = _location(result)
    # A secret scanner's message may quote the match: the snippet's text is scrubbed from it.
    scrub = SecretScrubber()
    if category == "secret":
        for location in result.get("locations") or []:
            region = ((location or {}).get("physicalLocation") or {}).get("region") or {}
            snippet = region.get("snippet") if isinstance(region, Mapping) else None
            if isinstance(snippet, Mapping):
                scrub.add_matched_text(snippet.get("text"))
    partial = result.get("partialFingerprints") or result.get("fingerprints") or {}
    stable = next(iter(sorted(partial.items())), None) if isinstance(partial, Mapping) else None
    rule_id, path = scrub.text(rule_id), scrub(path)
    return Finding(
        tool=tool.lower(), category=category, severity=severity, tool_severity=tool_severity, rule_id=rule_id,
        message=scrub.text(text.strip().splitlines()[0] if text.strip() else rule_id)[:500],
        path=path, line=line, fingerprint=fingerprint(tool.lower(), rule_id, path, line, stable),
    )


def _rule_of(result: Mapping[str, Any], rules: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    index = result.get("ruleIndex")
    if isinstance(index, int) and 0 <= index < len(rules):
        return rules[index]
    rule_id = result.get("ruleId")
    return next((r for r in rules if r.get("id") == rule_id), None)


def _severity(result: Mapping[str, Any], rule: Mapping[str, Any] | None) -> tuple[Severity, str]:
    for properties in (result.get("properties"), (rule or {}).get("properties")):
        if isinstance(properties, Mapping) and "security-severity" in properties:
            try:
                score = float(properties["security-severity"])
            except (TypeError, ValueError):
                continue
            return cvss_severity(score), f"security-severity {properties['security-severity']}"
    level = result.get("level")
    if level is None and rule is not None:
        default = rule.get("defaultConfiguration")
        level = default.get("level") if isinstance(default, Mapping) else None
    return mapped_severity(level or "warning", LEVELS, "medium")


def _category(tool: str, rule: Mapping[str, Any] | None, result: Mapping[str, Any]) -> FindingCategory:
    tags: set[str] = set()
    for properties in (result.get("properties"), (rule or {}).get("properties")):
        if isinstance(properties, Mapping) and isinstance(properties.get("tags"), list):
            tags.update(str(tag).lower() for tag in properties["tags"])
    if "secret" in tags or tool.lower() in _SECRET_TOOLS:
        return "secret"
    if "vulnerability" in tags or "dependency" in tags:
        return "dependency"
    if "misconfiguration" in tags or "iac" in tags or tool.lower() in _IAC_TOOLS:
        return "iac"
    return "sast"


def _tool_category(tool: str) -> str:
    lowered = tool.lower()
    return "secret" if lowered in _SECRET_TOOLS else "iac" if lowered in _IAC_TOOLS else "sast"


def _location(result: Mapping[str, Any]) -> tuple[str | None, int | None]:
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation") if isinstance(location, Mapping) else None
        if not isinstance(physical, Mapping):
            continue
        artifact = physical.get("artifactLocation")
        uri = artifact.get("uri") if isinstance(artifact, Mapping) else None
        region = physical.get("region")
        line = line_number(region.get("startLine")) if isinstance(region, Mapping) else None
        return relative_path(uri), line
    return None, None
