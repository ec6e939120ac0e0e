"""Trust nothing an OPA server returns: hostile servers on 127.0.0.1 (a trickle, a huge body, an
unasked-for encoding), decisions that do not hold together, and a fleet of servers (spread,
failover, pinned revision), all against `RemoteOpaEngine` and the gate."""

from __future__ import annotations

import datetime
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opa_reference import OpaTestServer, ReferenceOpaEngine

from aigate.config import GateConfig, config_from_mapping
from aigate.engines.connection import OpaConnection, parse_urls
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.engines.opa_server import RemoteOpaEngine
from aigate.errors import EngineError, PolicyError
from aigate.gate import Gate
from aigate.models import InputDocument

from .conftest import DECISIONS, POLICIES, config_data

QUERY = "data.aigate.decision"


@pytest.fixture(scope="module")
def ai_input() -> dict[str, Any]:
    fixture = json.loads((DECISIONS / "tier_medium_review.json").read_text(encoding="utf-8"))
    return InputDocument.model_validate(fixture["input"]).model_dump(mode="json")


# -- hostile servers: a raw socket on 127.0.0.1 that answers as the test says ---------------------


class HostileServer:
    """Accepts connections, reads one request, then hands the socket to `behave` (bounded by `stop`)."""

    def __init__(
        self, behave: Callable[[socket.socket, threading.Event], None], tls: ssl.SSLContext | None = None
    ) -> None:
        self.behave = behave
        self.tls = tls
        self.stop = threading.Event()
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            data = b""
            try:
                if self.tls is not None:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(body) < length:
                    body += connection.recv(65536)
                self.behave(connection, self.stop)
            except OSError:
                pass

    def send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[HostileServer, socket.socket, threading.Event], None]], HostileServer]]:
    servers: list[HostileServer] = []

    def make(behave: Callable[[HostileServer, socket.socket, threading.Event], None]) -> HostileServer:
        server: HostileServer

        def bound(connection: socket.socket, stop: threading.Event) -> None:
            behave(server, connection, stop)

        server = HostileServer(bound).__enter__()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__()


