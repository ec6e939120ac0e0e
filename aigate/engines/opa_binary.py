"""Where OPA is: the environment variables and the `opa` binary lookup, without the HTTP stack,
so that `auto` can decide on the embedded engine without importing an OPA client (~0.4 s)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from aigate.errors import EngineUnavailableError

__all__ = ["ENV_OPA_BINARY", "ENV_OPA_TOKEN", "ENV_OPA_URL", "find_opa_binary"]

ENV_OPA_URL = "AIGATE_OPA_URL"
ENV_OPA_TOKEN = "AIGATE_OPA_TOKEN"
ENV_OPA_BINARY = "AIGATE_OPA_BINARY"


def find_opa_binary(environ: Mapping[str, str] | None = None) -> str | None:
    """`AIGATE_OPA_BINARY` if set (it must then be executable), else `opa` on PATH, else None."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_OPA_BINARY, "")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise EngineUnavailableError(f"{ENV_OPA_BINARY}={configured}: not an executable file")
        return found
    return shutil.which("opa", path=env.get("PATH", os.defpath))
