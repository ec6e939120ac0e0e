package aigate.exceptions_test

import rego.v1

import data.aigate.exceptions

_entry(id, rule, paths, agents, expires) := {
	"id": id, "rule": rule, "paths": paths, "agents": agents,
	"reason": sprintf("reason %d", [id]), "owner": "@owner", "expires": expires,
}

# Compiled as aigate.config compiles ["config/*.env.example"].
_env_example_regex := `^config/[^/]*\.env\.example(?:/|$)`

_env_example := {
	"patterns": [{"pattern": "config/*.env.example", "regex": _env_example_regex}],
	"regex": _env_example_regex,
}

_entries := [
	_entry(0, "blocked_path", _env_example, [], "2027-01-31"),
	_entry(1, "blocked_path", null, ["copilot"], "2027-01-31"),
	_entry(2, "max_files", null, [], "2026-01-01"),
]

_v(rule, path) := {
	"rule": rule, "layer": "paths", "severity": "high", "message": "m",
	"path": path, "mode": "block", "blocking": true,
}

test_path_exception_waives_and_keeps_the_violation if {
	violation := _v("blocked_path", "config/prod.env.example")
	waived := exceptions.apply(violation) with data.aigate.config.exceptions as _entries
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "claude-code"
	waived.waived
	not waived.blocking
	waived.waiver == {
		"exception": 0, "reason": "reason 0", "owner": "@owner",
		"expires": "2027-01-31", "source": "exceptions[0]",
	}
	waived.rule == "blocked_path"
}

test_other_path_not_waived if {
	v := _v("blocked_path", "config/prod.env")
	exceptions.apply(v) == v with data.aigate.config.exceptions as _entries
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "claude-code"
}

test_agent_exception_only_for_that_agent if {
	v := _v("blocked_path", "secrets/x")
	exceptions.apply(v).waiver.exception == 1 with data.aigate.config.exceptions as _entries
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "copilot"
	exceptions.apply(v) == v with data.aigate.config.exceptions as _entries
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "codex"
}

test_expired_exception_stops_applying_and_is_reported if {
	v := {
		"rule": "max_files", "layer": "scope", "severity": "medium", "message": "m",
		"path": null, "mode": "block", "blocking": true,
	}
	exceptions.apply(v) == v with data.aigate.config.exceptions as _entries with input.evaluated_on as "2026-12-03"
	report := exceptions.report({0}) with data.aigate.config.exceptions as _entries with input.evaluated_on as "2026-12-03"
	[e.exception | some e in report.expired] == [2]
	[e.exception | some e in report.unused] == [1]
	report.applied == [0]
}

test_in_force_through_its_last_day if {
	exceptions.in_force({"expires": "2026-12-03"}) with input.evaluated_on as "2026-12-03"
	not exceptions.in_force({"expires": "2026-12-02"}) with input.evaluated_on as "2026-12-03"
}

test_no_evaluation_day_nothing_in_force if {
	not exceptions.in_force({"expires": "2999-01-01"}) with input as {}
}

test_custom_waiver_only_when_allowed if {
	v := _v("blocked_path", "a.env")
	w := {"rule": "blocked_path", "path": "a.env", "reason": "generated", "source": "data.aigate.custom.x.waivers"}
	exceptions.apply(v) == v with data.aigate.config.exceptions as []
		with data.aigate.extensions.waivers as {w}
		with data.aigate.extensions.can_weaken as false
	lifted := exceptions.apply(v) with data.aigate.config.exceptions as []
		with data.aigate.extensions.waivers as {w}
		with data.aigate.extensions.can_weaken as true
	lifted.waived
	lifted.waiver.source == "data.aigate.custom.x.waivers"
}

test_apply_all_waives_what_an_exception_in_force_covers if {
	waivable := _v("blocked_path", "config/prod.env.example")
	other := _v("blocked_path", "config/prod.env")
	applied := exceptions.apply_all({waivable, other}) with data.aigate.config.exceptions as _entries
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "claude-code"
	count(applied) == 2
	{v.path: v.waived | some v in applied; v.waived} == {"config/prod.env.example": true}
	other in applied
}

test_apply_all_takes_violations_as_they_are_when_nothing_can_waive if {
	# Only an expired exception: none in force, so nothing is waived, and nothing marked.
	violations := {_v("max_files", null), _v("blocked_path", "config/prod.env.example")}
	applied := exceptions.apply_all(violations) with data.aigate.config.exceptions as [_entries[2]]
		with input.evaluated_on as "2026-12-03"
		with data.aigate.agent.name as "claude-code"
	{v | some v in applied} == violations
	count(applied) == 2
}

test_apply_all_applies_custom_waivers_when_the_config_lets_them_weaken if {
	v := _v("max_files", null)
	waiver := {"rule": "max_files", "path": null, "reason": "vendored drop", "source": "custom.vendor.waivers"}
	applied := exceptions.apply_all({v}) with data.aigate.config.exceptions as []
		with data.aigate.extensions.can_weaken as true
		with data.aigate.extensions.waivers as {waiver}
	applied[0].waived
	applied[0].waiver.source == "custom.vendor.waivers"
	exceptions.apply_all({v}) == [v] with data.aigate.config.exceptions as []
		with data.aigate.extensions.can_weaken as false
		with data.aigate.extensions.waivers as {waiver}
}
