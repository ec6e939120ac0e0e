"""Errors aigate raises. Each message names the source and the problem in one line.

Every error means the gate could not decide: hosts must treat it as "not allowed"
(the CLI exits 2). Nothing in aigate turns an error into an allow.
"""

from __future__ import annotations

__all__ = [
    "MAX_MESSAGE_CHARS",
    "AigateError",
    "AuditError",
    "CommitsError",
    "ConfigError",
    "DiffError",
    "EngineError",
    "EngineUnavailableError",
    "InputDocumentError",
    "InputError",
    "PolicyError",
    "PullRequestError",
    "RegistryError",
    "RepositoryError",
    "SandboxError",
    "ScanError",
    "one_line",
]


# Every error message is one line of at most this many characters: a hostile input (a YAML alias
# bomb measured a 722 MB message) must not turn the error itself into the denial of service.
MAX_MESSAGE_CHARS = 1000


def one_line(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`message` on one line, cut to `limit` characters with a marker when longer."""
    text = " ".join(message[: limit * 4].split())
    if len(text) > limit or len(message) > limit * 4:
        return text[: limit - 14].rstrip() + " …(truncated)"
    return text


class AigateError(Exception):
    """Base of every aigate error."""

    def __init__(self, message: str) -> None:
        # One bounded line, always: hosts print it as-is next to exit code 2.
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        return str(self)

    def diagnostics(self) -> str:
        """The one-line message a CLI or bot shows to the user."""
        return f"aigate: error: {self}"


class ConfigError(AigateError):
    """`.ai-code-gate.yml` is unreadable, not YAML, or not valid against the config schema."""


class InputError(AigateError):
    """An input source is unreadable or malformed. `source` names it (a file, or a kind of input)."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class PullRequestError(InputError):
    """PR metadata (generic JSON or a GitHub event payload) is malformed."""


class CommitsError(InputError):
    """Commit data is malformed."""


class DiffError(InputError):
    """A unified diff could not be parsed."""


class RepositoryError(InputError):
    """Reading commits or a diff from a local git repository failed."""


class ScanError(InputError):
    """A scanner report is malformed or of an unknown format."""


class RegistryError(AigateError):
    """A package registry could not answer whether a new dependency exists (and the config does not say to
    treat that as a warning), or its offline snapshot is unreadable."""


class InputDocumentError(InputError):
    """The assembled input document does not validate against `schemas/input.schema.json`."""


class PolicyError(AigateError):
    """The Rego policies failed to load or produced a result that is not a valid decision."""


class EngineError(AigateError):
    """The Rego engine failed while evaluating."""


class EngineUnavailableError(EngineError):
    """The requested engine cannot be used here (not installed, not reachable)."""


class SandboxError(AigateError):
    """The sandbox could not run the command: bubblewrap or strace missing, namespaces refused, no such command."""


class AuditError(AigateError):
    """An audit sink could not record an event (the evaluation fails closed), or an audit store could not be read."""
