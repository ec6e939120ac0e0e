"""The published JSON Schemas of the input document, decision and audit event, made from the models.

`python -m aigate._schemas` rewrites `schemas/`; a test checks the files match the models.
(`config.schema.json` is written by hand: it documents the YAML file, not a model.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from aigate.audit.events import AUDIT_EVENT
from aigate.models import Decision, InputDocument
from aigate.sandbox.report import SandboxReport

__all__ = ["GENERATED_SCHEMAS", "schema_text"]

GENERATED_SCHEMAS: dict[str, tuple[type[BaseModel] | TypeAdapter[Any], str]] = {
    "input.schema.json": (InputDocument, "aigate input document (the policies' `input`)"),
    "decision.schema.json": (Decision, "aigate decision"),
    # Any of the event types (generation, diff, detection, policy, scan, risk, decision, review, merge).
    "audit_event.schema.json": (AUDIT_EVENT, "aigate audit event"),
    "sandbox_report.schema.json": (SandboxReport, "aigate sandbox report (`aigate sandbox run --report`)"),
}


def schema_text(name: str) -> str:
    model, title = GENERATED_SCHEMAS[name]
    mode: Literal["validation", "serialization"] = "serialization" if model is not InputDocument else "validation"
    generated = model.json_schema(mode=mode) if isinstance(model, TypeAdapter) else model.model_json_schema(mode=mode)
    if model is InputDocument:
        # A ready document must say what the PR changes (aigate.document.load_input_document refuses one
        # without `files`: fail closed); Python callers building the model may leave it to its default.
        generated["required"] = ["files"]
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://aigate.dev/schemas/{name}",
        **generated,
        "title": title,
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "schemas"
    for name in GENERATED_SCHEMAS:
        (target / name).write_text(schema_text(name), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
