"""The same decisions on every engine: embedded (regorus), real OPA in-process, and OPA over REST.

Each fixture in tests/assets/decisions/ holds a config, an input document and the expected
decision, worked out by hand from the policies' rules and the config's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opa_reference import OpaTestServer, ReferenceOpaEngine

from aigate.config import GateConfig, config_from_mapping
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import Engine, PolicySet
from aigate.engines.opa_server import OpaConnection, RemoteOpaEngine
from aigate.models import InputDocument
from aigate.policy_tests import run_tests

from .conftest import DECISIONS, config_data

FIXTURES = sorted(DECISIONS.glob("*.json"))
ENGINES = ("embedded", "opa-reference", "opa-rest")


def _load(path: Path) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return fixture


def _input(fixture: dict[str, Any]) -> dict[str, Any]:
    # As the Gate sends it: validated, every default filled in.
    return InputDocument.model_validate(fixture["input"]).model_dump(mode="json")


def canonical(decision: dict[str, Any]) -> dict[str, Any]:
    """The decision with its set-derived arrays (signals, violations) in a fixed order."""
    result: dict[str, Any] = json.loads(json.dumps(decision))
    result["detection"]["signals"] = sorted(result["detection"]["signals"], key=lambda s: json.dumps(s, sort_keys=True))
    result["violations"] = sorted(result["violations"], key=lambda v: json.dumps(v, sort_keys=True))
    return result


class _RestEngine(Engine):
    """The REST engine against a test server on the reference engine, closed together."""

    name = "opa"

    def __init__(self, reference: ReferenceOpaEngine) -> None:
        self.server = OpaTestServer(reference, revision=reference.bundle_revision).start()
        self.client = RemoteOpaEngine(OpaConnection((self.server.url,), retries=0))

    @property
    def bundle_revision(self) -> str:
        return self.client.bundle_revision

    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        return self.client.evaluate(input_document)

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def _engine(kind: str, policies: PolicySet, config: GateConfig) -> Engine:
    data = config_data(config)
    if kind == "embedded":
        return EmbeddedEngine(policies, data)
    reference = ReferenceOpaEngine(policies, data)
    return reference if kind == "opa-reference" else _RestEngine(reference)


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest, opa_bindings: Any) -> str:
    kind: str = request.param
    return kind


def test_fixtures_cover_every_rule_signal_mode_and_tier() -> None:
    fixtures = [_load(path) for path in FIXTURES]
    assert len(fixtures) >= 12
    rules = {v[0] for f in fixtures for v in f["expected"]["violations"]}
    assert rules >= {
        "blocked_path",
        "path_not_allowed",
        "max_files",
        "max_lines_added",
        "max_lines_removed",
        "tests_required",
        "scan_threshold",
        "secret_detected",
    }
    assert {s[0] for f in fixtures for s in f["expected"]["signals"]} == {
        "label",
        "co_author",
        "bot_author",
        "branch",
        "message_marker",
        "unknown_bot",
    }
    assert {f["expected"]["risk"]["tier"] for f in fixtures if f["expected"]["risk"]} == {"low", "medium", "high"}
    assert {v[2] for f in fixtures for v in f["expected"]["violations"]} == {"block", "warn", "observe"}
    assert {f["expected"]["outcome"] for f in fixtures} == {"allow", "review", "block"}
    assert any(not f["expected"]["is_ai"] and f["expected"]["outcome"] == "allow" for f in fixtures)
    assert any(f["config"] and f["config"].get("policy", {}).get("apply_to_human") for f in fixtures)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_decision_on_each_engine(path: Path, engine_kind: str, policies: PolicySet) -> None:
    fixture = _load(path)
    expected = fixture["expected"]
    with _engine(engine_kind, policies, config_from_mapping(fixture["config"] or {})) as engine:
        decision = engine.evaluate(_input(fixture))
    assert decision["outcome"] == expected["outcome"], fixture["description"]
    assert decision["is_ai"] is expected["is_ai"]
    assert decision["detection"]["is_ai"] is expected["is_ai"]
    assert (
        sorted([s["kind"], s["value"], s["pattern"]] for s in decision["detection"]["signals"]) == expected["signals"]
    )
    violations = sorted(
        ([v["rule"], v["path"], v["mode"], v["blocking"]] for v in decision["violations"]), key=json.dumps
    )
    assert violations == expected["violations"]
    if expected["risk"] is None:
        assert decision["risk"] is None
    else:
        risk = decision["risk"]
        assert (risk["score"], risk["tier"]) == (expected["risk"]["score"], expected["risk"]["tier"])
        assert {factor["name"]: factor["points"] for factor in risk["factors"]} == expected["risk"]["factors"]


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_embedded_decision_document_equals_opa(path: Path, opa_bindings: Any, policies: PolicySet) -> None:
    fixture = _load(path)
    config = config_from_mapping(fixture["config"] or {})
    document = _input(fixture)
    decisions = {}
    for kind in ENGINES:
        with _engine(kind, policies, config) as engine:
            decisions[kind] = canonical(engine.evaluate(document))
    assert decisions["embedded"] == decisions["opa-reference"]
    assert decisions["opa-rest"] == decisions["opa-reference"]


def test_fixture_inputs_are_valid_input_documents() -> None:
    for path in FIXTURES:
        fixture = _load(path)
        InputDocument.model_validate(fixture["input"])
        assert set(fixture) == {"description", "config", "input", "expected"}, path.name


def _large_input(files: int) -> dict[str, Any]:
    """Many files, each kind of path: blocked, sensitive, source, test, renamed, with a newline."""
    paths = []
    for index in range(files):
        kind = index % 6
        path = [
            f"src/pkg{index % 40}/mod{index}.py",
            f"src/auth/h{index}.ts",
            f".github/workflows/w{index}.yml",
            f"tests/test_{index}.py",
            f"docs/p{index}.md",
            f"odd/name{index}\nauth/x.env",
        ][kind]
        change = {"path": path, "status": "modified", "added": index % 7, "removed": index % 3}
        if kind == 4:
            change.update(status="renamed", old_path=f"infra/old{index}.tf")
        paths.append(change)
    return InputDocument.model_validate(
        {
            "pr": {"labels": ["ai-generated"]},
            "files": paths,
            "findings": [{"tool": "t", "category": "sast", "severity": "medium", "path": "src/a.py", "line": 1}],
        }
    ).model_dump(mode="json")


@pytest.mark.parametrize(
    "settings", [{}, {"policy": {"allowed_patterns": ["src/**"], "require_tests": {"enabled": True}}}]
)
def test_large_input_same_on_both_engines(opa_bindings: Any, policies: PolicySet, settings: dict[str, Any]) -> None:
    config = config_from_mapping(settings)
    document = _large_input(600)
    with _engine("embedded", policies, config) as embedded, _engine("opa-reference", policies, config) as reference:
        first = canonical(embedded.evaluate(document))
        assert first == canonical(reference.evaluate(document))
    assert len(first["violations"]) > 100  # the comparison covered many violations, not an empty list


def _rego_test_failures(results: Iterator[Any] | list[Any]) -> list[str]:
    return [f"{r.test.module}: {r.test.rule}: {r.detail}" for r in results if not r.passed]


def test_rego_unit_tests_pass_on_real_opa(
    opa_bindings: Any, policies_with_tests: PolicySet, default_config: GateConfig
) -> None:
    engine = ReferenceOpaEngine(policies_with_tests, config_data(default_config))
    results = run_tests(policies_with_tests, engine.evaluate_rule)
    assert len(results) > 50
    assert _rego_test_failures(results) == []


def test_rego_unit_tests_pass_on_embedded(policies_with_tests: PolicySet, default_config: GateConfig) -> None:
    engine = EmbeddedEngine(policies_with_tests, config_data(default_config))
    results = run_tests(policies_with_tests, engine.evaluate_rule)
    assert len(results) > 50
    assert _rego_test_failures(results) == []
