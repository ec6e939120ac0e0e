"""The cost of each audit sink per decision: one evaluation's 7 events chained and stored.

    python benchmarks/audit_sinks.py                 # 500 decisions x 3 rounds per sink: median, p95
    python benchmarks/audit_sinks.py --decisions 50 --rounds 1   # quick

Each sink gets the same events: those of a typical AI PR (20 files, signals, violations, risk factors),
built once per decision (the build cost is reported on its own line). Sinks: JSON Lines; SQLite (WAL,
synchronous NORMAL; FULL with `durable: true`); PostgreSQL (asynchronous commit; synchronous with
`durable: true`) on a throwaway cluster on 127.0.0.1 with fsync on, started from Debian's postgresql
binaries as the tests do; the webhook (a collector on 127.0.0.1 answering 200); stdout (to /dev/null).
Every store is verified afterwards; a broken chain fails the run (exit 1).
Timings are reported beside the targets (SQLite < 2 ms, PostgreSQL < 5 ms per decision), not judged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))
sys.path.append(str(REPO / "tests"))

from aigate.audit import AuditSink, open_store, verify_store  # noqa: E402
from aigate.audit.settings import AuditSettings  # noqa: E402
from aigate.audit.sinks.jsonl import JsonlSink  # noqa: E402
from aigate.audit.sinks.postgres import PostgresSink  # noqa: E402
from aigate.audit.sinks.sqlite import SqliteSink  # noqa: E402
from aigate.audit.sinks.stdout import StdoutSink  # noqa: E402
from aigate.audit.sinks.webhook import WebhookSink  # noqa: E402
from aigate.audit.trail import AuditTrail  # noqa: E402
from aigate.config import load_config  # noqa: E402
from aigate.gate import Gate  # noqa: E402
from aigate.models import Commit, FileChange, InputDocument, PrAuthor, PullRequest  # noqa: E402
from aigate.sources.commits import parse_trailers  # noqa: E402

TARGETS_MS = {"sqlite": 2.0, "postgres": 5.0}  # the default sinks (durable: false)


def typical_pr(number: int) -> InputDocument:
    message = "Retry payments\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n"
    files = tuple(FileChange(path=f"src/payments/module_{i}.py", status="modified", added=20, removed=4)
                  for i in range(18))
    files += (FileChange(path=".github/workflows/ci.yml", status="modified", added=2),
              FileChange(path="src/auth/tokens.py", status="modified", added=40, removed=10))
    return InputDocument(
        pr=PullRequest(number=number, url=f"https://github.com/acme/payments/pull/{number}",
                       labels=("ai-generated",), author=PrAuthor(login="claude[bot]", type="Bot"),
                       head_branch="claude/retry", base_branch="main", body="Adds retries"),
        commits=(Commit(sha="a" * 40, message=message, trailers=parse_trailers(message)),),
        files=files,
    )


class _Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def measure(sink: AuditSink, batches: list[list[dict[str, Any]]]) -> list[float]:
    sink.write([dict(e) for e in batches[0]])  # warm: connect, migrate, open files
    timings = []
    for batch in batches[1:]:
        events = [dict(e) for e in batch]
        started = time.perf_counter()
        sink.write(events)
        timings.append((time.perf_counter() - started) * 1000)
    sink.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="fresh store per round; timings are pooled")
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL cluster (not for reports)")
    args = parser.parse_args(argv)

    gate = Gate(load_config(None))
    trail = AuditTrail(AuditSettings(enabled=True, redact=("/pr/body",)))
    batches = []
    build_ms = []
    for number in range(args.decisions + 1):
        document = typical_pr(number)
        decision = gate.evaluate(document)
        started = time.perf_counter()
        events = trail.evaluation_events(decision, document)
        batch = [event.model_dump(mode="json") for event in events]
        build_ms.append((time.perf_counter() - started) * 1000)
        batches.append(batch)

    results: dict[str, list[float]] = {"events built (redacted), no sink": build_ms[1:]}
    failures = []
    with tempfile.TemporaryDirectory(prefix="aigate-audit-bench-") as work:
        folder = Path(work)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        devnull = open("/dev/null", "w")
        sinks: dict[str, Callable[[], AuditSink]] = {
            "jsonl": lambda: JsonlSink(folder / "audit.jsonl", "aigate", None),
            "sqlite": lambda: SqliteSink(folder / "audit.db", "aigate", None),
            "sqlite, durable: true": lambda: SqliteSink(folder / "audit.durable.db", "aigate", None, durable=True),
            "webhook": lambda: WebhookSink(f"http://127.0.0.1:{server.server_address[1]}/", folder / "spool",
                                           "aigate", None),
            "stdout": lambda: StdoutSink("aigate", None, output=devnull),
        }
        cluster = None
        if not args.skip_postgres:
            from audit.pg_cluster import start_cluster

            cluster = start_cluster(fsync=True)
            holder = {"dsn": cluster.create_database("bench")}
            holder["durable"] = cluster.create_database("bench_durable")
            sinks["postgres"] = lambda: PostgresSink(holder["dsn"], "aigate", None)
            sinks["postgres, durable: true"] = lambda: PostgresSink(holder["durable"], "aigate", None, durable=True)
        try:
            for round_ in range(args.rounds):
                if round_:  # a fresh store each round
                    for leftover in folder.glob("audit.*"):
                        leftover.unlink()
                    if cluster is not None:
                        holder["dsn"] = cluster.create_database(f"bench{round_}")
                        holder["durable"] = cluster.create_database(f"bench_durable{round_}")
                for name, make in sinks.items():
                    results.setdefault(name, []).extend(measure(make(), batches))
            for name, location in (("jsonl", str(folder / "audit.jsonl")), ("sqlite", str(folder / "audit.db")),
                                   *((("postgres", holder["dsn"]),) if cluster else ())):
                store = open_store(location)
                report = verify_store(store)
                store.close()
                if not report.ok or report.count != 7 * (args.decisions + 1):
                    failures.append(f"{name}: {report.first_break or f'{report.count} events stored'}")
        finally:
            server.shutdown()
            devnull.close()
            if cluster is not None:
                cluster.stop()

    print(f"Audit sinks: cost per decision (7 events), {args.decisions} decisions x {args.rounds} rounds per sink, "
          f"this machine (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n")
    print(f"Command: python benchmarks/audit_sinks.py --decisions {args.decisions} --rounds {args.rounds}\n")
    print("| sink | median ms | p95 ms | target |")
    print("|---|---|---|---|")
    for name, timings in results.items():
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        target = f"< {TARGETS_MS[name]:g} ms" if name in TARGETS_MS else ""
        print(f"| {name} | {statistics.median(timings):.3f} | {p95:.3f} | {target} |")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
