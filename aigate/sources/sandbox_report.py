"""A sandbox report (`aigate sandbox run --report FILE`), read back as evidence for the input document."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aigate.errors import InputDocumentError
from aigate.sandbox.report import SandboxReport
from aigate.sources._io import first_validation_problem, read_json

__all__ = ["SandboxEvidence", "load_sandbox_report"]


class SandboxEvidence:
    """A loaded report, and the coverage files it saved, checked against the hashes it recorded."""

    def __init__(self, report: SandboxReport, coverage_files: tuple[Path, ...]) -> None:
        self.report = report
        self.coverage_files = coverage_files


def load_sandbox_report(report: SandboxReport | Mapping[str, Any] | Path) -> SandboxEvidence:
    """The report; its saved coverage files feed the scanning layer's changed-line coverage.

    Saved files are relative to the report's folder (to the working folder for a report given as
    an object). A saved file that is missing or whose hash differs from the report's is an error:
    evidence that does not hold together is never taken as clean.
    """
    source = "sandbox report"
    base = Path.cwd()
    if isinstance(report, Path):
        source, base = str(report), report.parent
        report = read_json(report, InputDocumentError)
    if not isinstance(report, SandboxReport):
        if not isinstance(report, Mapping):
            raise InputDocumentError(source, f"a sandbox report is a JSON object, got {type(report).__name__}")
        try:
            report = SandboxReport.model_validate(report)
        except ValidationError as e:
            raise InputDocumentError(source, f"not a sandbox report: {first_validation_problem(e)}") from e
    coverage: list[Path] = []
    for artifact in report.artifacts:
        if artifact.saved_as is None or artifact.kind != "coverage":
            continue
        path = base / artifact.saved_as
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as e:
            raise InputDocumentError(source, f"saved artifact {artifact.saved_as}: {e.strerror or e}") from e
        if digest != artifact.sha256:
            raise InputDocumentError(source, f"saved artifact {artifact.saved_as} does not match its recorded hash")
        coverage.append(path)
    return SandboxEvidence(report, tuple(coverage))
