"""SARIF 2.1.0 from any tool (semgrep, CodeQL, bandit, trivy, checkov, gitleaks …).

Severity: a numeric `security-severity` property (on the result or its rule) maps like a CVSS score;
otherwise the result's `level` (else the rule's default level, else SARIF's default `warning`):
error → high, warning → medium, note → low, none → info. Category: from the tool and rule tags
(secret, vulnerability/dependency, misconfiguration/iac), else sast. Suppressed results are left out.
Code snippets (`region.snippet`, `contextRegion`) are never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

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
    end_lines: list[int | None] = []
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
        bases = run.get("originalUriBaseIds")
        bases = bases if isinstance(bases, Mapping) else {}
        categories.add(_tool_category(tool))
        for index, result in enumerate(items(run.get("results") or [], source, f"{where}.results")):
            finding = _finding(mapping(result, source, f"{where}.results[{index}]"), tool, rules, bases, source,
                               f"{where}.results[{index}]")
            if finding is not None:
                findings.append(finding)
                end_lines.append(_end_line(result))
                categories.add(finding.category)
    name = tools[0].lower() if len(set(tools)) == 1 else "sarif"
    return ScanResult(tool=name, format=FORMAT, categories=tuple(sorted(categories or {"sast"})),
                      findings=tuple(findings), end_lines=tuple(end_lines))


class _Rules(NamedTuple):
    """A run's rules: the driver's, and each tool extension's (CodeQL query packs), by component."""

    driver: list[Mapping[str, Any]]
    extensions: list[list[Mapping[str, Any]]]
    extension_names: list[object]


def _rules(driver: Mapping[str, Any], run: Mapping[str, Any], source: str, where: str) -> _Rules:
    listed = items(driver.get("rules") or [], source, f"{where}.tool.driver.rules")
    extensions = list(mapping(run.get("tool"), source, f"{where}.tool").get("extensions") or [])
    return _Rules(
        driver=[r for r in listed if isinstance(r, Mapping)],
        extensions=[[r for r in (e.get("rules") or []) if isinstance(r, Mapping)] if isinstance(e, Mapping) else []
                    for e in extensions],  # fmt: skip
        extension_names=[e.get("name") if isinstance(e, Mapping) else None for e in extensions],
    )


def _finding(result: Mapping[str, Any], tool: str, rules: _Rules, bases: Mapping[str, Any], source: str,
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
    path, line = _location(result, bases)
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


def _rule_of(result: Mapping[str, Any], rules: _Rules) -> Mapping[str, Any] | None:
    """The result's rule (SARIF 3.27.6-7, 3.52): `rule.index` or `ruleIndex` in the rules of the component
    `rule.toolComponent` names (the driver's when none), and only if its id is the result's rule id. Looked up
    in one list of every component's rules, a CodeQL result of the second query pack took the severity of the
    first pack's rule at its index (a critical finding read as low)."""
    reference = result.get("rule")
    reference = reference if isinstance(reference, Mapping) else {}
    component = reference.get("toolComponent")
    listed = rules.driver
    if isinstance(component, Mapping):
        position = component.get("index")
        if not isinstance(position, int) and component.get("name") in rules.extension_names:
            position = rules.extension_names.index(component.get("name"))
        known = isinstance(position, int) and 0 <= position < len(rules.extensions)
        listed = rules.extensions[position] if known and isinstance(position, int) else []
    rule_id = result.get("ruleId") or reference.get("id")
    index = reference.get("index", result.get("ruleIndex"))
    if isinstance(index, int) and 0 <= index < len(listed):
        candidate = listed[index]
        if not rule_id or candidate.get("id") == rule_id:
            return candidate
    if not rule_id:
        return None
    everywhere = [listed, rules.driver, *rules.extensions]
    return next((r for group in everywhere for r in group if r.get("id") == rule_id), None)


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


def _physical_location(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The result's first physical location: the one a finding is placed at."""
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation") if isinstance(location, Mapping) else None
        if isinstance(physical, Mapping):
            return physical
    return None


def _region_line(physical: Mapping[str, Any] | None, key: str) -> int | None:
    region = physical.get("region") if physical is not None else None
    return line_number(region.get(key)) if isinstance(region, Mapping) else None


def _location(result: Mapping[str, Any], bases: Mapping[str, Any]) -> tuple[str | None, int | None]:
    physical = _physical_location(result)
    if physical is None:
        return None, None
    artifact = physical.get("artifactLocation")
    uri = _artifact_uri(artifact, bases) if isinstance(artifact, Mapping) else None
    return relative_path(uri), _region_line(physical, "startLine")


def _end_line(result: Mapping[str, Any]) -> int | None:
    """The last line of the result's first physical location (`region.endLine`), if it says."""
    return _region_line(_physical_location(result), "endLine")


def _artifact_uri(artifact: Mapping[str, Any], bases: Mapping[str, Any]) -> str | None:
    """An artifact's path (SARIF 3.4): its `uri` below the base its `uriBaseId` names in the run's
    `originalUriBaseIds` (chained), percent-decoded, a `file://` URI as its path. Taken as written,
    `src/my%20dir/x.py`, `file:///ws/src/x.py` and a base of `src/` named no changed file."""
    uri = artifact.get("uri")
    if not isinstance(uri, str):
        return None
    base_id = artifact.get("uriBaseId")
    seen: set[str] = set()
    while isinstance(base_id, str) and base_id not in seen and not urlsplit(uri).scheme:
        seen.add(base_id)
        base = bases.get(base_id)
        if not isinstance(base, Mapping):
            break  # a base the report does not define (%SRCROOT%): the uri is relative to the checkout
        prefix = base.get("uri")
        if isinstance(prefix, str) and prefix:
            uri = prefix + ("" if prefix.endswith("/") else "/") + uri
        base_id = base.get("uriBaseId")
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return unquote(parts.path)
    return None if parts.scheme else unquote(uri)
