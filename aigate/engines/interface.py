"""The engine interface: evaluate `data.aigate.decision` for one input document.

Engines get the policy modules and the compiled config; they return the raw decision
document, which `aigate.gate` validates. An engine never returns a default on failure:
it raises `EngineError`, and the gate fails closed.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aigate.errors import PolicyError

__all__ = ["DECISION_PATH", "Engine", "PolicySet", "load_policy_set"]

DECISION_PATH = "aigate/decision"
MAX_POLICY_BYTES = 4 << 20


@dataclass(frozen=True)
class PolicySet:
    """Rego modules by path (relative to the policy folder), and a revision naming their content."""

    modules: tuple[tuple[str, str], ...]
    root: Path

    @property
    def revision(self) -> str:
        digest = hashlib.sha256()
        for path, source in self.modules:
            digest.update(path.encode("utf-8") + b"\0" + source.encode("utf-8") + b"\0")
        return "sha256:" + digest.hexdigest()[:16]


def load_policy_set(directory: Path, *, include_tests: bool = False) -> PolicySet:
    """Every `.rego` file below `directory`, in a stable order; `_test.rego` files only on request."""
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy folder not found")
    modules = []
    total = 0
    for path in sorted(directory.rglob("*.rego")):
        if path.name.endswith("_test.rego") and not include_tests:
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise PolicyError(f"{path}: cannot read policy: {e}") from e
        total += len(source)
        if total > MAX_POLICY_BYTES:
            raise PolicyError(f"{directory}: policies are larger than {MAX_POLICY_BYTES} bytes")
        modules.append((path.relative_to(directory).as_posix(), source))
    if not modules:
        raise PolicyError(f"{directory}: no .rego files")
    return PolicySet(modules=tuple(modules), root=directory)


class Engine(ABC):
    """Evaluates the decision document. Instances are reusable across evaluations."""

    name: str

    @abstractmethod
    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        """The value of `data.aigate.decision` for this input. Raises EngineError."""

    def evaluate_json(self, input_json: str) -> dict[str, Any]:
        """`evaluate` for an input document already serialised as JSON; engines that take JSON
        override this to skip a decode/encode round trip."""
        return self.evaluate(json.loads(input_json))

    @property
    @abstractmethod
    def bundle_revision(self) -> str:
        """The revision of the policies and data this engine evaluates."""

    @property
    def decision_id(self) -> str | None:
        """The engine's own id for this thread's last decision (an OPA server that logs decisions
        has one), which the decision then carries so that both logs join; None: aigate makes one."""
        return None

    @property
    def where(self) -> str:
        """Names the engine in error messages."""
        return f"engine {self.name}"

    def close(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release what the engine holds (processes, connections)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
