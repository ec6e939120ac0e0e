"""aigate: govern AI-generated pull requests with Rego policies.

Detect whether a PR is AI-generated, normalise its metadata, diff and scanner reports into one
input document, evaluate Rego policies on it, and return a structured decision:

    from pathlib import Path
    from aigate import Gate

    with Gate.from_config(".ai-code-gate.yml") as gate:
        decision = gate.evaluate(pr=Path("pr.json"), commits=Path("commits.json"), diff=Path("pr.diff"))
    if decision.outcome == "block":
        ...
"""

from __future__ import annotations

from importlib import import_module

# Not typing's: the CLI imports this package before it starts git on a --repo diff, and typing takes ~10 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from aigate.audit.events import AuditEvent
    from aigate.config import GateConfig, load_config
    from aigate.errors import (
        AigateError,
        AuditError,
        CommitsError,
        ConfigError,
        DiffError,
        EngineError,
        EngineUnavailableError,
        InputDocumentError,
        InputError,
        PolicyError,
        PullRequestError,
        RepositoryError,
        ScanError,
    )
    from aigate.gate import Gate
    from aigate.models import (
        Commit,
        Decision,
        Dependency,
        Detection,
        FileChange,
        Finding,
        Generation,
        InputDocument,
        Person,
        PrAuthor,
        PullRequest,
        Risk,
        RiskFactor,
        Signal,
        Trailer,
        Violation,
    )

# The public names are imported when first used, not with the package: `import aigate.X` stays cheap, so
# the CLI can start git for --repo before pydantic, yaml and the engine are imported (~200 ms it overlaps).
_HOMES = {
    **dict.fromkeys(("GateConfig", "load_config"), "aigate.config"),
    **dict.fromkeys(
        (
            "AigateError", "AuditError", "CommitsError", "ConfigError", "DiffError", "EngineError",
            "EngineUnavailableError", "InputDocumentError", "InputError", "PolicyError", "PullRequestError",
            "RepositoryError", "ScanError",
        ),
        "aigate.errors",
    ),
    "Gate": "aigate.gate",
    "AuditEvent": "aigate.audit.events",
    **dict.fromkeys(
        (
            "Commit", "Decision", "Dependency", "Detection", "FileChange", "Finding", "Generation", "InputDocument",
            "Person", "PrAuthor", "PullRequest", "Risk", "RiskFactor", "Signal", "Trailer", "Violation",
        ),
        "aigate.models",
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'aigate' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "AigateError",
    "AuditError",
    "AuditEvent",
    "Commit",
    "CommitsError",
    "ConfigError",
    "Decision",
    "Dependency",
    "Detection",
    "DiffError",
    "EngineError",
    "EngineUnavailableError",
    "FileChange",
    "Finding",
    "Gate",
    "GateConfig",
    "Generation",
    "InputDocument",
    "InputDocumentError",
    "InputError",
    "Person",
    "PolicyError",
    "PrAuthor",
    "PullRequest",
    "PullRequestError",
    "RepositoryError",
    "Risk",
    "RiskFactor",
    "ScanError",
    "Signal",
    "Trailer",
    "Violation",
    "load_config",
]
