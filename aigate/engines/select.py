"""Choose the engine: embedded (regorus, in-process), OPA (a server), or whichever is available.

`auto` uses OPA when server URLs are configured (`OpaConnection.urls` or `AIGATE_OPA_URL`), or when an `opa`
binary is found (`AIGATE_OPA_BINARY`, else PATH) to run a managed server; otherwise the embedded
engine. A configured OPA that cannot be reached is an error, never a silent fallback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, get_args

from aigate.config import GateConfig
from aigate.engines.connection import OpaConnection
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import Engine, PolicySet
from aigate.engines.opa_binary import ENV_OPA_BINARY, ENV_OPA_URL, find_opa_binary
from aigate.errors import EngineError, EngineUnavailableError

__all__ = ["ENGINE_KINDS", "EngineKind", "create_engine"]

EngineKind = Literal["embedded", "opa", "auto"]
ENGINE_KINDS: tuple[str, ...] = get_args(EngineKind)


def create_engine(
    kind: EngineKind,
    policies: PolicySet,
    config: GateConfig,
    *,
    connection: OpaConnection | None = None,
    opa_binary: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Engine:
    """An engine evaluating `policies` with `config` as `data.aigate.config`.

    Remote OPA servers (`connection.urls`, else `AIGATE_OPA_URL`) serve their own bundle:
    `policies` and `config` are not sent to them. Pin what they must serve with
    `connection.require_revision` (e.g. `aigate.bundle.bundle_revision(policies, config)`).
    Explicit settings win over the `AIGATE_OPA_*` environment variables.
    """
    if kind not in ENGINE_KINDS:
        raise EngineError(f"engine {kind!r}: unknown; expected one of {', '.join(ENGINE_KINDS)}")
    env = os.environ if environ is None else environ
    connection = connection or OpaConnection()
    if kind == "embedded":
        if connection.urls:
            raise EngineError("engine embedded: an OPA URL was given; use engine opa or auto to evaluate on OPA")
        return EmbeddedEngine(policies, {"aigate": {"config": config.data}})

    connection = connection.with_environment(env)
    binary = None if connection.urls else opa_binary or find_opa_binary(env)
    if not connection.urls and not binary:
        if kind == "opa":
            raise EngineUnavailableError(
                f"engine opa: no OPA server URL (--opa-url or {ENV_OPA_URL}) "
                f"and no opa binary ({ENV_OPA_BINARY} or PATH)"
            )
        return EmbeddedEngine(policies, {"aigate": {"config": config.data}})
    # Imported here: the HTTP client stack costs ~0.4 s of start-up the embedded engine never needs.
    from aigate.engines.opa_server import ManagedOpaEngine, RemoteOpaEngine

    if connection.urls:
        return RemoteOpaEngine(connection)
    assert binary is not None
    return ManagedOpaEngine(policies, config, binary=binary, connection=connection, environ=env)
