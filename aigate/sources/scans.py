"""Scanner reports by format: detected from the content, or named (`--scan TOOL=FILE`).

An unknown, malformed or truncated report is an error naming the file, never silently empty; an empty
but valid report is zero findings. No error message quotes a report's content (it may hold secrets).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aigate.errors import ScanError
from aigate.models import Dependency, Finding
from aigate.sources import (
    scan_bandit,
    scan_checkov,
    scan_cobertura,
    scan_coverage_py,
    scan_detect_secrets,
    scan_github_secret_scanning,
    scan_gitleaks,
    scan_junit,
    scan_native,
    scan_npm_audit,
    scan_osv_scanner,
    scan_pip_audit,
    scan_sarif,
    scan_semgrep,
    scan_trivy,
    scan_trufflehog,
)
from aigate.sources._io import DuplicateKeyError, loads_unique, read_text
from aigate.sources._scan_common import ScanResult

__all__ = ["SCAN_FORMATS", "ScanFormat", "ScanSpec", "load_scan", "load_scan_file", "parse_scan_spec", "read_scan"]

ScanParser = Callable[..., ScanResult]


@dataclass(frozen=True)
class ScanFormat:
    name: str
    # How the file is read: one JSON document, JSON lines, or XML.
    syntax: str
    detect: Callable[[Any], bool]
    parse: ScanParser
    # Other names `--scan NAME=FILE` accepts for it.
    aliases: tuple[str, ...] = ()


def _native(data: Any, *, source: str) -> ScanResult:
    findings, dependencies = scan_native.parse_native_scan(data, source=source)
    categories = tuple(sorted({f.category for f in findings}))
    return ScanResult(tool="aigate", format=scan_native.FORMAT, categories=categories, findings=findings,
                      dependencies=dependencies)


def _format(module: ModuleType, syntax: str = "json", aliases: tuple[str, ...] = ()) -> ScanFormat:
    return ScanFormat(module.FORMAT, syntax, module.looks_like, module.parse, aliases)


# In detection order: the first whose detector accepts the content reads it.
SCAN_FORMATS: dict[str, ScanFormat] = {
    f.name: f
    for f in (
        ScanFormat(scan_native.FORMAT, "json", scan_native.looks_like_native, _native, ("native",)),
        _format(scan_sarif, aliases=("codeql",)),
        _format(scan_semgrep),
        _format(scan_bandit),
        _format(scan_detect_secrets, aliases=("detect_secrets",)),
        _format(scan_pip_audit, aliases=("pip_audit",)),
        _format(scan_npm_audit, aliases=("npm", "npm_audit")),
        _format(scan_osv_scanner, aliases=("osv", "osv_scanner")),
        _format(scan_checkov),
        _format(scan_trivy),
        _format(scan_gitleaks),
        _format(scan_github_secret_scanning, aliases=("github", "github-secrets")),
        _format(scan_trufflehog, "jsonl"),
        _format(scan_coverage_py, aliases=("coverage", "coverage.py", "coverage_py")),
        _format(scan_junit, "xml"),
        _format(scan_cobertura, "xml"),
    )
}
_BY_NAME = {alias: f for f in SCAN_FORMATS.values() for alias in (f.name, *f.aliases)}


@dataclass(frozen=True)
class ScanSpec:
    """A report to read: its file, and its format (`auto`: detected from the content)."""

    path: Path
    format: str = "auto"


def parse_scan_spec(spec: str | Path | ScanSpec | tuple[str, str | Path]) -> ScanSpec:
    """`FILE`, `TOOL=FILE`, a Path, or a (tool, file) pair. A `NAME=` prefix that is no format's name is
    part of the file's name."""
    if isinstance(spec, ScanSpec):
        return spec
    if isinstance(spec, tuple):
        tool, path = spec
        return ScanSpec(Path(path), _format_name(tool, str(path)))
    if isinstance(spec, Path):
        return ScanSpec(spec)
    name, sep, rest = spec.partition("=")
    if sep and rest and not Path(spec).exists():
        return ScanSpec(Path(rest), _format_name(name, rest))
    return ScanSpec(Path(spec))


def _format_name(tool: str, source: str) -> str:
    key = tool.strip().lower()
    if key == "auto":
        return "auto"
    if key not in _BY_NAME:
        raise ScanError(source, f"unknown scanner format {tool!r} (supported: {', '.join(sorted(SCAN_FORMATS))})")
    return _BY_NAME[key].name


