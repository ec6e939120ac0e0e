"""The Rego unit tests (`*_test.rego`) beside every policy file, run on the embedded engine.

(tests/engines runs the same tests on real OPA.)
"""

from __future__ import annotations

import pytest

from aigate import _resources
from aigate.config import load_config
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import load_policy_set
from aigate.policy_tests import RegoTest, discover_tests, run_tests

POLICIES = load_policy_set(_resources.policies_dir(), include_tests=True)
TESTS = discover_tests(POLICIES)


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine(POLICIES, {"aigate": {"config": load_config(None).data}})


def test_every_policy_file_has_a_test_file() -> None:
    modules = {path for path, _ in POLICIES.modules}
    policies = {p for p in modules if not p.endswith("_test.rego")}
    assert policies
    assert {p for p in policies if p.replace(".rego", "_test.rego") not in modules} == set()


def test_every_policy_uses_rego_v1() -> None:
    assert [path for path, source in POLICIES.modules if "import rego.v1" not in source] == []


@pytest.mark.parametrize("test", TESTS, ids=[t.rule for t in TESTS])
def test_rego(test: RegoTest, engine: EmbeddedEngine) -> None:
    assert engine.evaluate_rule(test.rule) is True


def test_rego_tests_found_in_every_package() -> None:
    assert {t.package for t in TESTS} == {
        f"aigate.{name}_test"
        for name in (
            "lib", "detection", "paths", "scope", "tests", "scanning", "sandbox", "risk", "protection", "decision",
            "agent", "exceptions", "extensions",
        )
    }


def test_a_failing_rego_test_is_reported(engine: EmbeddedEngine) -> None:
    failing = load_policy_set(_resources.policies_dir(), include_tests=True)
    extra = (("zz/failing_test.rego", "package zz_test\n\nimport rego.v1\n\ntest_fails if {\n\t1 == 2\n}\n"),)
    policies = type(failing)(modules=failing.modules + extra, root=failing.root)
    eng = EmbeddedEngine(policies, {"aigate": {"config": load_config(None).data}})
    results = {r.test.rule: r.passed for r in run_tests(policies, eng.evaluate_rule)}
    assert results["data.zz_test.test_fails"] is False
