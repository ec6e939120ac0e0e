"""Real OPA as the tests' reference, without an opa binary.

The wheel `opa-golib-python-bindings` ships OPA's Go Rego engine as a shared library loaded with
ctypes. Its metadata asks for Python 3.14, but the library loads on any Python 3, so the wheel
is fetched for 3.14 with pip, checked against the hash pinned here, and unpacked into
`.cache/opa-golib/` (gitignored) once.

- `ReferenceOpaEngine`: an aigate `Engine` on real OPA, in-process.
- `OpaTestServer`: a threaded HTTP server on 127.0.0.1 speaking the parts of OPA's REST API that
  aigate uses (`POST|GET /v1/data/{path}` with `?provenance`, `GET /health?bundles`, bearer
  tokens, TLS), backed by the reference engine, with failures to inject.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aigate.engines.interface import DECISION_PATH, Engine, PolicySet
from aigate.errors import EngineError, PolicyError

OPA_GOLIB_VERSION = "0.4.4"
OPA_GOLIB_WHEEL = f"opa_golib_python_bindings-{OPA_GOLIB_VERSION}-py3-none-manylinux_2_34_x86_64.whl"
OPA_GOLIB_SHA256 = "d411c901e14b8c7c3023e23e4a944f4cf429c1d31baf80e959e57d11efbfd24a"
REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "opa-golib"


FAULTS = ("http500", "slow", "malformed", "no_result", "not_object", "wrong_revision")


class ReferenceUnavailable(Exception):
    """Real OPA cannot be had on this machine; the message says why."""


_bindings: ModuleType | None = None
_load_lock = threading.Lock()


def load_opa_bindings() -> ModuleType:
    """The `opa_bindings` module, fetched and unpacked on first use."""
    global _bindings
    with _load_lock:
        if _bindings is None:
            if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
                raise ReferenceUnavailable(
                    f"the OPA golib wheel is built for linux x86_64, not {sys.platform} {platform.machine()}"
                )
            target = CACHE / OPA_GOLIB_VERSION
            if not (target / "opa_bindings" / "__init__.py").is_file():
                _fetch(target)
            if str(target) not in sys.path:
                sys.path.insert(0, str(target))
            try:
                _bindings = importlib.import_module("opa_bindings")
                _bindings.OpaEngine().close()  # loads the shared library now, so failures show here
            except (ImportError, OSError) as e:
                raise ReferenceUnavailable(f"opa_bindings from {target} does not load: {e}") from e
        return _bindings


def _fetch(target: Path) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        wheels = Path(scratch) / "wheels"
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text(
            f"opa-golib-python-bindings=={OPA_GOLIB_VERSION} --hash=sha256:{OPA_GOLIB_SHA256}\n", encoding="utf-8"
        )
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.14",
            "--platform",
            "manylinux_2_34_x86_64",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(wheels),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ReferenceUnavailable(f"pip download failed: {e}") from e
        if completed.returncode != 0:
            detail = [line for line in completed.stderr.splitlines() if line.strip()]
            raise ReferenceUnavailable(f"pip download failed: {detail[-1] if detail else completed.returncode}")
        wheel = wheels / OPA_GOLIB_WHEEL
        if hashlib.sha256(wheel.read_bytes()).hexdigest() != OPA_GOLIB_SHA256:
            raise ReferenceUnavailable(f"{wheel.name}: hash differs from the pinned one")
        unpacked = Path(scratch) / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith("/") or ".." in member.split("/"):
                    raise ReferenceUnavailable(f"{wheel.name}: unsafe member {member!r}")
            archive.extractall(unpacked)
        with contextlib.suppress(OSError):  # another process may have unpacked it meanwhile
            os.replace(unpacked, target)
    if not (target / "opa_bindings" / "__init__.py").is_file():
        raise ReferenceUnavailable(f"{target}: opa_bindings missing after unpacking")


class ReferenceOpaEngine(Engine):
    """OPA's own Rego engine (v1.x, from the golib wheel), evaluating in this process."""

    name = "opa-reference"

    def __init__(self, policies: PolicySet, data: dict[str, Any], *, revision: str | None = None) -> None:
        bindings = load_opa_bindings()
        self._error = bindings.OpaError
        self._undefined = bindings.OpaUndefinedError
        self._engine = bindings.OpaEngine()
        for path, source in policies.modules:
            try:
                self._engine.add_policy(path, source)
            except self._error as e:
                raise PolicyError(f"{policies.root / path}: {' '.join(str(e).split())}") from e
        self._engine.add_data(data)
        self._revision = revision or policies.revision

    @property
    def bundle_revision(self) -> str:
        return self._revision

    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        defined, value = self.evaluate_document(DECISION_PATH, input_document)
        if not defined:
            raise EngineError("reference OPA: data.aigate.decision is undefined")
        if not isinstance(value, dict):
            raise PolicyError(f"data.aigate.decision is {type(value).__name__}, not an object")
        return value

    def evaluate_document(self, path: str, input_document: Any = None) -> tuple[bool, Any]:
        """(defined, value) of `data.<path>` (slashes or dots)."""
        try:
            return True, self._engine.eval_document(path.replace("/", "."), input_document)
        except self._undefined:
            return False, None
        except self._error as e:
            raise EngineError(f"reference OPA: {' '.join(str(e).split())}") from e

    def evaluate_rule(self, rule: str, input_document: dict[str, Any] | None = None) -> Any:
        """The value of `data.pkg.rule`, None when undefined; for `aigate.policy_tests.run_tests`."""
        return self.evaluate_document(rule.removeprefix("data."), input_document)[1]

    def has_builtin(self, name: str) -> bool:
        """Whether OPA knows the function: a call with no arguments fails on arity, or runs, if it does."""
        handler, self._engine.print_handler = self._engine.print_handler, _ignore_print
        try:
            self._engine.eval_query(f"{name}()")
        except self._error as e:
            return "undefined function" not in str(e)
        finally:
            self._engine.print_handler = handler
        return True

    def close(self) -> None:
        self._engine.close()


