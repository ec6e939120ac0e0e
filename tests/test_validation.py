"""Validation against the published schemas.

A ready input document (`--input`) is validated by the pydantic model its published schema is generated
from: what the model accepts, the published schema accepts too; whatever it rejects fails closed, with one
line naming the source and the field. A config is checked by jsonschema-rs and described by jsonschema:
the two must agree."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aigate import _resources
from aigate import config as config_module
from aigate.config import load_config
from aigate.document import build_input_document, load_input_document
from aigate.errors import InputDocumentError

REPO = Path(__file__).resolve().parent.parent

ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 10**20, "", "x", "added", "renamed", "secret", "critical", "1", [],
    ["a"], [1], {}, {"a": 1}, {"key": "k", "value": "v"}, {"path": "a", "status": "added"}, "block", "warn",
    "*.env*", "!neg", {"threshold": 10}, {1: "int key"},
]  # fmt: skip


def _examples() -> list[dict[str, Any]]:
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
                key = rng.choice(["unknown", "status", "labels", "path", "severity", "added", "binary", "mode"])
                node[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif isinstance(node, list) and node:
            node[rng.randrange(len(node))] = copy.deepcopy(rng.choice(ODD_VALUES))
        mutated.append(copy_)
    return mutated


def test_examples_load_as_they_were_built(tmp_path: Path) -> None:
    for document in _examples():
        path = tmp_path / "input.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        assert load_input_document(path).model_dump(mode="json") == document
        assert load_input_document(document).model_dump(mode="json") == document


def test_never_accepts_what_the_published_schema_rejects(tmp_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(_resources.load_schema("input.schema.json"))
    rng = random.Random(4)
    checked = rejected = 0
    path = tmp_path / "input.json"
    for document in _examples():
        for mutated in _mutations(document, rng, 400):
            schema_rejects = next(validator.iter_errors(mutated), None) is not None
            path.write_text(json.dumps(mutated), encoding="utf-8")
            try:
                load_input_document(path)
            except InputDocumentError as e:
                rejected += 1
                message = str(e)
                assert "\n" not in message
                assert message.startswith(f"{path}: ")
            else:
                assert not schema_rejects, mutated
            checked += 1
    assert rejected > checked // 4  # the mutations do produce invalid documents


FILE = {"path": "a.py", "status": "added"}
STATUSES = "'added', 'modified', 'deleted', 'renamed', 'copied' or 'mode_changed'"
BAD_DOCUMENTS = [
    # id, file contents, message after "<path>: "
    ("missing-field", {"files": [{"path": "a"}]}, "files/0/status: Field required"),
    ("unknown-key", {"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ("unknown-nested-key", {"pr": {"title": "x", "colour": 1}}, "pr/colour: Extra inputs are not permitted"),
    ("string-for-number", {"files": [{**FILE, "added": "3"}]}, "files/0/added: Input should be a valid integer"),
    ("float-for-integer", {"files": [{**FILE, "added": 3.5}]}, "files/0/added: Input should be a valid integer"),
    (
        "negative-count",
        {"files": [{**FILE, "removed": -1}]},
        "files/0/removed: Input should be greater than or equal to 0",
    ),
    ("number-for-boolean", {"files": [{**FILE, "binary": 1}]}, "files/0/binary: Input should be a valid boolean"),
    ("string-for-list", {"pr": {"labels": "ai"}}, "pr/labels: Input should be a valid array"),
    ("unknown-status", {"files": [{**FILE, "status": "exploded"}]}, f"files/0/status: Input should be {STATUSES}"),
    ("wrong-version", {"schema_version": "2"}, "schema_version: Input should be '1'"),
    ("not-an-object", "[]", "the document must be a JSON object"),
    ("not-json", "{not json", "Invalid JSON: key must be a string at line 1 column 2"),
    (
        "lone-surrogate",
        '{"pr": {"title": "\\ud800"}}',
        "Invalid JSON: unexpected end of hex escape at line 1 column 25",
    ),
    ("empty", "", "Invalid JSON: EOF while parsing a value at line 1 column 0"),
    # Paths git never writes: judged by such a name, `x/../.github/workflows/ci.yml` was allowed.
    (
        "dot-dot-path",
        {"files": [{"path": "x/../.github/workflows/ci.yml", "status": "added"}]},
        "files/0/path: path 'x/../.github/workflows/ci.yml' is not one git writes (an empty, '.' or '..' part, "
        "or a leading '/')",
    ),
    (
        "empty-part-old-path",
        {"files": [FILE, {"path": "b.yml", "old_path": ".github//workflows/ci.yml", "status": "renamed"}]},
        "files/1/old_path: path '.github//workflows/ci.yml' is not one git writes (an empty, '.' or '..' part, "
        "or a leading '/')",
    ),
    (
        "leading-slash",
        {"files": [{"path": "/etc/passwd", "status": "modified"}]},
        "files/0/path: path '/etc/passwd' is not one git writes (an empty, '.' or '..' part, or a leading '/')",
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS])
def test_bad_document_is_one_line_naming_source_and_field(tmp_path: Path, text: Any, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text), encoding="utf-8")
    with pytest.raises(InputDocumentError) as raised:
        load_input_document(path)
    assert str(raised.value) == f"{path}: {message}"
    assert raised.value.source == str(path)


def test_not_utf8_and_oversize_fail_closed(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(b'{"pr": {"title": "caf\xe9"}}')
    with pytest.raises(InputDocumentError, match=r"input\.json: not UTF-8 text \(byte 21\)$"):
        load_input_document(path)
    with path.open("wb") as handle:
        handle.truncate((256 << 20) + 1)
    with pytest.raises(InputDocumentError, match=r"input\.json: \d+ bytes is larger than the \d+-byte limit$"):
        load_input_document(path)


def test_mapping_is_validated_as_json() -> None:
    with pytest.raises(InputDocumentError, match=r"^input: files/0/added: Input should be a valid integer$"):
        load_input_document({"files": [{**FILE, "added": True}]})
    with pytest.raises(InputDocumentError, match=r"^input: not a JSON document: Out of range float values"):
        load_input_document({"files": [{**FILE, "added": float("nan")}]})
    with pytest.raises(InputDocumentError, match=r"^api: not a JSON document: Object of type set"):
        load_input_document({"pr": {"labels": {"a"}}}, source="api")


def _configs() -> list[Any]:
    defaults = load_config(None).settings
    example = yaml.safe_load((REPO / "examples" / ".ai-code-gate.yml").read_text(encoding="utf-8"))
    return [defaults, example, {}]


def test_config_validity_is_jsonschemas() -> None:
    """jsonschema-rs decides "valid" for speed: it must say exactly what jsonschema says, or a config would
    pass unchecked (or be refused with no message)."""
    validator = jsonschema.Draft202012Validator(_resources.load_schema("config.schema.json"))
    rng = random.Random(4)
    checked = rejected = 0
    for config in _configs():
        assert config_module._schema_error(config) is None
        for mutated in _mutations(config, rng, 400):
            expected = next(validator.iter_errors(mutated), None) is None
            error = config_module._schema_error(mutated)
            assert (error is None) == expected, mutated
            try:
                assert config_module._quick_validator().is_valid(mutated) == expected, mutated
            except ValueError:
                pass  # not JSON (an integer key): the quick check steps aside, jsonschema decides
            rejected += not expected
            checked += 1
    assert rejected > checked // 4
