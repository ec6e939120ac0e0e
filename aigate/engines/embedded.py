"""The default engine: regorus, a Rust Rego interpreter, in-process.

Policies and data are parsed once per thread into a prepared engine, and each thread evaluates on
a clone of its own, so one `EmbeddedEngine` serves many evaluations and threads. A regorus engine
is bound to the thread that made it: cloning or using it from another thread is a Rust panic.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from typing import Any

from aigate.engines.interface import DECISION_PATH, Engine, PolicySet
from aigate.errors import EngineError, EngineUnavailableError, PolicyError

__all__ = ["EmbeddedEngine", "engine_error_line"]

_QUERY = "data." + DECISION_PATH.replace("/", ".")


def engine_error_line(error: BaseException) -> str:
    """regorus errors carry a source excerpt and, with RUST_BACKTRACE set, a backtrace: keep the gist."""
    lines = [line.strip() for line in str(error).splitlines()]
    lines = [line for line in lines if line and not line.startswith("|")]
    location = next((line[4:] for line in lines if line.startswith("--> ")), "")
    problem = next((line for line in lines if line.startswith("error:")), lines[0] if lines else repr(error))
    if "Stack backtrace:" in problem:
        problem = problem.split("Stack backtrace:")[0].strip()
    return f"{location}: {problem}" if location else problem


def _engine_failure(error: BaseException) -> bool:
    """Whether `error` is regorus failing: its errors, or a Rust panic, which pyo3 raises as a
    `PanicException` that `except Exception` misses (the gate would stop without its exit 2)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


class _ThreadEngines(threading.local):
    """Each thread's regorus engines, by the EmbeddedEngine they serve: (that engine, weakly; the prepared
    engine; the clone evaluations run on). Kept by the thread, not by the EmbeddedEngine: a regorus engine
    can only be freed in its own thread. Freed from the EmbeddedEngine, another thread's engines leaked
    (pyo3 refuses, and warns: ~15 MiB each, for every gate made while a thread pool lived on)."""

    def __init__(self) -> None:
        self.engines: dict[int, tuple[weakref.ref[EmbeddedEngine], Any, Any]] = {}

    def prune(self) -> None:
        """Free, in this thread, the engines of EmbeddedEngines that are gone."""
        for key in [key for key, (owner, _, _) in self.engines.items() if owner() is None]:
            del self.engines[key]


_THREAD_ENGINES = _ThreadEngines()
_KEYS = itertools.count()


class EmbeddedEngine(Engine):
    name = "embedded"

    def __init__(self, policies: PolicySet, data: dict[str, Any]) -> None:
        self._policies = policies
        try:
            self._data_json = json.dumps(data)
        except (TypeError, ValueError) as e:
            raise EngineError(f"embedded engine: cannot load data: {e}") from e
        self._revision = policies.revision
        self._key = next(_KEYS)
        # Parsed now, in the constructing thread, so that a policy error is raised here.
        self._here()

    def _prepare(self) -> Any:
        """A regorus engine with the policies and data loaded, usable in the calling thread only."""
        try:
            import regorus
        except ImportError as e:
            raise EngineUnavailableError("embedded engine: regorus is not installed") from e
        prepared = regorus.Engine()
        for path, source in self._policies.modules:
            try:
                prepared.add_policy(path, source)
            except Exception as e:  # regorus raises RuntimeError/ValueError with a source excerpt
                raise PolicyError(f"{self._policies.root / path}: {engine_error_line(e)}") from e
        try:
            prepared.add_data_json(self._data_json)
        except Exception as e:
            raise EngineError(f"embedded engine: cannot load data: {engine_error_line(e)}") from e
        return prepared

    def _here(self) -> tuple[weakref.ref[EmbeddedEngine], Any, Any]:
        """This thread's (owner, prepared engine, clone): another thread's cannot be used here (pyo3 `unsendable`)."""
        entry = _THREAD_ENGINES.engines.get(self._key)
        if entry is None:
            _THREAD_ENGINES.prune()
            prepared = self._prepare()
            entry = _THREAD_ENGINES.engines[self._key] = (weakref.ref(self), prepared, prepared.clone())
        return entry

    def _prepared(self) -> Any:
        return self._here()[1]

    @property
    def bundle_revision(self) -> str:
        return self._revision

    def _engine(self) -> Any:
        return self._here()[2]

    def evaluate(self, input_document: dict[str, Any]) -> dict[str, Any]:
        return self.evaluate_json(json.dumps(input_document, ensure_ascii=False))

    def evaluate_json(self, input_json: str) -> dict[str, Any]:
        engine = self._engine()
        try:
            engine.set_input_json(input_json)
            raw = engine.eval_query_as_json(_QUERY)
        except BaseException as e:
            if not _engine_failure(e):
                raise
            raise EngineError(f"embedded engine: {engine_error_line(e)}") from e
        results = json.loads(raw).get("result") or []
        if not results or not results[0].get("expressions"):
            raise EngineError(f"embedded engine: {_QUERY} is undefined")
        value = results[0]["expressions"][0]["value"]
        if not isinstance(value, dict):
            raise PolicyError(f"{_QUERY} is {type(value).__name__}, not an object")
        return value

    def evaluate_rule(self, rule: str, input_document: dict[str, Any] | None = None) -> Any:
        """The value of one rule (`data.pkg.rule`), for policy unit tests. Raises EngineError."""
        engine = self._prepared().clone()
        try:
            engine.set_input_json(json.dumps(input_document or {}))
            return json.loads(engine.eval_rule_as_json(rule))
        except BaseException as e:
            if not _engine_failure(e):
                raise
            raise EngineError(f"embedded engine: {rule}: {engine_error_line(e)}") from e
