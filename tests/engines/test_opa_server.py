"""The OPA REST engine against real OPA semantics: a test server on 127.0.0.1 backed by OPA's
own Rego engine, failures injected into it, and the managed server's whole lifecycle run with the
real `opa` binary (.ci/run installs it; these tests fail, never skip, without it)."""

from __future__ import annotations

import datetime
import gc
import io
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests
from opa_reference import OpaTestServer, ReferenceOpaEngine, process_exists, processes_using

from aigate.bundle import build_bundle, bundle_revision
from aigate.config import GateConfig, config_from_mapping
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.engines.opa_server import ENV_OPA_BINARY, ManagedOpaEngine, OpaConnection, RemoteOpaEngine, find_opa_binary
from aigate.errors import EngineError, EngineUnavailableError, PolicyError
from aigate.gate import Gate
from aigate.models import InputDocument

from .conftest import DECISIONS, config_data

QUERY = "data.aigate.decision"


def _fixture_input(name: str) -> dict[str, Any]:
    fixture = json.loads((DECISIONS / f"{name}.json").read_text(encoding="utf-8"))
    return InputDocument.model_validate(fixture["input"]).model_dump(mode="json")


@pytest.fixture(scope="module")
def ai_input() -> dict[str, Any]:
    return _fixture_input("tier_medium_review")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- remote: the REST engine against the test server ---------------------------------------------


def test_decision_over_rest_equals_opa_and_names_the_revision(
    opa_server: OpaTestServer, reference_engine: ReferenceOpaEngine, ai_input: dict[str, Any]
) -> None:
    with RemoteOpaEngine(opa_server.url) as engine:
        decision = engine.evaluate(ai_input)
        assert decision == reference_engine.evaluate(ai_input)
        assert decision["outcome"] == "review"
        assert engine.bundle_revision == opa_server.revision
        assert engine.served_bundles == {"aigate": opa_server.revision}
    assert opa_server.requests == [("POST", "/v1/data/aigate/decision")]


def test_revision_before_any_decision_is_asked_of_the_server(opa_server: OpaTestServer) -> None:
    with RemoteOpaEngine(opa_server.url) as engine:
        assert engine.bundle_revision == opa_server.revision
    assert opa_server.requests == [("POST", "/v1/data/aigate/config")]


def test_gate_on_remote_opa_records_engine_and_revision(
    opa_server: OpaTestServer, default_config: GateConfig, policies: PolicySet, ai_input: dict[str, Any]
) -> None:
    with Gate(default_config, policies=policies, engine=RemoteOpaEngine(opa_server.url)) as gate:
        decision = gate.evaluate(ai_input)
    assert (decision.outcome, decision.engine, decision.policy_revision) == ("review", "opa", opa_server.revision)


def test_gate_fails_closed_when_opa_fails(
    opa_server: OpaTestServer, default_config: GateConfig, policies: PolicySet, ai_input: dict[str, Any]
) -> None:
    opa_server.inject("http500")
    with Gate(
        default_config, policies=policies, engine=RemoteOpaEngine(OpaConnection((opa_server.url,), retries=0))
    ) as gate:
        with pytest.raises(EngineError, match="HTTP 500"):
            gate.evaluate(ai_input)


