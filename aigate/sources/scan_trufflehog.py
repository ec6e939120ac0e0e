"""trufflehog v3 JSON lines (`trufflehog filesystem|git … --json`): one object per detected secret.

Verified secrets are `critical`, unverified ones `high` (tool_severity "verified"/"unverified"). `Raw`,
`RawV2`, `Redacted` and `ExtraData` are dropped; their values are scrubbed from everything kept.
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
    line_number,
    mapping,
    relative_path,
    secret_hash,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "trufflehog"
TOOL = "trufflehog"
CATEGORIES = ("secret",)
_SECRET_FIELDS = ("Raw", "RawV2", "Redacted")


def looks_like(data: Any) -> bool:
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, Mapping) and "DetectorName" in first and "SourceMetadata" in first


def parse(data: Any, *, source: str) -> ScanResult:
    records = data if isinstance(data, list) else [data]
    results = [mapping(record, source, f"line {index + 1}") for index, record in enumerate(records)]
    scrub = SecretScrubber()
    for result in results:
        scrub.add(*(result.get(name) for name in _SECRET_FIELDS))
        extra = result.get("ExtraData")
        if isinstance(extra, Mapping):
            scrub.add(*(value for value in extra.values() if isinstance(value, str)))
    findings = []
    for index, result in enumerate(results):
        where = f"line {index + 1}"
        detector = scrub.text(str(get(result, "DetectorName", str, source, where)))
        verified = get(result, "Verified", bool, source, where, required=False, default=False)
        path, line = _location(get(result, "SourceMetadata", Mapping, source, where), source, where)
        path = scrub(path)
        raw = result.get("RawV2") or result.get("Raw")
        hashed = secret_hash(raw) if isinstance(raw, str) and raw else None
        decoder = get(result, "DecoderName", str, source, where, required=False, default="")
        findings.append(Finding(
            tool=TOOL, category="secret", severity="critical" if verified else "high",
            tool_severity="verified" if verified else "unverified", rule_id=detector,
            message=f"{detector} secret ({'verified' if verified else 'unverified'}"
                    f"{', ' + scrub.text(decoder) if decoder and decoder != 'PLAIN' else ''})",
            path=path, line=line, secret_hash=hashed,
            fingerprint=fingerprint(TOOL, detector, path, line, hashed),
        ))
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings))


def _location(metadata: Mapping[str, Any], source: str, where: str) -> tuple[str | None, int | None]:
    data = metadata.get("Data")
    if not isinstance(data, Mapping):
        raise ScanError(source, f'{where}: "SourceMetadata.Data" must be an object')
    # One key per source kind: Filesystem, Git, Github, Gitlab, Docker, …; each with file/line when known.
    for origin in data.values():
        if isinstance(origin, Mapping):
            path = relative_path(origin.get("file") or origin.get("path"))
            return path, line_number(origin.get("line"))
    return None, None
