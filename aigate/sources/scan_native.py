"""aigate's own normalised scan form: `{"findings": [...], "dependencies": [...]}`.

Scanner-specific formats (SARIF, gitleaks, pip-audit, …) each get a module beside this one
that maps the tool's fields to the same `Finding`/`Dependency` models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aigate.errors import ScanError
from aigate.models import Dependency, Finding
from aigate.sources._io import first_validation_problem

__all__ = ["FORMAT", "looks_like_native", "parse_native_scan"]

FORMAT = "aigate"


def looks_like_native(data: Any) -> bool:
    return isinstance(data, Mapping) and set(data) <= {"findings", "dependencies"} and bool(data)


def parse_native_scan(data: Any, *, source: str) -> tuple[tuple[Finding, ...], tuple[Dependency, ...]]:
    if not looks_like_native(data):
        raise ScanError(source, 'expected an object with "findings" and/or "dependencies" lists')
    try:
        findings = tuple(Finding.model_validate(item) for item in _list(data, "findings", source))
        dependencies = tuple(Dependency.model_validate(item) for item in _list(data, "dependencies", source))
    except ValidationError as e:
        raise ScanError(source, first_validation_problem(e)) from e
    return findings, dependencies


def _list(data: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScanError(source, f'"{key}" must be a list')
    return value
