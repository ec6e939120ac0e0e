"""pytest plugin (entry point `pytest11`): Rego tests and fixture cases as pytest items.

Installed with aigate, it makes a team's own `pytest` collect, with no conftest code:

- every `*_test.rego` file: one item per test rule, run on the embedded engine as `aigate test`
  runs it, against the policies of its folder tree (the nearest ancestor folder named `policies`,
  else the file's own folder) plus aigate's built-in policies when that tree does not hold them;
- every aigate fixture case (a YAML/JSON mapping with an `expect` key) below a folder named
  `fixtures`: one item, evaluated end to end, failing with the field-by-field mismatch.

ini options: `aigate_collect = false` turns collection off; `aigate_config = PATH` is the
configuration the Rego tests see (default: aigate's defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["FixtureItem", "RegoItem"]

_FIXTURE_SUFFIXES = (".yml", ".yaml", ".json")
_RUNS = pytest.StashKey[dict[Path, Any]]()


class AigateTestFailure(Exception):
    """A Rego test or fixture case that failed; its message is the whole report."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("aigate_collect", type="bool", default=True, help="aigate: collect Rego tests and fixture cases")
    parser.addini("aigate_config", default="", help="aigate: the .ai-code-gate.yml the Rego tests see")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not parent.config.getini("aigate_collect"):
        return None
    if file_path.name.endswith("_test.rego"):
        return RegoFile.from_parent(parent, path=file_path)
    if file_path.suffix in _FIXTURE_SUFFIXES and "fixtures" in file_path.parent.parts:
        from aigate.fixtures import looks_like_fixture

        if looks_like_fixture(file_path):
            return FixtureFile.from_parent(parent, path=file_path)
    return None


def _policy_root(path: Path, rootdir: Path) -> Path:
    for folder in path.parents:
        if folder.name == "policies":
            return folder
        if folder == rootdir:
            break
    return path.parent


class RegoFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        runs = self.config.stash.setdefault(_RUNS, {})
        root = _policy_root(self.path, Path(self.config.rootpath))
        if root not in runs:
            runs[root] = _run_root(root, self.config)
        mine = self.path.resolve()
        for result in runs[root].results:
            if (Path(self.config.rootpath) / result.test.module).resolve() == mine:
                yield RegoItem.from_parent(self, name=result.test.name, result=result)


def _run_root(root: Path, config: pytest.Config) -> Any:
    from aigate import _resources
    from aigate.config import load_config
    from aigate.policy_tests import load_rego_modules, run_rego_tests

    rootdir = Path(config.rootpath)
    modules = load_rego_modules([root], display_root=rootdir)
    if not any("package aigate.lib" in m.source for m in modules) and root.resolve() != _resources.policies_dir():
        builtins = load_rego_modules([_resources.policies_dir()], display_root=rootdir)
        modules = [m for m in builtins if not m.path.endswith("_test.rego")] + modules
    configured = config.getini("aigate_config")
    gate_config = load_config(rootdir / configured if configured else None)
    return run_rego_tests(modules, {"aigate": {"config": gate_config.data}})


class RegoItem(pytest.Item):
    def __init__(self, *, result: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result

    def runtest(self) -> None:
        if self.result.status == "skip":
            pytest.skip(f"{self.result.test.rule}: todo")
        if self.result.status in ("fail", "error"):
            lines = [f"{self.result.test.location}: {self.result.test.rule}: {self.result.status.upper()}"]
            lines.extend(f"  {name}: {'PASS' if ok else 'FAIL'}" for name, ok in self.result.cases)
            lines.append(f"  {self.result.detail}")
            raise AigateTestFailure("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, AigateTestFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.result.test.line - 1, self.result.test.rule


class FixtureFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield FixtureItem.from_parent(self, name=self.path.stem)


class FixtureItem(pytest.Item):
    def runtest(self) -> None:
        from aigate.fixtures import run_fixture
        from aigate.test_report import FixtureResult, TestReport, render_report

        result: FixtureResult = run_fixture(self.path)
        if result.status in ("fail", "error"):
            raise AigateTestFailure(render_report(TestReport(fixtures=(result,)), "text").rsplit("\nfixtures:", 1)[0])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from aigate.errors import AigateError

        if isinstance(excinfo.value, AigateTestFailure | AigateError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fixture {self.path.name}"
