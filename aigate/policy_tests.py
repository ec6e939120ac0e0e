"""Rego unit tests, found in the engine's parsed modules and judged the way `opa test` judges them.

Discovery reads regorus's AST (`Engine.get_ast_as_json`), never the source text, so every rule
form counts: `test_x if`, `test_x := v`, `test_x contains v` (a partial set: `opa test` fails it,
its value is never `true`), parameterised `test_x[note] if` (a partial object: every case must be
`true`) and test functions (an error, as in `opa test`). Rules prefixed `todo_test_` are skipped.
A test defined twice is two tests: the second is `test_x#01`, as `opa test` names it, and runs on
its own (its head is renamed at the AST's span, so the file keeps its lines for coverage).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigate.engines.interface import PolicySet
from aigate.errors import PolicyError

__all__ = [
    "CoverageReport",
    "FileCoverage",
    "RegoModule",
    "RegoTest",
    "RegoTestResult",
    "RegoTestRun",
    "TEST_PREFIX",
    "TODO_PREFIX",
    "discover_tests",
    "load_rego_modules",
    "run_rego_tests",
    "run_tests",
]

TEST_PREFIX = "test_"
TODO_PREFIX = "todo_test_"
_DUPLICATE_MARK = "__aigate_dup"  # a renamed second definition: test_x__aigate_dup01 runs as test_x#01

TestKind = Literal["boolean", "set", "object", "function"]
Status = Literal["pass", "fail", "error", "skip"]


@dataclass(frozen=True)
class RegoModule:
    """One Rego file: the path shown to the user (file:line) and its source."""

    path: str
    source: str


@dataclass(frozen=True)
class RegoTest:
    module: str
    package: str
    name: str
    """As `opa test` names it: `test_x`, `test_x#01` for a second definition, `a.test_x` for a ref head."""
    line: int = 0
    kind: TestKind = "boolean"
    skip: bool = False
    query_name: str = ""
    """The rule path evaluated (differs from `name` for a renamed duplicate)."""

    @property
    def rule(self) -> str:
        return f"data.{self.package}.{self.name}"

    @property
    def query(self) -> str:
        return f"data.{self.package}.{self.query_name or self.name}"

    @property
    def location(self) -> str:
        return f"{self.module}:{self.line}"


@dataclass(frozen=True)
class RegoTestResult:
    test: RegoTest
    status: Status
    detail: str
    duration_s: float = 0.0
    cases: tuple[tuple[str, bool], ...] = ()
    """Parameterised tests: each case (its key path) and whether it passed."""

    @property
    def passed(self) -> bool:
        return self.status in ("pass", "skip")


@dataclass(frozen=True)
class FileCoverage:
    path: str
    covered: tuple[int, ...]
    not_covered: tuple[int, ...]

    @property
    def percent(self) -> float:
        total = len(self.covered) + len(self.not_covered)
        return 100.0 if total == 0 else 100.0 * len(self.covered) / total


@dataclass(frozen=True)
class CoverageReport:
    files: tuple[FileCoverage, ...]

    @property
    def covered_lines(self) -> int:
        return sum(len(f.covered) for f in self.files)

    @property
    def total_lines(self) -> int:
        return sum(len(f.covered) + len(f.not_covered) for f in self.files)

    @property
    def percent(self) -> float:
        return 100.0 if self.total_lines == 0 else 100.0 * self.covered_lines / self.total_lines


@dataclass(frozen=True)
class RegoTestRun:
    results: tuple[RegoTestResult, ...]
    coverage: CoverageReport | None = None
    problems: tuple[str, ...] = field(default=())
    """Policy problems that are failures without being tests (builtins one engine lacks)."""


# --- loading ---------------------------------------------------------------------------------


def load_rego_modules(paths: Iterable[Path], *, display_root: Path | None = None) -> list[RegoModule]:
    """Every `.rego` file named, or below a folder named, in a stable order. Raises PolicyError."""
    modules: list[RegoModule] = []
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir():
            files = sorted(given.rglob("*.rego"))
        elif given.is_file():
            files = [given]
        else:
            raise PolicyError(f"{given}: no such file or folder")
        for file in files:
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                source = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise PolicyError(f"{file}: cannot read policy: {e}") from e
            modules.append(RegoModule(_display(file, display_root), source))
    return modules


def _display(file: Path, root: Path | None) -> str:
    base = (root or Path.cwd()).resolve()
    try:
        return file.resolve().relative_to(base).as_posix()
    except ValueError:
        return file.as_posix()


def modules_of(policies: PolicySet) -> list[RegoModule]:
    return [RegoModule(path, source) for path, source in policies.modules]


# --- discovery from the AST ------------------------------------------------------------------


def _new_engine(modules: Sequence[RegoModule]) -> Any:
    import regorus

    from aigate.engines.embedded import engine_error_line

    engine = regorus.Engine()
    for module in modules:
        try:
            engine.add_policy(module.path, module.source)
        except Exception as e:  # regorus raises RuntimeError/ValueError with a source excerpt
            problem = engine_error_line(e)
            if not problem.startswith(module.path):
                problem = f"{module.path}: {problem}"
            raise PolicyError(problem) from e
    return engine


def _ref_terms(ref: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """A rule head's reference as terms, outermost last: (name, span), name None when not ground."""
    kind, node = next(iter(ref.items()))
    if kind == "Var":
        return [(str(node["value"]), node["span"])]
    if kind == "RefDot":
        span, name = node["field"]
        return [*_ref_terms(node["refr"]), (str(name), span)]
    if kind == "RefBrack":
        index_kind, index = next(iter(node["index"].items()))
        name = str(index["value"]) if index_kind == "String" else None
        return [*_ref_terms(node["refr"]), (name, index.get("span", node["span"]))]
    return [(None, node.get("span", {}))]


