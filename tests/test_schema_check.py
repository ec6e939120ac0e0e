"""The quick schema checker never calls valid what jsonschema rejects, and does say valid for the usual
documents (or it would save nothing)."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aigate import _resources
from aigate._schema_check import is_surely_valid, schema_error
from aigate.config import load_config
from aigate.document import build_input_document

REPO = Path(__file__).resolve().parent.parent

ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 10**20, "", "x", "block", "warn", "*.env*", "!neg", [], ["a"], [1],
    {}, {"a": 1}, {"threshold": 10}, {1: "int key"},
]  # fmt: skip


def _configs() -> list[Any]:
    defaults = load_config(None).settings
    example = yaml.safe_load((REPO / "examples" / ".ai-code-gate.yml").read_text(encoding="utf-8"))
    return [defaults, example, {}]


def _inputs() -> list[Any]:
    documents = []
    for pr in sorted((REPO / "examples" / "prs").iterdir()):
        scans = sorted((pr / "scans").glob("*.json")) if (pr / "scans").is_dir() else []
        document = build_input_document(
            pr=pr / "pr.json", commits=pr / "commits.json", diff=pr / "pr.diff", scans=scans
        )
        documents.append(document.model_dump(mode="json"))
    return documents


def _mutations(document: Any, rng: random.Random, count: int) -> list[Any]:
    """Copies of `document` with one value somewhere replaced, added or removed."""
    mutated = []
    for _ in range(count):
        copy_ = copy.deepcopy(document)
        node = copy_
        for _depth in range(rng.randrange(1, 6)):
            children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            containers = [(k, v) for k, v in children if isinstance(v, (dict, list)) and v]
            if not containers or rng.random() < 0.3:
                break
            _, node = rng.choice(containers)
        if isinstance(node, dict):
            action = rng.randrange(3)
            if action == 0 and node:
                node[rng.choice(list(node))] = copy.deepcopy(rng.choice(ODD_VALUES))
            elif action == 1 and node:
                del node[rng.choice(list(node))]
            else:
                key = rng.choice(["unknown", "mode", "labels", "path", "severity"])
                node[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(ODD_VALUES))
        mutated.append(copy_)
    return mutated


SCHEMAS = [("config.schema.json", _configs), ("input.schema.json", _inputs)]


@pytest.mark.parametrize(("schema_name", "documents"), SCHEMAS)
def test_usual_documents_are_surely_valid(schema_name: str, documents: Any) -> None:
    schema = _resources.load_schema(schema_name)
    for document in documents():
        assert is_surely_valid(document, schema)


@pytest.mark.parametrize(("schema_name", "documents"), SCHEMAS)
def test_never_valid_when_jsonschema_rejects(schema_name: str, documents: Any) -> None:
    schema = _resources.load_schema(schema_name)
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(4)
    checked = rejected = 0
    for document in documents():
        for mutated in _mutations(document, rng, 400):
            invalid = next(validator.iter_errors(mutated), None) is not None
            rejected += invalid
            if is_surely_valid(mutated, schema):
                assert not invalid, mutated
            checked += 1
            error = schema_error(mutated, schema_name)
            assert (error is None) == (not invalid)
    assert rejected > checked // 4  # the mutations do produce invalid documents
