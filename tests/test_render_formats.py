"""The native output formats: SARIF 2.1.0, JUnit XML, GitHub annotations, GitLab Code Quality."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import pytest
from conftest import ASSETS, EXAMPLES, run_cli

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.models import Decision
from aigate.render import RENDERERS
from aigate.render.github import escape_data, escape_property

EMPTY_PR = '{"files": []}'  # an input document of a PR that changes nothing
SCHEMAS = ASSETS / "schemas"
PRS = EXAMPLES / "prs"


def _sources(name: str) -> dict[str, object]:
    folder = PRS / name
    return {
        "pr": folder / "pr.json",
        "commits": folder / "commits.json",
        "diff": folder / "pr.diff",
        "scans": sorted((folder / "scans").glob("*.json")),
    }


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    """Every example PR decided, plus one with warn/observe violations and a path-less violation."""
    with Gate.from_config(EXAMPLES / ".ai-code-gate.yml") as gate:
        result = {name: gate.evaluate(**_sources(name)) for name in ("claude-auth", "copilot-small", "cursor-review")}
    mixed = config_from_mapping(
        {
            "policy": {
                "blocked_patterns": ["**/auth/**"],
                "modes": {"paths": "warn", "scope": "observe"},
                "scope_limits": {"max_files": 1},
            }
        }
    )
    with Gate(mixed) as gate:
        result["mixed"] = gate.evaluate(**_sources("claude-auth"))
    assert {v.mode for v in result["mixed"].violations} == {"warn", "observe"}
    assert any(v.path is None for v in result["mixed"].violations)
    return result


def _load(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((SCHEMAS / name).read_text())


@pytest.mark.parametrize("name", ["claude-auth", "copilot-small", "cursor-review", "mixed"])
def test_sarif_validates_against_the_official_sarif_2_1_0_schema(decisions: dict[str, Decision], name: str) -> None:
    schema = _load("sarif-schema-2.1.0.json")
    log = json.loads(RENDERERS["sarif"]().render(decisions[name]))
    jsonschema.Draft4Validator(schema).validate(log)
    [run] = log["runs"]
    assert len(run["results"]) == len(decisions[name].violations)
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_sarif_reports_violations_at_their_files_with_rule_help(decisions: dict[str, Decision]) -> None:
    run = json.loads(RENDERERS["sarif"]().render(decisions["claude-auth"]))["runs"][0]
    blocked = [r for r in run["results"] if r["ruleId"] == "blocked_path"]
    assert blocked and all(r["level"] == "error" for r in blocked)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in blocked}
    assert uris == {v.path for v in decisions["claude-auth"].violations if v.rule == "blocked_path"}
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "blocked_path")
    assert "blocked_patterns" in rule["help"]["text"]
    levels = {r["level"] for r in json.loads(RENDERERS["sarif"]().render(decisions["mixed"]))["runs"][0]["results"]}
    assert levels == {"warning", "note"}


def test_sarif_file_uris_are_percent_encoded() -> None:
    from aigate.render.sarif import _uri

    assert _uri("src/a b#1%.py") == "src/a%20b%231%25.py"


def test_the_code_quality_schema_accepts_gitlabs_own_documented_example() -> None:
    example = [
        {
            "description": "'unused' is assigned a value but never used.",
            "check_name": "no-unused-vars",
            "fingerprint": "7815696ecbf1c96e6894b779456d330e",
            "severity": "minor",
            "location": {"path": "lib/index.js", "lines": {"begin": 42}},
        }
    ]
    schema = _load("gitlab-code-quality.schema.json")
    jsonschema.Draft202012Validator(schema).validate(example)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate([{**example[0], "severity": "high"}])


@pytest.mark.parametrize("name", ["claude-auth", "copilot-small", "cursor-review", "mixed"])
def test_gitlab_code_quality_validates_against_gitlabs_format(decisions: dict[str, Decision], name: str) -> None:
    report = json.loads(RENDERERS["gitlab"]().render(decisions[name]))
    jsonschema.Draft202012Validator(_load("gitlab-code-quality.schema.json")).validate(report)
    assert len(report) == len(decisions[name].violations)
    assert len({issue["fingerprint"] for issue in report}) == len(report)  # one widget entry each


def test_gitlab_code_quality_fingerprints_are_stable_between_runs(decisions: dict[str, Decision]) -> None:
    with Gate.from_config(EXAMPLES / ".ai-code-gate.yml") as gate:
        again = gate.evaluate(**_sources("claude-auth"))
    assert again.decision_id != decisions["claude-auth"].decision_id
    assert RENDERERS["gitlab"]().render(again) == RENDERERS["gitlab"]().render(decisions["claude-auth"])


def test_junit_has_one_case_per_rule_and_path_and_fails_blocking_ones(decisions: dict[str, Decision]) -> None:
    decision = decisions["claude-auth"]
    root = ElementTree.fromstring(RENDERERS["junit"]().render(decision))
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(decision.violations) + 1
    assert int(suite.get("tests", "")) == len(cases)
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    expected = {f"{v.rule}: {v.path}" if v.path else v.rule for v in decision.violations if v.blocking}
    assert failed == expected | {"outcome"}
    assert int(suite.get("failures", "")) == len(failed)


def test_junit_of_an_allowed_pr_has_no_failure(decisions: dict[str, Decision]) -> None:
    root = ElementTree.fromstring(RENDERERS["junit"]().render(decisions["copilot-small"]))
    assert root.findall(".//failure") == [] and root.get("failures") == "0"


def test_github_annotations_per_violation(decisions: dict[str, Decision]) -> None:
    lines = RENDERERS["github"]().render(decisions["mixed"]).splitlines()
    violations = decisions["mixed"].violations
    assert len(lines) == len(violations) + 1
    for line, violation in zip(lines, violations, strict=False):
        command = {"warn": "::warning ", "observe": "::notice "}[violation.mode]
        assert line.startswith(command)
        if violation.path:
            assert f"file={escape_property(violation.path)},line=1," in line
    assert lines[-1].startswith("::notice title=aigate::aigate: ")


def test_github_annotation_escaping() -> None:
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_output_is_repeatable_as_format_equals_file(tmp_path: Path) -> None:
    folder = PRS / "claude-auth"
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in ("sarif", "junit", "gitlab", "markdown", "github")}
    result = run_cli(
        "evaluate", "--config", EXAMPLES / ".ai-code-gate.yml",
        "--pr", folder / "pr.json", "--commits", folder / "commits.json", "--diff", folder / "pr.diff",
        *[arg for fmt, path in outputs.items() for arg in ("--output", f"{fmt}={path}")],
    )  # fmt: skip
    assert result.code == 1, result.stderr
    decision = json.loads(result.stdout)  # --format json still goes to standard output
    assert json.loads(outputs["sarif"].read_text())["version"] == "2.1.0"
    assert ElementTree.fromstring(outputs["junit"].read_text()).tag == "testsuites"
    assert len(json.loads(outputs["gitlab"].read_text())) == len(decision["violations"])
    assert outputs["markdown"].read_text().startswith("### aigate")
    # One annotation per blocking violation, and the summary line of a blocked PR.
    assert outputs["github"].read_text().count("::error ") == sum(v["blocking"] for v in decision["violations"]) + 1


def test_output_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    result = run_cli("evaluate", "--input", "/dev/stdin", "-o", tmp_path / "a", "-o", tmp_path / "b", stdin=EMPTY_PR)
    assert (result.code, result.stderr.count("\n")) == (2, 1)
    assert "only one --output without FORMAT=" in result.stderr
    result = run_cli("evaluate", "--input", "/dev/stdin", "--output", "sarif=", stdin=EMPTY_PR)
    assert (result.code, result.stderr) == (2, "aigate: error: --output 'sarif=': no file after sarif=\n")
