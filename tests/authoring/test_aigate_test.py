"""`aigate test`: Rego tests found in the parsed modules, judged as `opa test` judges them, with
coverage, selection, formats and exit codes; and real `opa test` giving the same results."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from conftest import ASSETS, run_cli

from aigate import _resources
from aigate.config import load_config
from aigate.policy_tests import discover_tests, load_rego_modules, run_rego_tests

FORMS = ASSETS / "rego_forms"

# Every test of tests/assets/rego_forms, with the status real `opa test` gives it (checked below).
FORMS_EXPECTED = {
    "test_plain_passes": "pass",
    "test_indented_fails": "fail",
    "test_assigned_true": "pass",
    "test_assigned_value": "fail",
    "test_contains_form": "fail",
    "test_parameterised": "pass",
    "test_parameterised_one_fails": "fail",
    "test_function": "error",
    "todo_test_later": "skip",
    "test_defined_twice": "pass",
    "test_defined_twice#01": "fail",
    "test_error": "fail",
}


def opa_binary() -> str:
    """Real OPA: on PATH (.ci/run puts $HOME/.cache/aigate-tools/bin there), or where .ci/run installs it."""
    found = shutil.which("opa") or shutil.which("opa", path=str(Path.home() / ".cache" / "aigate-tools" / "bin"))
    if found is None:
        pytest.fail("real opa not found on PATH or in ~/.cache/aigate-tools/bin (.ci/run installs it)")
    return found


def _opa_statuses(*paths: Path) -> dict[str, str]:
    result = subprocess.run(
        [opa_binary(), "test", "--format", "json", *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode in (0, 2), result.stderr
    statuses = {}
    for entry in json.loads(result.stdout):
        flags = [flag for flag in ("skip", "error", "fail") if entry.get(flag)]
        statuses[f"{entry['package']}.{entry['name']}"] = flags[0] if flags else "pass"
    return statuses


def _config_data_dir(tmp_path: Path) -> Path:
    """The compiled default config as an OPA data file, as `aigate test` gives it to the tests."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "data.json").write_text(json.dumps({"aigate": {"config": load_config(None).data}}), encoding="utf-8")
    return folder


def test_every_form_is_discovered_from_the_ast() -> None:
    tests = discover_tests(load_rego_modules([FORMS]))
    assert {t.name for t in tests} == set(FORMS_EXPECTED)
    by_name = {t.name: t for t in tests}
    assert by_name["test_indented_fails"].line == 12
    assert by_name["test_contains_form"].kind == "set"
    assert by_name["test_parameterised"].kind == "object"
    assert by_name["test_function"].kind == "function"
    assert by_name["todo_test_later"].skip
    assert by_name["test_defined_twice#01"].line == 46
    # A name in a comment or a string is not a test: the AST, not the text, decides.
    source = '# test_in_comment if { true }\npackage c_test\n\nmsg := "test_in_string if { true }"\n'
    from aigate.policy_tests import RegoModule

    assert discover_tests([RegoModule("c_test.rego", source)]) == []


def test_forms_results_match_expectations_on_the_embedded_engine() -> None:
    run = run_rego_tests(load_rego_modules([FORMS]), {})
    assert {r.test.name: r.status for r in run.results} == FORMS_EXPECTED
    cases = {r.test.name: dict(r.cases) for r in run.results if r.cases}
    assert cases == {
        "test_parameterised": {"low": True, "high": True},
        "test_parameterised_one_fails": {"low": True, "high": False},
    }


def test_real_opa_test_gives_the_same_results_on_every_form() -> None:
    opa = _opa_statuses(FORMS)
    assert opa == {f"data.forms_test.{name}": status for name, status in FORMS_EXPECTED.items()}


def test_shipped_policies_same_results_on_real_opa_test(tmp_path: Path) -> None:
    policies = _resources.policies_dir()
    ours = run_rego_tests(load_rego_modules([policies]), {"aigate": {"config": load_config(None).data}})
    opa = _opa_statuses(policies, _config_data_dir(tmp_path))
    assert {r.test.rule: r.status for r in ours.results} == opa
    assert len(opa) > 50 and set(opa.values()) == {"pass"}


