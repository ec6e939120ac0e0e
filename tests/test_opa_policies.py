"""The shipped policies on the real `opa` binary: `opa check --strict` accepts them, and `opa test`
finds the same tests as `aigate test-policies`, with the same result for every one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import REPO, run_cli

from aigate.config import load_config
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import load_policy_set
from aigate.policy_tests import run_tests

POLICIES = REPO / "policies"


def _config_data(tmp_path: Path) -> Path:
    """The default config as the data document the policies read (`data.aigate.config`)."""
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"aigate": {"config": load_config(None).data}}), encoding="utf-8")
    return path


def _opa_test(real_opa: str, policy_dir: Path, data: Path) -> dict[str, bool]:
    completed = subprocess.run(
        [real_opa, "test", "--format", "json", str(policy_dir), str(data)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode in (0, 2), completed.stdout + completed.stderr  # 2: some test failed
    return {
        f"{result['package']}.{result['name']}": not (result.get("fail") or result.get("error"))
        for result in json.loads(completed.stdout)
    }


def _aigate_test(policy_dir: Path) -> dict[str, bool]:
    policies = load_policy_set(policy_dir, include_tests=True)
    engine = EmbeddedEngine(policies, {"aigate": {"config": load_config(None).data}})
    return {result.test.rule: result.passed for result in run_tests(policies, engine.evaluate_rule)}


def test_policies_pass_opa_check_strict(real_opa: str) -> None:
    completed = subprocess.run(
        [real_opa, "check", "--strict", str(POLICIES)], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_opa_test_equals_aigate_test_policies(real_opa: str, tmp_path: Path) -> None:
    opa = _opa_test(real_opa, POLICIES, _config_data(tmp_path))
    assert len(opa) > 0 and all(opa.values()), [name for name, passed in opa.items() if not passed]
    assert _aigate_test(POLICIES) == opa
    cli = run_cli("test-policies")
    assert (cli.code, cli.stdout.splitlines()[-1]) == (0, f"rego: {len(opa)} passed, 0 failed"), cli.stdout


def test_a_failing_test_fails_on_both(real_opa: str, tmp_path: Path) -> None:
    policy_dir = tmp_path / "policies"
    shutil.copytree(POLICIES, policy_dir)
    (policy_dir / "zz").mkdir()
    (policy_dir / "zz" / "zz_test.rego").write_text(
        "package zz_test\n\nimport rego.v1\n\ntest_fails if {\n\t1 == 2\n}\n\ntest_passes if {\n\t1 == 1\n}\n",
        encoding="utf-8",
    )
    opa = _opa_test(real_opa, policy_dir, _config_data(tmp_path))
    assert (opa["data.zz_test.test_fails"], opa["data.zz_test.test_passes"]) == (False, True)
    assert _aigate_test(policy_dir) == opa
