"""`aigate evaluate --engine opa` as a host runs it: the same decision as embedded, exit 2 on
every remote failure (one line, never an allow), and the managed OPA engine on the real binary."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, REPO
from opa_reference import processes_using

PR = EXAMPLES / "prs" / "claude-auth"
SOURCES = ["--pr", str(PR / "pr.json"), "--commits", str(PR / "commits.json"), "--diff", str(PR / "pr.diff")]
# Fields that name the evaluation rather than decide anything.
_PER_RUN = {"engine", "decision_id", "policy_revision"}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aigate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _decided(stdout: str) -> dict[str, Any]:
    return {k: v for k, v in json.loads(stdout).items() if k not in _PER_RUN}


def test_opa_over_rest_decides_like_embedded(opa_server: Any) -> None:
    # The test server serves the policies with the default config, as a remote fleet serves its bundle.
    embedded = _cli("evaluate", *SOURCES)
    remote = _cli("evaluate", "--engine", "opa", "--opa-url", opa_server.url, *SOURCES)
    assert (embedded.returncode, remote.returncode) == (0, 0), remote.stderr
    assert _decided(remote.stdout) == _decided(embedded.stdout)
    decision = json.loads(remote.stdout)
    assert decision["engine"] == "opa"
    assert decision["policy_revision"] == opa_server.revision
    assert opa_server.data_requests() == 1


def test_auto_uses_opa_when_a_url_is_configured(opa_server: Any) -> None:
    result = _cli("evaluate", "--engine", "auto", *SOURCES, env={"AIGATE_OPA_URL": opa_server.url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "opa"


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gate.yml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (("http500", "http500", "http500"), r"HTTP 500"),
        (("malformed",), r"(?i)not JSON|malformed"),
        (("no_result",), r"(?i)undefined"),
        (("not_object",), r"(?i)not an object|str"),
        (("slow",), r"(?i)timed out"),
    ],
)
def test_remote_failures_exit_2(opa_server: Any, tmp_path: Path, faults: tuple[str, ...], message: str) -> None:
    import re

    opa_server.slow_seconds = 5.0
    opa_server.inject(*faults)
    config = _config(tmp_path, "policy:\n  engine: {timeout: 0.5, retries: 2}\n")
    result = _cli("evaluate", "--config", config, "--engine", "opa", "--opa-url", opa_server.url, *SOURCES)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("aigate: error: ")
    assert re.search(message, line), line


def test_connection_refused_exits_2(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(tmp_path, "policy:\n  engine: {timeout: 0.5, retries: 1}\n")
    result = _cli("evaluate", "--config", config, "--engine", "opa", "--opa-url", f"http://127.0.0.1:{port}", *SOURCES)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("aigate: error: ") and f"127.0.0.1:{port}" in line


def test_engine_opa_without_a_server_or_binary_exits_2() -> None:
    env = {"PATH": "/nonexistent", "AIGATE_OPA_URL": "", "AIGATE_OPA_BINARY": ""}
    result = _cli("evaluate", "--engine", "opa", *SOURCES, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("aigate: error: engine opa: no OPA server URL")


def test_managed_opa_via_config(real_opa: str, tmp_path: Path) -> None:
    """`policy.engine.backend: opa` with an opa binary found: aigate starts it, decides, stops it."""
    config = _config(tmp_path, "policy:\n  engine: {backend: opa}\n  blocked_patterns: ['**/auth/**']\n")
    result = _cli("evaluate", "--config", config, *SOURCES, env={"AIGATE_OPA_BINARY": real_opa})
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["engine"] == "opa"
    embedded = _cli("evaluate", "--config", config, "--engine", "embedded", *SOURCES)
    assert _decided(result.stdout) == _decided(embedded.stdout)


def test_decision_log_records_every_evaluation(tmp_path: Path, opa_server: Any) -> None:
    config = _config(tmp_path, "audit:\n  decision_log: decisions.jsonl\n  input: hash\n")
    _cli("evaluate", "--config", config, *SOURCES)
    _cli("evaluate", "--config", config, "--engine", "opa", "--opa-url", opa_server.url, *SOURCES)
    records = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert [r["result"]["engine"] for r in records] == ["embedded", "opa"]
    for record in records:
        assert record["path"] == "aigate/decision"
        assert record["erased"] == ["/input"] and "input" not in record
        assert record["input_hash"].startswith("sha256:")
        assert record["metrics"]["timer_rego_query_eval_ns"] > 0
        assert record["bundles"]["aigate"]["revision"] == record["result"]["policy_revision"]
    assert records[0]["input_hash"] == records[1]["input_hash"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_run_stops_the_managed_server_and_exits_2(real_opa: str, tmp_path: Path, signum: int) -> None:
    """aigate killed while its managed OPA runs: no server is left behind, and no decision."""
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)
    env = {**os.environ, "AIGATE_OPA_BINARY": real_opa, "TMPDIR": str(tmp_path)}
    # The server starts first; then aigate blocks reading the input from the FIFO, which is never written.
    process = subprocess.Popen(
        [sys.executable, "-m", "aigate", "evaluate", "--engine", "opa", "--input", str(fifo)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    writer = None
    try:
        for _ in range(6000):  # bounded: 60 s
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds once aigate opened it to read
                break
            except OSError:
                time.sleep(0.01)
        assert writer is not None, "aigate never read its input"
        servers = [pid for pid in processes_using(tmp_path) if pid != process.pid]
        assert len(servers) == 1 and os.path.realpath(f"/proc/{servers[0]}/exe") == os.path.realpath(real_opa)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, stdout, stderr) == (2, "", "aigate: error: interrupted\n")
    assert not Path(f"/proc/{servers[0]}").exists()
    assert processes_using(tmp_path) == []

