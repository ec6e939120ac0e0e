"""The embedded engine from several threads: a regorus engine is bound to the thread that made it."""

from __future__ import annotations

import functools
import gc
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aigate.engines.embedded import _THREAD_ENGINES, EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.errors import EngineError
from aigate.gate import Gate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "prs"
PRS = sorted(path for path in EXAMPLES.iterdir() if (path / "pr.json").is_file())


def _sources(folder: Path) -> dict[str, Any]:
    scans = sorted((folder / "scans").glob("*")) if (folder / "scans").is_dir() else []
    return {"pr": folder / "pr.json", "commits": folder / "commits.json", "diff": folder / "pr.diff", "scans": scans}


def test_one_gate_decides_in_many_threads_as_in_its_own() -> None:
    assert len(PRS) >= 4
    gate = Gate.from_config(None)
    expected = {folder.name: gate.evaluate(**_sources(folder)).model_dump(exclude={"decision_id"}) for folder in PRS}
    assert {value["outcome"] for value in expected.values()} >= {"allow", "review", "block"}

    def decide(folder: Path) -> tuple[str, dict[str, Any]]:
        return folder.name, gate.evaluate(**_sources(folder)).model_dump(exclude={"decision_id"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        decided = list(pool.map(decide, PRS * 3))
    assert len(decided) == 3 * len(PRS)
    for name, decision in decided:
        assert decision == expected[name], name


def test_a_gate_made_in_a_worker_thread_decides_in_the_main_thread() -> None:
    made: list[Gate] = []
    worker = threading.Thread(target=lambda: made.append(Gate.from_config(None)))
    worker.start()
    worker.join()
    folder = EXAMPLES / "human-ci"
    assert made[0].evaluate(**_sources(folder)).outcome == "allow"


def test_a_rust_panic_in_the_engine_is_an_engine_error(policies: PolicySet) -> None:
    """pyo3 raises a Rust panic as a BaseException; it must become the gate's EngineError (exit 2)."""
    engine = EmbeddedEngine(policies, {})
    foreign = engine._prepared().clone()  # this thread's regorus engine, used below from another one
    failures: list[BaseException] = []

    def evaluate_on_the_foreign_engine() -> None:
        _THREAD_ENGINES.engines[engine._key] = (weakref.ref(engine), foreign, foreign)
        try:
            engine.evaluate({})
        except BaseException as e:
            failures.append(e)
        finally:  # freed by the thread that made it, below
            del _THREAD_ENGINES.engines[engine._key]

    worker = threading.Thread(target=evaluate_on_the_foreign_engine)
    worker.start()
    worker.join()
    assert len(failures) == 1
    assert isinstance(failures[0], EngineError)
    assert type(failures[0].__cause__).__name__ == "PanicException"
    assert "unsendable" in str(failures[0])


def test_a_rule_of_the_embedded_engine_in_another_thread(policies: PolicySet) -> None:
    engine = EmbeddedEngine(policies, {"aigate": {"config": Gate.from_config(None).config.data}})
    in_main = engine.evaluate_rule("data.aigate.scanning.severities")
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(engine.evaluate_rule, "data.aigate.scanning.severities").result() == in_main
    assert in_main == ["critical", "high", "medium", "low", "info"]



def _outcome(gate: Gate, folder: Path, _: int) -> str:
    return gate.evaluate(**_sources(folder)).outcome


def test_gates_made_and_dropped_beside_a_long_lived_pool_free_their_engines() -> None:
    """A bot's thread pool outlives the gates it serves. Each worker's regorus engines were held by the gate and
    freed from another thread when it went: pyo3 refused, warned, and leaked them (~15 MiB a gate)."""
    unraisable: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda hook: unraisable.append(str(hook.exc_value))
    try:
        folder = EXAMPLES / "human-ci"
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(6):
                gate = Gate.from_config(None)
                decide = functools.partial(_outcome, gate, folder)
                outcomes = list(pool.map(decide, range(16)))
                assert outcomes == ["allow"] * 16
                gate.close()
                del gate, decide
                gc.collect()
            held = list(pool.map(lambda _: len(_THREAD_ENGINES.engines), range(16)))
        assert max(held) <= 1  # at most the last gate's, until the thread evaluates again or ends
    finally:
        sys.unraisablehook = previous
    assert unraisable == []