def _trickle_body(server: HostileServer, connection: socket.socket, stop: threading.Event) -> None:
    server.send(connection, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(600):  # at most 60 s, a byte every 0.1 s: each read succeeds, none times out
        if stop.wait(0.1):
            return
        server.send(connection, b" ")


def _trickle_headers(server: HostileServer, connection: socket.socket, stop: threading.Event) -> None:
    server.send(connection, b"HTTP/1.1 200 OK\r\n")
    for _ in range(600):
        if stop.wait(0.1):
            return
        server.send(connection, b"X")


@pytest.mark.parametrize("behave", [_trickle_body, _trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_ends_at_the_total_deadline(
    hostile: Any, behave: Callable[..., None], ai_input: dict[str, Any]
) -> None:
    server = hostile(behave)
    started = time.monotonic()
    with RemoteOpaEngine(OpaConnection((server.url,), timeout=1.0)) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    elapsed = time.monotonic() - started
    assert str(caught.value) == f"OPA at {server.url}: timed out after 1.0s evaluating {QUERY}"
    # The server would trickle for 60 s; the deadline, not the server, ended the request.
    assert elapsed < 10, elapsed


def _self_signed(folder: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_trickling_tls_server_ends_at_the_total_deadline(tmp_path: Path, ai_input: dict[str, Any]) -> None:
    def trickle(connection: socket.socket, stop: threading.Event) -> None:
        _trickle_body(server, connection, stop)

    server = HostileServer(trickle, tls=_self_signed(tmp_path)).__enter__()
    try:
        started = time.monotonic()
        connection = OpaConnection((server.url,), timeout=1.0, verify_tls=False)
        with RemoteOpaEngine(connection) as engine, pytest.raises(EngineError) as caught:
            engine.evaluate(ai_input)
        assert str(caught.value) == f"OPA at {server.url}: timed out after 1.0s evaluating {QUERY}"
        assert time.monotonic() - started < 10
    finally:
        server.__exit__()


def _huge_declared(server: HostileServer, connection: socket.socket, stop: threading.Event) -> None:
    server.send(connection, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 629145600\r\n\r\n")
    for _ in range(10_000):  # 600 MB in 64 KB writes, until the client hangs up
        if stop.is_set():
            return
        server.send(connection, b"0" * 65536)


def _huge_chunked(server: HostileServer, connection: socket.socket, stop: threading.Event) -> None:
    server.send(connection, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"0" * 65536 + b"\r\n"
    for _ in range(10_000):
        if stop.is_set():
            return
        server.send(connection, chunk)


def test_a_body_declared_over_the_cap_is_refused_unread(hostile: Any, ai_input: dict[str, Any]) -> None:
    server = hostile(_huge_declared)
    connection = OpaConnection((server.url,), max_response_bytes=1 << 20)
    with RemoteOpaEngine(connection) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert str(caught.value) == (
        f"OPA at {server.url}: response of 629145600 bytes is over the 1048576-byte cap evaluating {QUERY}"
    )


def test_an_undeclared_body_is_cut_at_the_cap(hostile: Any, ai_input: dict[str, Any]) -> None:
    server = hostile(_huge_chunked)
    connection = OpaConnection((server.url,), max_response_bytes=1 << 20, timeout=30)
    with RemoteOpaEngine(connection) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert str(caught.value) == f"OPA at {server.url}: response over the 1048576-byte cap evaluating {QUERY}"
    assert server.sent < 64 << 20  # read stopped near the cap; the server would have sent 600 MB


def _gzip_body(server: HostileServer, connection: socket.socket, stop: threading.Event) -> None:
    import gzip

    body = gzip.compress(b'{"result": {"outcome": "allow"}}')
    server.send(
        connection,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )


def test_an_unasked_for_encoding_is_refused(hostile: Any, ai_input: dict[str, Any]) -> None:
    server = hostile(_gzip_body)
    with RemoteOpaEngine(server.url) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert str(caught.value) == (
        f"OPA at {server.url}: malformed response evaluating {QUERY}: unasked-for Content-Encoding gzip"
    )


# -- decisions that do not hold together: exit 2, on every engine ----------------------------------

DECISION_MODULE = "aigate/decision/decision.rego"


def _blocked_input() -> dict[str, Any]:
    fixture = json.loads((DECISIONS / "blocked_path_env_file.json").read_text(encoding="utf-8"))
    return InputDocument.model_validate(fixture["input"]).model_dump(mode="json")


def _changed(policies: PolicySet, old: str, new: str) -> PolicySet:
    modules = []
    for path, source in policies.modules:
        if path == DECISION_MODULE:
            assert old in source, old
            source = source.replace(old, new)
        modules.append((path, source))
    return PolicySet(modules=tuple(modules), root=policies.root)


# Each change to the shipped decision policy makes its document on a blocked PR not hold together.
BROKEN = {
    "no-risk": (("risk", "risk_doc"), "incomplete: no risk"),
    "is_ai-vs-detection": (
        ("is_ai := data.aigate.extensions.is_ai", "is_ai := false"),
        "is_ai is false but detection.is_ai is true",
    ),
    "no-signals": (
        ('"signals": data.aigate.extensions.all_signals,', '"signals": [],'),
        "detection.is_ai is true with 0 matching signals",
    ),
    "blocking-allowed": (
        ('outcome := "block" if {', 'outcome := "allow" if {'),
        "violation 'blocked_path' is blocking but the outcome is 'allow'",
    ),
    "violation-without-mode": (
        (
            "violations := data.aigate.exceptions.apply_all(union({",
            '_broken(vs) := [object.remove(v, ["mode"]) | some v in vs]\n\nviolations := _broken(union({',
        ),
        "incomplete: no violations[0].mode",
    ),
    "blocking-outside-block-mode": (
        (
            "violations := data.aigate.exceptions.apply_all(union({",
            '_broken(vs) := [object.union(v, {"blocking": false}) | some v in vs]\n\nviolations := _broken(union({',
        ),
        "violation 'blocked_path' is in block mode but blocking is false",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_decision_that_does_not_hold_together_is_an_error(
    policies: PolicySet, default_config: GateConfig, case: str
) -> None:
    (old, new), problem = BROKEN[case]
    broken = _changed(policies, old, new)
    with Gate(default_config, policies=broken, engine="embedded") as gate, pytest.raises(PolicyError) as caught:
        gate.evaluate(_blocked_input())
    assert str(caught.value) == f"data.aigate.decision is not a valid decision: {problem} (engine embedded)"
    # The shipped policy decides the same PR, whole and consistent.
    with Gate(default_config, policies=policies, engine="embedded") as gate:
        assert gate.evaluate(_blocked_input()).outcome == "block"


def test_an_inconsistent_decision_from_real_opa_exits_2(real_opa: str, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    from conftest import REPO

    policy_dir = tmp_path / "policies"
    shutil.copytree(POLICIES, policy_dir)
    decision = policy_dir / DECISION_MODULE
    decision.write_text(
        decision.read_text(encoding="utf-8").replace('outcome := "block" if {', 'outcome := "allow" if {'),
        encoding="utf-8",
    )
    config = tmp_path / ".ai-code-gate.yml"
    config.write_text(f"policy:\n  policy_dir: {policy_dir}\n  engine: {{backend: opa}}\n", encoding="utf-8")
    document = tmp_path / "input.json"
    document.write_text(json.dumps(_blocked_input()), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "aigate", "evaluate", "--config", str(config), "--input", str(document)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, "AIGATE_OPA_BINARY": real_opa},
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert re.fullmatch(
        r"aigate: error: data\.aigate\.decision is not a valid decision: violation 'blocked_path' is blocking "
        r"but the outcome is 'allow' \(OPA at http://127\.0\.0\.1:\d+\)\n",
        completed.stderr,
    ), completed.stderr


# -- a fleet of servers: spread, failover, pinned revision -------------------------------------------


@pytest.fixture
def fleet(reference_engine: ReferenceOpaEngine) -> Iterator[list[OpaTestServer]]:
    servers = [OpaTestServer(reference_engine, revision=reference_engine.bundle_revision).start() for _ in range(3)]
    yield servers
    for server in servers:
        server.stop()


def test_requests_are_spread_across_the_fleet(fleet: list[OpaTestServer], ai_input: dict[str, Any]) -> None:
    with RemoteOpaEngine(OpaConnection(tuple(s.url for s in fleet))) as engine:
        decisions = [engine.evaluate(ai_input) for _ in range(9)]
    assert [server.data_requests() for server in fleet] == [3, 3, 3]
    assert all(decision == decisions[0] for decision in decisions)


def test_a_dead_server_is_failed_over_and_then_passed_over(
    fleet: list[OpaTestServer], ai_input: dict[str, Any]
) -> None:
    dead_url = fleet[1].url
    fleet[1].stop()
    with RemoteOpaEngine(OpaConnection(tuple(s.url for s in fleet), retries=0)) as engine:
        outcomes = [engine.evaluate(ai_input)["outcome"] for _ in range(12)]
        assert engine.where in (f"OPA at {fleet[0].url}", f"OPA at {fleet[2].url}")
    assert outcomes == ["review"] * 12
    # Every decision answered exactly once, by a live server: none lost, none asked twice.
    assert fleet[0].data_requests() + fleet[2].data_requests() == 12
    assert dead_url not in (fleet[0].url, fleet[2].url)


def test_a_5xx_fails_over_to_the_next_server(fleet: list[OpaTestServer], ai_input: dict[str, Any]) -> None:
    for server in fleet:
        server.inject("http500")
    with RemoteOpaEngine(OpaConnection(tuple(s.url for s in fleet), retries=1, backoff=0)) as engine:
        assert engine.evaluate(ai_input)["outcome"] == "review"
    assert sum(server.data_requests() for server in fleet) == 4  # three 500s, then the first again


def test_a_fleet_that_cannot_answer_is_one_error(fleet: list[OpaTestServer], ai_input: dict[str, Any]) -> None:
    urls = tuple(s.url for s in fleet)
    for server in fleet:
        server.stop()
    with RemoteOpaEngine(OpaConnection(urls, retries=1, backoff=0)) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    message = str(caught.value)
    assert message.startswith(f"OPA fleet ({', '.join(urls)}): http://127.0.0.1:")
    assert message.endswith(f": cannot connect (Connection refused) evaluating {QUERY} (after 6 attempts)")


def test_a_pinned_revision_passes_over_a_server_on_another(
    fleet: list[OpaTestServer], ai_input: dict[str, Any]
) -> None:
    fleet[0].revision = "sha256:old"
    connection = OpaConnection(tuple(s.url for s in fleet), require_revision=fleet[1].revision)
    with RemoteOpaEngine(connection) as engine:
        for _ in range(6):
            engine.evaluate(ai_input)
            assert engine.bundle_revision == fleet[1].revision
            assert engine.where != f"OPA at {fleet[0].url}"
    for server in fleet[1:]:
        server.revision = "sha256:old"
    with RemoteOpaEngine(connection) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert "no server serves the required revision" in str(caught.value)
    assert "served bundle revision 'sha256:old'" in str(caught.value)


# -- the settings object -----------------------------------------------------------------------------


def test_urls_from_lists_commas_and_whitespace() -> None:
    assert parse_urls(None) == ()
    assert parse_urls("http://a:1, http://b:2") == ("http://a:1", "http://b:2")
    assert parse_urls(["http://a:1 http://b:2", "http://c:3"]) == ("http://a:1", "http://b:2", "http://c:3")
    assert OpaConnection(("http://a:1/",)).urls == ("http://a:1",)


def test_a_server_listed_twice_is_refused() -> None:
    with pytest.raises(EngineError, match="a server is listed twice"):
        OpaConnection(("http://a:1", "http://a:1/"))


def test_connection_from_config_and_environment(tmp_path: Path) -> None:
    config = config_from_mapping(
        {"policy": {"engine": {"opa_url": ["http://a:1", "http://b:2"], "timeout": 2, "max_response_bytes": 4096}}}
    )
    connection = OpaConnection.from_settings(config.settings["policy"]["engine"], config.resolve)
    assert (connection.urls, connection.timeout, connection.max_response_bytes) == (
        ("http://a:1", "http://b:2"),
        2.0,
        4096,
    )
    assert OpaConnection.from_settings(config.settings["policy"]["engine"], config.resolve, urls="http://c:3").urls == (
        "http://c:3",
    )
    environ = {"AIGATE_OPA_URL": "http://d:4,http://e:5", "AIGATE_OPA_TOKEN": "t0k"}
    completed = OpaConnection().with_environment(environ)
    assert (completed.urls, completed.token) == (("http://d:4", "http://e:5"), "t0k")
    assert "t0k" not in repr(completed)  # the token is never shown
    assert connection.with_environment(environ).urls == connection.urls  # configured URLs win


def test_embedded_engine_decision_ids_are_aigate_s(policies: PolicySet, default_config: GateConfig) -> None:
    engine = EmbeddedEngine(policies, config_data(default_config))
    assert engine.decision_id is None
    with Gate(default_config, policies=policies, engine=engine) as gate:
        ids = {gate.evaluate(_blocked_input()).decision_id for _ in range(3)}
    assert len(ids) == 3
