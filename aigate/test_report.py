"""The report of `aigate test`: Rego tests, fixture cases and coverage, as text, JSON or JUnit XML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree

from aigate.policy_tests import CoverageReport, RegoTestResult

__all__ = ["FORMATS", "FixtureResult", "Mismatch", "TestReport", "render_report"]

FORMATS = ("text", "json", "junit")
Status = Literal["pass", "fail", "error", "skip"]


@dataclass(frozen=True)
class Mismatch:
    """One field of a fixture's expectation that the decision does not meet."""

    field: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class FixtureResult:
    name: str
    file: str
    line: int
    status: Status
    detail: str = ""
    mismatches: tuple[Mismatch, ...] = ()
    duration_s: float = 0.0


@dataclass(frozen=True)
class TestReport:
    rego: tuple[RegoTestResult, ...] = ()
    fixtures: tuple[FixtureResult, ...] = ()
    coverage: CoverageReport | None = None
    threshold: float | None = None
    problems: tuple[str, ...] = field(default=())
    """Failures that are not one test's: builtins one engine lacks, unused or expired exceptions."""

    @property
    def below_threshold(self) -> bool:
        return self.coverage is not None and self.threshold is not None and self.coverage.percent < self.threshold

    @property
    def failed(self) -> bool:
        return (
            any(not r.passed for r in self.rego)
            or any(f.status in ("fail", "error") for f in self.fixtures)
            or bool(self.problems)
            or self.below_threshold
        )

    def counts(self) -> dict[str, int]:
        statuses = [r.status for r in self.rego] + [f.status for f in self.fixtures]
        return {s: statuses.count(s) for s in ("pass", "fail", "error", "skip")}


def render_report(report: TestReport, fmt: str, *, verbose: bool = False) -> str:
    if fmt == "json":
        return json.dumps(_as_json(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return _as_junit(report)
    return _as_text(report, verbose)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}ms"


def _as_text(report: TestReport, verbose: bool) -> str:
    lines: list[str] = []
    for result in report.rego:
        test = result.test
        label = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "SKIPPED"}[result.status]
        if verbose:
            lines.append(f"{test.location}: {test.rule}: {label} ({_ms(result.duration_s)})")
            lines.extend(f"  {name}: {'PASS' if ok else 'FAIL'}" for name, ok in result.cases)
            if result.status in ("fail", "error"):
                lines.append(f"  {result.detail}")
        elif result.status in ("fail", "error"):
            lines.append(f"{label} {test.location}: {test.rule}: {result.detail}")
    for fixture in report.fixtures:
        label = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "SKIPPED"}[fixture.status]
        where = f"{fixture.file}:{fixture.line}"
        if verbose:
            lines.append(f"{where}: fixture {fixture.name}: {label} ({_ms(fixture.duration_s)})")
        elif fixture.status in ("fail", "error"):
            lines.append(f"{label} {where}: fixture {fixture.name}" + (f": {fixture.detail}" if fixture.detail else ""))
        if fixture.status in ("fail", "error"):
            if verbose and fixture.detail:
                lines.append(f"  {fixture.detail}")
            lines.extend(_mismatch_lines(fixture.mismatches))
    lines.extend(f"FAIL {problem}" for problem in report.problems)
    if report.coverage is not None:
        if verbose:
            for file in report.coverage.files:
                missed = _ranges(file.not_covered)
                lines.append(f"  {file.path}: {file.percent:.1f}%" + (f" (not covered: {missed})" if missed else ""))
        coverage = report.coverage
        line = f"coverage: {coverage.percent:.2f}% ({coverage.covered_lines}/{coverage.total_lines} lines)"
        if report.threshold is not None:
            verdict = "below" if report.below_threshold else "meets"
            line += f", {verdict} the threshold {report.threshold:g}%"
        lines.append(line)
    parts = []
    if report.fixtures:
        fixture_counts = {s: sum(f.status == s for f in report.fixtures) for s in ("pass", "fail", "error")}
        parts.append(
            f"fixtures: {fixture_counts['pass']} passed, {fixture_counts['fail']} failed, "
            f"{fixture_counts['error']} errors"
        )
    rego_counts = {s: sum(r.status == s for r in report.rego) for s in ("pass", "fail", "error", "skip")}
    lines.extend(parts)
    if report.rego or not report.fixtures:
        lines.append(
                f"rego: {rego_counts['pass']} passed, {rego_counts['fail']} failed, {rego_counts['error']} errors, "
            f"{rego_counts['skip']} skipped"
        )
    return "\n".join(lines) + "\n"


