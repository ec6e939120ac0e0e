"""Scanner reports by format. Unknown formats are an error, never silently empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aigate.errors import ScanError
from aigate.models import Dependency, Finding
from aigate.sources import scan_native
from aigate.sources._io import read_json

__all__ = ["SCAN_FORMATS", "load_scan", "load_scan_file"]

ScanParser = Callable[..., tuple[tuple[Finding, ...], tuple[Dependency, ...]]]

SCAN_FORMATS: dict[str, tuple[Callable[[Any], bool], ScanParser]] = {
    scan_native.FORMAT: (scan_native.looks_like_native, scan_native.parse_native_scan),
}


def load_scan(
    data: Any, *, source: str, format: str = "auto"
) -> tuple[tuple[Finding, ...], tuple[Dependency, ...]]:
    if format == "auto":
        for name, (detect, _) in SCAN_FORMATS.items():
            if detect(data):
                format = name
                break
        else:
            known = ", ".join(sorted(SCAN_FORMATS))
            raise ScanError(source, f"unknown scanner format (supported: {known})")
    if format not in SCAN_FORMATS:
        raise ScanError(source, f"unknown scanner format {format!r} (supported: {', '.join(sorted(SCAN_FORMATS))})")
    _, parse = SCAN_FORMATS[format]
    return parse(data, source=source)


def load_scan_file(path: Path, *, format: str = "auto") -> tuple[tuple[Finding, ...], tuple[Dependency, ...]]:
    return load_scan(read_json(path, ScanError), source=str(path), format=format)