def load_scan(data: Any, *, source: str, format: str = "auto") -> ScanResult:
    """A report already loaded (a JSON value, JSON lines as a list, or an XML root element)."""
    if format == "auto":
        for candidate in SCAN_FORMATS.values():
            if candidate.detect(data):
                return candidate.parse(data, source=source)
        raise ScanError(source, f"unknown scanner format (supported: {', '.join(sorted(SCAN_FORMATS))};"
                                " name one with --scan TOOL=FILE)")
    named = _BY_NAME[_format_name(format, source)]
    if not named.detect(data):
        # A report of another tool, named wrongly, would be read as a clean one: its results lack the
        # fields this format's parser reads (a semgrep report as osv-scanner's: zero findings, exit 0).
        other = next((f.name for f in SCAN_FORMATS.values() if f is not named and f.detect(data)), None)
        if other is not None:
            raise ScanError(source, f"a {other} report, not {named.name}: name it {other}= (or leave the format out)")
    return named.parse(data, source=source)


def read_scan(text: str, *, source: str, format: str = "auto") -> ScanResult:
    """A report's text: JSON, JSON lines or XML, by its format or its first character."""
    chosen = None if format == "auto" else _BY_NAME[_format_name(format, source)]
    stripped = text.strip()
    if not stripped:
        if chosen is None:
            raise ScanError(source, "empty report: its format cannot be told; name it with --scan TOOL=FILE")
        if chosen.syntax == "xml":
            raise ScanError(source, "empty report: not XML")
        if chosen.syntax == "json":
            raise ScanError(source, "empty report: not JSON")
        return chosen.parse([], source=source)
    syntax = chosen.syntax if chosen else ("xml" if stripped.startswith("<") else "json")
    if syntax == "xml":
        from aigate.sources._xml import parse_xml

        return load_scan(parse_xml(stripped, source), source=source, format=format)
    if syntax == "jsonl":
        return load_scan(_json_lines(stripped, source), source=source, format=format)
    try:
        data = loads_unique(stripped)
    except DuplicateKeyError as e:
        raise ScanError(source, f"duplicate key {e.key!r} in a JSON object") from None
    except RecursionError:
        raise ScanError(source, "JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        if chosen is None and e.msg == "Extra data" and stripped.startswith("{"):
            # Several JSON documents, one a line: JSON lines (trufflehog).
            return load_scan(_json_lines(stripped, source), source=source, format=format)
        if e.msg == "Extra data" and stripped.startswith("["):
            # Lists one after another: `gh api --paginate` prints one list per page.
            return load_scan(_concatenated_lists(stripped, source), source=source, format=format)
        raise ScanError(source, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
    if chosen is None and data == []:
        raise ScanError(source, "empty list: its format cannot be told; name it with --scan TOOL=FILE")
    return load_scan(data, source=source, format=format)


def load_scan_file(path: Path, *, format: str = "auto") -> ScanResult:
    return read_scan(read_text(path, ScanError), source=str(path), format=format)


def load_scans(specs: Iterable[str | Path | ScanSpec | tuple[str, str | Path]]) -> list[ScanResult]:
    results = []
    for spec in specs:
        parsed = parse_scan_spec(spec)
        results.append(load_scan_file(parsed.path, format=parsed.format))
    return results


def findings_and_dependencies(result: ScanResult) -> tuple[tuple[Finding, ...], tuple[Dependency, ...]]:
    return result.findings, result.dependencies


def _concatenated_lists(text: str, source: str) -> list[Any]:
    decoder = json.JSONDecoder()
    items: list[Any] = []
    position = 0
    while position < len(text):
        try:
            page, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as e:
            raise ScanError(source, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
        if not isinstance(page, list):
            raise ScanError(source, "expected one JSON list after another (gh api --paginate)")
        items.extend(page)
        while position < len(text) and text[position].isspace():
            position += 1
    return items


def _json_lines(text: str, source: str) -> list[Any]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(loads_unique(line))
        except DuplicateKeyError as e:
            raise ScanError(source, f"duplicate key {e.key!r} in a JSON object on line {number}") from None
        except RecursionError:
            raise ScanError(source, f"JSON nested too deeply on line {number}") from None
        except json.JSONDecodeError as e:
            raise ScanError(source, f"invalid JSON on line {number}, column {e.colno}: {e.msg}") from e
    return records