def _mismatch_lines(mismatches: Sequence[Mismatch]) -> list[str]:
    lines = []
    for m in mismatches:
        lines.append(f"  {m.field}:")
        lines.append(f"    expected: {_compact(m.expected)}")
        lines.append(f"    actual:   {_compact(m.actual)}")
    return lines


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _ranges(lines: Sequence[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for n in lines:
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


def _as_json(report: TestReport) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ok": not report.failed,
        "summary": report.counts(),
        "tests": [
            {
                "name": r.test.name,
                "package": f"data.{r.test.package}",
                "rule": r.test.rule,
                "file": r.test.module,
                "line": r.test.line,
                "kind": r.test.kind,
                "status": r.status,
                "message": r.detail,
                "duration_ms": round(r.duration_s * 1000, 3),
                "cases": [{"name": name, "status": "pass" if ok else "fail"} for name, ok in r.cases],
            }
            for r in report.rego
        ],
        "fixtures": [
            {
                "name": f.name,
                "file": f.file,
                "line": f.line,
                "status": f.status,
                "message": f.detail,
                "duration_ms": round(f.duration_s * 1000, 3),
                "mismatches": [{"field": m.field, "expected": m.expected, "actual": m.actual} for m in f.mismatches],
            }
            for f in report.fixtures
        ],
        "problems": list(report.problems),
    }
    if report.coverage is not None:
        document["coverage"] = {
            "percent": round(report.coverage.percent, 2),
            "covered_lines": report.coverage.covered_lines,
            "total_lines": report.coverage.total_lines,
            "threshold": report.threshold,
            "files": [
                {
                    "path": f.path,
                    "percent": round(f.percent, 2),
                    "covered": list(f.covered),
                    "not_covered": list(f.not_covered),
                }
                for f in report.coverage.files
            ],
        }
    return document


def _as_junit(report: TestReport) -> str:
    suites = ElementTree.Element("testsuites", name="aigate test")
    rego = ElementTree.SubElement(suites, "testsuite", name="rego")
    for r in report.rego:
        case = ElementTree.SubElement(
            rego, "testcase", classname=f"data.{r.test.package}", name=r.test.name,
            file=r.test.module, line=str(r.test.line), time=f"{r.duration_s:.6f}",
        )
        _junit_outcome(case, r.status, f"{r.test.location}: {r.detail}")
    _junit_counts(rego, [r.status for r in report.rego], sum(r.duration_s for r in report.rego))
    if report.fixtures:
        fixtures = ElementTree.SubElement(suites, "testsuite", name="fixtures")
        for f in report.fixtures:
            case = ElementTree.SubElement(
                fixtures, "testcase", classname="fixtures", name=f.name, file=f.file, line=str(f.line),
                time=f"{f.duration_s:.6f}",
            )
            text = "\n".join([f"{f.file}:{f.line}: {f.detail}".rstrip(": "), *_mismatch_lines(f.mismatches)])
            _junit_outcome(case, f.status, text)
        _junit_counts(fixtures, [f.status for f in report.fixtures], sum(f.duration_s for f in report.fixtures))
    if report.problems or report.below_threshold:
        checks = ElementTree.SubElement(suites, "testsuite", name="checks")
        for problem in report.problems:
            case = ElementTree.SubElement(checks, "testcase", classname="checks", name=problem.split(": ")[0])
            _junit_outcome(case, "fail", problem)
        if report.coverage is not None and report.threshold is not None:
            case = ElementTree.SubElement(checks, "testcase", classname="checks", name="coverage")
            if report.below_threshold:
                _junit_outcome(
                    case, "fail", f"coverage {report.coverage.percent:.2f}% is below {report.threshold:g}%"
                )
        _junit_counts(checks, ["fail"] * len(report.problems) + (["fail"] if report.below_threshold else []), 0.0)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def _junit_outcome(case: ElementTree.Element, status: str, message: str) -> None:
    first = message.splitlines()[0] if message else status
    if status == "fail":
        ElementTree.SubElement(case, "failure", message=first).text = message
    elif status == "error":
        ElementTree.SubElement(case, "error", message=first).text = message
    elif status == "skip":
        ElementTree.SubElement(case, "skipped", message="todo")


def _junit_counts(suite: ElementTree.Element, statuses: list[str], seconds: float) -> None:
    suite.set("tests", str(len(statuses)))
    suite.set("failures", str(statuses.count("fail")))
    suite.set("errors", str(statuses.count("error")))
    suite.set("skipped", str(statuses.count("skip")))
    suite.set("time", f"{seconds:.6f}")
