"""Run an AI PR's tests in isolation (bubblewrap), and report what happened as evidence for the gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aigate.sandbox.report import SandboxReport, SandboxTests
from aigate.sandbox.settings import SandboxLimits, SandboxSettings

if TYPE_CHECKING:
    from aigate.sandbox.runner import run_sandbox

__all__ = ["SandboxLimits", "SandboxReport", "SandboxSettings", "SandboxTests", "run_sandbox"]


def __getattr__(name: str) -> Any:
    # The runner (subprocess, threads) loads only when a sandbox is run, not with the input models.
    if name == "run_sandbox":
        from aigate.sandbox.runner import run_sandbox

        return run_sandbox
    raise AttributeError(name)
