"""Builtins a policy may call: those both engines have, minus those that make them disagree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from opa_reference import ReferenceOpaEngine

from aigate.engines.capabilities import builtin_calls, check_policy_builtins, forbidden_reason, regorus_has_builtin
from aigate.engines.interface import PolicySet

CUSTOM = """package aigate.custom

import data.aigate.lib
import rego.v1

# glob.match("x", [], "y") in a comment is not a call
note := "rego.metadata.rule() in a string is not a call"

raw := `glob.match(` # nor in a raw string

meta := rego.metadata.rule()

globbed if glob.match("*.md", ["/"], input.path)

signed := crypto.hmac.sha256("k", "v")

shaped := lib.violation("paths", "r", "low", "m", null)

_local(x) := lower(x)

uses_local := _local("A")

typo := lowr("A")

later := time.now_ns()
"""


def _custom(tmp_path: Path) -> PolicySet:
    return PolicySet(
        modules=(
            ("custom/custom.rego", CUSTOM),
            ("custom/custom_test.rego", "package x\nt := glob.match(`a`, [], `a`)\n"),
        ),
        root=tmp_path,
    )


def test_shipped_policies_use_only_builtins_both_engines_share(
    policies: PolicySet, reference_engine: ReferenceOpaEngine
) -> None:
    names = {call.name for call in builtin_calls(policies)}
    assert {"regex.match", "regex.find_n", "sprintf", "count", "lower", "array.slice"} <= names
    assert not {name for name in names if name.startswith(("lib.", "_", "paths.", "data."))}
    assert check_policy_builtins(policies, opa_has_builtin=reference_engine.has_builtin) == []


def test_forbidden_and_missing_builtins_are_flagged(tmp_path: Path, reference_engine: ReferenceOpaEngine) -> None:
    where = tmp_path / "custom" / "custom.rego"
    assert check_policy_builtins(_custom(tmp_path), opa_has_builtin=reference_engine.has_builtin) == [
        f"{where}:11: rego.metadata.rule: not allowed in policies: the embedded engine (regorus) has no annotations; "
        "put settings in .ai-code-gate.yml",
        f"{where}:13: glob.match: not allowed in policies: glob semantics differ between the engines; aigate "
        "compiles config patterns to regular expressions that both run alike",
        f"{where}:15: crypto.hmac.sha256: not a builtin of the embedded engine (regorus)",
        f"{where}:23: lowr: not a builtin of the embedded engine (regorus)",
        f"{where}:25: time.now_ns: not allowed in policies: decisions must follow from the input and config alone",
    ]


def test_engines_are_asked_for_real(reference_engine: ReferenceOpaEngine) -> None:
    assert regorus_has_builtin("regex.find_n") and reference_engine.has_builtin("regex.find_n")
    assert not regorus_has_builtin("rego.metadata.chain") and reference_engine.has_builtin("rego.metadata.chain")
    assert not regorus_has_builtin("no.such_builtin") and not reference_engine.has_builtin("no.such_builtin")
    assert not regorus_has_builtin("1; x := 2")  # only names are ever put into a query


def test_forbidden_names_and_prefixes() -> None:
    assert forbidden_reason("glob.match") and forbidden_reason("glob.quote_meta")
    assert forbidden_reason("rego.metadata.chain") and forbidden_reason("http.send")
    assert forbidden_reason("globals") is None and forbidden_reason("regex.match") is None


def test_opa_builtins_from_an_opa_binary(tmp_path: Path) -> None:
    # A stand-in for `opa capabilities --current` that lacks `lower`.
    capabilities = {"builtins": [{"name": name} for name in ("crypto.hmac.sha256", "count", "sprintf")]}
    opa = tmp_path / "opa"
    opa.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(capabilities))})\n", encoding="utf-8")
    opa.chmod(0o755)
    policies = PolicySet(modules=(("a.rego", "package aigate.a\n\nx := lower(count([1]))\n"),), root=tmp_path)
    assert check_policy_builtins(policies, opa_binary=str(opa)) == [
        f"{tmp_path / 'a.rego'}:3: lower: not a builtin of OPA"
    ]


def test_shipped_policies_against_real_opa_capabilities(policies: PolicySet, real_opa: str) -> None:
    assert check_policy_builtins(policies, opa_binary=real_opa) == []


def test_empty_set_literal_is_not_a_builtin_call(tmp_path: Path) -> None:
    source = "package aigate.a\n\nimport rego.v1\n\nx := set()\n\ny := count(set())\n"
    policies = PolicySet(modules=(("a.rego", source),), root=tmp_path)
    assert [call.name for call in builtin_calls(policies)] == ["count"]