def test_http_500_is_retried_then_an_error(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("http500", "http500", "http500")
    with (
        RemoteOpaEngine(OpaConnection((opa_server.url,), retries=2, backoff=0)) as engine,
        pytest.raises(EngineError) as caught,
    ):
        engine.evaluate(ai_input)
    assert str(caught.value) == (
        f"OPA at {opa_server.url}: HTTP 500: internal_error: injected failure evaluating {QUERY} (after 3 attempts)"
    )
    assert opa_server.data_requests() == 3


def test_one_http_500_then_success(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("http500")
    with RemoteOpaEngine(OpaConnection((opa_server.url,), retries=2, backoff=0)) as engine:
        assert engine.evaluate(ai_input)["outcome"] == "review"
    assert opa_server.data_requests() == 2


def test_slow_server_times_out_without_retry(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("slow")
    with (
        RemoteOpaEngine(OpaConnection((opa_server.url,), timeout=0.5, retries=2)) as engine,
        pytest.raises(EngineError) as caught,
    ):
        engine.evaluate(ai_input)
    assert str(caught.value) == f"OPA at {opa_server.url}: timed out after 0.5s evaluating {QUERY}"
    assert opa_server.data_requests() == 1


def test_malformed_body_is_an_error(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("malformed")
    with RemoteOpaEngine(opa_server.url) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert str(caught.value) == f"OPA at {opa_server.url}: malformed response evaluating {QUERY}: not JSON"


def test_undefined_decision_is_an_error(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("no_result")
    with RemoteOpaEngine(opa_server.url) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert str(caught.value) == f"OPA at {opa_server.url}: {QUERY} is undefined; is the aigate bundle loaded?"


def test_decision_that_is_not_an_object_is_a_policy_error(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    opa_server.inject("not_object")
    with RemoteOpaEngine(opa_server.url) as engine, pytest.raises(PolicyError, match="is str, not an object"):
        engine.evaluate(ai_input)


def test_connection_refused_is_retried_then_an_error(ai_input: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with RemoteOpaEngine(OpaConnection((url,), retries=1, backoff=0)) as engine, pytest.raises(EngineError) as caught:
        engine.evaluate(ai_input)
    assert (
        str(caught.value) == f"OPA at {url}: cannot connect (Connection refused) evaluating {QUERY} (after 2 attempts)"
    )


def test_pinned_revision_rejects_another_bundle(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    with RemoteOpaEngine(OpaConnection((opa_server.url,), require_revision=opa_server.revision)) as engine:
        engine.evaluate(ai_input)
        opa_server.inject("wrong_revision")
        with pytest.raises(EngineError, match='served bundle revision "someone-else\'s-bundle"'):
            engine.evaluate(ai_input)


def test_bearer_token(reference_engine: ReferenceOpaEngine, ai_input: dict[str, Any]) -> None:
    with OpaTestServer(reference_engine, revision="r1", token="s3cret") as server:
        with RemoteOpaEngine(OpaConnection((server.url,), token="s3cret")) as engine:
            assert engine.evaluate(ai_input)["outcome"] == "review"
        with RemoteOpaEngine(OpaConnection((server.url,), retries=2)) as engine, pytest.raises(EngineError) as caught:
            engine.evaluate(ai_input)
        assert str(caught.value) == (
            f"OPA at {server.url}: HTTP 401: unauthorized: missing or invalid bearer token evaluating {QUERY}"
        )
        assert server.data_requests() == 2  # one success, one 401 not retried


def test_url_path_prefix_is_kept(opa_server: OpaTestServer, ai_input: dict[str, Any]) -> None:
    with RemoteOpaEngine(f"{opa_server.url}/opa/") as engine, pytest.raises(EngineError, match="HTTP 404"):
        engine.evaluate(ai_input)
    assert opa_server.requests == [("POST", "/opa/v1/data/aigate/decision")]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://127.0.0.1:8181", "expected http(s)://host[:port][/path]"),
        ("127.0.0.1:8181", "expected http(s)://host[:port][/path]"),
        ("http://user:pw@127.0.0.1:8181", "give credentials as a token"),
        ("http://127.0.0.1:99999", "invalid port"),
        ("http://127.0.0.1:8181/?x=1", "a query or fragment has no place in the server URL"),
        ("http://[::1", "Invalid IPv6 URL"),
    ],
)
def test_bad_urls(url: str, problem: str) -> None:
    with pytest.raises(EngineError) as caught:
        RemoteOpaEngine(url)
    assert problem in str(caught.value)
    assert "pw" not in str(caught.value)  # credentials in a URL are never echoed


def test_tls_options_need_https() -> None:
    with pytest.raises(EngineError, match="TLS options need an https URL"):
        RemoteOpaEngine(OpaConnection(("http://127.0.0.1:8181",), verify_tls=False))


# -- TLS: a private CA, a server certificate for 127.0.0.1, a client certificate -----------------


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return data


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aigate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(name: str, usage: x509.ObjectIdentifier, san: x509.GeneralName | None) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        return cert_path, key_path

    server_cert, server_key = issue(
        "server", ExtendedKeyUsageOID.SERVER_AUTH, x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    client_cert, client_key = issue("client", ExtendedKeyUsageOID.CLIENT_AUTH, None)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return {
        "ca": folder / "ca.crt",
        "server_cert": server_cert,
        "server_key": server_key,
        "client_cert": client_cert,
        "client_key": client_key,
    }


def _tls_server(engine: ReferenceOpaEngine, pki: dict[str, Path], *, client_auth: bool) -> OpaTestServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server_cert"], pki["server_key"])
    if client_auth:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    return OpaTestServer(engine, revision="tls-rev", tls=context).start()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_with_private_ca(
    reference_engine: ReferenceOpaEngine, pki: dict[str, Path], ai_input: dict[str, Any]
) -> None:
    server = _tls_server(reference_engine, pki, client_auth=False)
    try:
        assert server.url.startswith("https://")
        with RemoteOpaEngine(OpaConnection((server.url,), ca_bundle=pki["ca"])) as engine:
            assert engine.evaluate(ai_input)["outcome"] == "review"
            assert engine.bundle_revision == "tls-rev"
        with RemoteOpaEngine(OpaConnection((server.url,), retries=0)) as engine, pytest.raises(EngineError) as caught:
            engine.evaluate(ai_input)
        assert str(caught.value).startswith(f"OPA at {server.url}: TLS failure evaluating {QUERY}: ")
        assert "certificate verify failed" in str(caught.value)
        with RemoteOpaEngine(OpaConnection((server.url,), verify_tls=False)) as engine:
            assert engine.evaluate(ai_input)["outcome"] == "review"
    finally:
        server.stop()


def test_mutual_tls(reference_engine: ReferenceOpaEngine, pki: dict[str, Path], ai_input: dict[str, Any]) -> None:
    server = _tls_server(reference_engine, pki, client_auth=True)
    try:
        with RemoteOpaEngine(
            OpaConnection(
                (server.url,), ca_bundle=pki["ca"], client_cert=pki["client_cert"], client_key=pki["client_key"]
            )
        ) as engine:
            assert engine.evaluate(ai_input)["outcome"] == "review"
        with RemoteOpaEngine(OpaConnection((server.url,), ca_bundle=pki["ca"], retries=0)) as engine:
            with pytest.raises(EngineError, match=f"^OPA at {server.url}: "):
                engine.evaluate(ai_input)
    finally:
        server.stop()


# -- managed: the real `opa run --server`, from start to stop ------------------------------------


@pytest.fixture
def opa_env(real_opa: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real opa as AIGATE_OPA_BINARY, and the managed server's folder under `tmp_path`, so that
    any process left behind is found by its command line, which names its bundle there."""
    monkeypatch.setenv(ENV_OPA_BINARY, real_opa)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _is_opa(pid: int, real_opa: str) -> bool:
    return os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(real_opa)


def test_managed_server_starts_is_healthy_evaluates_and_stops(
    opa_env: Path, real_opa: str, policies: PolicySet, default_config: GateConfig, ai_input: dict[str, Any]
) -> None:
    engine = ManagedOpaEngine(policies, default_config)
    pid = engine.pid
    assert pid is not None and _is_opa(pid, real_opa)
    assert processes_using(opa_env) == [pid]
    workdir = engine._child.workdir
    try:
        assert engine.url.startswith("http://127.0.0.1:")
        health = requests.get(f"{engine.url}/health?bundles", timeout=5)
        assert (health.status_code, health.json()) == (200, {})
        assert engine.evaluate(ai_input) == EmbeddedEngine(policies, config_data(default_config)).evaluate(ai_input)
        assert engine.bundle_revision == bundle_revision(policies, default_config) == engine.fetch_revision()
        # Real OPA names a bundle loaded from a file by its path.
        assert engine.served_bundles == {str(workdir / "bundle.tar.gz"): bundle_revision(policies, default_config)}
    finally:
        engine.close()
    assert not process_exists(pid)
    assert not workdir.exists()
    assert processes_using(opa_env) == []
    engine.close()  # closing twice is harmless


def test_managed_server_revision_is_checked(
    opa_env: Path, policies: PolicySet, default_config: GateConfig, ai_input: dict[str, Any]
) -> None:
    expected = bundle_revision(policies, default_config)
    with ManagedOpaEngine(policies, default_config) as managed:
        with RemoteOpaEngine(OpaConnection((managed.url,), require_revision=expected)) as pinned:
            assert pinned.evaluate(ai_input)["outcome"] == "review"
        with (
            RemoteOpaEngine(OpaConnection((managed.url,), require_revision="sha256:other")) as pinned,
            pytest.raises(EngineError) as e,
        ):
            pinned.evaluate(ai_input)
        assert str(e.value) == (
            f"OPA at {managed.url}: served bundle revision {expected!r} evaluating {QUERY}, expected 'sha256:other'"
        )


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_stops_the_server(
    opa_env: Path, policies: PolicySet, default_config: GateConfig, error: type[BaseException]
) -> None:
    pid = None
    with pytest.raises(error), ManagedOpaEngine(policies, default_config) as engine:
        pid = engine.pid
        assert pid is not None and process_exists(pid)
        raise error("interrupted")
    assert pid is not None and not process_exists(pid)
    assert processes_using(opa_env) == []


def test_failed_health_wait_stops_the_child(opa_env: Path, policies: PolicySet, default_config: GateConfig) -> None:
    # No server is healthy the instant it is started: a zero start-up budget fails the first check.
    with pytest.raises(EngineError, match=r"^OPA at http://127\.0\.0\.1:\d+: not healthy 0\.0s after start"):
        ManagedOpaEngine(policies, default_config, startup_timeout=0.0)
    assert processes_using(opa_env) == []
    assert list(opa_env.glob("aigate-opa-*")) == []


def test_opa_refusing_the_bundle_is_an_error_with_its_output(
    opa_env: Path, default_config: GateConfig, tmp_path: Path
) -> None:
    # Parsed by regorus when the bundle is built; refused by OPA's compiler when it loads (`bundle build` refuses
    # what does not parse, so the module OPA refuses here parses).
    source = "package aigate.broken\n\nx := no_such_function(1)\n"
    broken = PolicySet(modules=(("aigate/broken.rego", source),), root=tmp_path)
    with pytest.raises(EngineError) as caught:
        ManagedOpaEngine(broken, default_config)
    message = str(caught.value)
    binary = os.environ[ENV_OPA_BINARY]
    assert message.startswith(f"managed OPA ({binary}) exited with code 1 before it was ready: error: ")
    assert "aigate/broken.rego:3: rego_type_error: undefined function no_such_function" in message
    assert processes_using(opa_env) == []


def test_server_ignoring_sigterm_is_killed(opa_env: Path, policies: PolicySet, default_config: GateConfig) -> None:
    engine = ManagedOpaEngine(policies, default_config, stop_timeout=0.5)
    pid = engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stopped process leaves SIGTERM pending: only SIGKILL ends it
    engine.close()
    assert not process_exists(pid)
    assert processes_using(opa_env) == []


def test_dropped_engine_stops_its_server(opa_env: Path, policies: PolicySet, default_config: GateConfig) -> None:
    engine = ManagedOpaEngine(policies, default_config)
    pid = engine.pid
    assert pid is not None and process_exists(pid)
    del engine
    gc.collect()
    assert not process_exists(pid)


_UNCLOSED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from aigate.config import config_from_mapping
    from aigate.engines.interface import load_policy_set
    from aigate.engines.opa_server import ManagedOpaEngine
    engine = ManagedOpaEngine(load_policy_set(Path(sys.argv[1])), config_from_mapping({}))
    print(engine.pid, flush=True)
    if sys.argv[2] == "interrupt":
        raise KeyboardInterrupt
    if sys.argv[2] == "ctrl-c":
        # Short sleeps: a SIGINT that lands just before one (under load) is acted on when it ends.
        for _ in range(1200):
            time.sleep(0.1)
    """
)


@pytest.mark.parametrize("ending", ["exit", "interrupt", "ctrl-c"])
def test_interpreter_exit_stops_an_unclosed_server(opa_env: Path, real_opa: str, ending: str) -> None:
    script = opa_env / "unclosed.py"
    script.write_text(_UNCLOSED, encoding="utf-8")
    from .conftest import POLICIES

    process = subprocess.Popen(
        [sys.executable, str(script), str(POLICIES), ending],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        start_new_session=True,  # its own process group, as a terminal's foreground job is
    )
    try:
        assert process.stdout is not None
        pid = int(process.stdout.readline().strip())
        if ending == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
            assert _is_opa(pid, real_opa)
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # An uncaught KeyboardInterrupt ends Python by SIGINT, after its exit handlers ran.
    assert process.returncode == (0 if ending == "exit" else -2), process.stderr.read() if process.stderr else ""
    assert not process_exists(pid)
    assert processes_using(opa_env) == []


def test_no_binary_is_unavailable(policies: PolicySet, default_config: GateConfig, tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailableError, match="no opa binary; set AIGATE_OPA_BINARY or put opa on PATH"):
        ManagedOpaEngine(policies, default_config, environ={"PATH": str(tmp_path)})


def test_configured_binary_must_be_executable(tmp_path: Path) -> None:
    missing = tmp_path / "no-opa"
    with pytest.raises(EngineUnavailableError, match=f"AIGATE_OPA_BINARY={missing}: not an executable file"):
        find_opa_binary({ENV_OPA_BINARY: str(missing)})


# -- the real opa binary: decisions and signed bundles ------------------------------------------------


def test_real_opa_managed_decisions_equal_embedded(opa_env: Path, policies: PolicySet) -> None:
    for path in sorted(DECISIONS.glob("*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        config = config_from_mapping(fixture["config"] or {})
        document = InputDocument.model_validate(fixture["input"]).model_dump(mode="json")
        with ManagedOpaEngine(policies, config) as engine:
            decision = engine.evaluate(document)
            assert engine.bundle_revision == bundle_revision(policies, config)
        assert decision == EmbeddedEngine(policies, config_data(config)).evaluate(document), path.name
        assert decision["outcome"] == fixture["expected"]["outcome"], path.name


def test_real_opa_accepts_a_signed_bundle_and_refuses_a_tampered_one(
    real_opa: str, policies: PolicySet, default_config: GateConfig, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "key.pem").write_bytes(_pem_key(key))
    (tmp_path / "pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signed = build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies, signing_key=tmp_path / "key.pem")
    # `opa build` verifies a bundle's signature with --verification-key before it rebuilds it.
    verify = [real_opa, "build", "--verification-key", str(tmp_path / "pub.pem"), "--verification-key-id", "aigate"]
    completed = subprocess.run(
        [*verify, "--bundle", str(signed.path), "-o", str(tmp_path / "out.tar.gz")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # The same members, signature included, with one file changed: OPA refuses it.
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(signed.path) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "aigate/config/data.json":
                changed = content.replace(b'"apply_to_human":false', b'"apply_to_human":true')
                assert changed != content
                content, member.size = changed, len(changed)
            target.addfile(member, io.BytesIO(content))
    completed = subprocess.run(
        [*verify, "--bundle", str(tampered), "-o", str(tmp_path / "out2.tar.gz")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "aigate/config/data.json" in completed.stdout + completed.stderr  # OPA reports on stdout


# What forked pool workers inherit (an engine cannot be pickled to them).
_INHERITED: dict[str, Any] = {}


def _decide_in_child(index: int) -> dict[str, Any]:
    inputs = _INHERITED["inputs"]
    result: dict[str, Any] = _INHERITED["engine"].evaluate(inputs[index % len(inputs)])
    return result


def test_forked_children_decide_on_connections_of_their_own(
    opa_env: Path, policies: PolicySet, default_config: GateConfig
) -> None:
    """Children forked from a process that already talked to OPA share its pooled sockets: requests from
    several processes interleaved on them, and answers reached the wrong one (wrong decisions, HTTP 400)."""
    import multiprocessing

    names = sorted(path.stem for path in DECISIONS.glob("*.json"))[:4]
    inputs = [_fixture_input(name) for name in names]
    embedded = EmbeddedEngine(policies, config_data(default_config))
    expected = [embedded.evaluate(document) for document in inputs]
    assert len({json.dumps(value, sort_keys=True) for value in expected}) > 1
    with ManagedOpaEngine(policies, default_config) as engine:
        assert engine.evaluate(inputs[0]) == expected[0]  # the parent's connection is open now
        workdir = engine._child.workdir
        _INHERITED.update(engine=engine, inputs=inputs)
        try:
            with multiprocessing.get_context("fork").Pool(4) as pool:
                decided = pool.map(_decide_in_child, range(120))
        finally:
            _INHERITED.clear()
        assert decided == [expected[index % len(inputs)] for index in range(120)]
        # A forked child that exits normally (atexit, finalizers) leaves the parent's server alone.
        child = os.fork()
        if child == 0:
            engine.close()
            os._exit(0)
        assert os.waitpid(child, 0)[1] == 0
        assert workdir.exists()
        assert engine.evaluate(inputs[1]) == expected[1]
