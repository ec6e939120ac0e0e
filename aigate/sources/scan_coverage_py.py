"""coverage.py JSON (`coverage json`): `meta`, `files` (per file `executed_lines`, `missing_lines`), `totals`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
from aigate.sources._scan_common import ScanResult, get, mapping
from aigate.sources.coverage_report import CoverageReport, FileLines

__all__ = ["FORMAT", "looks_like", "parse", "parse_coverage_json"]

FORMAT = "coverage-py"
TOOL = "coverage.py"
CATEGORIES = ("coverage",)


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("meta"), Mapping) and isinstance(
        data.get("files"), Mapping) and "totals" in data


def parse_coverage_json(data: Any, *, source: str) -> CoverageReport:
    """A coverage.py JSON report (already loaded) as per-file line coverage."""
    report = mapping(data, source, "(top level)")
    files = {}
    for path, entry in get(report, "files", Mapping, source, "(top level)").items():
        where = f"files[{path!r}]"
        entry = mapping(entry, source, where)
        files[str(path)] = FileLines(
            executed=_lines(get(entry, "executed_lines", list, source, where), source, where),
            missing=_lines(get(entry, "missing_lines", list, source, where), source, where),
        )
    get(report, "totals", Mapping, source, "(top level)")
    return CoverageReport(tool=TOOL, files=files)


def parse(data: Any, *, source: str) -> ScanResult:
    coverage = parse_coverage_json(data, source=source)
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, coverage=coverage)


def _lines(values: list[Any], source: str, where: str) -> frozenset[int]:
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ScanError(source, f"{where}: line numbers must be integers")
    return frozenset(values)
