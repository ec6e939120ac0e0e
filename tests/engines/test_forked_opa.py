"""A remote OPA server sees one decision per PR: the CLI's early decision beside the secret check's helper is the
embedded engine's only (an OPA server would log it as one of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigate import Gate, _forked
from aigate.config import GateConfig
from aigate.engines.interface import PolicySet
from aigate.engines.opa_server import RemoteOpaEngine
from tests.opa_reference import OpaTestServer
from tests.test_forked_secret_check import _pr_repository


def test_a_remote_opa_is_asked_once(
    tmp_path: Path, opa_server: OpaTestServer, default_config: GateConfig, policies: PolicySet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _pr_repository(tmp_path / "repo", secrets=True)
    monkeypatch.setattr(_forked, "_allowed", True)
    monkeypatch.setattr(_forked, "available", lambda: True)  # beside the test server's thread
    with Gate(default_config, policies=policies, engine=RemoteOpaEngine(opa_server.url)) as gate:
        asked = opa_server.data_requests()
        decision = gate.evaluate(repo=repo.root, base="main", head="claude/feature", pr={"labels": ["ai-generated"]})
    assert opa_server.data_requests() - asked == 1
    assert decision.outcome == "block" and "secret_detected" in {v.rule for v in decision.violations}
    expected = Gate(default_config, policies=policies).evaluate(
        repo=repo.root, base="main", head="claude/feature", pr={"labels": ["ai-generated"]}
    )
    assert decision.input_digest == expected.input_digest
