"""Does a package exist in its registry, and since when? Asked of the registry each ecosystem's own client
is configured to use: pip's index through the simple JSON API (PEP 691, upload times from PEP 700) and npm's
registry (its package document). With a timeout, an on-disk cache, and an offline mode that answers from a
snapshot or allowlist file instead."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from aigate.errors import RegistryError
from aigate.models import RegistryStatus

__all__ = ["CHECKED_ECOSYSTEMS", "RegistryClient", "RegistryOptions"]

CHECKED_ECOSYSTEMS = ("pypi", "npm")
_PEP691 = "application/vnd.pypi.simple.v1+json"
_MAX_RESPONSE_BYTES = 64 << 20


@dataclass(frozen=True)
class RegistryOptions:
    """scanning.dependencies.registry, with paths resolved."""

    check: bool = True
    timeout: float = 5.0
    pypi_index_url: str | None = None
    npm_registry: str | None = None
    cache_dir: Path | None = None
    cache_ttl_hours: float = 24.0
    offline: bool = False
    snapshot: Path | None = None
    unreachable: Literal["error", "warn"] = "error"

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], base_dir: Path | None, input_dir: Path | None = None
    ) -> RegistryOptions:
        """`base_dir`: the config's folder (the cache is written there); `input_dir`: where the files it names
        are read (GateConfig.input_dir: the base revision's copies), default `base_dir`."""

        def path(value: str | None, folder: Path | None = base_dir) -> Path | None:
            return None if value is None else (folder or Path.cwd()) / value

        return cls(
            check=bool(settings.get("check", True)),
            timeout=float(settings.get("timeout", 5.0)),
            pypi_index_url=settings.get("pypi_index_url"),
            npm_registry=settings.get("npm_registry"),
            cache_dir=path(settings.get("cache_dir")),
            cache_ttl_hours=float(settings.get("cache_ttl_hours", 24)),
            offline=bool(settings.get("offline", False)),
            snapshot=path(settings.get("snapshot"), input_dir or base_dir),
            unreachable=settings.get("unreachable", "error"),
        )


@dataclass
class RegistryClient:
    options: RegistryOptions
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Requests actually sent (the cache and the snapshot send none): for tests and diagnostics.
    requests_sent: int = 0
    _urls: dict[str, str] = field(default_factory=dict)
    _snapshot: dict[str, dict[str, str | None]] | None = None

    def lookup(self, ecosystem: str, name: str) -> RegistryStatus:
        if ecosystem not in CHECKED_ECOSYSTEMS or not self.options.check:
            return RegistryStatus()
        key = canonicalize_name(name) if ecosystem == "pypi" else name.lower()
        if self.options.offline:
            return self._from_snapshot(ecosystem, key)
        base = self._registry_url(ecosystem)
        cached = self._cached(base, key)
        if cached is not None:
            return self._status(cached, "cache")
        try:
            answer = self._ask(ecosystem, base, key)
        except _Unreachable as e:
            if self.options.unreachable == "warn":
                return RegistryStatus(status="unreachable", source="registry")
            raise RegistryError(f"{ecosystem} registry {_display(base)}: {e} (looking up {name!r}); set "
                                "scanning.dependencies.registry.unreachable: warn, or offline with a snapshot") from e
        self._store(base, key, answer)
        return self._status(answer, "registry")

    # --- the registries ---

    def _registry_url(self, ecosystem: str) -> str:
        if ecosystem not in self._urls:
            url = _pip_index_url(self.options) if ecosystem == "pypi" else _npm_registry(self.options)
            self._urls[ecosystem] = _checked_registry_url(ecosystem, url)
        return self._urls[ecosystem]

    def _ask(self, ecosystem: str, base: str, key: str) -> dict[str, Any]:
        if ecosystem == "pypi":
            url = f"{base.rstrip('/')}/{urllib.parse.quote(key)}/"
            status, body, content_type = self._get(url, _PEP691)
            if status == 404:
                return {"exists": False}
            data = _json(body) if content_type.startswith(_PEP691) or content_type.endswith("json") else None
            times = [f.get("upload-time") for f in (data or {}).get("files", []) if isinstance(f, Mapping)]
            return {"exists": True, "first_published": min((t for t in times if isinstance(t, str)), default=None)}
        url = f"{base.rstrip('/')}/{key.replace('/', '%2f')}"
        status, body, _ = self._get(url, "application/json")
        if status == 404:
            return {"exists": False}
        data = _json(body) or {}
        created = data.get("time", {}).get("created") if isinstance(data.get("time"), Mapping) else None
        return {"exists": True, "first_published": created if isinstance(created, str) else None}

    def _get(self, url: str, accept: str) -> tuple[int, bytes, str]:
        import urllib.error  # http.client and friends (~20 ms): only when a registry is asked
        import urllib.request

        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "aigate"})
        self.requests_sent += 1
        try:
            with urllib.request.urlopen(request, timeout=self.options.timeout) as response:  # noqa: S310
                body = response.read(_MAX_RESPONSE_BYTES + 1)
                if len(body) > _MAX_RESPONSE_BYTES:
                    raise _Unreachable("the response is larger than the size limit")
                return response.status, body, response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            if e.code in (404, 410):
                return 404, b"", ""
            raise _Unreachable(f"HTTP {e.code}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise _Unreachable(f"unreachable ({reason})") from e

    # --- cache and snapshot ---

    def _cache_file(self, base: str) -> Path:
        folder = self.options.cache_dir or _default_cache_dir()
        return folder / f"{hashlib.sha256(base.encode()).hexdigest()[:16]}.json"

    def _cached(self, base: str, key: str) -> dict[str, Any] | None:
        if self.options.cache_ttl_hours <= 0:
            return None
        entry = _read_json_file(self._cache_file(base)).get(key)
        if not isinstance(entry, Mapping):
            return None
        try:
            checked = datetime.fromisoformat(str(entry["checked_at"]))
        except (KeyError, ValueError):
            return None
        if (self.now - checked).total_seconds() > self.options.cache_ttl_hours * 3600:
            return None
        return dict(entry)

    def _store(self, base: str, key: str, answer: dict[str, Any]) -> None:
        if self.options.cache_ttl_hours <= 0:
            return
        path = self._cache_file(base)
        entries = _read_json_file(path)
        entries[key] = {**answer, "checked_at": self.now.isoformat()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
            temporary.replace(path)
        except OSError:
            pass  # a cache that cannot be written only costs a later request

    def _from_snapshot(self, ecosystem: str, key: str) -> RegistryStatus:
        if self._snapshot is None:
            self._snapshot = _load_snapshot(self.options.snapshot)
        known = self._snapshot.get(ecosystem, {})
        if key not in known:
            return RegistryStatus(status="missing", source="snapshot")
        return self._status({"exists": True, "first_published": known[key]}, "snapshot")

    def _status(self, answer: Mapping[str, Any], source: Literal["registry", "cache", "snapshot"]) -> RegistryStatus:
        if not answer.get("exists"):
            return RegistryStatus(status="missing", source=source)
        age = _age_days(answer.get("first_published"), self.now)
        return RegistryStatus(status="found", source=source, age_days=age)


class _Unreachable(Exception):
    pass


def _age_days(published: object, now: datetime) -> int | None:
    if not isinstance(published, str):
        return None
    try:
        when = datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, (now - when).days)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _read_json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _default_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "aigate" / "registry"


def _load_snapshot(path: Path | None) -> dict[str, dict[str, str | None]]:
    """A JSON snapshot `{"pypi": {"name": "first-published time" | null}, "npm": {...}}`, or an allowlist:
    one `ecosystem:name` a line (`#` comments)."""
    if path is None:
        raise RegistryError("scanning.dependencies.registry.offline needs a snapshot file (registry.snapshot)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RegistryError(f"{path}: cannot read the registry snapshot: {e.strerror or e}") from e
    result: dict[str, dict[str, str | None]] = {}
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise RegistryError(f"{path}: the registry snapshot is not valid JSON: {e}") from e
        for ecosystem, names in data.items():
            if not isinstance(names, Mapping):
                raise RegistryError(f"{path}: {ecosystem!r} must map package names to a first-published time")
            result[ecosystem] = {_key(ecosystem, n): (v if isinstance(v, str) else None) for n, v in names.items()}
        return result
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        ecosystem, sep, name = entry.partition(":")
        if not sep or not name.strip():
            raise RegistryError(f"{path}: line {number}: expected ecosystem:name")
        result.setdefault(ecosystem.strip(), {})[_key(ecosystem.strip(), name.strip())] = None
    return result


def _key(ecosystem: str, name: str) -> str:
    return canonicalize_name(name) if ecosystem == "pypi" else name.lower()


def _pip_index_url(options: RegistryOptions) -> str:
    """The index pip itself would use: the config's own, PIP_INDEX_URL, pip's configuration, pip's default."""
    if options.pypi_index_url:
        return options.pypi_index_url
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    configured = _client_output([sys.executable, "-m", "pip", "config", "get", "global.index-url"])
    if configured:
        return configured
    try:
        from pip._internal.models.index import PyPI  # pip's built-in default index, as pip names it
    except ImportError as e:
        raise RegistryError("cannot tell pip's index: set PIP_INDEX_URL or "
                            "scanning.dependencies.registry.pypi_index_url") from e
    return str(PyPI.simple_url)


def _npm_registry(options: RegistryOptions) -> str:
    """The registry npm itself would use: the config's own, NPM_CONFIG_REGISTRY, `npm config get registry`."""
    if options.npm_registry:
        return options.npm_registry
    for variable in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if os.environ.get(variable):
            return os.environ[variable]
    configured = _client_output(["npm", "config", "get", "registry"])
    if configured and configured.startswith(("http://", "https://")):
        return configured
    raise RegistryError("cannot tell npm's registry: npm is not installed and neither NPM_CONFIG_REGISTRY nor "
                        "scanning.dependencies.registry.npm_registry is set")


def _checked_registry_url(ecosystem: str, url: str) -> str:
    """`url`, or RegistryError when it is no http(s) URL (urllib failed on it, as an internal error)."""
    setting = "pypi_index_url (or PIP_INDEX_URL)" if ecosystem == "pypi" else "npm_registry (or NPM_CONFIG_REGISTRY)"
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        valid = False
    if not valid:
        raise RegistryError(f"the {ecosystem} registry URL is not an http(s)://host URL: check "
                            f"scanning.dependencies.registry.{setting}")  # fmt: skip
    return url


def _client_output(command: list[str]) -> str | None:
    """A package client's answer, asked from an empty folder: in the checkout, npm reads the project's own
    `.npmrc`, which the PR being judged can add to send the registry check to a registry that knows every
    name it invents. The runner's settings (environment, user and global config files) still apply."""
    try:
        with tempfile.TemporaryDirectory(prefix="aigate-client-") as outside:
            result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False,
                                    stdin=subprocess.DEVNULL, cwd=outside)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value and value != "undefined" else None


def _display(url: str) -> str:
    """A URL without any credentials it carries."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
