"""ruff and mypy --strict on the package, as part of the test run."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import REPO


def test_ruff() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "aigate", "tests", "benchmarks", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    assert shutil.which("git")  # the package shells out to git; mypy itself needs nothing else
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "aigate"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
