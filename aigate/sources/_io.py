"""Reading input files with a size cap, so an oversize input fails with a clear message instead of
exhausting memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aigate.errors import InputError

__all__ = ["MAX_INPUT_BYTES", "first_validation_problem", "parse_json", "read_json", "read_text"]

# Generous for a PR (a 1,000,000-line diff is ~60 MiB); anything larger is refused, not truncated.
MAX_INPUT_BYTES = 256 << 20


def read_text(path: Path, error: type[InputError], *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(source, f"{size} bytes is larger than the {max_bytes}-byte limit")
        raw = path.read_bytes()
    except OSError as e:
        raise error(source, f"cannot read: {e.strerror or e}") from e
    if len(raw) > max_bytes:
        raise error(source, f"larger than the {max_bytes}-byte limit")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(source, f"not UTF-8 text (byte {e.start})") from e


def read_json(path: Path, error: type[InputError], *, max_bytes: int = MAX_INPUT_BYTES) -> Any:
    text = read_text(path, error, max_bytes=max_bytes)
    return parse_json(text, str(path), error)


def parse_json(text: str, source: str, error: type[InputError]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(source, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e


def first_validation_problem(exc: Exception) -> str:
    """The first problem of a pydantic ValidationError, as `location: message`."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc).splitlines()[0]
    first = errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ())) or "(top level)"
    return f"{location}: {first.get('msg', 'invalid')}"
