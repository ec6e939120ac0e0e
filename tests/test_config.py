from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES

from aigate.config import LAYERS, config_from_mapping, load_config
from aigate.errors import ConfigError

ISSUE_EXAMPLE = EXAMPLES / ".ai-code-gate.yml"


def test_issue_example_loads_unchanged() -> None:
    config = load_config(ISSUE_EXAMPLE)
    # Detection lists add to the built-in ones (detection.builtin: false starts from empty lists).
    assert config.settings["detection"]["labels"] == ["ai-generated", "ai-assisted", "ai-pr", "copilot", "claude"]
    assert config.settings["policy"]["scope_limits"] == {
        "max_files": 20,
        "max_lines_added": 500,
        "max_lines_removed": None,
        "max_binary_bytes": 1048576,
    }
    tiers = config.data["risk"]["tiers"]
    assert [
        (t["name"], t["threshold"], t["approvals"], t["auto_merge"], t["require_security_team"]) for t in tiers
    ] == [
        ("low", 30, 0, True, False),
        ("medium", 70, 1, False, False),
        ("high", 100, 2, False, True),
    ]
    # Keys the file leaves out keep their defaults.
    assert config.settings["detection"]["branch_prefixes"][:2] == ["claude/", "copilot/"]


def test_user_tiers_replace_default_tiers() -> None:
    config = config_from_mapping(
        {
            "review": {
                "risk_tiers": {
                    "green": {"threshold": 50, "auto_merge": True},
                    "red": {"threshold": 100, "approvals": 3},
                }
            }
        }
    )
    assert [t["name"] for t in config.data["risk"]["tiers"]] == ["green", "red"]


def test_tiers_sorted_by_threshold() -> None:
    config = config_from_mapping({"review": {"risk_tiers": {"z": {"threshold": 10}, "a": {"threshold": 90}}}})
    assert [t["name"] for t in config.data["risk"]["tiers"]] == ["z", "a"]


def test_sensitive_includes_blocked() -> None:
    config = config_from_mapping({"policy": {"sensitive_patterns": ["**/crypto/**"], "blocked_patterns": ["*.env*"]}})
    assert [p["pattern"] for p in config.data["paths"]["sensitive"]["patterns"]] == ["**/crypto/**", "*.env*"]


def test_modes_resolve_per_layer() -> None:
    config = config_from_mapping(
        {"policy": {"mode": "warn", "modes": {"tests": "observe"}}, "scanning": {"mode": "observe"}}
    )
    assert config.data["modes"] == {
        "paths": "warn",
        "scope": "warn",
        "tests": "observe",
        "scanning": "observe",
        "sandbox": "block",
        "risk": "block",
    }
    assert set(config.data["modes"]) == set(LAYERS)


def test_defaults_validate_and_are_complete() -> None:
    config = load_config(None)
    assert config.source == "<defaults>"
    assert all(mode == "block" for mode in config.data["modes"].values())
    assert config.digest.startswith("sha256:")


def test_digest_depends_on_content_only(tmp_path: Path) -> None:
    a = tmp_path / "a.yml"
    b = tmp_path / "b.yml"
    a.write_text("policy:\n  scope_limits: {max_files: 5}\n")
    b.write_text("# same settings, other layout\npolicy:\n  scope_limits:\n    max_files: 5\n")
    assert load_config(a).digest == load_config(b).digest
    b.write_text("policy:\n  scope_limits: {max_files: 6}\n")
    assert load_config(a).digest != load_config(b).digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy: [\n", r"line 2: invalid YAML"),
        (
            "policy:\n  scope_limits:\n    max_files: twenty\n",
            r"line 3: policy\.scope_limits\.max_files: 'twenty' is not of type 'integer', 'null'",
        ),
        ("policy:\n  blocked_patterns: [a]\n  frobnicate: 1\n", r"line 3: policy\.frobnicate: unknown key"),
        ("detektion:\n  labels: []\n", r"line 1: detektion: unknown key"),
        ("policy:\n  mode: block\n  mode: warn\n", r"line 3: duplicate key 'mode'"),
        (
            "policy:\n  blocked_patterns:\n    - ok\n    - '!neg'\n",
            r"line 4: policy\.blocked_patterns\[1\]: '!neg': negated",
        ),
        ("- a\n- b\n", r"line 1: the file must be a mapping"),
        (
            "review:\n  risk_tiers:\n    low: {approvals: 1}\n",
            r"line 3: review\.risk_tiers\.low: 'threshold' is a required",
        ),
        ("policy:\n  mode: enforce\n", r"line 2: policy\.mode: 'enforce' is not one of"),
        ("review:\n  risk_tiers: {}\n", r"line 2: review\.risk_tiers: .*"),
        ("x: !!python/object:os.system ls\n", r"invalid YAML"),
        # Each of these was an internal error (or a NaN timeout that failed at its first use).
        ("scanning:\n  dependencies:\n    registry: {timeout: .nan}\n", r"line 3: '\.nan': not a finite number"),
        ("policy:\n  engine: {timeout: -.inf}\n", r"line 2: '-\.inf': not a finite number"),
        ("sandbox:\n  limits: {wall_seconds: .NaN}\n", r"line 2: '\.NaN': not a finite number"),
        (
            "exceptions:\n  - {rule: blocked_path, reason: r, owner: o, expires: 2020-02-30}\n",
            r"line 2: '2020-02-30': not a date: day is out of range for month",
        ),
        ("? [a, b]\n: 1\n", r"line 1: a key must be a scalar, not a list"),
    ],
)
def test_bad_config_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".ai-code-gate.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(path) + ": ")
    assert re.search(message, str(caught.value)), str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yml: cannot read"):
        load_config(tmp_path / "nope.yml")


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("# nothing yet\n")
    assert load_config(path).data == load_config(None).data


def test_defaults_file_is_valid_against_config_schema() -> None:
    from aigate import _resources

    defaults = yaml.safe_load(_resources.defaults_path().read_text())
    config_from_mapping(defaults)  # raises if the shipped defaults break the published schema
