"""The policies pass Regal, the Rego linter, with the project's `.regal/config.yaml`, and are laid
out as the pinned `opa fmt` lays them out. `.ci/run` installs Regal (pinned by .ci/regal/go.mod)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, TOOLS_BIN

REGAL_CONFIG = REPO / ".regal" / "config.yaml"


@pytest.fixture(scope="module")
def regal() -> str:
    found = shutil.which("regal")
    if found is None:
        pytest.fail(f"no regal binary on PATH: run .ci/run, or (cd .ci/regal && GOBIN={TOOLS_BIN} go install tool)")
    return found


def _lint(regal: str, target: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [regal, "lint", "--format", "json", "--config-file", str(REGAL_CONFIG), str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report: dict[str, Any] = json.loads(completed.stdout)
    assert completed.returncode == (3 if report.get("violations") else 0), completed.stderr
    return report


def test_policies_pass_regal(regal: str) -> None:
    report = _lint(regal, REPO / "policies")
    found = [
        f"{v['location'].get('file', '')}:{v['location'].get('row', '')}: {v['category']}/{v['title']}"
        for v in report.get("violations", [])
    ]
    assert found == []
    assert report["summary"]["files_scanned"] == len(list((REPO / "policies").rglob("*.rego")))


def test_regal_finds_what_it_should(regal: str, tmp_path: Path) -> None:
    policy = tmp_path / "aigate" / "x" / "x.rego"
    policy.parent.mkdir(parents=True)
    policy.write_text("package aigate.x\n\nimport rego.v1\n\nbig := count(input.files) > 10\n", encoding="utf-8")
    report = _lint(regal, tmp_path)
    assert "boolean-assignment" in {v["title"] for v in report["violations"]}


def test_policies_are_formatted_by_opa_fmt(real_opa: str) -> None:
    completed = subprocess.run(
        [real_opa, "fmt", "--list", str(REPO / "policies")], capture_output=True, text=True, timeout=300, check=False
    )
    assert (completed.returncode, completed.stdout) == (0, ""), completed.stdout + completed.stderr
