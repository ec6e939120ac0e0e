"""Where a finding is: absolute paths of a scanner run on the checkout's folder, SARIF's URIs and bases, and the
rule a SARIF result names. Each of these lost real findings: they matched no changed file, or took another
rule's severity, and the PR was allowed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo

from aigate.dependencies import DependencyOptions
from aigate.document import build_input_document
from aigate.models import Finding
from aigate.scanning import ScanningOptions, checkout_path
from aigate.sources.scans import read_scan

NO_BUILTIN = ScanningOptions(builtin_secrets=False, dependencies=DependencyOptions(enabled=False))
APP = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def _checkout(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose PR adds src/app.py, and the PR's diff (git's own)."""
    repo = tmp_path / "work" / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text(APP)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    diff = subprocess.run(["git", "diff", "--cached"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return repo, diff


def _findings(diff: str, report: Path) -> list[Finding]:
    return list(build_input_document(diff=diff, scans=[report], scanning=NO_BUILTIN).findings)


def test_bandit_run_on_the_checkouts_absolute_path_finds_what_the_pr_added(tmp_path: Path) -> None:
    """`bandit -r $GITHUB_WORKSPACE` names /home/runner/work/repo/src/app.py: cut to home/runner/…, it matched
    no changed file and every finding counted as pre-existing."""
    repo, diff = _checkout(tmp_path)
    report = tmp_path / "bandit.json"
    subprocess.run(["bandit", "-q", "-r", str(repo), "-f", "json", "-o", str(report), "--exit-zero"], check=True)
    assert json.loads(report.read_text())["results"][0]["filename"] == str(repo / "src" / "app.py")
    findings = _findings(diff, report)
    assert findings and {(f.path, f.introduced) for f in findings} == {("src/app.py", True)}


def test_checkout_path_takes_the_longest_changed_path_at_a_folder_boundary() -> None:
    known = {"app.py", "src/app.py", "x/rc/app.py"}
    assert checkout_path("/ws/repo/src/app.py", known) == "src/app.py"
    assert checkout_path("/ws/repo/app.py", known) == "app.py"
    assert checkout_path("/ws/repo/other.py", known) == "ws/repo/other.py"  # no changed file: as before
    assert checkout_path("/ws/repo/xsrc/app.py", {"src/app.py"}) == "ws/repo/xsrc/app.py"


def _sarif(results: list[dict[str, Any]], **run: Any) -> str:
    """A SARIF 2.1.0 log, hand-written from the specification (sections 3.4, 3.14.14, 3.27.6-7, 3.52)."""
    driver = {"name": "CodeQL", "rules": [{"id": "py/unused-import", "defaultConfiguration": {"level": "note"}}]}
    tool = {"driver": driver, **run.pop("tool", {})}
    return json.dumps({"version": "2.1.0", "runs": [{"tool": tool, "results": results, **run}]})


def _result(uri: str, line: int = 5, **fields: Any) -> dict[str, Any]:
    location = {"physicalLocation": {"artifactLocation": {"uri": uri, **fields.pop("artifact", {})},
                                     "region": {"startLine": line}}}  # fmt: skip
    return {"ruleId": "acme/shell-injection", "message": {"text": "shell=True"}, "level": "error",
            "locations": [location], **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("result", "run"),
    [
        (_result("src/app.py"), {}),
        (_result("src/my%20dir/app.py"), {}),
        (_result("file:///home/runner/work/repo/src/my%20dir/app.py"), {}),
        (_result("my%20dir/app.py", artifact={"uriBaseId": "SRC"}),
         {"originalUriBaseIds": {"SRC": {"uri": "src/", "uriBaseId": "ROOT"}, "ROOT": {"uri": "file:///ws/"}}}),
        (_result("src/my dir/app.py", artifact={"uriBaseId": "%SRCROOT%"}), {}),  # a base the log leaves undefined
    ],
    ids=["relative", "percent-escaped", "file-uri", "chained-bases", "undefined-base"],
)
def test_sarif_uris_name_the_changed_file(tmp_path: Path, result: dict[str, Any], run: dict[str, Any]) -> None:
    diff = "diff --git a/src/my dir/app.py b/src/my dir/app.py\nnew file mode 100644\nindex 0000000..1111111\n"
    diff += "--- /dev/null\n+++ b/src/my dir/app.py\n@@ -0,0 +1,5 @@\n" + "".join(f"+{n}\n" for n in range(5))
    if result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/app.py":
        diff = diff.replace("my dir/", "")
    report = tmp_path / "codeql.sarif"
    report.write_text(_sarif([result], **run))
    [finding] = _findings(diff, report)
    assert finding.path in ("src/my dir/app.py", "src/app.py")
    assert finding.introduced and finding.severity == "high"


def test_a_result_of_a_second_query_pack_takes_its_own_rule() -> None:
    """Every component's rules were one list: `ruleIndex` 0 of the second pack found the first pack's rule 0,
    and a critical finding (security-severity 9.8) read as low (that rule's note level)."""
    packs = [
        {"name": "codeql/python-queries", "rules": [{"id": "py/unused-import",
                                                     "defaultConfiguration": {"level": "note"}}]},
        {"name": "acme/queries", "rules": [{"id": "acme/shell-injection",
                                            "properties": {"security-severity": "9.8", "tags": ["security"]}}]},
    ]  # fmt: skip
    by_component = _result("src/app.py", rule={"id": "acme/shell-injection", "index": 0,
                                               "toolComponent": {"index": 1}})  # fmt: skip
    by_name = _result("src/app.py", rule={"id": "acme/shell-injection", "index": 0,
                                          "toolComponent": {"name": "acme/queries"}})  # fmt: skip
    by_index_alone = {**_result("src/app.py"), "ruleIndex": 0}  # the driver's rule 0 is not this result's rule
    del by_component["level"], by_name["level"], by_index_alone["level"]
    log = _sarif([by_component, by_name, by_index_alone], tool={"extensions": packs})
    findings = read_scan(log, source="codeql.sarif").findings
    assert [f.severity for f in findings] == ["critical", "critical", "critical"]
    assert {f.rule_id for f in findings} == {"acme/shell-injection"}


def test_a_driver_rule_by_index_is_still_found() -> None:
    result = {"ruleId": "py/unused-import", "ruleIndex": 0, "message": {"text": "unused"},
              "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}
    [finding] = read_scan(_sarif([result]), source="x.sarif").findings
    assert finding.severity == "low"


def test_gitleaks_run_on_an_absolute_folder_finds_the_added_secret(tmp_path: Path) -> None:
    repo, _ = _checkout(tmp_path)
    token = "ghp_" + "0aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0kP9lO"
    (repo / "src" / "settings.py").write_text(f'GITHUB_TOKEN = "{token}"\n')
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    diff = subprocess.run(["git", "diff", "--cached"], cwd=repo, capture_output=True, text=True, check=True).stdout
    report = tmp_path / "gitleaks.json"
    subprocess.run(["gitleaks", "dir", str(repo), "--report-format", "json", "--report-path", str(report),
                    "--exit-code", "0", "--no-banner", "--log-level", "error"], check=True,
                   env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    assert json.loads(report.read_text())[0]["File"].startswith(str(repo))
    found = build_input_document(diff=diff, scans=[("gitleaks", report)], scanning=NO_BUILTIN).findings
    findings = [f for f in found if f.category == "secret"]
    assert findings and {(f.path, f.introduced) for f in findings} == {("src/settings.py", True)}


def test_a_secret_one_of_the_prs_commits_added_and_a_later_one_removed_counts(tmp_path: Path) -> None:
    """`gitleaks git` reports the leak in the PR's history; the final diff no longer holds the file, so it matched
    no changed file and counted as pre-existing. The secret stays in the branch once merged without a squash."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "claude/feature")
    token = "ghp_" + "0aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0kP9lO"
    leaked = repo.commit("wip", {".env": f"GITHUB_TOKEN={token}\n"})
    repo.commit("tidy", {".env": None, "feature.py": "x = 1\n"})
    report = tmp_path / "gitleaks.json"
    subprocess.run(["gitleaks", "git", str(repo.root), "--log-opts=main..claude/feature", "--report-format", "json",
                    "--report-path", str(report), "--exit-code", "0", "--no-banner", "--log-level", "error"],
                   check=True)  # fmt: skip
    leaks = json.loads(report.read_text())
    assert [(leak["File"], leak["Commit"]) for leak in leaks] == [(".env", leaked)]
    document = build_input_document(repo=repo.root, base="main", head="claude/feature", scans=[("gitleaks", report)],
                                    scanning=NO_BUILTIN)  # fmt: skip
    assert [f.path for f in document.files] == ["feature.py"]
    [finding] = [f for f in document.findings if f.tool == "gitleaks"]
    assert (finding.path, finding.introduced) == (".env", True)
    # The same leak in a commit outside the PR (the base's history) still does not count.
    outside = build_input_document(repo=repo.root, base="HEAD~1", head="claude/feature", scans=[("gitleaks", report)],
                                   scanning=NO_BUILTIN)  # fmt: skip
    assert [f.introduced for f in outside.findings if f.tool == "gitleaks"] == [False]


RUNNER_BEFORE = (
    "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(\n        cmd,\n        shell=False,\n    )\n"
)


def test_a_finding_over_several_lines_counts_when_the_pr_changed_any_of_them(tmp_path: Path) -> None:
    """semgrep reports the call from line 5 to line 8; the PR changes line 7 only (shell=False to True). Decided
    by the first line alone, the finding counted as pre-existing and the PR was allowed."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"runner.py": RUNNER_BEFORE})
    repo.write("runner.py", RUNNER_BEFORE.replace("shell=False", "shell=True"))
    diff = repo.git("diff")
    rules = Path(__file__).parents[2] / "examples" / "scanning" / "semgrep-rules.yml"
    report = tmp_path / "semgrep.json"
    # --disable-version-check: semgrep otherwise waits ~95 s on its version server where it cannot reach it.
    subprocess.run(["semgrep", "scan", "--config", str(rules), "--json", "--metrics", "off", "--quiet",
                    "--disable-version-check", "--output", str(report), "runner.py"],
                   cwd=repo.root, check=True)  # fmt: skip
    [result] = json.loads(report.read_text())["results"]
    assert (result["start"]["line"], result["end"]["line"]) == (5, 8)
    [finding] = _findings(diff, report)
    assert (finding.path, finding.line, finding.introduced) == ("runner.py", 5, True)
    # The same range in SARIF (region.endLine); a range the PR did not touch stays pre-existing.
    for (start, end), introduced in (((5, 8), True), ((1, 3), False)):
        sarif = tmp_path / f"r{start}.sarif"
        location = {"physicalLocation": {"artifactLocation": {"uri": "runner.py"},
                                         "region": {"startLine": start, "endLine": end}}}  # fmt: skip
        sarif.write_text(_sarif([{"ruleId": "x", "level": "error", "message": {"text": "m"},
                                  "locations": [location]}]))  # fmt: skip
        assert [f.introduced for f in _findings(diff, sarif)] == [introduced]
