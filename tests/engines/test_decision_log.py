"""Decision log records in OPA's event format, redacted before they are logged or hashed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from aigate.decision_log import decision_log_record
from aigate.errors import ConfigError
from aigate.models import InputDocument

INPUT = InputDocument.model_validate(
    {
        "pr": {"number": 7, "body": "token=hunter2", "labels": ["ai-generated"]},
        "findings": [
            {
                "tool": "gitleaks",
                "category": "secret",
                "severity": "high",
                "message": "AKIA1234",
                "path": "a.py",
                "line": 1,
            },
            {"tool": "semgrep", "category": "sast", "severity": "low", "message": "eval(x)", "path": "b.py", "line": 2},
        ],
    }
).model_dump(mode="json")
RESULT = {"outcome": "block", "is_ai": True}
WHEN = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def _record(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "decision_id": "5f0c1a8e-0000-4000-8000-000000000001",
        "path": "aigate/decision",
        "input_document": INPUT,
        "result": RESULT,
        "bundles": {"aigate": "sha256:abc+sha256:def"},
        "metrics": {"timer_rego_query_eval_ns": 1234567},
        "input_mode": "full",
        "redact": ["/pr/body", "/findings/*/message"],
        "timestamp": WHEN,
    }
    arguments.update(overrides)
    return decision_log_record(**arguments)


def test_full_input_is_redacted_and_masked_fields_listed() -> None:
    record = _record()
    assert record["input"]["pr"]["body"] == "**REDACTED**"
    assert [f["message"] for f in record["input"]["findings"]] == ["**REDACTED**", "**REDACTED**"]
    assert record["input"]["pr"]["labels"] == ["ai-generated"]
    assert record["masked"] == ["/input/findings/0/message", "/input/findings/1/message", "/input/pr/body"]
    assert "erased" not in record and "input_hash" not in record
    assert "hunter2" not in json.dumps(record) and "AKIA1234" not in json.dumps(record)
    assert INPUT["pr"]["body"] == "token=hunter2"  # the caller's document is left alone


def test_opa_event_fields() -> None:
    record = _record()
    assert record["decision_id"] == "5f0c1a8e-0000-4000-8000-000000000001"
    assert record["path"] == "aigate/decision"
    assert record["result"] == RESULT
    assert record["bundles"] == {"aigate": {"revision": "sha256:abc+sha256:def"}}
    assert record["metrics"] == {"timer_rego_query_eval_ns": 1234567}
    assert record["timestamp"] == "2026-03-01T12:30:05.123456Z"
    assert record["labels"]["app"] == "aigate" and record["labels"]["version"]
    json.dumps(record)  # serialisable as it is


def test_hash_mode_hashes_the_redacted_input() -> None:
    record = _record(input_mode="hash")
    assert "input" not in record
    assert record["erased"] == ["/input"]
    redacted = json.loads(json.dumps(INPUT))
    redacted["pr"]["body"] = "**REDACTED**"
    for finding in redacted["findings"]:
        finding["message"] = "**REDACTED**"
    canonical = json.dumps(redacted, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record["input_hash"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert record["masked"] == ["/input/findings/0/message", "/input/findings/1/message", "/input/pr/body"]


def test_hash_does_not_depend_on_key_order() -> None:
    reordered = dict(reversed(list(INPUT.items())))
    reordered["pr"] = dict(reversed(list(INPUT["pr"].items())))
    assert (
        _record(input_mode="hash", input_document=reordered)["input_hash"] == _record(input_mode="hash")["input_hash"]
    )
    assert _record(input_mode="hash", redact=[])["input_hash"] != _record(input_mode="hash")["input_hash"]


def test_none_mode_keeps_no_trace_of_the_input() -> None:
    record = _record(input_mode="none")
    assert record["erased"] == ["/input"]
    assert "input" not in record and "input_hash" not in record and "masked" not in record
    assert "hunter2" not in json.dumps(record)


def test_timestamp_is_converted_to_utc() -> None:
    when = datetime(2026, 3, 1, 14, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    assert _record(timestamp=when)["timestamp"] == "2026-03-01T12:30:05.000000Z"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"input_mode": "partial"}, "decision log input 'partial': expected one of full, hash, none"),
        ({"redact": ["pr/body"]}, "decision log redact 'pr/body': a JSON pointer starts with '/'"),
    ],
)
def test_bad_settings_are_errors(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _record(**overrides)
    assert str(caught.value) == problem