@dataclass(frozen=True)
class _TestHead:
    name: str
    prefix: str
    kind: TestKind
    line: int
    span: dict[str, Any]


def _test_head(rule: dict[str, Any]) -> _TestHead | None:
    rule_kind, body = next(iter(rule.items()))
    if rule_kind == "Default":
        head_kind, refr, line = "Compr", body.get("refr"), body["span"]["line"]
        head: dict[str, Any] = {}
    else:
        head_node = body.get("head")
        if not isinstance(head_node, dict):
            return None
        head_kind, head = next(iter(head_node.items()))
        refr, line = head.get("refr"), body["span"]["line"]
    if not isinstance(refr, dict):
        return None
    terms = _ref_terms(refr)
    ground: list[str] = []
    for index, (name, span) in enumerate(terms):
        if name is None:
            break
        ground.append(name)
        if name.startswith(TEST_PREFIX) or name.startswith(TODO_PREFIX):
            # A head with a variable in its reference is a partial object: one case per key.
            dynamic = any(n is None for n, _ in terms[index + 1 :])
            kind: TestKind
            if head_kind == "Func":
                kind = "function"
            elif head_kind == "Set":
                kind = "set"
            else:
                kind = "object" if dynamic else "boolean"
            return _TestHead(".".join(ground), name, kind, line, span)
    return None


def _discover(modules: Sequence[RegoModule], ast: list[dict[str, Any]]) -> tuple[list[RegoTest], list[RegoModule]]:
    """The tests, and the modules with every duplicate test definition renamed so it runs alone."""
    sources = {m.path: m.source for m in modules}
    tests: list[RegoTest] = []
    renames: dict[str, list[tuple[int, int, str]]] = {}
    count: dict[str, int] = {}
    for entry in ast:
        path = entry["source"]["file"]
        package = ".".join(n for n, _ in _ref_terms(entry["ast"]["package"]["refr"]) if n is not None)
        for rule in entry["ast"]["rules"]:
            head = _test_head(rule)
            if head is None:
                continue
            key = f"{package}.{head.name}"
            seen = count.get(key, 0)
            count[key] = seen + 1
            name = query_name = head.name
            if seen and head.prefix.startswith(TEST_PREFIX):
                new_prefix = f"{head.prefix}{_DUPLICATE_MARK}{seen:02d}"
                name = head.name[: -len(head.prefix)] + f"{head.prefix}#{seen:02d}"
                query_name = head.name[: -len(head.prefix)] + new_prefix
                renames.setdefault(path, []).append((head.span["start"], head.span["end"], new_prefix))
            tests.append(
                RegoTest(
                    module=path, package=package, name=name, line=head.line, kind=head.kind,
                    skip=head.prefix.startswith(TODO_PREFIX), query_name=query_name,
                )
            )
    rewritten = [
        RegoModule(m.path, _rename(sources[m.path], renames[m.path])) if m.path in renames else m for m in modules
    ]
    return tests, rewritten


def _rename(source: str, spans: list[tuple[int, int, str]]) -> str:
    # regorus spans are byte offsets into the UTF-8 source.
    data = source.encode("utf-8")
    for start, end, name in sorted(spans, reverse=True):
        data = data[:start] + name.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def discover_tests(policies: PolicySet | Sequence[RegoModule]) -> list[RegoTest]:
    """Every test rule in the modules' parsed form, in file order. Raises PolicyError on a parse error."""
    modules = modules_of(policies) if isinstance(policies, PolicySet) else list(policies)
    engine = _new_engine(modules)
    return _discover(modules, json.loads(engine.get_ast_as_json()))[0]


# --- verdicts, as opa test gives them --------------------------------------------------------


