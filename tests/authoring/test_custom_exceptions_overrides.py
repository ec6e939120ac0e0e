"""Custom rules next to the built-ins, config exceptions and per-agent overrides, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ASSETS, run_cli

from aigate import Gate
from aigate.config import load_config
from aigate.errors import ConfigError, PolicyError
from aigate.models import Decision

AUTHORING = ASSETS / "authoring"
DAY = "2026-12-03"


def _file(path: str, added: int = 1, status: str = "modified") -> dict[str, Any]:
    return {"path": path, "status": status, "added": added, "removed": 0}


def _document(
    *, branch: str = "claude/x", title: str = "ACME-1 change", login: str = "dev", files: list[dict[str, Any]],
    day: str | None = DAY,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "pr": {"title": title, "author": {"login": login, "type": "User"}, "head_branch": branch},
        "files": files,
    }
    if day is not None:
        document["evaluated_on"] = day
    return document


def _config(tmp_path: Path, **changes: Any) -> Path:
    folder = tmp_path / "cfg"
    shutil.copytree(AUTHORING, folder)
    settings = yaml.safe_load((AUTHORING / "config.yml").read_text())
    for dotted, value in changes.items():
        node = settings
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    (folder / "config.yml").write_text(yaml.safe_dump(settings))
    return folder / "config.yml"


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate.from_config(AUTHORING / "config.yml")


def _decide(gate: Gate, document: dict[str, Any]) -> Decision:
    return gate.evaluate(document)


# --- custom rules ----------------------------------------------------------------------------


def test_custom_items_reach_the_decision_with_their_source(gate: Gate) -> None:
    decision = _decide(gate, _document(title="no ticket", files=[_file("payments/charge.py")]))
    custom = [v for v in decision.violations if v.source]
    assert [(v.rule, v.layer, v.mode, v.blocking, v.source) for v in custom] == [
        ("ticket_missing", "team", "warn", False, "data.aigate.custom.team.violations")
    ]
    assert decision.risk is not None
    factor = next(f for f in decision.risk.factors if f.name == "payments")
    assert (factor.points, factor.source) == (25, "data.aigate.custom.team.risk_factors")
    assert [(r.reviewer, r.source) for r in decision.required_reviewers] == [
        ("@acme/payments", "data.aigate.custom.team.required_reviewers")
    ]
    assert decision.outcome == "review"


def test_custom_signal_marks_a_pr_ai(tmp_path: Path) -> None:
    # Per-agent overrides are chosen from built-in detection (regorus cannot let the agent depend on
    # custom packages that use lib.config), so this config has no `human` override.
    document = _document(branch="release/1", login="acme-release-bot", files=[_file(".github/workflows/x.yml")])
    with Gate.from_config(_config(tmp_path, overrides={})) as gate:
        decision = gate.evaluate(document)
    assert decision.is_ai
    assert [(s.kind, s.value, s.source) for s in decision.detection.signals] == [
        ("custom", "acme-release-bot", "data.aigate.custom.team.signals")
    ]
    assert decision.outcome == "block"


def test_custom_rule_cannot_lift_a_builtin_block(tmp_path: Path, gate: Gate) -> None:
    document = _document(title="ACME-2 [trusted]", files=[_file("app/.env.example"), _file("docs/a.md")])
    decision = _decide(gate, document)
    assert decision.outcome == "block"
    assert [(v.rule, v.blocking, v.waived) for v in decision.violations] == [("blocked_path", True, False)]
    assert sorted(r.item for r in decision.custom.refused) == [
        "trusted_team_discount", "waiver of blocked_path at null"
    ]
    # The CLI: blocked (exit 1), and the refusal is in the JSON.
    source = tmp_path / "input.json"
    source.write_text(json.dumps(document))
    # A config outside the checkout is trusted to name custom_dir (one inside it is the PR's to choose).
    result = run_cli("evaluate", "--config", _config(tmp_path / "trusted"), "--input", source)
    assert result.code == 1, result.stderr
    assert json.loads(result.stdout)["custom"]["refused"][1]["reason"] == "a custom waiver cannot lift a violation"
    # Only an explicit config setting lets it.
    with Gate.from_config(_config(tmp_path, **{"policy.custom_can_weaken": True})) as weak:
        lifted = weak.evaluate(document)
    assert [(v.rule, v.blocking, v.waived) for v in lifted.violations] == [("blocked_path", False, True)]
    assert lifted.outcome != "block" and lifted.custom.refused == ()


def test_custom_module_in_a_builtin_package_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (config.parent / "custom" / "sneaky.rego").write_text(
        "package aigate.paths\n\nimport rego.v1\n\nsneaky := true\n"
    )
    result = run_cli("evaluate", "--config", config, "--input", _write_input(tmp_path))
    assert (result.code, result.stdout) == (2, "")
    assert f"{config.parent / 'custom' / 'sneaky.rego'}:1: package aigate.paths: custom policies cannot" in (
        result.stderr
    )


def _write_input(tmp_path: Path) -> Path:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(_document(files=[_file("docs/a.md")])))
    return path


def test_custom_settings_validated_by_the_users_schema(tmp_path: Path) -> None:
    config = _config(tmp_path, **{"custom.team.ticket_regex": 5})
    with pytest.raises(ConfigError, match=r"line \d+: custom\.team\.ticket_regex: 5 is not of type 'string'"):
        load_config(config)
    # Without a schema, `custom` is passed as it is.
    loose = load_config(_config(tmp_path / "loose", **{"policy.custom_schema": None, "custom.anything": [1]}))
    assert loose.data["custom"]["anything"] == [1]


def test_custom_layer_mode_and_policy_error_name_the_file(tmp_path: Path) -> None:
    config = _config(tmp_path, **{"policy.modes": {"team": "block"}})
    with Gate.from_config(config) as strict:
        decision = strict.evaluate(_document(title="no ticket", files=[_file("docs/a.md")]))
    assert [(v.rule, v.mode, v.blocking) for v in decision.violations] == [("ticket_missing", "block", True)]
    (config.parent / "custom" / "broken.rego").write_text("package aigate.custom.broken\n\nx := \n")
    with pytest.raises(PolicyError, match=r"broken\.rego:\d+"):
        Gate.from_config(config)


# --- exceptions ------------------------------------------------------------------------------


def test_exception_waives_marks_and_reports(gate: Gate) -> None:
    decision = _decide(gate, _document(files=[_file("config/prod.env.example"), _file("config/.env")]))
    by_path = {v.path: v for v in decision.violations if v.rule == "blocked_path"}
    waived = by_path["config/prod.env.example"]
    assert (waived.waived, waived.blocking) == (True, False)
    assert waived.waiver is not None
    assert (waived.waiver.exception, waived.waiver.reason, waived.waiver.owner, waived.waiver.expires) == (
        0, "example values only", "@acme/security", "2027-03-31"
    )
    assert by_path["config/.env"].blocking  # not covered by the pattern
    assert decision.exceptions.applied == (0,)
    assert [e.exception for e in decision.exceptions.expired] == [1]
    assert [e.exception for e in decision.exceptions.unused] == [2]


def test_expired_exception_stops_applying(gate: Gate) -> None:
    files = [_file(f"docs/{n}.md") for n in range(101)]
    before = _decide(gate, _document(files=files, day="2026-01-31"))
    after = _decide(gate, _document(files=files, day="2026-02-01"))
    assert [(v.rule, v.waived) for v in before.violations] == [("max_files", True)]
    assert [(v.rule, v.waived, v.blocking) for v in after.violations] == [("max_files", False, True)]
    assert [e.exception for e in after.exceptions.expired] == [1]
    assert after.outcome == "block"


def test_agent_scoped_exception(gate: Gate) -> None:
    files = [_file("vendor/lib/a.py")]
    strict = _config_with_allowed(gate)
    codex = strict.evaluate(_document(branch="codex/x", files=files))
    claude = strict.evaluate(_document(branch="claude/x", files=files))
    assert [(v.rule, v.waived) for v in codex.violations] == [("path_not_allowed", True)]
    assert [(v.rule, v.waived) for v in claude.violations] == [("path_not_allowed", False)]


def _config_with_allowed(gate: Gate) -> Gate:
    settings = yaml.safe_load((AUTHORING / "config.yml").read_text())
    settings["policy"]["allowed_patterns"] = ["src/**"]
    settings["policy"]["custom_dir"] = str(AUTHORING / "custom")
    settings["policy"]["custom_schema"] = str(AUTHORING / "custom" / "team.schema.json")
    from aigate.config import config_from_mapping

    return Gate(config_from_mapping(settings))


def test_evaluation_day_defaults_to_today(gate: Gate) -> None:
    decision = _decide(gate, _document(files=[_file("config/a.env.example")], day=None))
    assert decision.violations[0].waived  # in force today (until 2027-03-31)


def test_exception_config_errors_name_the_line(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("exceptions:\n  - rule: blocked_path\n    reason: r\n    owner: o\n    expires: soon\n")
    with pytest.raises(ConfigError, match=r"line 5: exceptions\[0\]\.expires: 'soon' does not match"):
        load_config(config)


# --- per-agent overrides ---------------------------------------------------------------------


def test_override_per_agent_and_named_in_the_decision(gate: Gate) -> None:
    docs = [_file("docs/a.md")]
    copilot = _decide(gate, _document(branch="copilot/x", files=docs))
    assert (copilot.agent and copilot.agent.name, copilot.agent and copilot.agent.override) == ("copilot", "copilot")
    assert copilot.outcome == "allow"
    outside = _decide(gate, _document(branch="copilot/x", files=[_file("src/a.py")]))
    assert [v.rule for v in outside.violations] == ["path_not_allowed"]  # copilot's allowed_patterns
    many = _decide(gate, _document(branch="copilot/x", files=[_file(f"docs/{n}.md") for n in range(4)]))
    assert [v.rule for v in many.violations] == ["max_files"]  # copilot's limit is 3
    codex = _decide(gate, _document(branch="codex/x", files=docs))
    assert (codex.agent and codex.agent.name, codex.outcome) == ("codex", "review")
    assert codex.risk is not None and (codex.risk.tier, codex.risk.approvals) == ("review", 1)
    claude = _decide(gate, _document(branch="claude/x", files=[_file("src/a.py")]))
    assert (claude.agent and claude.agent.name, claude.agent and claude.agent.override) == ("claude-code", None)
    assert claude.violations == () and claude.outcome == "allow"


def test_human_override_warns_where_ai_blocks(tmp_path: Path) -> None:
    with Gate.from_config(_config(tmp_path, **{"policy.apply_to_human": True})) as gate:
        human = gate.evaluate(_document(branch="fix/x", files=[_file(".github/workflows/ci.yml")]))
        ai = gate.evaluate(_document(branch="claude/x", files=[_file(".github/workflows/ci.yml")]))
    assert human.agent is not None and (human.agent.name, human.agent.override) == ("human", "human")
    blocked = [(v.rule, v.mode, v.blocking) for v in human.violations if v.rule == "blocked_path"]
    assert blocked == [("blocked_path", "warn", False)]
    assert human.outcome != "block"
    assert ai.outcome == "block"


def test_override_cannot_move_policies(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("overrides:\n  copilot:\n    policy:\n      custom_dir: elsewhere\n")
    with pytest.raises(ConfigError, match=r"line 4: overrides\.copilot\.policy\.custom_dir: cannot be set per agent"):
        load_config(config)
