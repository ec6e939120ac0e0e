package aigate.extensions_test

import rego.v1

import data.aigate.extensions

_custom := {"team": {
	"violations": {
		{"rule": "ticket_missing", "message": "no ticket", "severity": "low"},
		{"rule": "in_paths_layer", "layer": "paths"},
		"not an object",
	},
	"signals": {{"value": "X-Agent: internal-bot", "pattern": "X-Agent:"}},
	"risk_factors": {{"name": "big_migration", "points": 10}, {"name": "discount", "points": -20}},
	"required_reviewers": {"@acme/dba", {"reviewer": "@acme/sec", "reason": "crypto"}},
	"waivers": {{"rule": "blocked_path", "reason": "generated"}},
}}

test_custom_violations_carry_layer_mode_and_source if {
	vs := extensions.violations with data.aigate.custom as _custom
		with data.aigate.config.modes as {"paths": "warn"}
		with data.aigate.config.default_mode as "block"
	{[v.rule, v.layer, v.mode, v.blocking] | some v in vs} == {
		["ticket_missing", "team", "block", true],
		["in_paths_layer", "paths", "warn", false],
		["custom_violation", "team", "block", true],
	}
	every v in vs {
		v.source == "data.aigate.custom.team.violations"
	}
}

test_custom_layer_mode_from_policy_modes if {
	vs := extensions.violations with data.aigate.custom as {"team": {"violations": {{"rule": "r"}}}}
		with data.aigate.config.modes as {"team": "observe"}
	[v.mode | some v in vs] == ["observe"]
}

test_signals_and_reviewers if {
	signal := {
		"kind": "custom", "value": "X-Agent: internal-bot", "pattern": "X-Agent:",
		"source": "data.aigate.custom.team.signals",
	}
	extensions.signals == {signal} with data.aigate.custom as _custom
	{r.reviewer | some r in extensions.required_reviewers} == {"@acme/dba", "@acme/sec"} with data.aigate.custom as _custom
}

test_negative_points_and_waivers_refused_unless_allowed if {
	{f.name | some f in extensions.risk_factors} == {"big_migration"} with data.aigate.custom as _custom
		with data.aigate.config.custom_can_weaken as false
	refused := {r.item | some r in extensions.refused} with data.aigate.custom as _custom
	refused == {"discount", "waiver of blocked_path at null"}
		with data.aigate.config.custom_can_weaken as false
	{f.name | some f in extensions.risk_factors} == {"big_migration", "discount"} with data.aigate.custom as _custom
		with data.aigate.config.custom_can_weaken as true
	count(extensions.refused) == 0 with data.aigate.custom as _custom
		with data.aigate.config.custom_can_weaken as true
}

test_waiver_covering_by_rule_and_path if {
	ws := {
		{"rule": "r", "path": null, "reason": "", "source": "s"},
		{"rule": "q", "path": "a", "reason": "", "source": "s"},
	}
	count(extensions.covering({"rule": "r", "path": "x"})) == 1 with extensions.waivers as ws
	count(extensions.covering({"rule": "q", "path": "a"})) == 1 with extensions.waivers as ws
	count(extensions.covering({"rule": "q", "path": "b"})) == 0 with extensions.waivers as ws
}
