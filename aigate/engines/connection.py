"""`OpaConnection`: how aigate reaches OPA, as one settings object.

One or more server URLs (a fleet: requests are spread across them and fail over), and the options
they share: bearer token, TLS, the total deadline and size cap of a response, retries, and the
bundle revision a server must serve. Built from arguments, from the `policy.engine` config section
(`from_settings`), and completed from the `AIGATE_OPA_*` environment (`with_environment`).
Kept free of the HTTP stack, so that choosing the embedded engine never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aigate.engines.opa_binary import ENV_OPA_TOKEN, ENV_OPA_URL
from aigate.errors import EngineError

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "OpaConnection", "parse_urls"]

# A decision on a 10,000-file PR that breaks a rule on every file is ~3 MB of JSON.
DEFAULT_MAX_RESPONSE_BYTES = 32 << 20


@dataclass(frozen=True)
class OpaConnection:
    """Settings for reaching one OPA server or a fleet of them; validated when made.

    `timeout` is the total time one request may take, from connecting to the last byte of the
    answer. `retries` is how many more rounds over the servers follow a round in which every server
    failed to connect or answered 5xx. `require_revision` pins the bundle revision a server must
    serve; in a fleet a server serving another one is passed over.
    """

    urls: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify_tls: bool = True
    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.2
    require_revision: str | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        if isinstance(self.urls, str):  # a single URL given where a tuple is expected
            object.__setattr__(self, "urls", (self.urls,))
        normalised = tuple(_check_url(url, self) for url in self.urls)
        if len(set(normalised)) != len(normalised):
            raise EngineError(f"OPA URLs {', '.join(self.urls)}: a server is listed twice")
        object.__setattr__(self, "urls", normalised)
        if self.client_key and not self.client_cert:
            raise EngineError(f"{self._where}: a client key needs a client certificate")
        if self.ca_bundle and not self.verify_tls:
            raise EngineError(f"{self._where}: a CA bundle and turning TLS verification off contradict each other")
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0:
            raise EngineError(f"{self._where}: timeout must be positive, retries and backoff not negative")
        if self.max_response_bytes < 1024:
            raise EngineError(f"{self._where}: max_response_bytes must be at least 1024")

    @property
    def _where(self) -> str:
        return "OPA at " + (", ".join(self.urls) if self.urls else "(no URL)")

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        resolve: Callable[[str], Path],
        *,
        urls: str | Sequence[str] | None = None,
    ) -> OpaConnection:
        """From the `policy.engine` config section; `urls`, when given, replace its `opa_url`.
        Relative file paths are resolved with `resolve` (against the config file's folder)."""

        def path(key: str) -> Path | None:
            value = settings.get(key)
            return None if value is None else resolve(value)

        return cls(
            urls=parse_urls(urls) or parse_urls(settings.get("opa_url")),
            ca_bundle=path("ca_bundle"),
            client_cert=path("client_cert"),
            client_key=path("client_key"),
            verify_tls=bool(settings.get("verify_tls", True)),
            timeout=float(settings.get("timeout", 5.0)),
            retries=int(settings.get("retries", 2)),
            require_revision=settings.get("require_revision"),
            max_response_bytes=int(settings.get("max_response_bytes") or DEFAULT_MAX_RESPONSE_BYTES),
        )

    def with_environment(self, environ: Mapping[str, str] | None = None) -> OpaConnection:
        """URLs from `AIGATE_OPA_URL` when none are set, the token from `AIGATE_OPA_TOKEN` when none is."""
        env = os.environ if environ is None else environ
        urls = self.urls or parse_urls(env.get(ENV_OPA_URL))
        token = self.token or env.get(ENV_OPA_TOKEN) or None
        return self if (urls, token) == (self.urls, self.token) else replace(self, urls=urls, token=token)


def parse_urls(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Server URLs from a list, or from one string separated by commas or whitespace."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    urls: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise EngineError(f"OPA URL {item!r}: not a string")
        urls.extend(part for part in item.replace(",", " ").split() if part)
    return tuple(urls)


def _check_url(url: str, connection: OpaConnection) -> str:
    """`url` without a trailing slash, or EngineError naming what is wrong with it."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # "http://[::1": an unclosed IPv6 bracket
        raise EngineError(f"OPA URL {url}: {e}") from e
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as e:
        raise EngineError(f"OPA URL {url}: invalid port") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"OPA URL {url}: expected http(s)://host[:port][/path]")
    if parts.username or parts.password:
        # Not echoed: the URL holds a secret.
        raise EngineError(f"OPA URL {parts.scheme}://{parts.hostname}: give credentials as a token, not in the URL")
    if parts.query or parts.fragment:
        raise EngineError(f"OPA URL {url}: a query or fragment has no place in the server URL")
    if parts.scheme != "https" and (connection.ca_bundle or connection.client_cert or not connection.verify_tls):
        raise EngineError(f"OPA URL {url}: TLS options need an https URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
