"""Four processes writing 1,000 events each to one store: none lost, none duplicated, one intact chain."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import REPO

from aigate.audit import EventFilter, open_store, verify_store
from audit.helpers import write_config

PROCESSES = 4
EVENTS_EACH = 1000


def run_writers(config: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    writers = [
        subprocess.Popen([sys.executable, str(Path(__file__).parent / "writer.py"), str(config), f"w{n}",
                          str(EVENTS_EACH)], env=env, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=900)
        assert writer.returncode == 0, stderr


def check_store(location: str) -> None:
    store = open_store(location)
    try:
        events: list[dict[str, Any]] = store.query(EventFilter(types=("merge",)))
        report = verify_store(store)
    finally:
        store.close()
    assert report.ok, report.first_break
    assert report.count == PROCESSES * EVENTS_EACH
    assert report.head.sequence == PROCESSES * EVENTS_EACH
    assert len({e["event_id"] for e in events}) == PROCESSES * EVENTS_EACH
    written = Counter(e["payload"]["commit_sha"] for e in events)
    expected = {f"w{n}-{i}" for n in range(PROCESSES) for i in range(EVENTS_EACH)}
    assert set(written) == expected and set(written.values()) == {1}
    sequences = sorted(e["chain"]["sequence"] for e in events)
    assert sequences == list(range(1, PROCESSES * EVENTS_EACH + 1))


def test_four_processes_one_sqlite_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "sqlite", "path": "audit.db"}]})
    run_writers(config)
    check_store(str(tmp_path / "audit.db"))


def test_four_processes_one_jsonl_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}]})
    run_writers(config)
    check_store(str(tmp_path / "audit.jsonl"))




# Run in a fresh interpreter: the threads meet while the first of them imports the audit package,
# the window in which each of them, seeing no trail yet, used to make its own.
_FIRST_AUDIT_SCRIPT = """
import contextlib, io, json, sys, threading
from aigate import Gate

gate = Gate.from_config(sys.argv[1])
start = threading.Barrier(8)

def review(number):
    start.wait()
    gate.audit.record_review(f"corr-{number}", actor="alice")

output = io.StringIO()
with contextlib.redirect_stdout(output):
    workers = [threading.Thread(target=review, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    gate.close()
print(output.getvalue(), end="")
"""


def test_threads_that_start_auditing_together_share_one_trail(tmp_path: Path) -> None:
    """A gate's trail is made once, however many threads ask for it first: one chain, sequences 1 to 8
    (each extra trail started a chain of its own, and held sink connections close() never closed)."""
    import json

    from aigate.audit import verify_events

    config = tmp_path / ".ai-code-gate.yml"
    config.write_text("audit:\n  enabled: true\n  sinks: [{type: stdout}]\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", _FIRST_AUDIT_SCRIPT, str(config)], env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert sorted(e["chain"]["sequence"] for e in events) == list(range(1, 9))
        assert verify_events((e, "") for e in events).ok
