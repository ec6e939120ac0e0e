"""Every scanner format, on reports the real tools wrote (tests/assets/scans/README.md says how)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import ASSETS, run_cli

from aigate.dependencies import DependencyOptions
from aigate.document import build_input_document
from aigate.errors import ScanError
from aigate.scanning import ScanningOptions
from aigate.sources.scan_cobertura import parse_cobertura_xml
from aigate.sources.scan_coverage_py import parse_coverage_json
from aigate.sources.scan_junit import parse_junit_xml
from aigate.sources.scans import SCAN_FORMATS, load_scan, load_scan_file, parse_scan_spec

SCANS = ASSETS / "scans"
# Reports alone: no built-in secret check, no dependency discovery (no registry lookups).
NO_BUILTIN = ScanningOptions(builtin_secrets=False, dependencies=DependencyOptions(enabled=False))

# file: (format, tool, findings, {severity: count}, categories)
EXPECTED: dict[str, tuple[str, str, int, dict[str, int], tuple[str, ...]]] = {
    "gitleaks.json": ("gitleaks", "gitleaks", 3, {"high": 3}, ("secret",)),
    "trufflehog.jsonl": ("trufflehog", "trufflehog", 2, {"critical": 1, "high": 1}, ("secret",)),
    "detect-secrets.json": ("detect-secrets", "detect-secrets", 7, {"high": 7}, ("secret",)),
    "detect-secrets.baseline.json": ("detect-secrets", "detect-secrets", 7, {"high": 7}, ("secret",)),
    "github-secret-scanning.json": (
        "github-secret-scanning", "github-secret-scanning", 2, {"critical": 1, "high": 1}, ("secret",),
    ),
    "semgrep.sarif": ("sarif", "semgrep oss", 3, {"high": 1, "medium": 1, "low": 1}, ("sast",)),
    "bandit.sarif": ("sarif", "bandit", 8, {"high": 2, "medium": 2, "low": 4}, ("sast",)),
    "codeql.sarif": ("sarif", "codeql", 2, {"critical": 1, "high": 1}, ("sast",)),
    "semgrep.json": ("semgrep", "semgrep", 3, {"high": 1, "medium": 1, "low": 1}, ("sast",)),
    "semgrep-empty.json": ("semgrep", "semgrep", 0, {}, ("sast",)),
    "bandit.json": ("bandit", "bandit", 8, {"high": 2, "medium": 2, "low": 4}, ("sast",)),
    "pip-audit.json": ("pip-audit", "pip-audit", 3, {"high": 3}, ("dependency",)),
    "npm-audit.json": ("npm-audit", "npm-audit", 2, {"critical": 1, "high": 1}, ("dependency",)),
    "osv-scanner.json": ("osv-scanner", "osv-scanner", 3, {"high": 3}, ("dependency",)),
    "osv-scanner-empty.json": ("osv-scanner", "osv-scanner", 0, {}, ("dependency",)),
    "checkov-terraform.json": ("checkov", "checkov", 11, {"medium": 11}, ("iac",)),
    "checkov-several.json": ("checkov", "checkov", 14, {"medium": 14}, ("iac",)),
    "checkov-empty.json": ("checkov", "checkov", 0, {}, ("iac",)),
    "trivy.json": (
        "trivy", "trivy", 6, {"critical": 4, "high": 1, "medium": 1}, ("dependency", "iac", "secret"),
    ),
    "junit.xml": ("junit", "junit", 2, {"high": 2}, ("test",)),
    "coverage.json": ("coverage-py", "coverage.py", 0, {}, ("coverage",)),
    "cobertura.xml": ("cobertura", "cobertura", 0, {}, ("coverage",)),
}
# Every credential written into tests/assets/scans/project (and the published examples' secrets).
PLANTED = (
    "AKIAZ3MSJV4WWNKWW5FG",
    "q8Fz0J7v2rK5mXw9LbT3nYc6HdPa1SeGuVi4WoZx",
    "ghp_R8x2Kq9ZmT4vLw7NcY3pBf6HjD1sGa5Ue0Xi",
    "Sup3rS3cretPassw0rd!",
    "aio_XXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX-us2",
)


def test_every_fixture_is_expected_and_every_format_has_one() -> None:
    on_disk = {p.name for p in SCANS.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl", ".sarif", ".xml")}
    assert on_disk == set(EXPECTED)
    assert {fmt for fmt, *_ in EXPECTED.values()} == set(SCAN_FORMATS) - {"aigate"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_report_detected_and_counted(name: str) -> None:
    fmt, tool, count, severities, categories = EXPECTED[name]
    result = load_scan_file(SCANS / name)
    assert (result.format, result.tool, len(result.findings)) == (fmt, tool, count)
    assert dict(Counter(f.severity for f in result.findings)) == severities
    assert result.categories == categories
    for finding in result.findings:
        assert finding.fingerprint and finding.rule_id and finding.message
        assert finding.category in {*categories, "secret"} - {"coverage"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_format_reads_the_same(name: str) -> None:
    fmt = EXPECTED[name][0]
    assert load_scan_file(SCANS / name, format=fmt) == load_scan_file(SCANS / name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fingerprints_stable_across_runs(name: str) -> None:
    first = [f.fingerprint for f in load_scan_file(SCANS / name).findings]
    assert first == [f.fingerprint for f in load_scan_file(SCANS / name).findings]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_truncated_report_fails_closed_naming_the_file(tmp_path: Path, name: str) -> None:
    text = (SCANS / name).read_text(encoding="utf-8")
    broken = tmp_path / name
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ScanError) as error:
        load_scan_file(broken)
    message = str(error.value)
    assert message.startswith(str(broken) + ": ") and "\n" not in message
    assert not any(secret in message for secret in PLANTED)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "empty report"),
        ("[]", "empty list"),
        ('{"hello": "world"}', "unknown scanner format"),
        ("<html></html>", "unknown scanner format"),
        ("<testsuite><testcase", "invalid XML"),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite>&a;</testsuite>', "XML refused"),
        ('{"version": "2.1.0", "runs": [{"results": []}]}', 'missing "tool"'),
        ('{"auditReportVersion": 1, "vulnerabilities": {}}', "not supported"),
        ('[{"RuleID": "x", "File": 3}]', '"File" has the wrong type'),
    ],
)
def test_bad_reports_are_errors(tmp_path: Path, content: str, problem: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(content, encoding="utf-8")
    with pytest.raises(ScanError, match=problem) as error:
        load_scan_file(report)
    assert str(error.value).startswith(f"{report}: ")


@pytest.mark.parametrize(("tool", "content"), [("gitleaks", "[]"), ("trufflehog", ""), ("github", "[]")])
def test_empty_valid_report_named_is_zero_findings(tmp_path: Path, tool: str, content: str) -> None:
    report = tmp_path / "empty.json"
    report.write_text(content, encoding="utf-8")
    result = load_scan_file(report, format=parse_scan_spec(f"{tool}={report}").format)
    assert result.findings == () and result.categories == ("secret",)


def test_paginated_github_alerts_read_as_one_list(tmp_path: Path) -> None:
    alerts = json.loads((SCANS / "github-secret-scanning.json").read_text())
    paged = tmp_path / "alerts.json"
    paged.write_text(json.dumps(alerts[:2]) + json.dumps(alerts[2:]) + "\n")  # as `gh api --paginate` prints
    assert load_scan_file(paged) == load_scan_file(SCANS / "github-secret-scanning.json")
    paged.write_text(json.dumps(alerts[:2]) + "[{")
    with pytest.raises(ScanError, match=r"alerts\.json: invalid JSON"):
        load_scan_file(paged)


def test_scan_spec_names_the_format_or_is_a_path(tmp_path: Path) -> None:
    assert parse_scan_spec("gitleaks=leaks.json").format == "gitleaks"
    assert parse_scan_spec("leaks.json").format == "auto"
    assert parse_scan_spec(("osv", "o.json")).format == "osv-scanner"
    odd = tmp_path / "a=b.json"
    odd.write_text("{}")
    assert parse_scan_spec(str(odd)).path == odd
    with pytest.raises(ScanError, match="unknown scanner format 'nope'"):
        parse_scan_spec("nope=x.json")


def test_wrong_named_format_is_an_error() -> None:
    with pytest.raises(ScanError, match="bandit.json: "):
        load_scan_file(SCANS / "bandit.json", format="npm-audit")


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if "secret" in e[4]])
def test_no_secret_value_survives_parsing(name: str) -> None:
    result = load_scan_file(SCANS / name)
    dumped = json.dumps([f.model_dump() for f in result.findings])
    assert not [secret for secret in PLANTED if secret in dumped]
    secrets = [f for f in result.findings if f.category == "secret"]
    assert secrets
    if name != "trivy.json":  # trivy masks the match itself
        assert all(f.secret_hash for f in secrets)


def test_secret_formats_agree_on_the_same_secret() -> None:
    gitleaks = {f.secret_hash for f in load_scan_file(SCANS / "gitleaks.json").findings}
    trufflehog = {f.secret_hash for f in load_scan_file(SCANS / "trufflehog.jsonl").findings}
    github = {f.secret_hash for f in load_scan_file(SCANS / "github-secret-scanning.json").findings}
    assert gitleaks & trufflehog & github  # the GitHub token, hashed the same way by each parser


def test_junit_api_counts_cases() -> None:
    report = parse_junit_xml((SCANS / "junit.xml").read_text(), source="junit.xml")
    results = report.results
    assert (results.tests, results.failures, results.errors, results.skipped) == (5, 1, 1, 1)
    assert {c.name: c.outcome for c in report.cases}["test_with_broken_fixture"] == "error"


def test_coverage_apis_agree() -> None:
    from_json = parse_coverage_json(json.loads((SCANS / "coverage.json").read_text()), source="coverage.json")
    from_xml = parse_cobertura_xml((SCANS / "cobertura.xml").read_text(), source="cobertura.xml")
    assert from_json.files["calc/ops.py"] == from_xml.lookup("calc/ops.py")
    assert from_json.files["calc/ops.py"].missing == {7, 12, 13, 14, 15, 16}


def _diff(path: str, start: int, lines: list[str], old_count: int = 0) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -{start},{old_count} +{start},{len(lines)} @@\n{body}"
    )


def test_only_findings_on_added_lines_are_introduced() -> None:
    # The PR adds lines 23-24 of app.py (the eval) and nothing else: bandit's other findings pre-exist.
    diff = _diff("project/app.py", 23, ["def evaluate(expression):", "    return eval(expression)"], 0)
    document = build_input_document(diff=diff, scans=[SCANS / "bandit.json"], scanning=NO_BUILTIN)
    introduced = {(f.rule_id, f.line) for f in document.findings if f.introduced}
    assert introduced == {("B307", 24)}
    assert len(document.findings) == 8


def test_dependency_findings_introduced_only_for_changed_packages() -> None:
    from aigate.models import Dependency

    document = build_input_document(
        diff=_diff("project/requirements.txt", 2, ["pyyaml==5.3"]),
        dependencies=[Dependency(ecosystem="pypi", name="PyYAML", version="5.3", change="updated")],
        scans=[SCANS / "pip-audit.json"], scanning=NO_BUILTIN,
    )
    assert {(f.package, f.introduced) for f in document.findings} == {("pyyaml", True), ("requests", False)}


def test_with_an_empty_diff_every_finding_counts() -> None:
    document = build_input_document(diff="", scans=[SCANS / "bandit.json"], scanning=NO_BUILTIN)
    assert all(f.introduced for f in document.findings)


def test_changed_line_coverage_from_report_and_diff() -> None:
    # The PR adds clamp() (lines 11-16 of calc/ops.py); the tests never call it: 1 of 6 measured lines ran.
    lines = ["def clamp(value, low, high):", "    if value < low:", "        return low", "    if value > high:",
             "        return high", "    return value"]
    diff = _diff("calc/ops.py", 11, lines)
    for report in ("coverage.json", "cobertura.xml"):
        document = build_input_document(diff=diff, scans=[SCANS / report], scanning=NO_BUILTIN)
        assert document.coverage is not None
        assert (document.coverage.measured, document.coverage.covered) == (6, 1), report


def test_reports_recorded_and_tests_summed() -> None:
    document = build_input_document(
        diff="", scans=[SCANS / "junit.xml", f"junit={SCANS / 'junit.xml'}"], scanning=NO_BUILTIN
    )
    assert document.test_results is not None and document.test_results.failures == 2
    assert [(r.tool, r.categories, r.findings) for r in document.scans] == [("junit", ("test",), 2)] * 2


def test_cli_scan_tool_equals_file_and_broken_report(tmp_path: Path) -> None:
    empty = tmp_path / "empty.diff"
    empty.write_text("")
    ok = run_cli("input", "--diff", empty, "--scan", f"gitleaks={SCANS / 'gitleaks.json'}",
                 "--scan", str(SCANS / "bandit.json"))
    assert ok.code == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert [r["format"] for r in document["scans"]] == ["gitleaks", "bandit", "builtin-secrets"]
    broken = tmp_path / "semgrep.json"
    broken.write_text('{"results": [{"check_id": "x"', encoding="utf-8")
    bad = run_cli("evaluate", "--diff", empty, "--scan", f"semgrep={broken}")
    assert bad.code == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [f"aigate: error: {broken}: invalid JSON at line 1, column 30: "
                                               "Expecting ',' delimiter"]


def test_native_findings_are_fingerprinted_as_they_are_read(tmp_path: Path) -> None:
    # aigate's own format: a finding without a fingerprint gets the one its identifying fields make (as
    # scanning.fingerprinted gives a finding built in Python), a given one is kept, and equal fields match.
    from aigate.models import Finding
    from aigate.scanning import fingerprinted
    from aigate.sources._scan_common import ScanResult

    item = {"tool": "semgrep", "category": "sast", "severity": "high", "rule_id": "r1", "message": "m",
            "path": "src/a.py", "line": 3}  # fmt: skip
    report = tmp_path / "scan.json"
    report.write_text(json.dumps({"findings": [item, {**item, "message": "other"}, {**item, "fingerprint": "given"}]}))
    read = load_scan_file(report).findings
    built = fingerprinted(ScanResult("aigate", "aigate", ("sast",), findings=(Finding(**item),))).findings[0]
    assert read[0].fingerprint == read[1].fingerprint == built.fingerprint != ""
    assert read[2].fingerprint == "given"
    assert "fingerprint" in read[0].model_fields_set and read[0].model_dump() == built.model_dump()


_RECORDED_REPORTS = sorted(p for p in SCANS.iterdir() if p.is_file() and p.suffix not in (".py", ".md"))


@pytest.mark.parametrize("report", _RECORDED_REPORTS, ids=lambda p: p.name)
def test_a_report_named_as_another_tool_is_refused(report: Path) -> None:
    """A mistyped `--scan TOOL=FILE` read the report with the wrong parser: a semgrep report as osv-scanner's
    gave zero findings and an allow. Every recorded report is read under its own name and refused under any
    other that its content does not fit."""
    own = load_scan_file(report).format
    assert load_scan_file(report, format=own).findings == load_scan_file(report).findings
    for name in SCAN_FORMATS:
        if name != own:
            with pytest.raises(ScanError, match=rf"^{report}: "):
                load_scan_file(report, format=name)


def test_a_pip_audit_report_that_audited_nothing_is_no_dependency_scan() -> None:
    """pip-audit that cannot reach its index skips every dependency (`skip_reason`): zero findings, read as a
    clean dependency scan. It covers no category then, so `scanning.required: [dependency]` still asks for one."""
    skipped = {"dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (2.2.0)"},
        {"name": "requests", "skip_reason": "Dependency not found on PyPI and could not be audited: requests (2.32.3)"},
    ], "fixes": []}  # fmt: skip
    assert load_scan(skipped, source="audit.json", format="pip-audit").categories == ()
    partly = {"dependencies": [*skipped["dependencies"], {"name": "idna", "version": "3.7", "vulns": []}], "fixes": []}
    assert load_scan(partly, source="audit.json", format="pip-audit").categories == ("dependency",)
    assert load_scan({"dependencies": [], "fixes": []}, source="audit.json", format="pip-audit").categories == (
        "dependency",
    )
