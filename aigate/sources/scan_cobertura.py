"""Cobertura XML coverage (`coverage xml`, JaCoCo/Istanbul/gcovr `--cobertura`): `<coverage>` with
`<class filename=…>` and their `<line number hits>`; file names are relative to a `<source>`."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from aigate.errors import ScanError
from aigate.sources._scan_common import ScanResult
from aigate.sources._xml import parse_xml
from aigate.sources.coverage_report import CoverageReport, FileLines

__all__ = ["FORMAT", "looks_like", "parse", "parse_cobertura_xml"]

FORMAT = "cobertura"
TOOL = "cobertura"
CATEGORIES = ("coverage",)


def looks_like(data: Any) -> bool:
    return isinstance(data, Element) and data.tag == "coverage"


def parse_cobertura_xml(data: str | Element, *, source: str) -> CoverageReport:
    """A Cobertura report (its text, or its parsed root) as per-file line coverage."""
    root = parse_xml(data, source) if isinstance(data, str) else data
    if root.tag != "coverage":
        raise ScanError(source, f"expected a Cobertura <coverage> root, found <{root.tag}>")
    executed: dict[str, set[int]] = {}
    missing: dict[str, set[int]] = {}
    for index, cls in enumerate(root.iter("class")):
        filename = cls.get("filename")
        if not filename:
            raise ScanError(source, f"<class> {index + 1}: missing filename")
        for line in cls.iter("line"):
            try:
                number, hits = int(line.get("number", "")), int(float(line.get("hits", "")))
            except ValueError as e:
                raise ScanError(source, f"{filename}: a <line> without an integer number and hits") from e
            (executed if hits > 0 else missing).setdefault(filename, set()).add(number)
    files = {
        name: FileLines(frozenset(executed.get(name, ())), frozenset(missing.get(name, ())) - executed.get(name, set()))
        for name in sorted(set(executed) | set(missing))
    }
    return CoverageReport(tool=TOOL, files=files)


def parse(data: Any, *, source: str) -> ScanResult:
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES,
                      coverage=parse_cobertura_xml(data, source=source))
