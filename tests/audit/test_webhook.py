"""The webhook sink against a local collector on 127.0.0.1 that fails, hangs and then recovers, with
aigate restarted (a new process) between runs: nothing is lost, each event carries its idempotency key."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from aigate.audit.chain import verify_events
from audit.helpers import claude_pr, write_config, write_document
from audit.test_redaction import REDACT, assert_clean, sensitive_pr


class Collector:
    """A SIEM collector stand-in: `mode` is ok, fail (HTTP 503), hang (answers after the client gave up),
    or flaky (stores the event, then answers 500 once: the client must send it again with the same key)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.attempts = 0
        self.lock = threading.Lock()
        self.flaky_done: set[str] = set()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key", "")
                with collector.lock:
                    collector.attempts += 1
                    mode = collector.mode
                if mode == "fail after 3":
                    with collector.lock:
                        accept = len(collector.received) < 3
                        if accept:
                            collector.received.append((key, json.loads(body), dict(self.headers)))
                    status = 200 if accept else 503
                elif mode == "hang":
                    time.sleep(2.5)
                    status = 200
                elif mode == "fail":
                    status = 503
                else:
                    with collector.lock:
                        collector.received.append((key, json.loads(body), dict(self.headers)))
                        first = mode == "flaky" and key not in collector.flaky_done
                        collector.flaky_done.add(key)
                    status = 500 if first else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def unique(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {key: event for key, event, _ in self.received}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    try:
        yield running
    finally:
        running.close()


def _config(tmp_path: Path, collector: Collector, **options: Any) -> Path:
    sink = {"type": "webhook", "url": collector.url, "spool_dir": "spool", "timeout": 1, "retries": 1,
            "backoff": 0.1, **options}
    return write_config(tmp_path, {"sinks": [sink]})


def _evaluate(tmp_path: Path, config: Path, number: int) -> Any:
    document = write_document(tmp_path / f"pr{number}.json", claude_pr(number))
    return run_cli("evaluate", "--config", config, "--input", document)


def _spooled(tmp_path: Path) -> int:
    """Events waiting in the spool (files of JSON lines, one per batch)."""
    return sum(len(p.read_text().splitlines()) for p in (tmp_path / "spool" / "events").glob("*.jsonl"))


def test_fails_hangs_recovers_across_restarts_nothing_lost(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector)
    collector.mode = "fail"
    first = _evaluate(tmp_path, config, 1)  # process 1: the collector answers 503
    assert first.code == 0, first.stderr
    assert "waiting in the spool" in first.stderr and "HTTP 503" in first.stderr
    assert _spooled(tmp_path) == 7
    collector.mode = "hang"
    second = _evaluate(tmp_path, config, 2)  # process 2: the collector hangs past the timeout
    assert second.code == 0, second.stderr
    assert _spooled(tmp_path) == 14
    assert collector.unique() == {}
    collector.mode = "ok"
    review = run_cli("audit", "record", "--config", config, "--correlation-id", "github.com/acme/payments#1",
                     "--type", "review", "--actor", "alice")  # process 3: the collector is back
    assert review.code == 0, review.stderr
    assert _spooled(tmp_path) == 0
    received = collector.unique()
    assert len(received) == 15
    events = sorted(received.values(), key=lambda e: e["chain"]["sequence"])
    assert [e["chain"]["sequence"] for e in events] == list(range(1, 16))
    assert all(key == event["event_id"] for key, event in received.items())
    assert [e["type"] for e in events][-1] == "review"
    # Delivered oldest first, and the delivered stream verifies as a chain.
    with collector.lock:
        order = [event["chain"]["sequence"] for _, event, _ in collector.received]
    assert order == sorted(order)
    assert verify_events((e, "") for e in events).ok


def test_redelivery_keeps_the_idempotency_key(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector)
    collector.mode = "flaky"
    result = _evaluate(tmp_path, config, 3)
    assert result.code == 0, result.stderr
    with collector.lock:
        keys = [key for key, _, _ in collector.received]
    assert len(keys) == 14 and len(set(keys)) == 7  # each event twice, under one key
    assert _spooled(tmp_path) == 0


def test_a_batch_delivered_in_part_keeps_the_rest(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector)
    collector.mode = "fail after 3"
    assert _evaluate(tmp_path, config, 10).code == 0
    assert _spooled(tmp_path) == 4
    collector.mode = "ok"
    assert run_cli("audit", "flush", "--config", config).code == 0
    events = sorted(collector.unique().values(), key=lambda e: e["chain"]["sequence"])
    assert [e["chain"]["sequence"] for e in events] == list(range(1, 8))


def test_bearer_token_from_the_environment(tmp_path: Path, collector: Collector,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGATE_SIEM_TOKEN", "t0ken-value")
    config = _config(tmp_path, collector, token_env="AIGATE_SIEM_TOKEN")
    assert _evaluate(tmp_path, config, 4).code == 0
    with collector.lock:
        headers = [h for _, _, h in collector.received]
    assert headers and all(h["Authorization"] == "Bearer t0ken-value" for h in headers)
    assert "t0ken-value" not in "".join(p.read_text() for p in (tmp_path / "spool").rglob("*") if p.is_file())


def test_full_spool_fails_closed(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector, spool_max_events=10)
    collector.mode = "fail"
    assert _evaluate(tmp_path, config, 5).code == 0
    blocked = _evaluate(tmp_path, config, 6)
    assert blocked.code == 2
    assert "is full (7 undelivered events, limit 10)" in blocked.stderr and "failing closed" in blocked.stderr
    assert blocked.stdout == ""
    assert _spooled(tmp_path) == 7
    collector.mode = "ok"
    flushed = run_cli("audit", "flush", "--config", config)
    assert flushed.code == 0 and "7 delivered, 0 waiting" in flushed.stdout
    assert len(collector.unique()) == 7


def test_full_spool_drops_when_configured(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector, spool_max_events=10, on_spool_full="drop")
    collector.mode = "fail"
    assert _evaluate(tmp_path, config, 7).code == 0
    dropped = _evaluate(tmp_path, config, 8)
    assert dropped.code == 0
    assert "dropped 7 new events" in dropped.stderr
    assert _spooled(tmp_path) == 7


def test_flush_reports_what_is_still_waiting(tmp_path: Path, collector: Collector) -> None:
    config = _config(tmp_path, collector)
    collector.mode = "fail"
    assert _evaluate(tmp_path, config, 9).code == 0
    flushed = run_cli("audit", "flush", "--config", config)
    assert flushed.code == 1 and "0 delivered, 7 waiting" in flushed.stdout


def test_redaction(tmp_path: Path, collector: Collector) -> None:
    sink = {"type": "webhook", "url": collector.url, "spool_dir": "spool", "timeout": 1, "retries": 0}
    config = write_config(tmp_path, {"sinks": [sink], "input": "full", "redact": REDACT})
    document = write_document(tmp_path / "input.json", sensitive_pr())
    assert run_cli("evaluate", "--config", config, "--input", document).code == 1
    received = collector.unique()
    assert len(received) == 7
    assert_clean(json.dumps(list(received.values())), "webhook")


def test_threads_writing_at_once_leave_nothing_in_the_spool(tmp_path: Path, collector: Collector) -> None:
    """A writer that found another delivering left its batch to it, and the deliverer had listed the spool
    before that batch: up to 168 of 1,400 events stayed behind, without a warning, with a healthy collector."""
    import contextlib
    import io
    from concurrent.futures import ThreadPoolExecutor

    from aigate import Gate

    config = _config(tmp_path, collector)
    document = claude_pr(1)
    warnings = io.StringIO()
    with contextlib.redirect_stderr(warnings), Gate.from_config(config) as gate:
        with ThreadPoolExecutor(max_workers=8) as pool:
            decisions = list(pool.map(lambda _: gate.evaluate(document), range(120)))
    assert len(decisions) == 120
    assert _spooled(tmp_path) == 0
    assert warnings.getvalue() == ""
    received = collector.unique()
    assert len(received) == 120 * 7  # each decision's seven events, each once
    report = verify_events((event, "") for event in sorted(received.values(), key=lambda e: e["chain"]["sequence"]))
    assert report.ok, report.first_break
