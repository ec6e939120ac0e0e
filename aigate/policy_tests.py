"""Run the Rego unit tests (`test_*` rules in `*_test.rego`) on an engine, like `opa test`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigate.engines.interface import PolicySet

__all__ = ["RegoTest", "RegoTestResult", "discover_tests", "run_tests"]

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTest:
    module: str
    package: str
    name: str

    @property
    def rule(self) -> str:
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class RegoTestResult:
    test: RegoTest
    passed: bool
    detail: str


def discover_tests(policies: PolicySet) -> list[RegoTest]:
    tests: list[RegoTest] = []
    for module, source in policies.modules:
        if not module.endswith("_test.rego"):
            continue
        package = _PACKAGE.search(source)
        if package is None:
            continue
        tests.extend(RegoTest(module, package.group(1), name) for name in _TEST_RULE.findall(source))
    return tests


def run_tests(policies: PolicySet, evaluate_rule: Callable[[str], Any]) -> list[RegoTestResult]:
    """`evaluate_rule(rule)` returns the rule's value (None when undefined) or raises."""
    results = []
    for test in discover_tests(policies):
        try:
            value = evaluate_rule(test.rule)
        except Exception as e:
            results.append(RegoTestResult(test, False, f"error: {e}"))
            continue
        results.append(RegoTestResult(test, value is True, "ok" if value is True else f"got {value!r}"))
    return results
