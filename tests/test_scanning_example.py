"""The README's worked example: real scanners (bandit, semgrep, gitleaks, detect-secrets) on
examples/scanning/project, their reports fed to `aigate evaluate`. .ci/run installs the scanners; a
missing one fails this test (it is never skipped)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO

TOOLS = Path.home() / ".cache" / "aigate-tools"
SCANNERS = ("bandit", "semgrep", "gitleaks", "detect-secrets")


@pytest.fixture(scope="module")
def example_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    shims = tmp_path_factory.mktemp("bin")
    # `aigate` as this checkout's package, installed or not.
    shim = shims / "aigate"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m aigate "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    # detect-secrets is aigate's dependency: beside this interpreter when it is not on PATH.
    path = os.pathsep.join([str(shims), os.environ.get("PATH", ""), str(Path(sys.executable).parent),
                            str(TOOLS / "bin"), str(TOOLS / "scanners" / "bin")])
    missing = [tool for tool in SCANNERS if shutil.which(tool, path=path) is None]
    if missing:
        pytest.fail(f"scanners not installed: {', '.join(missing)} (bash .ci/run installs them)")
    return path


def test_worked_example_blocks_on_real_scanner_reports(example_path: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(EXAMPLES / "scanning" / "run.sh"), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PATH": example_path},
    )
    assert result.returncode == 1, result.stderr  # blocked
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "block"
    rules = {(v["rule"], v["path"]) for v in decision["violations"]}
    assert ("scan_block_on", None) in rules and ("secret_detected", "settings.py") in rules
    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in SCANNERS}
    assert len(reports["bandit"]["results"]) >= 3
    assert len(reports["semgrep"]["results"]) == 2
    assert len(reports["gitleaks"]) >= 1
    assert sum(len(v) for v in reports["detect-secrets"]["results"].values()) >= 2
    # Every scanner's findings reached the decision, and no credential did.
    for credential in ("AKIAZ3MSJV4WWNKWW5FG", "q8Fz0J7v2rK5mXw9LbT3nYc6HdPa1SeGuVi4WoZx"):
        assert credential not in result.stdout
    messages = " ".join(v["message"] for v in decision["violations"])
    for tool in SCANNERS:
        assert tool in messages, tool
