"""Evaluate `data.aigate.decision` on an OPA server, through OPA's REST Data API.

Two ways to have a server:

- `RemoteOpaEngine`: an OPA that runs elsewhere (a sidecar, a fleet behind a load balancer),
  named by URL, with an optional bearer token and TLS settings. It serves its own bundle: the
  revision that produced each decision is read from the response's provenance.
- `ManagedOpaEngine`: aigate builds a bundle of its policies and compiled config, starts
  `opa run --server` on a free loopback port, waits until it is healthy, and stops it on
  `close()` (also on garbage collection and at interpreter exit, as a backstop).

Both fail closed. A refused connection, a timeout, an HTTP error, a body that is not JSON or an
undefined decision raises `EngineError` with one line naming the server and the problem; only
connection failures and 5xx answers are retried, a bounded number of times with backoff.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from aigate.config import GateConfig
from aigate.engines.interface import DECISION_PATH, Engine, PolicySet
from aigate.engines.opa_binary import ENV_OPA_BINARY, ENV_OPA_TOKEN, ENV_OPA_URL, find_opa_binary
from aigate.errors import EngineError, EngineUnavailableError, PolicyError

__all__ = [
    "ENV_OPA_BINARY",
    "ENV_OPA_TOKEN",
    "ENV_OPA_URL",
    "ManagedOpaEngine",
    "RemoteOpaEngine",
    "find_opa_binary",
]

_QUERY = "data." + DECISION_PATH.replace("/", ".")
_PACKAGE, _, _RULE = DECISION_PATH.rpartition("/")
# Any document of the aigate bundle answers with the bundle's provenance; this one is small.
_CONFIG_PACKAGE, _CONFIG_RULE = "aigate", "config"
_ERROR_BODY_CHARS = 300


class RemoteOpaEngine(Engine):
    """An OPA server reached over HTTP(S) that serves a bundle with aigate's policies and config.

    `require_revision` pins the bundle: a decision from any other revision is an error.
    """

    name = "opa"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        ca_bundle: Path | None = None,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        verify_tls: bool = True,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        require_revision: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as e:
            raise EngineError(f"OPA URL {url}: invalid port") from e
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"OPA URL {url}: expected http(s)://host[:port][/path]")
        if parts.username or parts.password:
            # Not echoed: the URL holds a secret.
            raise EngineError(f"OPA URL {parts.scheme}://{parts.hostname}: give credentials as a token, not in the URL")
        if parts.query or parts.fragment:
            raise EngineError(f"OPA URL {url}: a query or fragment has no place in the server URL")
        https = parts.scheme == "https"
        if not https and (ca_bundle or client_cert or not verify_tls):
            raise EngineError(f"OPA URL {url}: TLS options need an https URL")
        if client_key and not client_cert:
            raise EngineError(f"OPA at {url}: a client key needs a client certificate")
        if ca_bundle and not verify_tls:
            raise EngineError(f"OPA at {url}: a CA bundle and turning TLS verification off contradict each other")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise EngineError(f"OPA at {url}: timeout must be positive, retries and backoff not negative")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._require_revision = require_revision
        cert: str | tuple[str, str] | None = None
        if client_cert:
            cert = (str(client_cert), str(client_key)) if client_key else str(client_cert)
        self._client = OpaClient(
            host=parts.hostname,
            port=port or (443 if https else 80),
            ssl=https,
            cert=cert,
            token=token or None,
            retries=0,
            timeout=timeout,
        )
        # opa_client builds its URLs as scheme://host:port/v1; give it the real base, which keeps
        # IPv6 brackets and a path prefix (an OPA behind a reverse proxy).
        self._client.root_url = f"{self.url}/v1"
        # opa_client only switches verification on for https; a private CA bundle, turning it off,
        # and the retry policy need the requests session it wraps.
        session: requests.Session = self._client._session
        adapter = _Adapter(verify=str(ca_bundle) if ca_bundle else (None if verify_tls else False))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    @property
    def where(self) -> str:
        return f"OPA at {self.url}"

    @property
    def bundle_revision(self) -> str:
        """The revision of the bundle that produced this thread's last decision (asked for if none)."""
        revision: str | None = getattr(self._local, "revision", None)
        return revision if revision is not None else self.fetch_revision()

    @property
    def served_bundles(self) -> dict[str, str]:
        """Bundle name to revision, as the server reported them with this thread's last decision."""
        return dict(getattr(self._local, "bundles", {}))

    def fetch_revision(self) -> str:
        """Ask the server which bundle revision it serves now."""
        body = self._call(
            f"reading data.{_CONFIG_PACKAGE}.{_CONFIG_RULE}",
            lambda: self._client.query_rule({}, _CONFIG_PACKAGE, _CONFIG_RULE, query_params={"provenance": True}),
        )
        if "result" not in body:
            raise EngineError(
                f"{self.where}: data.{_CONFIG_PACKAGE}.{_CONFIG_RULE} is undefined; is the aigate bundle loaded?"
            )
        _, revision = self._revision(body, f"reading data.{_CONFIG_PACKAGE}.{_CONFIG_RULE}")
        return revision

    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        action = f"evaluating {_QUERY}"
        body = self._call(
            action, lambda: self._client.query_rule(input_document, _PACKAGE, _RULE, query_params={"provenance": True})
        )
        if "result" not in body:
            raise EngineError(f"{self.where}: {_QUERY} is undefined; is the aigate bundle loaded?")
        bundles, revision = self._revision(body, action)
        value = body["result"]
        if not isinstance(value, dict):
            raise PolicyError(f"{_QUERY} is {type(value).__name__}, not an object")
        self._local.bundles = bundles
        self._local.revision = revision
        return value

    def close(self) -> None:
        self._client.close_connection()

    def _revision(self, body: dict[str, Any], action: str) -> tuple[dict[str, str], str]:
        bundles = _provenance_bundles(body.get("provenance"))
        if not bundles:
            revision = "unknown"
        elif len(bundles) == 1:
            revision = next(iter(bundles.values()))
        else:
            revision = ", ".join(f"{name}={value}" for name, value in sorted(bundles.items()))
        if self._require_revision is not None and revision != self._require_revision:
            raise EngineError(
                f"{self.where}: served bundle revision {revision!r} {action}, expected {self._require_revision!r}"
            )
        return bundles, revision

    def _call(self, action: str, request: Callable[[], Any]) -> dict[str, Any]:
        """`request()`'s JSON object body; connection failures and 5xx retried with backoff."""
        attempts = self._retries + 1
        problem = ""
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                body = request()
            except requests.exceptions.SSLError as e:
                raise EngineError(f"{self.where}: TLS failure {action}: {_reason(e)}") from e
            except requests.exceptions.ConnectionError as e:
                problem, last = f"cannot connect ({_reason(e)})", e
            except requests.exceptions.Timeout as e:
                raise EngineError(f"{self.where}: timed out after {self._timeout}s {action}") from e
            except requests.exceptions.HTTPError as e:
                status = e.response.status_code if e.response is not None else 0
                problem, last = f"HTTP {status}{_opa_error(e.response)}", e
                if status < 500:
                    raise EngineError(f"{self.where}: {problem} {action}") from e
            except requests.exceptions.JSONDecodeError as e:
                raise EngineError(f"{self.where}: malformed response {action}: not JSON") from e
            except requests.exceptions.RequestException as e:
                raise EngineError(f"{self.where}: request failed {action}: {_reason(e)}") from e
            else:
                if not isinstance(body, dict):
                    raise EngineError(f"{self.where}: malformed response {action}: not a JSON object")
                return body
            if attempt < attempts:
                time.sleep(self._backoff * 2 ** (attempt - 1))
        suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
        raise EngineError(f"{self.where}: {problem} {action}{suffix}") from last


