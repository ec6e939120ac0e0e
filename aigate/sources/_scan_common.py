"""What every scanner-format module shares: the parse result, severity mapping, fingerprints, the secret
scrubber, and typed access to a report's fields with errors that name the field and never its value."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aigate.errors import ScanError
from aigate.models import Dependency, Finding, SandboxTestResults, Severity

__all__ = [
    "REDACTED_SECRET",
    "ScanResult",
    "SecretScrubber",
    "cvss_severity",
    "fingerprint",
    "get",
    "mapped_severity",
    "relative_path",
    "secret_hash",
]

REDACTED_SECRET = "[secret]"
_TOKEN_SEPARATORS = re.compile(r"[\s'\"`=:,;()\[\]{}<>]+")
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")

_T = TypeVar("_T")


@dataclass(frozen=True)
class ScanResult:
    """One report, parsed: its findings and dependencies, and sandbox results where the format has them."""

    tool: str
    format: str
    # What the report covers, whether or not it found anything.
    categories: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    tests: SandboxTestResults | None = None
    # A coverage report (aigate.sources.coverage_report.CoverageReport), for coverage formats.
    coverage: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Per finding, where the format says: the last line of its range (semgrep, SARIF), and the commit that holds
    # it (`gitleaks git`). Empty when it does not.
    end_lines: tuple[int | None, ...] = ()
    commits: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        """`findings, dependencies = load_scan_file(...)`, as the loaders returned before this class."""
        return iter((self.findings, self.dependencies))


def mapped_severity(value: object, mapping: Mapping[str, Severity], default: Severity) -> tuple[Severity, str]:
    """(normalised severity, the tool's own value as text): the tool's value looked up case-insensitively."""
    text = "" if value is None else str(value)
    return mapping.get(text.strip().lower(), default), text


def cvss_severity(score: float) -> Severity:
    """CVSS v3 qualitative ratings (FIRST): 9.0+ critical, 7.0+ high, 4.0+ medium, 0.1+ low, 0 none."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "info"


def fingerprint(*parts: object) -> str:
    """A stable id from the fields that identify a finding (never from a secret's value itself)."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def finding_fingerprint(finding: Finding) -> str:
    """The fingerprint of a finding that gives none, from its identifying fields."""
    return fingerprint(finding.tool, finding.category, finding.rule_id, finding.path, finding.line, finding.package)


def secret_hash(value: str) -> str:
    """A short prefix of the secret's SHA-256: enough to correlate, too short to confirm a guess offline."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def relative_path(path: object) -> str | None:
    """A report's path: `./` removed, and an absolute path (a scanner run on `$GITHUB_WORKSPACE`) kept absolute,
    with one leading `/`, until the report meets the PR's files: which part is the checkout's folder is known
    only then (`scanning.checkout_path`). Cut to `tmp/ws/src/app.py` here, it matched no changed file, and
    every finding of the report counted as one the PR did not introduce."""
    if not isinstance(path, str) or not path:
        return None
    text = path
    if text.startswith("file://"):
        text = text[len("file://") :]
    while text.startswith("./"):
        text = text[2:]
    stripped = text.lstrip("/")
    if not stripped:
        return None
    return "/" + stripped if stripped != text else stripped


class SecretScrubber:
    """Removes every known secret value from the text aigate keeps (messages, paths, rule ids).

    Parsers drop the fields that carry a secret, and scrub the rest with the values those fields held:
    a tool that repeats the secret in its description or a file name does not leak it either.
    """

    def __init__(self, secrets: Iterable[object] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *values: object) -> None:
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= 4:
                self._secrets.add(value)
                self._secrets.add(value.strip())
                # Multi-line values (private keys) are also removed line by line.
                self._secrets.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)

    def add_matched_text(self, *values: object) -> None:
        """A tool's matched text or source line ("KEY = 'value'"), which holds the secret among other words:
        the whole text and each of its longer tokens are removed wherever they appear."""
        for value in values:
            if isinstance(value, str):
                self.add(value, *(token for token in _TOKEN_SEPARATORS.split(value) if len(token) >= 8))

    def __call__(self, text: str | None) -> str | None:
        if text is None or not self._secrets:
            return text
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED_SECRET)
        return text

    def text(self, value: str) -> str:
        scrubbed = self(value)
        return scrubbed if scrubbed is not None else ""


def get(
    obj: Mapping[str, Any], key: str, kind: type[_T] | tuple[type, ...], source: str, where: str, *,
    required: bool = True, default: Any = None,
) -> Any:
    """`obj[key]` checked against `kind`; an error names the report, the field and the expected type."""
    if key not in obj or obj[key] is None:
        if required:
            raise ScanError(source, f'{where}: missing "{key}"')
        return default
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ScanError(source, f'{where}: "{key}" has the wrong type')
    if not isinstance(value, kinds):
        raise ScanError(source, f'{where}: "{key}" has the wrong type (expected {_names(kinds)})')
    return value


def mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScanError(source, f"{where}: expected an object")
    return value


def items(value: Any, source: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScanError(source, f"{where}: expected a list")
    return value


def line_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _names(kinds: tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "a number", "float": "a number", "list": "a list", "dict": "an object",
             "Mapping": "an object", "bool": "true or false"}
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in kinds))
