"""The `audit` section of `.ai-code-gate.yml` as typed settings (the config schema has validated it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigate.errors import ConfigError

__all__ = ["AuditSettings", "SigningSettings", "SinkSettings", "audit_settings"]

SinkType = Literal["jsonl", "stdout", "sqlite", "postgres", "webhook"]
DEFAULT_SQLITE_PATH = ".aigate/audit.db"


@dataclass(frozen=True)
class SinkSettings:
    """One sink. Only the options of its type are meaningful; paths are resolved against the config's folder."""

    type: SinkType
    path: Path | None = None  # jsonl, sqlite
    dsn: str | None = None  # postgres; or from the environment variable named by dsn_env
    url: str | None = None  # webhook
    spool_dir: Path | None = None  # webhook
    spool_max_events: int = 10_000
    on_spool_full: Literal["fail", "drop"] = "fail"
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5
    token_env: str | None = None  # webhook: bearer token from this environment variable
    stream: str = "aigate"
    # jsonl, sqlite, postgres: wait for the disk on every batch (fsync / synchronous commit). Off, a
    # committed batch survives a crash of aigate but an OS crash or power cut may lose the last ones.
    durable: bool = False


@dataclass(frozen=True)
class SigningSettings:
    algorithm: Literal["hmac-sha256", "ed25519"]
    key_env: str | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = False
    input: Literal["full", "hash", "none"] = "hash"
    redact: tuple[str, ...] = ()
    store_prompts: bool = False
    agents: Mapping[str, str] = field(default_factory=dict)
    sinks: tuple[SinkSettings, ...] = ()
    signing: SigningSettings | None = None


def audit_settings(section: Mapping[str, Any], base_dir: Path) -> AuditSettings:
    """Typed settings from the merged `audit` section. `path` (a JSON Lines file) is the older spelling of
    one jsonl sink; with neither `path` nor `sinks`, events go to the SQLite store `.aigate/audit.db`."""

    def resolve(value: str | None) -> Path | None:
        return None if value is None else (base_dir / value).resolve()

    sinks: list[SinkSettings] = []
    if section.get("path") is not None:
        sinks.append(SinkSettings(type="jsonl", path=resolve(section["path"])))
    configured = section.get("sinks")
    if configured is None and not sinks:
        configured = [{"type": "sqlite"}]
    for index, raw in enumerate(configured or []):
        kind = raw["type"]
        options = {k: v for k, v in raw.items() if k != "type"}
        if kind == "postgres":
            dsn = options.get("dsn")
            if options.get("dsn_env"):
                import os

                dsn = os.environ.get(options["dsn_env"])
                if not dsn:
                    raise ConfigError(f"audit.sinks[{index}]: environment variable {options['dsn_env']} is not set")
            if not dsn:
                raise ConfigError(f"audit.sinks[{index}]: a postgres sink needs dsn or dsn_env")
            options["dsn"] = dsn
            options.pop("dsn_env", None)
        if kind == "webhook":
            options["spool_dir"] = resolve(options.get("spool_dir") or ".aigate/webhook-spool")
        if kind in ("jsonl", "sqlite"):
            path = options.get("path") or (DEFAULT_SQLITE_PATH if kind == "sqlite" else None)
            if path is None:
                raise ConfigError(f"audit.sinks[{index}]: a jsonl sink needs a path")
            options["path"] = resolve(path)
        sinks.append(SinkSettings(type=kind, **options))
    signing = None
    if section.get("signing") is not None:
        raw_signing = section["signing"]
        if not raw_signing.get("key_env") and not raw_signing.get("key_file"):
            raise ConfigError("audit.signing: give key_env or key_file")
        signing = SigningSettings(
            algorithm=raw_signing["algorithm"], key_env=raw_signing.get("key_env"),
            key_file=resolve(raw_signing.get("key_file")),
        )
    return AuditSettings(
        enabled=bool(section.get("enabled")),
        input=section.get("input", "hash"),
        redact=tuple(section.get("redact") or ()),
        store_prompts=bool(section.get("store_prompts")),
        agents={str(k).lower(): str(v) for k, v in (section.get("agents") or {}).items()},
        sinks=tuple(sinks),
        signing=signing,
    )
