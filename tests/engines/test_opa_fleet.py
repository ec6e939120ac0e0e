"""A fleet of real OPA servers, end to end, on 127.0.0.1.

Several `opa run --server` processes poll the signed bundle that `aigate bundle build` writes from
a static HTTP bundle server, verify it with the public key, and upload their own decision logs to a
local collector. aigate spreads its requests across them, fails over when one is killed mid-run
(no decision lost, none answered twice), picks up a new bundle revision, refuses a server still on
the old one with `require_revision`, and its decision log joins OPA's on `decision_id`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import run_cli

from aigate.bundle import read_bundle
from aigate.config import GateConfig, config_from_mapping
from aigate.engines.connection import OpaConnection
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.engines.opa_server import RemoteOpaEngine
from aigate.gate import Gate
from aigate.models import Decision, InputDocument

from .conftest import DECISIONS

BUNDLE = "/bundles/aigate.tar.gz"
LAGGING_BUNDLE = "/bundles/lagging/aigate.tar.gz"  # a rollout that has not reached one server yet
# The second revision: the paths layer only warns, so a PR touching .env is no longer blocked.
CONFIG_B = {"policy": {"modes": {"paths": "warn"}}}
# Decisions judged on the bundle's own config (the defaults): fixtures without a config of their own.
INPUTS = [
    InputDocument.model_validate(fixture["input"])
    for fixture in (json.loads(path.read_text(encoding="utf-8")) for path in sorted(DECISIONS.glob("*.json")))
    if not fixture["config"]
]
DECIDED = ("outcome", "is_ai", "detection", "violations", "risk")


def _decided(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(mode="json", include=set(DECIDED))


def _wait(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds}s: {what}")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class BundleServer:
    """A static HTTP server for bundle files, counting the downloads of each path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.downloads: Counter[str] = Counter()
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                super().do_GET()
                server.downloads[self.path] += 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def publish(self, bundle: Path, path: str) -> None:
        """Put `bundle` at `path`, atomically: a poll never reads half a file."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_suffix(".staging")
        staging.write_bytes(bundle.read_bytes())
        os.replace(staging, target)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class DecisionLogCollector:
    """Receives OPA's decision-log uploads (`POST /logs`, a gzipped JSON array of events)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with collector._lock:
                    collector.events.extend(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def by_decision_id(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            events = list(self.events)
        joined: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            joined.setdefault(event["decision_id"], []).append(event)
        return joined

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class OpaFleet:
    """`opa run --server` processes on 127.0.0.1, each polling a bundle and uploading decision logs."""

    def __init__(
        self,
        opa: str,
        folder: Path,
        bundles: BundleServer,
        collector: DecisionLogCollector,
        public_key: str,
        resources: list[str],
    ) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        self.logs: list[Path] = []
        for index, resource in enumerate(resources):
            port = _free_port()
            config = {
                "labels": {"server": f"opa-{index}"},  # OPA sets its own `id` label
                "services": {"bundles": {"url": bundles.url}, "logs": {"url": collector.url}},
                "keys": {"aigate": {"key": public_key, "algorithm": "RS256"}},
                "bundles": {
                    "aigate": {
                        "service": "bundles",
                        "resource": resource,
                        "signing": {"keyid": "aigate"},
                        "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1},
                    }
                },
                "decision_logs": {"service": "logs", "reporting": {"min_delay_seconds": 1, "max_delay_seconds": 1}},
            }
            config_file = folder / f"opa-{index}.json"  # JSON is YAML: OPA reads it as its config file
            config_file.write_text(json.dumps(config), encoding="utf-8")
            log = folder / f"opa-{index}.log"
            with log.open("wb") as output:
                self.processes.append(
                    subprocess.Popen(
                        [
                            opa,
                            "run",
                            "--server",
                            "--addr",
                            f"127.0.0.1:{port}",
                            "--config-file",
                            str(config_file),
                            "--skip-version-check",
                            "--log-level",
                            "error",
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            self.urls.append(f"http://127.0.0.1:{port}")
            self.logs.append(log)

    def wait_healthy(self) -> None:
        for index, url in enumerate(self.urls):

            def healthy(url: str = url, index: int = index) -> bool:
                if self.processes[index].poll() is not None:
                    pytest.fail(f"opa-{index} exited: {self.logs[index].read_text(errors='replace')[-500:]}")
                with contextlib.suppress(requests.RequestException):
                    return requests.get(f"{url}/health?bundles=true", timeout=2).status_code == 200
                return False

            _wait(healthy, f"opa-{index} healthy with its bundle activated")

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = tmp_path_factory.mktemp("keys")
    paths = {}
    for name in ("signing", "other"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        paths[f"{name}.pub"] = folder / f"{name}.pub.pem"
        paths[f"{name}.pub"].write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return paths


def _build(folder: Path, name: str, config: dict[str, Any], signing_key: Path) -> tuple[Path, str]:
    """`aigate bundle build`, as a user runs it: the bundle file and its revision."""
    config_file = folder / f"{name}.yml"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    out = folder / f"{name}.tar.gz"
    built = run_cli("bundle", "build", "--config", config_file, "--signing-key", signing_key, "--out", out)
    assert built.code == 0, built.stderr
    return out, read_bundle(out).revision


@pytest.fixture(scope="module")
def bundles(keys: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("built")
    return {
        "a": _build(folder, "a", {}, keys["signing"]),
        "b": _build(folder, "b", CONFIG_B, keys["signing"]),
        "forged": _build(folder, "forged", {"policy": {"apply_to_human": True}}, keys["other"]),
    }


@pytest.fixture
def servers(
    real_opa: str, tmp_path: Path, keys: dict[str, Path], bundles: dict[str, tuple[Path, str]]
) -> Iterator[Callable[..., tuple[OpaFleet, BundleServer, DecisionLogCollector]]]:
    started: list[Any] = []

    def start(resources: list[str]) -> tuple[OpaFleet, BundleServer, DecisionLogCollector]:
        bundle_server = BundleServer(tmp_path / "www")
        started.append(bundle_server)
        for resource in {BUNDLE, LAGGING_BUNDLE}:
            bundle_server.publish(bundles["a"][0], resource)
        collector = DecisionLogCollector()
        started.append(collector)
        fleet = OpaFleet(
            real_opa, tmp_path, bundle_server, collector, keys["signing.pub"].read_text(encoding="utf-8"), resources
        )
        started.append(fleet)
        fleet.wait_healthy()
        return fleet, bundle_server, collector

    yield start
    for thing in reversed(started):
        thing.stop()


def _gate(fleet: OpaFleet, tmp_path: Path, **options: Any) -> Gate:
    log = tmp_path / "aigate-decisions.jsonl"
    config = config_from_mapping({"audit": {"decision_log": str(log), "input": "hash"}})
    return Gate(config, engine="opa", connection=OpaConnection(tuple(fleet.urls), **options))


def _aigate_log(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "aigate-decisions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _embedded(policies: PolicySet, config: GateConfig) -> Gate:
    return Gate(config, policies=policies, engine=EmbeddedEngine(policies, {"aigate": {"config": config.data}}))


def _opa_events(collector: DecisionLogCollector, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """OPA's decision-log events of these decisions, once every one has been uploaded."""
    _wait(lambda: set(ids) <= set(collector.by_decision_id()), "OPA uploaded the decision logs")
    return {decision_id: events for decision_id, events in collector.by_decision_id().items() if decision_id in ids}


def test_requests_spread_over_the_fleet_join_opas_decision_logs(
    servers: Any, tmp_path: Path, policies: PolicySet, bundles: dict[str, tuple[Path, str]]
) -> None:
    fleet, _, collector = servers([BUNDLE, BUNDLE, BUNDLE])
    revision_a = bundles["a"][1]
    embedded = _embedded(policies, config_from_mapping({}))
    documents = INPUTS * 3  # a multiple of three servers
    with _gate(fleet, tmp_path, require_revision=revision_a) as gate:
        decisions = [gate.evaluate(document) for document in documents]
    for document, decision in zip(documents, decisions, strict=True):
        assert _decided(decision) == _decided(embedded.evaluate(document))
        assert (decision.engine, decision.policy_revision) == ("opa", revision_a)

    ids = [decision.decision_id for decision in decisions]
    assert len(set(ids)) == len(ids)
    assert [record["decision_id"] for record in _aigate_log(tmp_path)] == ids
    events = _opa_events(collector, ids)
    assert all(len(events[decision_id]) == 1 for decision_id in ids)  # joined one to one
    for decision in decisions:
        event = events[decision.decision_id][0]
        assert event["path"] == "aigate/decision"
        assert event["bundles"] == {"aigate": {"revision": revision_a}}
        assert event["result"]["outcome"] == decision.outcome
    # Spread in turn: each server decided a third.
    served = Counter(events[decision_id][0]["labels"]["server"] for decision_id in ids)
    assert served == {"opa-0": len(ids) // 3, "opa-1": len(ids) // 3, "opa-2": len(ids) // 3}


def test_a_server_killed_mid_run_loses_no_decision_and_doubles_none(
    servers: Any, tmp_path: Path, policies: PolicySet
) -> None:
    fleet, _, collector = servers([BUNDLE, BUNDLE, BUNDLE])
    embedded = _embedded(policies, config_from_mapping({}))
    documents = INPUTS * 6
    started = threading.Event()
    done = Counter[str]()
    lock = threading.Lock()

    def decide(document: InputDocument) -> Decision:
        decision = gate.evaluate(document)
        with lock:
            done["n"] += 1
            if done["n"] == len(documents) // 3:
                started.set()
        return decision

    with _gate(fleet, tmp_path, retries=0) as gate, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(decide, document) for document in documents]
        assert started.wait(120)
        fleet.kill(1)  # while requests are in flight on every server
        decisions = [future.result(timeout=120) for future in futures]
    assert fleet.processes[1].returncode == -signal.SIGKILL

    for document, decision in zip(documents, decisions, strict=True):
        assert _decided(decision) == _decided(embedded.evaluate(document))
    ids = [decision.decision_id for decision in decisions]
    assert len(set(ids)) == len(ids) == len(documents)  # none lost, none doubled
    assert sorted(record["decision_id"] for record in _aigate_log(tmp_path)) == sorted(ids)

    # OPA's side: the survivors upload every decision they gave; the killed server's unsent logs died
    # with it. Each decision aigate took appears at most once, and OPA logged none aigate did not take.
    def settled() -> bool:
        before = len(collector.by_decision_id())
        time.sleep(2.5)  # more than two upload intervals
        return len(collector.by_decision_id()) == before

    _wait(settled, "OPA's decision-log uploads settled")
    opa_ids = collector.by_decision_id()
    assert all(len(opa_ids.get(decision_id, [])) <= 1 for decision_id in ids)
    assert set(opa_ids) <= set(ids)
    by_survivors = [d for d in ids if d in opa_ids and opa_ids[d][0]["labels"]["server"] in {"opa-0", "opa-2"}]
    # Before the kill a third of the decisions were made, a third of those by the killed server.
    assert len(by_survivors) >= len(ids) - len(ids) // 3


def test_a_new_revision_is_picked_up_and_a_lagging_server_refused(
    servers: Any, tmp_path: Path, policies: PolicySet, bundles: dict[str, tuple[Path, str]], real_opa: str
) -> None:
    fleet, bundle_server, _ = servers([BUNDLE, BUNDLE, LAGGING_BUNDLE])
    (_, revision_a), (bundle_b, revision_b) = bundles["a"], bundles["b"]
    with RemoteOpaEngine(OpaConnection(tuple(fleet.urls))) as probe:
        assert probe.fetch_revisions() == dict.fromkeys(fleet.urls, revision_a)
        bundle_server.publish(bundle_b, BUNDLE)
        _wait(
            lambda: probe.fetch_revisions() == {**dict.fromkeys(fleet.urls[:2], revision_b), fleet.urls[2]: revision_a},
            "the new revision picked up by the servers polling it",
        )

    fixture = json.loads((DECISIONS / "blocked_path_env_file.json").read_text(encoding="utf-8"))
    blocked = InputDocument.model_validate(fixture["input"])
    embedded_b = _embedded(policies, config_from_mapping(CONFIG_B))
    with _gate(fleet, tmp_path, require_revision=revision_b) as gate:
        decisions = [gate.evaluate(blocked) for _ in range(6)]
    for decision in decisions:
        assert decision.policy_revision == revision_b
        assert _decided(decision) == _decided(embedded_b.evaluate(blocked))
        assert decision.outcome != "block"  # revision B only warns on paths
    assert _embedded(policies, config_from_mapping({})).evaluate(blocked).outcome == "block"

    # Pinned to the new revision, the lagging server alone is refused: exit 2, one line, no decision.
    document = tmp_path / "input.json"
    document.write_text(blocked.model_dump_json(), encoding="utf-8")
    config = tmp_path / "pinned.yml"
    config.write_text(json.dumps({"policy": {"engine": {"require_revision": revision_b}}}), encoding="utf-8")
    refused = run_cli(
        "evaluate", "--config", config, "--engine", "opa", "--opa-url", fleet.urls[2], "--input", document
    )
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.stderr == (
        f"aigate: error: OPA at {fleet.urls[2]}: served bundle revision {revision_a!r} evaluating "
        f"data.aigate.decision, expected {revision_b!r}\n"
    )
    # The CLI takes the fleet as repeated and comma-separated --opa-url, and passes the lagging server over.
    accepted = run_cli(
        "evaluate",
        "--config",
        config,
        "--engine",
        "opa",
        "--opa-url",
        fleet.urls[2],
        "--opa-url",
        f"{fleet.urls[0]},{fleet.urls[1]}",
        "--input",
        document,
    )
    assert accepted.code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["policy_revision"] == revision_b


def test_a_bundle_signed_by_another_key_is_never_served(servers: Any, bundles: dict[str, tuple[Path, str]]) -> None:
    fleet, bundle_server, _ = servers([BUNDLE, BUNDLE])
    (forged, _), (_, revision_a) = bundles["forged"], bundles["a"]
    before = bundle_server.downloads[BUNDLE]
    bundle_server.publish(forged, BUNDLE)
    # Each server downloads the forged bundle twice and refuses it each time.
    _wait(lambda: bundle_server.downloads[BUNDLE] >= before + 2 * len(fleet.urls) + 1, "the forged bundle polled")
    with RemoteOpaEngine(OpaConnection(tuple(fleet.urls))) as probe:
        assert probe.fetch_revisions() == dict.fromkeys(fleet.urls, revision_a)
    assert any("verification" in log.read_text(errors="replace").lower() for log in fleet.logs)
