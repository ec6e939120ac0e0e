"""Fixtures for the engine, bundle and decision-log tests: policies, configs and real OPA."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # opa_reference lives beside the top-level conftest
    sys.path.insert(0, str(TESTS))

import opa_reference  # noqa: E402

from aigate.config import GateConfig, config_from_mapping  # noqa: E402
from aigate.engines.interface import PolicySet, load_policy_set  # noqa: E402

REPO = TESTS.parent
POLICIES = REPO / "policies"
DECISIONS = TESTS / "assets" / "decisions"


def config_data(config: GateConfig) -> dict[str, Any]:
    return {"aigate": {"config": config.data}}


@pytest.fixture(scope="session")
def policies() -> PolicySet:
    return load_policy_set(POLICIES)


@pytest.fixture(scope="session")
def policies_with_tests() -> PolicySet:
    return load_policy_set(POLICIES, include_tests=True)


@pytest.fixture(scope="session")
def default_config() -> GateConfig:
    return config_from_mapping({})


@pytest.fixture(scope="session")
def opa_bindings() -> Any:
    """Real OPA in-process. Skipped where it cannot be had, except in CI, where that fails."""
    try:
        return opa_reference.load_opa_bindings()
    except opa_reference.ReferenceUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"real OPA (reference) is required in CI: {e}")
        pytest.skip(f"real OPA (reference) unavailable: {e}")


@pytest.fixture(scope="session")
def reference_engine(
    opa_bindings: Any, policies: PolicySet, default_config: GateConfig
) -> opa_reference.ReferenceOpaEngine:
    return opa_reference.ReferenceOpaEngine(policies, config_data(default_config))


@pytest.fixture
def opa_server(reference_engine: opa_reference.ReferenceOpaEngine) -> Any:
    with opa_reference.OpaTestServer(reference_engine, revision=reference_engine.bundle_revision) as server:
        yield server
