"""A sandbox report (`aigate sandbox run --report FILE`), read back as evidence for the input document."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aigate.errors import InputDocumentError
from aigate.sandbox.report import SandboxReport
from aigate.sources._io import first_validation_problem, read_json

__all__ = ["load_sandbox_report"]


def load_sandbox_report(report: SandboxReport | Mapping[str, Any] | Path) -> SandboxReport:
    if isinstance(report, SandboxReport):
        return report
    source = "sandbox report"
    if isinstance(report, Path):
        source = str(report)
        report = read_json(report, InputDocumentError)
    if not isinstance(report, Mapping):
        raise InputDocumentError(source, f"a sandbox report is a JSON object, got {type(report).__name__}")
    try:
        return SandboxReport.model_validate(report)
    except ValidationError as e:
        raise InputDocumentError(source, f"not a sandbox report: {first_validation_problem(e)}") from e
