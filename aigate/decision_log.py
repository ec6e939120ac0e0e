"""Decision log records in OPA's decision-log event format.

A record has the fields of an OPA decision log event (`decision_id`, `path`, `input`,
`result`, `bundles`, `metrics`, `timestamp`, `labels`, `erased`, `masked`), so the tools that
collect OPA's decision logs take aigate's too. The input is redacted first: each configured
JSON pointer (a `*` segment matches every key or index) is replaced by "**REDACTED**" and
listed in `masked`, as OPA lists the fields its mask policy replaced.

How much of the input is kept (`input_mode`):

- `full`: the redacted input, as `input`.
- `hash`: `input_hash`, the SHA-256 of the redacted input as canonical JSON (keys sorted, no
  whitespace, UTF-8), an aigate field (OPA has none); `input` is listed in `erased`.
- `none`: no input at all; `input` is listed in `erased`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Literal

from aigate.errors import ConfigError
from aigate.redaction import redact as redact_fields

__all__ = ["INPUT_MODES", "InputMode", "decision_log_record"]

InputMode = Literal["full", "hash", "none"]
INPUT_MODES: tuple[str, ...] = ("full", "hash", "none")


def decision_log_record(
    *,
    decision_id: str,
    path: str,
    input_document: Mapping[str, Any],
    result: Any,
    bundles: Mapping[str, str],
    metrics: Mapping[str, int],
    input_mode: InputMode,
    redact: Sequence[str],
    timestamp: datetime | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One decision log event. `bundles` maps bundle name to revision; `metrics` are OPA's
    metric names (e.g. `timer_rego_query_eval_ns`) to values."""
    if input_mode not in INPUT_MODES:
        raise ConfigError(f"decision log input {input_mode!r}: expected one of {', '.join(INPUT_MODES)}")
    for pointer in redact:
        if not pointer.startswith("/"):
            raise ConfigError(f"decision log redact {pointer!r}: a JSON pointer starts with '/'")
    moment = timestamp or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("decision log timestamp must be timezone-aware")
    record: dict[str, Any] = {
        "labels": dict(labels) if labels is not None else _default_labels(),
        "decision_id": decision_id,
        "path": path,
    }
    if input_mode != "none":
        redacted, masked = redact_fields(dict(input_document), list(redact))
        if input_mode == "full":
            record["input"] = redacted
        else:
            canonical = json.dumps(redacted, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            record["input_hash"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        if masked:
            record["masked"] = ["/input" + pointer for pointer in masked]
    if input_mode != "full":
        record["erased"] = ["/input"]
    record["result"] = copy.deepcopy(result)
    record["bundles"] = {name: {"revision": revision} for name, revision in sorted(bundles.items())}
    record["metrics"] = dict(metrics)
    # RFC 3339 in UTC, as OPA writes it (Go's RFC3339Nano, here to the microsecond).
    record["timestamp"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return record


def _default_labels() -> dict[str, str]:
    try:
        version = metadata.version("aigate")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"app": "aigate", "version": version}
