"""Choose the engine: embedded (regorus, in-process), OPA (a server), or whichever is available.

`auto` uses OPA when a server URL is configured (argument or `AIGATE_OPA_URL`), or when an `opa`
binary is found (`AIGATE_OPA_BINARY`, else PATH) to run a managed server; otherwise the embedded
engine. A configured OPA that cannot be reached is an error, never a silent fallback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

from aigate.config import GateConfig
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import Engine, PolicySet
from aigate.engines.opa_binary import ENV_OPA_BINARY, ENV_OPA_TOKEN, ENV_OPA_URL, find_opa_binary
from aigate.errors import EngineError, EngineUnavailableError

__all__ = ["ENGINE_KINDS", "EngineKind", "create_engine"]

EngineKind = Literal["embedded", "opa", "auto"]
ENGINE_KINDS: tuple[str, ...] = get_args(EngineKind)


def create_engine(
    kind: EngineKind,
    policies: PolicySet,
    config: GateConfig,
    *,
    opa_url: str | None = None,
    opa_token: str | None = None,
    opa_binary: str | None = None,
    ca_bundle: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    verify_tls: bool = True,
    timeout: float = 5.0,
    retries: int = 2,
    require_revision: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Engine:
    """An engine evaluating `policies` with `config` as `data.aigate.config`.

    A remote OPA serves its own bundle: `policies` and `config` are not sent to it. Pin what it
    must serve with `require_revision` (e.g. `aigate.bundle.bundle_revision(policies, config)`).
    Explicit arguments win over the `AIGATE_OPA_*` environment variables.
    """
    if kind not in ENGINE_KINDS:
        raise EngineError(f"engine {kind!r}: unknown; expected one of {', '.join(ENGINE_KINDS)}")
    env = os.environ if environ is None else environ
    if kind == "embedded":
        if opa_url:
            raise EngineError("engine embedded: an OPA URL was given; use engine opa or auto to evaluate on OPA")
        return EmbeddedEngine(policies, {"aigate": {"config": config.data}})

    url = opa_url or env.get(ENV_OPA_URL) or None
    binary = None if url else opa_binary or find_opa_binary(env)
    if not url and not binary:
        if kind == "opa":
            raise EngineUnavailableError(
                f"engine opa: no OPA server URL (--opa-url or {ENV_OPA_URL}) "
                f"and no opa binary ({ENV_OPA_BINARY} or PATH)"
            )
        return EmbeddedEngine(policies, {"aigate": {"config": config.data}})
    # Imported here: the HTTP client stack costs ~0.4 s of start-up the embedded engine never needs.
    from aigate.engines.opa_server import ManagedOpaEngine, RemoteOpaEngine

    if url:
        return RemoteOpaEngine(
            url,
            token=opa_token or env.get(ENV_OPA_TOKEN) or None,
            ca_bundle=ca_bundle,
            client_cert=client_cert,
            client_key=client_key,
            verify_tls=verify_tls,
            timeout=timeout,
            retries=retries,
            require_revision=require_revision,
        )
    assert binary is not None
    return ManagedOpaEngine(policies, config, binary=binary, timeout=timeout, retries=retries, environ=env)