def test_shipped_policies_meet_the_coverage_threshold_on_both_engines(tmp_path: Path) -> None:
    result = run_cli("test", _resources.policies_dir(), "--coverage", "--threshold", "90")
    assert result.code == 0, result.stdout + result.stderr
    assert "meets the threshold 90%" in result.stdout
    opa = subprocess.run(
        [opa_binary(), "test", "--coverage", "--threshold", "90", str(_resources.policies_dir()),
         str(_config_data_dir(tmp_path))],
        capture_output=True, text=True, timeout=300,
    )
    assert opa.returncode == 0, opa.stdout[-2000:] + opa.stderr
    assert json.loads(opa.stdout)["coverage"] >= 90


def test_text_report_names_file_line_and_exits_1_on_failure() -> None:
    result = run_cli("test", FORMS)
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "FAIL tests/assets/rego_forms/forms_cases.rego:12: data.forms_test.test_indented_fails: undefined" in lines
    assert any(line.startswith("ERROR tests/assets/rego_forms/forms_cases.rego:34: data.forms_test.test_function")
               for line in lines)
    assert lines[-1] == "rego: 4 passed, 6 failed, 1 errors, 1 skipped"


def test_run_selects_tests_and_verbose_prints_durations() -> None:
    result = run_cli("test", FORMS, "--run", "test_(plain_passes|parameterised)$", "-v")
    assert result.code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tests/assets/rego_forms/forms_cases.rego:8: data.forms_test.test_plain_passes: PASS (")
    assert lines[0].endswith("ms)")
    assert "  high: PASS" in lines
    assert lines[-1] == "rego: 2 passed, 0 failed, 0 errors, 0 skipped"


def test_coverage_below_threshold_fails_with_json_report() -> None:
    result = run_cli("test", FORMS, "--run", "plain", "--threshold", "95", "--format", "json")
    assert result.code == 1
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is False
    coverage = report["coverage"]
    assert coverage["threshold"] == 95 and coverage["percent"] < 95
    forms = next(f for f in coverage["files"] if f["path"].endswith("rego_forms/forms_cases.rego"))
    assert 9 in forms["covered"] and 13 in forms["not_covered"]  # only test_plain_passes ran
    assert [t["name"] for t in report["tests"]] == ["test_plain_passes"]
    assert report["tests"][0]["file"] == "tests/assets/rego_forms/forms_cases.rego"


def test_junit_report() -> None:
    result = run_cli("test", FORMS, "--format", "junit")
    assert result.code == 1
    suite = ElementTree.fromstring(result.stdout).find("testsuite")
    assert suite is not None
    counts = [suite.get(name) for name in ("tests", "failures", "errors", "skipped")]
    assert counts == ["12", "6", "1", "1"]
    failure = suite.find("testcase[@name='test_indented_fails']/failure")
    assert failure is not None and "forms_cases.rego:12" in (failure.text or "")


def test_syntax_error_cannot_run_exit_2_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken_test.rego").write_text("package broken_test\n\nimport rego.v1\n\ntest_x if {\n\t1 ==\n}\n")
    result = run_cli("test", tmp_path)
    assert result.code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"aigate: error: {tmp_path / 'broken_test.rego'}:7:") or line.startswith(
        f"aigate: error: {tmp_path / 'broken_test.rego'}:6:"
    ), line


def test_missing_path_cannot_run(tmp_path: Path) -> None:
    result = run_cli("test", tmp_path / "nope")
    assert (result.code, result.stdout) == (2, "")
    assert "nope: no such file or folder" in result.stderr


def test_test_policies_alias_keeps_its_contract() -> None:
    result = run_cli("test-policies")
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("rego: ")
    failing = run_cli("test-policies", FORMS)
    assert failing.code == 2  # the old command's exit code on a failure


def test_default_run_is_the_shipped_policies_from_any_folder(tmp_path: Path) -> None:
    result = run_cli("test", cwd=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    assert ", 0 failed, 0 errors" in result.stdout.splitlines()[-1]