def _ignore_print(message: str, location: str) -> None:
    pass


class OpaTestServer:
    """OPA's REST API, the parts aigate uses, on 127.0.0.1 and backed by a `ReferenceOpaEngine`.

    `inject(*faults)` makes the next data requests fail, one fault each, in order:
    `http500`, `slow` (answers after `slow_seconds`), `malformed` (a body that is not JSON),
    `no_result` (200 without `result`: undefined), `not_object` (a result that is a string),
    `wrong_revision` (provenance naming another bundle revision).
    """

    def __init__(
        self,
        engine: ReferenceOpaEngine,
        *,
        revision: str,
        bundle_name: str = "aigate",
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        healthy: bool = True,
    ) -> None:
        self.engine = engine
        self.revision = revision
        self.bundle_name = bundle_name
        self.token = token
        self.healthy = healthy
        self.slow_seconds = 30.0
        self.requests: list[tuple[str, str]] = []
        self._faults: deque[str] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # lets slow handlers finish when the server stops
        self._thread: threading.Thread | None = None
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def inject(self, *faults: str) -> None:
        unknown = [fault for fault in faults if fault not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def data_requests(self) -> int:
        with self._lock:
            return sum(path.startswith("/v1/data/") for _, path in self.requests)

    def wait_released(self, seconds: float) -> None:
        self._released.wait(seconds)

    def start(self) -> OpaTestServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def __enter__(self) -> OpaTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: OpaTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as OPA's server
        server_version = "opa-reference"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            params = parse_qs(parts.query, keep_blank_values=True)
            server.record(method, parts.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if server.token is not None and self.headers.get("Authorization") != f"Bearer {server.token}":
                self._send(401, {"code": "unauthorized", "message": "missing or invalid bearer token"})
            elif parts.path == "/health" and method == "GET":
                # OPA answers 500 until the bundles given to it are activated.
                if server.healthy:
                    self._send(200, {})
                else:
                    self._send(500, {"error": "not all configured bundles have been activated"})
            elif parts.path.startswith("/v1/data/"):
                self._data(parts.path.removeprefix("/v1/data/"), body, params)
            else:
                self._send(404, {"code": "resource_not_found", "message": f"{parts.path} not found"})

        def _data(self, path: str, body: bytes, params: dict[str, list[str]]) -> None:
            input_document = None
            if body:
                try:
                    request = json.loads(body)
                except ValueError as e:
                    self._send(
                        400, {"code": "invalid_parameter", "message": f"body contains malformed input document: {e}"}
                    )
                    return
                input_document = request.get("input") if isinstance(request, dict) else None
            fault = server.next_fault()
            if fault == "http500":
                self._send(500, {"code": "internal_error", "message": "injected failure"})
                return
            if fault == "slow":
                server.wait_released(server.slow_seconds)
            if fault == "malformed":
                self._send(200, b'{"result": {"outcome": ')
                return
            started = time.perf_counter_ns()
            try:
                defined, value = server.engine.evaluate_document(path, input_document)
            except EngineError as e:
                self._send(500, {"code": "internal_error", "message": str(e)})
                return
            response: dict[str, Any] = {}
            if defined and fault != "no_result":
                response["result"] = "not an object" if fault == "not_object" else value
            if "metrics" in params:
                response["metrics"] = {"timer_rego_query_eval_ns": time.perf_counter_ns() - started}
            if "provenance" in params:
                revision = "someone-else's-bundle" if fault == "wrong_revision" else server.revision
                response["provenance"] = {
                    "version": f"golib {OPA_GOLIB_VERSION} (reference)",
                    "build_commit": "",
                    "build_timestamp": "",
                    "build_hostname": "",
                    "bundles": {server.bundle_name: {"revision": revision}},
                }
            self._send(200, response)

        def _send(self, status: int, body: dict[str, Any] | bytes) -> None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            with contextlib.suppress(OSError):  # the client may have given up (timeouts)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

    return Handler


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


def processes_using(folder: Path) -> list[int]:
    """Live processes whose command line names something inside `folder`."""
    marker = str(folder).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def serving(engine: ReferenceOpaEngine, **options: Any) -> Iterator[OpaTestServer]:
    with OpaTestServer(engine, revision=options.pop("revision", engine.bundle_revision), **options) as server:
        yield server


def measure(files: int, repeats: int = 5) -> dict[str, float]:
    """Median seconds of one `data.aigate.decision` evaluation, embedded vs reference OPA."""
    import statistics

    from aigate.config import config_from_mapping
    from aigate.engines.embedded import EmbeddedEngine
    from aigate.engines.interface import load_policy_set
    from aigate.models import InputDocument

    policies = load_policy_set(REPO / "policies")
    data = {"aigate": {"config": config_from_mapping({}).data}}
    kinds = [
        "src/pkg{}/mod{}.py",
        "src/auth/h{}{}.ts",
        ".github/workflows/w{}{}.yml",
        "tests/test_{}{}.py",
        "docs/p{}{}.md",
    ]
    document = InputDocument.model_validate(
        {
            "pr": {"labels": ["ai-generated"]},
            "commits": [{"message": "Change\n\nCo-authored-by: Claude <noreply@anthropic.com>"}],
            "files": [
                {"path": kinds[i % len(kinds)].format(i % 40, i), "status": "modified", "added": 3, "removed": 1}
                for i in range(files)
            ],
        }
    ).model_dump(mode="json")
    timings = {}
    for engine in (EmbeddedEngine(policies, data), ReferenceOpaEngine(policies, data)):
        engine.evaluate(document)  # warm up: first-use compilation and caches
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            engine.evaluate(document)
            samples.append(time.perf_counter() - started)
        timings[engine.name] = statistics.median(samples)
    return timings


if __name__ == "__main__":
    # python tests/opa_reference.py [FILES...]: evaluation time, embedded vs real OPA (median of 5).
    for count in [int(arg) for arg in sys.argv[1:]] or [20, 10_000]:
        result = measure(count)
        ratio = result["embedded"] / result["opa-reference"]
        print(
            f"{count} files: embedded {result['embedded'] * 1000:.1f} ms, "
            f"opa {result['opa-reference'] * 1000:.1f} ms, embedded/opa {ratio:.2f}"
        )
