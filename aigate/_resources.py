"""Where the shipped policies, schemas and defaults are.

A wheel carries `policies/` and `schemas/` under `aigate/_data/`; a source checkout (editable
install, tests) reads the top-level folders that users edit.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def policies_dir() -> Path:
    return _data_dir("policies")


def schemas_dir() -> Path:
    return _data_dir("schemas")


def defaults_path() -> Path:
    return _PACKAGE_DIR / "defaults.yml"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A published JSON Schema by file name, e.g. `config.schema.json`."""
    with (schemas_dir() / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema
