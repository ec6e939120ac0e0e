"""Engine selection: embedded, OPA (remote or managed), or auto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opa_reference import OpaTestServer, ReferenceOpaEngine, process_exists

from aigate.config import GateConfig
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.engines.opa_server import (
    ENV_OPA_BINARY,
    ENV_OPA_TOKEN,
    ENV_OPA_URL,
    ManagedOpaEngine,
    OpaConnection,
    RemoteOpaEngine,
)
from aigate.engines.select import ENGINE_KINDS, create_engine
from aigate.errors import EngineError, EngineUnavailableError

DOCUMENT: dict[str, Any] = {
    "pr": {"labels": ["ai-generated"]},
    "commits": [],
    "findings": [],
    "dependencies": [],
    "files": [{"path": "docs/a.md", "status": "modified", "added": 1, "removed": 0}],
}


def test_kinds() -> None:
    assert ENGINE_KINDS == ("embedded", "opa", "auto")


def test_auto_without_opa_is_embedded(policies: PolicySet, default_config: GateConfig, tmp_path: Path) -> None:
    with create_engine("auto", policies, default_config, environ={"PATH": str(tmp_path)}) as engine:
        assert isinstance(engine, EmbeddedEngine)
        assert engine.evaluate(DOCUMENT)["outcome"] == "allow"


def test_embedded_ignores_the_environment_but_refuses_an_explicit_url(
    policies: PolicySet, default_config: GateConfig
) -> None:
    engine = create_engine("embedded", policies, default_config, environ={ENV_OPA_URL: "http://127.0.0.1:1"})
    assert isinstance(engine, EmbeddedEngine)
    with pytest.raises(EngineError, match="engine embedded: an OPA URL was given"):
        create_engine("embedded", policies, default_config, connection=OpaConnection(("http://127.0.0.1:1",)))


@pytest.mark.parametrize("kind", ["opa", "auto"])
def test_url_from_environment_selects_remote_opa(
    kind: Any, policies: PolicySet, default_config: GateConfig, reference_engine: ReferenceOpaEngine
) -> None:
    with OpaTestServer(reference_engine, revision="rev-1", token="t0k") as server:
        environ = {ENV_OPA_URL: server.url, ENV_OPA_TOKEN: "t0k", "PATH": ""}
        with create_engine(kind, policies, default_config, environ=environ) as engine:
            assert isinstance(engine, RemoteOpaEngine)
            assert engine.evaluate(DOCUMENT)["outcome"] == "allow"
            assert engine.bundle_revision == "rev-1"


def test_explicit_url_wins_over_environment(
    policies: PolicySet, default_config: GateConfig, opa_server: OpaTestServer
) -> None:
    environ = {ENV_OPA_URL: "http://127.0.0.1:1"}
    with create_engine(
        "opa", policies, default_config, connection=OpaConnection((opa_server.url,)), environ=environ
    ) as engine:
        assert isinstance(engine, RemoteOpaEngine) and engine.url == opa_server.url


def test_unreachable_configured_opa_is_an_error_not_a_fallback(policies: PolicySet, default_config: GateConfig) -> None:
    with create_engine(
        "auto", policies, default_config, connection=OpaConnection(("http://127.0.0.1:9",), retries=0)
    ) as engine:
        with pytest.raises(EngineError, match="cannot connect"):
            engine.evaluate(DOCUMENT)


def test_auto_with_opa_binary_runs_managed_server(
    policies: PolicySet, default_config: GateConfig, real_opa: str
) -> None:
    with create_engine("auto", policies, default_config, environ={ENV_OPA_BINARY: real_opa}) as engine:
        assert isinstance(engine, ManagedOpaEngine)
        pid = engine.pid
        assert pid is not None and process_exists(pid)
        assert engine.evaluate(DOCUMENT)["outcome"] == "allow"
    assert not process_exists(pid)


def test_opa_without_url_or_binary_is_unavailable(
    policies: PolicySet, default_config: GateConfig, tmp_path: Path
) -> None:
    with pytest.raises(EngineUnavailableError) as caught:
        create_engine("opa", policies, default_config, environ={"PATH": str(tmp_path)})
    assert str(caught.value) == (
        "engine opa: no OPA server URL (--opa-url or AIGATE_OPA_URL) and no opa binary (AIGATE_OPA_BINARY or PATH)"
    )


def test_unknown_kind(policies: PolicySet, default_config: GateConfig) -> None:
    with pytest.raises(EngineError, match="engine 'wasm': unknown; expected one of embedded, opa, auto"):
        create_engine("wasm", policies, default_config)  # type: ignore[arg-type]
