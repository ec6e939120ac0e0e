"""`aigate evaluate --batch DIR`: many PRs, one compiled gate per worker process.

Each entry of DIR is a PR: a folder holding any of `pr.json`, `commits.json`, `*.diff` and
`scans/*.json` (or a ready `input.json`), or a `.json` file that is an input document.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigate.engines.select import EngineKind
from aigate.errors import AigateError, InputError
from aigate.gate import Gate
from aigate.models import Decision
from aigate.render.interface import Renderer

__all__ = ["BatchReport", "evaluate_directory"]

# One gate per worker process, built once by the pool's initializer.
_worker_gate: Gate | None = None


@dataclass(frozen=True)
class BatchReport:
    text: str
    errors: tuple[str, ...]
    decisions: tuple[tuple[str, Decision], ...]


def _entries(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError(f"--batch {directory}", "not a directory")
    entries = [p for p in sorted(directory.iterdir()) if p.is_dir() or p.suffix == ".json"]
    if not entries:
        raise InputError(f"--batch {directory}", "no PR folders or input-document .json files")
    return entries


def _evaluate_entry(gate: Gate, entry: Path) -> Decision:
    if entry.is_file():
        return gate.evaluate(entry)
    if (entry / "input.json").is_file():
        return gate.evaluate(entry / "input.json")
    diffs = sorted(entry.glob("*.diff"))
    if len(diffs) > 1:
        raise InputError(str(entry), "more than one .diff file")
    sources: dict[str, Any] = {
        "pr": entry / "pr.json" if (entry / "pr.json").is_file() else None,
        "commits": entry / "commits.json" if (entry / "commits.json").is_file() else None,
        "diff": diffs[0] if diffs else None,
        "scans": sorted((entry / "scans").glob("*.json")),
    }
    return gate.evaluate(**sources)


def _init_worker(config_path: Path | None, engine: EngineKind | None, opa_url: str | None) -> None:
    global _worker_gate
    _worker_gate = Gate.from_config(config_path, engine=engine, opa_url=opa_url)


def _work(entry: Path) -> tuple[str, str | None, str | None]:
    """(name, decision JSON, error) — plain strings cross the process boundary cheaply."""
    assert _worker_gate is not None
    try:
        return entry.name, _evaluate_entry(_worker_gate, entry).model_dump_json(), None
    except AigateError as e:
        return entry.name, None, str(e)


def evaluate_directory(
    directory: Path,
    *,
    config_path: Path | None,
    renderer: Renderer,
    workers: int = 0,
    engine: EngineKind | None = None,
    opa_url: str | None = None,
) -> BatchReport:
    entries = _entries(directory)
    workers = workers or (os.cpu_count() or 1)
    workers = max(1, min(workers, len(entries)))
    if workers == 1:
        _init_worker(config_path, engine, opa_url)
        results = [_work(entry) for entry in entries]
    else:
        Gate.from_config(config_path, engine=engine, opa_url=opa_url).close()  # fail once, not per worker
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(config_path, engine, opa_url)) as pool:
            results = list(pool.map(_work, entries, chunksize=max(1, len(entries) // (workers * 4))))
    decisions = []
    errors = []
    chunks = []
    for name, decision_json, error in results:
        if error is not None:
            errors.append(error)
            chunks.append(json.dumps({"name": name, "error": error}) + "\n" if renderer.name == "json"
                          else f"## {name}\n\n**error:** {error}\n")
            continue
        assert decision_json is not None
        decision = Decision.model_validate_json(decision_json)
        decisions.append((name, decision))
        if renderer.name == "json":
            chunks.append(json.dumps({"name": name, "decision": json.loads(decision_json)}) + "\n")
        else:
            chunks.append(f"## {name}\n\n" + renderer.render(decision))
    separator = "" if renderer.name == "json" else "\n"
    return BatchReport(text=separator.join(chunks), errors=tuple(errors), decisions=tuple(decisions))
