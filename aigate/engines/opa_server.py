"""Evaluate `data.aigate.decision` on OPA servers, through OPA's REST Data API.

Two ways to have a server:

- `RemoteOpaEngine`: OPA servers that run elsewhere (a sidecar, or a fleet: several URLs), named
  by an `OpaConnection`. Requests are spread across the servers in turn; a server that cannot be
  reached or answers 5xx is passed over for the next one, so one dying mid-run loses no decision.
  Each server serves its own bundle: the revision that produced each decision is read from the
  response's provenance, and OPA's `decision_id` is kept, so that OPA's decision logs join aigate's.
- `ManagedOpaEngine`: aigate builds a bundle of its policies and compiled config, starts
  `opa run --server` on a free loopback port, waits until it is healthy, and stops it on
  `close()` (also on garbage collection and at interpreter exit, as a backstop).

Both fail closed and trust nothing a server sends: a refused connection, a timeout, an HTTP
error, a body that is not JSON, larger than the cap or slower than the deadline, or an undefined
decision raises `EngineError` with one line naming the server and the problem. Only connection
failures and 5xx answers are retried, on the next server, a bounded number of rounds with backoff.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlsplit

import requests
import urllib3
from opa_client import OpaClient
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.retry import Retry

from aigate.config import GateConfig
from aigate.engines.connection import OpaConnection
from aigate.engines.interface import DECISION_PATH, Engine, PolicySet
from aigate.engines.opa_binary import ENV_OPA_BINARY, ENV_OPA_TOKEN, ENV_OPA_URL, find_opa_binary
from aigate.errors import EngineError, EngineUnavailableError, PolicyError

__all__ = [
    "ENV_OPA_BINARY",
    "ENV_OPA_TOKEN",
    "ENV_OPA_URL",
    "ManagedOpaEngine",
    "OpaConnection",
    "RemoteOpaEngine",
    "find_opa_binary",
]

_QUERY = "data." + DECISION_PATH.replace("/", ".")
# Any document of the aigate bundle answers with the bundle's provenance; this one is small.
_CONFIG_DOCUMENT = "aigate/config"
_ERROR_BODY_CHARS = 300
_READ_CHUNK = 1 << 16
# A server that could not be reached is tried last for this long, so that a dead member of a
# fleet costs one failed connection, not one per request.
_DOWN_SECONDS = 5.0
# OPA's decision ids are UUIDs; anything else is not used as aigate's decision id.
_DECISION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._:-]{0,127}")


class _Failover(Exception):
    """This server did not answer usably; another may (a connection failure, 5xx, a wrong revision)."""

    def __init__(self, problem: str, *, retry: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry = retry  # False: no further rounds (the server answered; it serves the wrong bundle)


class _Server:
    """One OPA server of a connection: its URL, its opa_client, and when it was last unreachable."""

    def __init__(self, url: str, connection: OpaConnection) -> None:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        cert: str | tuple[str, str] | None = None
        if connection.client_cert:
            cert = (
                (str(connection.client_cert), str(connection.client_key))
                if connection.client_key
                else str(connection.client_cert)
            )
        self.url = url
        self.client = OpaClient(
            host=parts.hostname or "",
            port=parts.port or (443 if https else 80),
            ssl=https,
            cert=cert,
            token=connection.token or None,
            retries=0,
            timeout=connection.timeout,
        )
        # opa_client builds its URLs as scheme://host:port/v1; give it the real base, which keeps
        # IPv6 brackets and a path prefix (an OPA behind a reverse proxy).
        self.client.root_url = f"{url}/v1"
        # opa_client only switches verification on for https; a private CA bundle, turning it off,
        # the deadline watch and the retry policy need the requests session it wraps.
        self.session: requests.Session = self.client._session
        verify = str(connection.ca_bundle) if connection.ca_bundle else (None if connection.verify_tls else False)
        adapter = _Adapter(verify=verify)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.down_until = 0.0

    @property
    def where(self) -> str:
        return f"OPA at {self.url}"


class RemoteOpaEngine(Engine):
    """OPA servers reached over HTTP(S) that serve a bundle with aigate's policies and config.

    `connection` is an `OpaConnection`, or a single URL with the default options.
    """

    name = "opa"

    def __init__(self, connection: OpaConnection | str) -> None:
        if isinstance(connection, str):
            connection = OpaConnection(urls=(connection,))
        if not connection.urls:
            raise EngineError("OPA: no server URL")
        self.connection = connection
        self._servers = [_Server(url, connection) for url in connection.urls]
        self._pid = os.getpid()
        self._turn = itertools.count()
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    @property
    def url(self) -> str:
        """The first server's URL (the only one, unless this is a fleet)."""
        return self._servers[0].url

    @property
    def urls(self) -> tuple[str, ...]:
        return self.connection.urls

    @property
    def where(self) -> str:
        """The server that gave this thread's last answer, else the server or fleet configured."""
        last: _Server | None = getattr(self._local, "server", None)
        if last is not None:
            return last.where
        if len(self._servers) == 1:
            return self._servers[0].where
        return f"OPA fleet ({', '.join(self.urls)})"

    @property
    def bundle_revision(self) -> str:
        """The revision of the bundle that produced this thread's last decision (asked for if none)."""
        revision: str | None = getattr(self._local, "revision", None)
        return revision if revision is not None else self.fetch_revision()

    @property
    def served_bundles(self) -> dict[str, str]:
        """Bundle name to revision, as the server reported them with this thread's last decision."""
        return dict(getattr(self._local, "bundles", {}))

    @property
    def decision_id(self) -> str | None:
        """OPA's `decision_id` of this thread's last decision (present when the server logs decisions)."""
        value: str | None = getattr(self._local, "decision_id", None)
        return value

    def fetch_revision(self) -> str:
        """Ask a server which bundle revision it serves now."""
        _, _, revision, _ = self._call(f"reading data.{_CONFIG_DOCUMENT.replace('/', '.')}", _CONFIG_DOCUMENT, b"{}")
        return revision

    def fetch_revisions(self) -> dict[str, str]:
        """Ask every server which bundle revision it serves now: URL to revision."""
        action = f"reading data.{_CONFIG_DOCUMENT.replace('/', '.')}"
        revisions = {}
        for server in self._servers_here():
            try:
                body = self._request(server, _CONFIG_DOCUMENT, b"{}", action)
            except _Failover as e:
                raise EngineError(f"{server.where}: {e.problem} {action}") from e
            revisions[server.url] = self._revision(body)[1]
        return revisions

    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        return self.evaluate_json(json.dumps(input_document, ensure_ascii=False, separators=(",", ":")))

    def evaluate_json(self, input_json: str) -> dict[str, Any]:
        payload = b'{"input":' + input_json.encode("utf-8") + b"}"
        server, body, revision, bundles = self._call(f"evaluating {_QUERY}", DECISION_PATH, payload)
        value = body["result"]
        if not isinstance(value, dict):
            raise PolicyError(f"{_QUERY} is {type(value).__name__}, not an object")
        decision_id = body.get("decision_id")
        if decision_id is not None and not (isinstance(decision_id, str) and _DECISION_ID.fullmatch(decision_id)):
            raise EngineError(f"{server.where}: malformed decision_id evaluating {_QUERY}")
        self._local.server = server
        self._local.bundles = bundles
        self._local.revision = revision
        self._local.decision_id = decision_id
        return value

    def close(self) -> None:
        for server in getattr(self, "_servers", ()):
            server.client.close_connection()

    def _servers_here(self) -> list[_Server]:
        """The servers, with connections of this process's own."""
        if self._pid != os.getpid():
            # A forked child: its pooled connections are the parent's sockets, and requests from both
            # processes would interleave on them (answers reaching the wrong process). Its own, then.
            self._servers = [_Server(url, self.connection) for url in self.connection.urls]
            self._pid = os.getpid()
        return self._servers

    def _order(self) -> list[_Server]:
        """The servers, starting at the next in turn; those recently unreachable last."""
        servers = self._servers_here()
        start = next(self._turn) % len(servers)
        turn = servers[start:] + servers[:start]
        now = time.monotonic()
        return sorted(turn, key=lambda server: server.down_until > now)  # stable: keeps the turn

    def _call(self, action: str, document: str, payload: bytes) -> tuple[_Server, dict[str, Any], str, dict[str, str]]:
        """The first usable answer: (server, body, revision, bundles). Servers failing over are passed
        over within a round; rounds repeat, with backoff, while the failures may be passing."""
        rounds = self.connection.retries + 1
        fleet = len(self._servers) > 1
        attempts = 0
        problem = ""
        last: _Failover | None = None
        for round_number in range(1, rounds + 1):
            retry = False
            for server in self._order():
                attempts += 1
                try:
                    body = self._request(server, document, payload, action)
                    if "result" not in body:
                        queried = "data." + document.replace("/", ".")
                        raise EngineError(f"{server.where}: {queried} is undefined; is the aigate bundle loaded?")
                    bundles, revision = self._revision(body)
                    required = self.connection.require_revision
                    if required is not None and revision != required:
                        mismatch = f"served bundle revision {revision!r} {action}, expected {required!r}"
                        if not fleet:
                            raise EngineError(f"{server.where}: {mismatch}")
                        raise _Failover(f"served bundle revision {revision!r}, expected {required!r}", retry=False)
                except _Failover as e:
                    last = e
                    problem = f"{server.url}: {e.problem}" if fleet else e.problem
                    retry = retry or e.retry
                    continue
                return server, body, revision, bundles
            if not retry:
                break
            if round_number < rounds:
                time.sleep(self.connection.backoff * 2 ** (round_number - 1))
        suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
        where = self._servers[0].where if not fleet else f"OPA fleet ({', '.join(self.urls)})"
        if fleet and last is not None and not last.retry and problem:
            raise EngineError(f"{where}: no server serves the required revision {action}; last: {problem}") from last
        raise EngineError(f"{where}: {problem} {action}{suffix}") from last

    def _request(self, server: _Server, document: str, payload: bytes, action: str) -> dict[str, Any]:
        """POST `payload` to `document` on `server`: its JSON object body, within the deadline and
        the size cap. `_Failover` for what another server may not suffer; `EngineError` otherwise.

        Not opa_client's `query_rule`: it reads a whole body of any size, with only a per-read
        timeout, so a server trickling bytes holds it for as long as it likes.
        """
        timeout = self.connection.timeout
        cap = self.connection.max_response_bytes
        url = f"{server.client.root_url}/data/{document}?provenance=true"
        # identity: a compressed body would be inflated past the cap before it could be counted.
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        with _Deadline(timeout) as deadline:
            try:
                response = server.session.post(url, data=payload, headers=headers, stream=True, timeout=timeout)
                try:
                    raw = self._read_capped(server, response, cap, action)
                finally:
                    response.close()
            except requests.exceptions.SSLError as e:
                if deadline.expired:
                    raise EngineError(f"{server.where}: timed out after {timeout}s {action}") from e
                raise EngineError(f"{server.where}: TLS failure {action}: {_reason(e)}") from e
            except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError) as e:
                raise EngineError(f"{server.where}: timed out after {timeout}s {action}") from e
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,  # the body read directly: a connection broken mid-answer
            ) as e:
                if deadline.expired:
                    raise EngineError(f"{server.where}: timed out after {timeout}s {action}") from e
                server.down_until = time.monotonic() + _DOWN_SECONDS
                raise _Failover(f"cannot connect ({_reason(e)})") from e
            except (requests.exceptions.RequestException, OSError) as e:
                if deadline.expired:
                    raise EngineError(f"{server.where}: timed out after {timeout}s {action}") from e
                raise EngineError(f"{server.where}: request failed {action}: {_reason(e)}") from e
            if deadline.expired:
                raise EngineError(f"{server.where}: timed out after {timeout}s {action}")
        server.down_until = 0.0
        status = response.status_code
        if status >= 400:
            problem = f"HTTP {status}{_opa_error(raw)}"
            if status >= 500:
                raise _Failover(problem)
            raise EngineError(f"{server.where}: {problem} {action}")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise EngineError(f"{server.where}: malformed response {action}: not JSON") from e
        if not isinstance(body, dict):
            raise EngineError(f"{server.where}: malformed response {action}: not a JSON object")
        return body

    @staticmethod
    def _read_capped(server: _Server, response: requests.Response, cap: int, action: str) -> bytes:
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise EngineError(f"{server.where}: malformed response {action}: unasked-for Content-Encoding {encoding}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise EngineError(f"{server.where}: response of {declared} bytes is over the {cap}-byte cap {action}")
        body = bytearray()
        while chunk := response.raw.read1(_READ_CHUNK):
            body += chunk
            if len(body) > cap:
                raise EngineError(f"{server.where}: response over the {cap}-byte cap {action}")
        return bytes(body)

    def _revision(self, body: dict[str, Any]) -> tuple[dict[str, str], str]:
        bundles = _provenance_bundles(body.get("provenance"))
        if not bundles:
            revision = "unknown"
        elif len(bundles) == 1:
            revision = next(iter(bundles.values()))
        else:
            revision = ", ".join(f"{name}={value}" for name, value in sorted(bundles.items()))
        return bundles, revision


# -- the deadline: a request ends at its total timeout, whatever it is waiting for ---------------

_watched = threading.local()


class _Deadline:
    """Shuts the request's socket down when the total timeout passes, which ends a blocked read at
    once: a per-read timeout alone lets a server that trickles a byte at a time run on for ever."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _watched.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _watched.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
            if self.expired:
                _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            _shut_down(self._socket)


def _shut_down(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, even for TLS: SSLSocket.shutdown would also drop the SSL
            # object under the thread reading through it; this only ends its reads with EOF.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch_socket(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_watched, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """Hands its socket to the request's deadline, for a new connection and a reused one."""

    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch_socket(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Adapter(HTTPAdapter):
    """No retries of its own, connections the deadline can cut, and a CA bundle or `verify=False`
    that the environment cannot undo.

    One retry policy, this module's: urllib3's would skip POSTs and report a read timeout on a
    GET as a connection error (`read=False` re-raises read errors as they are). And requests lets
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`; an explicit setting wins here.
    """

    def __init__(self, *, verify: str | bool | None) -> None:
        super().__init__(max_retries=Retry(total=0, read=False, redirect=0, raise_on_status=False))
        self._verify = verify

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

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
        connection: OpaConnection | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`connection` gives the request options (timeout, retries, response cap); its URLs,
        token and pinned revision are the managed server's own."""
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
                [opa, "run", "--server", "--addr", address, "--log-level", "error", "--skip-version-check",
                 "--bundle", str(bundle.path)]
            )
            options = connection or OpaConnection()
            super().__init__(
                replace(options, urls=(f"http://{address}",), token=None, require_revision=bundle.revision)
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
            if self._servers[0].client.check_health(query={"bundles": True}):
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
        # The process that started the server stops it: a forked child that exits (atexit) must not
        # remove the folder of a server its parent still uses.
        self._owner = os.getpid()
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
        if os.getpid() != self._owner:
            return
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


def _opa_error(raw: bytes) -> str:
    """OPA's error body, `{"code": ..., "message": ...}`, as ': code: message'."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        text = " ".join(raw.decode("utf-8", "replace").split())[:_ERROR_BODY_CHARS]
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
