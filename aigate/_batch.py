"""`aigate evaluate --batch DIR`: many PRs, one compiled gate per worker process.

Each entry of DIR is a PR: a folder holding any of `pr.json`, `commits.json`, `*.diff` and
`scans/*.json` (or a ready `input.json`), or a `.json` file that is an input document.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.select import EngineKind
from aigate.errors import AigateError, InputError
from aigate.gate import Gate
from aigate.models import Decision
from aigate.render.interface import Renderer

__all__ = ["BatchReport", "evaluate_directory"]

# The gate of this process: built once by `evaluate_directory`, inherited by forked workers, or built by
# the pool's initializer where workers are not forked.
_worker_gate: Gate | None = None


@dataclass(frozen=True)
class BatchReport:
    text: str
    errors: tuple[str, ...]
    decision_json: tuple[tuple[str, str], ...]

    @cached_property
    def decisions(self) -> tuple[tuple[str, Decision], ...]:
        return tuple((name, Decision.model_validate_json(text)) for name, text in self.decision_json)


def _entries(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError(f"--batch {directory}", "not a directory")
    entries = [p for p in sorted(directory.iterdir()) if p.is_dir() or p.suffix == ".json"]
    if not entries:
        raise InputError(f"--batch {directory}", "no PR folders or input-document .json files")
    return entries


def _evaluate_entry(gate: Gate, entry: Path) -> Decision:
    # A dangling symlink or a device (a link to /dev/zero) is neither; evaluating it as an empty PR
    # would allow it.
    if not entry.is_file() and not entry.is_dir():
        raise InputError(str(entry), "not a regular file or a folder")
    if entry.is_file():
        return gate.evaluate(entry)
    if (entry / "input.json").is_file():
        return gate.evaluate(entry / "input.json")
    diffs = sorted(entry.glob("*.diff"))
    if len(diffs) > 1:
        raise InputError(str(entry), "more than one .diff file")
    if not diffs:
        raise InputError(str(entry), "no .diff file and no input.json: nothing says what the PR changes")
    sources: dict[str, Any] = {
        "pr": entry / "pr.json" if (entry / "pr.json").is_file() else None,
        "commits": entry / "commits.json" if (entry / "commits.json").is_file() else None,
        "diff": diffs[0] if diffs else None,
        "scans": sorted(p for p in (entry / "scans").glob("*") if p.is_file() and not p.name.startswith(".")),
    }
    return gate.evaluate(**sources)


def _init_worker(config_path: Path | None, engine: EngineKind | None, opa_url: str | None) -> None:
    global _worker_gate
    _worker_gate = Gate.from_config(config_path, engine=engine, opa_url=opa_url)


def _work(entry: Path, renderer: Renderer) -> tuple[str, str | None, str | None, str]:
    """(name, decision JSON, error, the report's text for the PR): plain strings, rendered in the worker."""
    assert _worker_gate is not None
    name = entry.name
    try:
        decision = _evaluate_entry(_worker_gate, entry)
        decision_json = decision.model_dump_json()
    except Exception as e:  # fail closed, and name the entry: RecursionError, MemoryError, serialisation…
        problem = str(e) if isinstance(e, AigateError) else f"{entry}: internal error: {type(e).__name__}: {e}"
        problem = " ".join(problem.split())[:1000]
        if renderer.name == "json":
            return name, None, problem, json.dumps({"name": name, "error": problem}) + "\n"
        return name, None, problem, f"## {name}\n\n**error:** {problem}\n"
    if renderer.name == "json":
        return name, decision_json, None, json.dumps({"name": name, "decision": json.loads(decision_json)}) + "\n"
    return name, decision_json, None, f"## {name}\n\n" + renderer.render(decision)


def evaluate_directory(
    directory: Path,
    *,
    config_path: Path | None,
    renderer: Renderer,
    workers: int = 0,
    engine: EngineKind | None = None,
    opa_url: str | None = None,
) -> BatchReport:
    global _worker_gate
    entries = _entries(directory)
    workers = workers or (os.cpu_count() or 1)
    workers = max(1, min(workers, len(entries)))
    _worker_gate = Gate.from_config(config_path, engine=engine, opa_url=opa_url)  # a bad config fails once, here
    work = partial(_work, renderer=renderer)
    try:
        if workers == 1:
            results = [work(entry) for entry in entries]
        else:
            chunksize = max(1, len(entries) // (workers * 4))
            if sys.platform.startswith("linux") and isinstance(_worker_gate.engine, EmbeddedEngine):
                # Forked workers inherit the compiled gate: none loads the config or compiles the policies again.
                with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                    results = list(pool.map(work, entries, chunksize=chunksize))
            else:  # an OPA engine holds a server or connections, which are not shared across processes
                _worker_gate.close()
                initargs = (config_path, engine, opa_url)
                with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=initargs) as pool:
                    results = list(pool.map(work, entries, chunksize=chunksize))
    finally:
        if _worker_gate is not None:
            _worker_gate.close()
        _worker_gate = None
    separator = "" if renderer.name == "json" else "\n"
    return BatchReport(
        text=separator.join(chunk for _, _, _, chunk in results),
        errors=tuple(error for _, _, error, _ in results if error is not None),
        decision_json=tuple((name, text) for name, text, _, _ in results if text is not None),
    )