def _verdict(test: RegoTest, defined: bool, value: Any) -> tuple[Status, str, tuple[tuple[str, bool], ...]]:
    if not defined:
        return "fail", "undefined", ()
    if test.kind == "object":
        cases = tuple(_cases(value, ""))
        failed = [name for name, ok in cases if not ok]
        if failed:
            return "fail", f"failed cases: {', '.join(failed)}", cases
        return "pass", "ok", cases
    if value is True:
        return "pass", "ok", ()
    if test.kind == "set":
        return "fail", f"a `contains` test is a set ({_short(value)}), never true; opa test fails it too", ()
    return "fail", f"got {_short(value)}", ()


def _cases(value: Any, prefix: str) -> Iterable[tuple[str, bool]]:
    if not isinstance(value, dict):
        yield prefix or "<value>", value is True
        return
    for key in sorted(value, key=str):
        name = f"{prefix}.{key}" if prefix else str(key)
        item = value[key]
        if isinstance(item, dict):
            yield from _cases(item, name)
        else:
            yield name, item is True


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


def _evaluation_error(message: str) -> tuple[Status, str]:
    """regorus raises where OPA makes a builtin's expression undefined (a test fail, unless
    `--strict-builtin-errors`); a rule conflict or recursion is an error in both."""
    if "conflict" in message or "recursi" in message:
        return "error", message
    return "fail", f"undefined: a builtin failed ({message})"


def _function_error(test: RegoTest) -> str:
    return f"function {test.rule} used as reference, not called (a test takes no arguments)"


# --- running ---------------------------------------------------------------------------------


def run_rego_tests(
    modules: Sequence[RegoModule],
    data: dict[str, Any],
    *,
    select: re.Pattern[str] | None = None,
    coverage: bool = False,
) -> RegoTestRun:
    """Run every test (or those whose `data.pkg.name` matches `select`) on one regorus engine.

    Raises PolicyError when a module does not parse or compile: the tests cannot run.
    """
    from aigate.engines.embedded import engine_error_line

    engine = _new_engine(modules)
    tests, rewritten = _discover(modules, json.loads(engine.get_ast_as_json()))
    if rewritten != list(modules):
        engine = _new_engine(rewritten)
    try:
        engine.add_data_json(json.dumps(data))
    except Exception as e:
        raise PolicyError(f"test data: {engine_error_line(e)}") from e
    if coverage:
        engine.set_enable_coverage(True)
    # No input, as in `opa test`: a test that reads input must give it (`with input as ...`).
    results = []
    for test in tests:
        if select is not None and not select.search(test.rule):
            continue
        if test.skip:
            results.append(RegoTestResult(test, "skip", "todo"))
            continue
        if test.kind == "function":
            results.append(RegoTestResult(test, "error", _function_error(test)))
            continue
        started = time.perf_counter()
        try:
            raw = json.loads(engine.eval_query_as_json(test.query))
        except Exception as e:
            status, detail = _evaluation_error(engine_error_line(e))
            results.append(RegoTestResult(test, status, detail, time.perf_counter() - started))
            continue
        elapsed = time.perf_counter() - started
        found = raw.get("result") or []
        defined = bool(found and found[0].get("expressions"))
        value = found[0]["expressions"][0]["value"] if defined else None
        status, detail, cases = _verdict(test, defined, value)
        results.append(RegoTestResult(test, status, detail, elapsed, cases))
    report = _coverage(engine, modules) if coverage else None
    return RegoTestRun(tuple(results), report)


def _coverage(engine: Any, modules: Sequence[RegoModule]) -> CoverageReport:
    raw = json.loads(engine.get_coverage_report_as_json())
    by_path = {f["path"]: f for f in raw.get("files", [])}
    files = []
    for module in modules:  # in the modules' order; a file no rule reached still counts
        entry = by_path.get(module.path, {})
        files.append(
            FileCoverage(
                module.path,
                tuple(sorted(entry.get("covered", []))),
                tuple(sorted(entry.get("not_covered", []))),
            )
        )
    return CoverageReport(tuple(files))


def run_tests(policies: PolicySet, evaluate_rule: Callable[[str], Any]) -> list[RegoTestResult]:
    """The tests of `policies` on any engine: `evaluate_rule(rule)` returns the rule's value (None
    when undefined) or raises. Kept for engines other than the embedded one (real OPA)."""
    results = []
    for test in discover_tests(policies):
        if test.skip:
            results.append(RegoTestResult(test, "skip", "todo"))
            continue
        if test.kind == "function":
            results.append(RegoTestResult(test, "error", _function_error(test)))
            continue
        try:
            value = evaluate_rule(test.query)
        except Exception as e:
            results.append(RegoTestResult(test, "error", f"error: {e}"))
            continue
        status, detail, cases = _verdict(test, value is not None, value)
        results.append(RegoTestResult(test, status, detail, 0.0, cases))
    return results
