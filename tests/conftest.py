"""Shared test helpers: the repository's folders, and a runner for the real `aigate` CLI."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, cwd: Path | None = None, stdin: str | None = None) -> CliResult:
    """Run `python -m aigate` as a separate process, as a host tool would."""
    result = subprocess.run(
        [sys.executable, "-m", "aigate", *map(str, args)],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def cli() -> type[CliResult]:
    return CliResult
