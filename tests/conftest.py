"""Shared test helpers: the repository's folders, and a runner for the real `aigate` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ASSETS = Path(__file__).resolve().parent / "assets"

# The real OPA, as .ci/run installs it: pinned, built with Go into this cached folder.
OPA_VERSION = "1.22.4"
TOOLS_BIN = Path.home() / ".cache" / "aigate-tools" / "bin"
# .ci/run puts the folder on PATH; a developer's shell may not have: the tests find it there too.
if (TOOLS_BIN / "opa").is_file() and shutil.which("opa") is None:
    os.environ["PATH"] = f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


@pytest.fixture(scope="session")
def real_opa() -> str:
    """The real `opa` binary. Never skipped: a missing or other OPA fails the tests that need it."""
    found = shutil.which("opa")
    if found is None:
        pytest.fail(
            "no opa binary on PATH: run .ci/run, or "
            f"GOBIN={TOOLS_BIN} go install github.com/open-policy-agent/opa@v{OPA_VERSION}"
        )
    version = subprocess.run([found, "version"], capture_output=True, text=True, timeout=60, check=False).stdout
    if f"Version: {OPA_VERSION}" not in version.splitlines():
        pytest.fail(f"{found} is not OPA {OPA_VERSION}: {version.splitlines()[:1]}")
    return found


# Test data, not tests: scanned sample projects hold test_*.py files of their own.
collect_ignore_glob = ["assets/*"]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str | Path, cwd: Path | None = None, stdin: str | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run `python -m aigate` as a separate process, as a host tool would (`env` adds variables)."""
    result = subprocess.run(
        [sys.executable, "-m", "aigate", *map(str, args)],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        env=None if env is None else {**os.environ, **env},
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def cli() -> type[CliResult]:
    return CliResult
