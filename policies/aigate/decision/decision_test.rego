package aigate.decision_test

import rego.v1

import data.aigate.decision

_human_pr := {"labels": [], "author": {"login": "alice", "type": "User"}, "head_branch": "fix", "body": ""}

_ai_pr := object.union(_human_pr, {"labels": ["ai-generated"]})

_file(path, added) := {
	"path": path,
	"old_path": null,
	"status": "modified",
	"binary": false,
	"added": added,
	"removed": 0,
}

_input(pr, files) := {"pr": pr, "commits": [], "files": files, "findings": [], "dependencies": []}

test_human_pr_allowed_without_checks if {
	inp := _input(_human_pr, [_file(".github/workflows/ci.yml", 1)])
	decision.outcome == "allow" with input as inp
	decision.violations == [] with input as inp
	decision.risk == null with input as inp
	decision.is_ai == false with input as inp
}

test_human_pr_checked_when_configured if {
	inp := _input(_human_pr, [_file(".github/workflows/ci.yml", 1)])
	decision.outcome == "block" with input as inp with data.aigate.config.apply_to_human as true
}

test_small_ai_pr_auto_merges if {
	inp := _input(_ai_pr, [_file("docs/a.md", 10)])
	decision.outcome == "allow" with input as inp
	decision.risk.tier == "low" with input as inp
	decision.risk.score == 2 with input as inp
}

test_blocked_path_blocks_whatever_the_score if {
	inp := _input(_ai_pr, [_file("config/.env.production", 1)])
	decision.outcome == "block" with input as inp
	[v.rule | some v in decision.violations] == ["blocked_path"] with input as inp
}

test_blocked_path_in_warn_mode_does_not_block if {
	inp := _input(_ai_pr, [_file("config/.env.production", 1)])

	# a blocked path is sensitive too: 2 + 15 = 17, tier low, raised to medium by the sensitive-path floor
	# (review.minimum_tier): reviewed with a warning, not blocked.
	decision.outcome == "review" with input as inp with data.aigate.config.modes.paths as "warn"
	decision.risk.raised_by == ["sensitive_path"] with input as inp with data.aigate.config.modes.paths as "warn"
	[v.mode | some v in decision.violations] == ["warn"] with input as inp
		with data.aigate.config.modes.paths as "warn"
}

test_medium_tier_needs_review if {
	inp := _input(_ai_pr, [_file("src/auth/a.ts", 400), _file("src/auth/b.ts", 400)])
	decision.risk.score == 50 with input as inp
	decision.risk.tier == "medium" with input as inp
	decision.outcome == "review" with input as inp
}

test_risk_in_observe_mode_allows if {
	inp := _input(_ai_pr, [_file("src/auth/a.ts", 400), _file("src/auth/b.ts", 400)])
	decision.outcome == "allow" with input as inp with data.aigate.config.modes.risk as "observe"
}

test_observe_mode_violation_recorded_not_blocking if {
	inp := _input(_ai_pr, [_file("config/.env.production", 1)])
	decision.outcome == "review" with input as inp with data.aigate.config.modes.paths as "observe"
	[[v.rule, v.blocking] | some v in decision.violations] == [["blocked_path", false]] with input as inp
		with data.aigate.config.modes.paths as "observe"
}

test_workflow_change_is_blocked_path_and_gate_change if {
	inp := _input(_ai_pr, [_file(".github/workflows/ci.yml", 1)])
	decision.outcome == "block" with input as inp
	{v.rule | some v in decision.violations} == {"blocked_path", "gate_config_changed"} with input as inp
}

test_human_pr_changing_the_gate_is_flagged_only_when_configured if {
	inp := _input(_human_pr, [_file(".ai-code-gate.yml", 1)])
	decision.outcome == "allow" with input as inp
	decision.violations == [] with input as inp
	decision.outcome == "block" with input as inp with data.aigate.config.gate.apply_to_human as true
	[v.rule | some v in decision.violations] == ["gate_config_changed"] with input as inp
		with data.aigate.config.gate.apply_to_human as true
	decision.risk == null with input as inp with data.aigate.config.gate.apply_to_human as true
}
