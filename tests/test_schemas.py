"""The published JSON Schemas describe exactly what the models accept and produce."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from aigate import Gate, _resources
from aigate._schemas import GENERATED_SCHEMAS, schema_text
from aigate.models import FileChange, InputDocument, PullRequest


@pytest.mark.parametrize("name", sorted(GENERATED_SCHEMAS))
def test_schema_file_matches_models(name: str) -> None:
    on_disk = (_resources.schemas_dir() / name).read_text(encoding="utf-8")
    assert on_disk == schema_text(name), f"schemas/{name} is stale: run `python -m aigate._schemas`"


@pytest.mark.parametrize("name", [*sorted(GENERATED_SCHEMAS), "config.schema.json"])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(_resources.load_schema(name))


def test_decision_and_audit_event_validate() -> None:
    gate = Gate()
    document = InputDocument(
        pr=PullRequest(labels=("ai-generated",)), files=(FileChange(path="a.py", status="added", added=3),)
    )
    decision = gate.evaluate(document)
    jsonschema.validate(json.loads(decision.model_dump_json()), _resources.load_schema("decision.schema.json"))
    for event in gate.audit_events(decision, document):
        jsonschema.validate(json.loads(event.model_dump_json()), _resources.load_schema("audit_event.schema.json"))


def test_input_schema_rejects_what_the_model_rejects() -> None:
    schema = _resources.load_schema("input.schema.json")
    bad = {"files": [{"path": "a", "status": "exploded"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(ValueError):
        InputDocument.model_validate(bad)
    extra = {"pr": {"title": "x", "unknown": 1}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(extra, schema)


def test_config_schema_accepts_defaults() -> None:
    defaults = yaml.safe_load(_resources.defaults_path().read_text())
    jsonschema.validate(defaults, _resources.load_schema("config.schema.json"))
