"""JUnit XML test results (pytest `--junitxml`, Maven Surefire, Jest/Go reporters): `<testsuites>` or
`<testsuite>` of `<testcase>` elements with `<failure>`, `<error>` or `<skipped>`.

Counts come from the test cases themselves, not from the suites' attributes (which tools fill
inconsistently). Every failed or errored test is a finding of category test, severity high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from xml.etree.ElementTree import Element

from aigate.errors import ScanError
from aigate.models import Finding, SandboxTestResults
from aigate.sources._scan_common import ScanResult, fingerprint, relative_path
from aigate.sources._xml import parse_xml

__all__ = ["FORMAT", "JUnitReport", "TestCase", "looks_like", "parse", "parse_junit_xml"]

FORMAT = "junit"
TOOL = "junit"
CATEGORIES = ("test",)


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    suite: str
    classname: str
    name: str
    outcome: Literal["passed", "failed", "error", "skipped"]
    message: str = ""
    file: str | None = None
    line: int | None = None
    time: float | None = None


@dataclass(frozen=True)
class JUnitReport:
    cases: tuple[TestCase, ...]

    @property
    def results(self) -> SandboxTestResults:
        outcomes = [case.outcome for case in self.cases]
        return SandboxTestResults(tests=len(outcomes), failures=outcomes.count("failed"),
                                  errors=outcomes.count("error"), skipped=outcomes.count("skipped"))


def looks_like(data: Any) -> bool:
    return isinstance(data, Element) and data.tag in ("testsuites", "testsuite")


def parse_junit_xml(data: str | Element, *, source: str) -> JUnitReport:
    """JUnit XML (its text, or its parsed root) as one entry per test case."""
    root = parse_xml(data, source) if isinstance(data, str) else data
    if root.tag not in ("testsuites", "testsuite"):
        raise ScanError(source, f"expected a JUnit <testsuites> or <testsuite> root, found <{root.tag}>")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return JUnitReport(cases=tuple(_case(s.get("name", ""), case) for s in suites for case in s.findall("testcase")))


def parse(data: Any, *, source: str) -> ScanResult:
    report = parse_junit_xml(data, source=source)
    findings = tuple(
        Finding(
            tool=TOOL, category="test", severity="high", tool_severity=case.outcome, rule_id=case.outcome,
            message=f"{'.'.join(p for p in (case.classname, case.name) if p)} {case.outcome}"
                    + (f": {case.message}" if case.message else ""),
            path=case.file, line=case.line,
            fingerprint=fingerprint(TOOL, case.suite, case.classname, case.name, case.outcome),
        )
        for case in report.cases
        if case.outcome in ("failed", "error")
    )
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=findings, tests=report.results)


def _case(suite: str, case: Element) -> TestCase:
    outcome: Literal["passed", "failed", "error", "skipped"] = "passed"
    message = ""
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]  # type: ignore[assignment]
            message = " ".join((child.get("message") or child.get("type") or "").split())[:300]
            if outcome != "skipped":
                break
    line = case.get("line")
    duration = case.get("time")
    try:
        seconds = float(duration) if duration else None
    except ValueError:
        seconds = None
    return TestCase(
        suite=suite, classname=case.get("classname", ""), name=case.get("name", ""), outcome=outcome,
        message=message, file=relative_path(case.get("file")), line=int(line) if line and line.isdigit() else None,
        time=seconds,
    )
