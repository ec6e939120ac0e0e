"""pip-audit JSON (`pip-audit -f json`): `{"dependencies": [{name, version, vulns: [...]}], "fixes": [...]}`
(pip-audit before 2.5 printed the dependency list alone).

pip-audit reports no severity: every vulnerability is `high` (tool_severity empty). Skipped dependencies
(`skip_reason`) carry no finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.models import Finding
from aigate.sources._scan_common import ScanResult, fingerprint, get, items, mapping

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "pip-audit"
TOOL = "pip-audit"
CATEGORIES = ("dependency",)


def looks_like(data: Any) -> bool:
    listed = data.get("dependencies") if isinstance(data, Mapping) else data
    return (
        isinstance(listed, list) and (not isinstance(data, list) or bool(listed))
        and (not listed or (isinstance(listed[0], Mapping) and "name" in listed[0]
                            and ("vulns" in listed[0] or "skip_reason" in listed[0])))
        and (not isinstance(data, Mapping) or set(data) <= {"dependencies", "fixes"})
        and not (isinstance(data, Mapping) and not listed and "fixes" not in data)
    )


def parse(data: Any, *, source: str) -> ScanResult:
    listed = mapping(data, source, "(top level)").get("dependencies") if isinstance(data, Mapping) else data
    findings = []
    audited = 0
    for index, dependency in enumerate(items(listed, source, "dependencies")):
        where = f"dependencies[{index}]"
        dependency = mapping(dependency, source, where)
        audited += "skip_reason" not in dependency
        name = get(dependency, "name", str, source, where)
        version = get(dependency, "version", str, source, where, required=False)
        for vuln_index, vuln in enumerate(items(dependency.get("vulns") or [], source, f"{where}.vulns")):
            vuln = mapping(vuln, source, f"{where}.vulns[{vuln_index}]")
            vuln_id = get(vuln, "id", str, source, f"{where}.vulns[{vuln_index}]")
            aliases = [a for a in vuln.get("aliases") or [] if isinstance(a, str)]
            fixes = [f for f in vuln.get("fix_versions") or [] if isinstance(f, str)]
            message = f"{name} {version or ''} is vulnerable ({', '.join([vuln_id, *aliases])})"
            if fixes:
                message += f"; fixed in {', '.join(fixes)}"
            findings.append(Finding(
                tool=TOOL, category="dependency", severity="high", tool_severity="", rule_id=vuln_id,
                message=" ".join(message.split()), package=name, package_version=version, ecosystem="pypi",
                fingerprint=fingerprint(TOOL, vuln_id, "pypi", name.lower(), version),
            ))
    # A report whose every dependency was skipped (pip-audit could not reach its index) audited nothing: it does
    # not stand for a dependency scan, so `scanning.required: [dependency]` still asks for one.
    covers = CATEGORIES if audited or not listed else ()
    return ScanResult(tool=TOOL, format=FORMAT, categories=covers, findings=tuple(findings))