class _Adapter(HTTPAdapter):
    """No retries of its own, and a CA bundle or `verify=False` that the environment cannot undo.

    One retry policy, this module's: urllib3's would skip POSTs and report a read timeout on a
    GET as a connection error (`read=False` re-raises read errors as they are). And requests lets
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`; an explicit setting wins here.
    """

    def __init__(self, *, verify: str | bool | None) -> None:
        super().__init__(max_retries=Retry(total=0, read=False, redirect=0, raise_on_status=False))
        self._verify = verify

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self._verify is not None:
            verify = self._verify
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


class ManagedOpaEngine(RemoteOpaEngine):
    """A private `opa run --server` on 127.0.0.1, serving a bundle aigate builds for it.

    Use it as a context manager, or call `close()`: the server is stopped (SIGTERM to its
    process group, SIGKILL after `stop_timeout`) and its temporary folder removed.
    """

    def __init__(
        self,
        policies: PolicySet,
        config: GateConfig,
        *,
        binary: str | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from aigate.bundle import build_bundle

        opa = binary or find_opa_binary(environ)
        if opa is None:
            raise EngineUnavailableError(f"managed OPA: no opa binary; set {ENV_OPA_BINARY} or put opa on PATH")
        self.binary = opa
        child = _ServerProcess(Path(tempfile.mkdtemp(prefix="aigate-opa-")), stop_timeout)
        self._child = child
        # Runs once: from close(), from garbage collection, or at interpreter exit (atexit).
        self._stop = weakref.finalize(self, child.stop)
        try:
            bundle = build_bundle(config, child.workdir / "bundle.tar.gz", policies=policies)
            address = f"127.0.0.1:{_free_loopback_port()}"
            child.start(
                [opa, "run", "--server", "--addr", address, "--log-level", "error", "--disable-telemetry",
                 "--bundle", str(bundle.path)]
            )
            super().__init__(
                f"http://{address}", timeout=timeout, retries=retries, backoff=backoff,
                require_revision=bundle.revision,
            )
            self._wait_until_healthy(startup_timeout)
            # Proves the server on the port is ours, serving our bundle.
            self.fetch_revision()
        except BaseException:  # KeyboardInterrupt included: never leave the server running
            self._stop()
            raise

    @property
    def pid(self) -> int | None:
        process = self._child.process
        return process.pid if process is not None else None

    def close(self) -> None:
        self._stop()
        with contextlib.suppress(AttributeError):  # a failed start may not have made the client
            super().close()

    def _wait_until_healthy(self, startup_timeout: float) -> None:
        deadline = time.monotonic() + startup_timeout
        delay = 0.02
        while True:
            code = self._child.returncode()
            if code is not None:
                raise EngineError(
                    f"managed OPA ({self.binary}) exited with code {code} before it was ready: {self._child.log_tail()}"
                )
            # opa_client's health check: GET /health?bundles, True only on 200 (bundles activated).
            if self._client.check_health(query={"bundles": True}):
                return
            if time.monotonic() >= deadline:
                raise EngineError(f"{self.where}: not healthy {startup_timeout}s after start (GET /health?bundles)")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


class _ServerProcess:
    """The OPA child process and its folder. Holds no reference to the engine, so the engine's
    finalizer can own it."""

    def __init__(self, workdir: Path, stop_timeout: float) -> None:
        self.workdir = workdir
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, command: list[str]) -> None:
        self._log = (self.workdir / "opa.log").open("wb")
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                # Its own process group: stopped as a whole, and out of reach of the terminal's
                # Ctrl-C, which reaches aigate instead and lets it stop the server in order.
                start_new_session=True,
            )
        except OSError as e:
            raise EngineUnavailableError(f"managed OPA: cannot run {command[0]}: {e.strerror or e}") from e

    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def log_tail(self) -> str:
        try:
            lines = (self.workdir / "opa.log").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no output)"
        lines = [line.rstrip() for line in lines if line.strip()]
        if not lines:
            return "(no output)"
        # OPA's fatal error: "error: ...: 2 errors occurred:", then each error, with the offending
        # source line and a caret indented below it. The first line and the first error say it.
        for index, line in enumerate(lines):
            if line.lower().startswith("error"):
                detail = [line, *(other for other in lines[index + 1 : index + 2] if not other[:1].isspace())]
                return " ".join(" ".join(detail).split())[:_ERROR_BODY_CHARS]
        return " ".join(lines[-1].split())[:_ERROR_BODY_CHARS]

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(self.stop_timeout)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # The process is unreaped here, so its group id cannot have been reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _provenance_bundles(provenance: Any) -> dict[str, str]:
    """Bundle name to revision from OPA's `provenance`; the legacy single `revision` as bundle ""."""
    if not isinstance(provenance, dict):
        return {}
    bundles = provenance.get("bundles")
    if isinstance(bundles, dict):
        return {
            str(name): str(info.get("revision", ""))
            for name, info in bundles.items()
            if isinstance(info, dict)
        }
    revision = provenance.get("revision")
    return {"": revision} if isinstance(revision, str) and revision else {}


def _opa_error(response: requests.Response | None) -> str:
    """OPA's error body, `{"code": ..., "message": ...}`, as ': code: message'."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:_ERROR_BODY_CHARS]
        return f": {text}" if text else ""
    if isinstance(body, dict) and (body.get("code") or body.get("message")):
        parts = [str(body[key]) for key in ("code", "message") if body.get(key)]
        return ": " + ": ".join(" ".join(part.split())[:_ERROR_BODY_CHARS] for part in parts)
    return ""


def _reason(error: BaseException) -> str:
    """The innermost cause, which names what happened (e.g. 'Connection refused')."""
    cause: BaseException = error
    while True:
        inner = getattr(cause, "reason", None) or cause.__cause__ or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause)
    if isinstance(cause, OSError) and cause.strerror:
        text = cause.strerror
    elif "] " in text:  # "<urllib3...>: Failed to establish a new connection: [Errno 111] Connection refused"
        text = text.rsplit("] ", 1)[1]
    return " ".join(text.split())[:_ERROR_BODY_CHARS] or type(cause).__name__
