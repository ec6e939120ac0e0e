"""detect-secrets JSON: a baseline (`detect-secrets scan > .secrets.baseline`) or the same form printed by
`detect-secrets scan`; `results` maps each file to its potential secrets.

Every potential secret is `high`; a result audited as a false positive (`"is_secret": false`) is left out,
one verified live (`is_verified`) is `critical`. detect-secrets keeps only a SHA-1 of the secret: aigate
keeps a short prefix of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import ScanError
from aigate.models import Finding
from aigate.sources._scan_common import (
    ScanResult,
    SecretScrubber,
    fingerprint,
    get,
    items,
    line_number,
    mapping,
    relative_path,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "detect-secrets"
TOOL = "detect-secrets"
CATEGORIES = ("secret",)


def looks_like(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("results"), Mapping) and (
        "plugins_used" in data or "generated_at" in data
    )


def parse(data: Any, *, source: str) -> ScanResult:
    report = mapping(data, source, "(top level)")
    results = get(report, "results", Mapping, source, "(top level)")
    # A plain `hashed_secret` is a full SHA-1 of the secret (guessable offline for a weak one): scrubbed too.
    scrub = SecretScrubber(
        secret.get("hashed_secret")
        for listed in results.values() if isinstance(listed, list)
        for secret in listed if isinstance(secret, Mapping)
    )
    findings = []
    for filename, listed in results.items():
        for index, secret in enumerate(items(listed, source, f"results[{filename!r}]")):
            where = f"results[{scrub.text(str(filename))!r}][{index}]"
            secret = mapping(secret, source, where)
            if secret.get("is_secret") is False:
                continue
            kind = scrub.text(get(secret, "type", str, source, where))
            path = scrub(relative_path(secret.get("filename") or filename))
            line = line_number(get(secret, "line_number", int, source, where, required=False))
            hashed = get(secret, "hashed_secret", str, source, where, required=False)
            verified = secret.get("is_verified") is True
            findings.append(Finding(
                tool=TOOL, category="secret", severity="critical" if verified else "high",
                tool_severity="verified" if verified else "", rule_id=kind, message=f"{kind} found",
                path=path, line=line, secret_hash=f"sha1:{hashed[:12]}" if hashed else None,
                fingerprint=fingerprint(TOOL, kind, path, line, hashed[:12] if hashed else None),
            ))
    if not isinstance(report.get("version", ""), str):
        raise ScanError(source, '"version" has the wrong type')
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))
