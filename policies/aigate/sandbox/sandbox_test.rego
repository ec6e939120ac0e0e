package aigate.sandbox_test

import rego.v1

import data.aigate.sandbox

_report := {
	"command": ["python", "-m", "pytest"], "head": "abc", "exit_code": 0, "limit_hit": null,
	"network_attempted": false, "network_attempts": [], "writes_outside_worktree": [],
	"tests": {"tests": 3, "failures": 0, "errors": 0, "skipped": 0},
}

_commits := [{"sha": "abc"}]

_violations(report, required, mode) := vs if {
	vs := sandbox.violations with input.sandbox as report
		with input.commits as _commits
		with data.aigate.config.sandbox as {"required": required}
		with data.aigate.config.modes.sandbox as mode
}

_rules(report, required) := {v.rule | some v in _violations(report, required, "block")}

test_clean_report_passes if {
	_rules(_report, true) == set()
}

test_missing_report_only_when_required if {
	_rules(null, true) == {"sandbox_missing"}
	_rules(null, false) == set()
}

test_failed_tests_block if {
	report := object.union(_report, {"exit_code": 1, "tests": {"tests": 3, "failures": 1, "errors": 1, "skipped": 0}})
	_rules(report, false) == {"sandbox_tests_failed"}
}

test_failed_command_without_junit if {
	report := object.union(_report, {"exit_code": 2, "tests": {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}})
	_rules(report, false) == {"sandbox_command_failed"}
}

test_limit_hit_is_its_own_violation if {
	report := object.union(_report, {"exit_code": -9, "limit_hit": "memory"})
	_rules(report, false) == {"sandbox_limit_hit"}
}

test_network_attempt if {
	attempts := [{"family": "inet", "address": "10.1.2.3", "port": 443, "result": "ENETUNREACH"}]
	report := object.union(_report, {"network_attempted": true, "network_attempts": attempts})
	vs := _violations(report, false, "block")
	[v.message | some v in vs] == ["the sandboxed code tried to reach the network: 10.1.2.3:443"]
}

test_escape_is_critical if {
	report := object.union(_report, {"writes_outside_worktree": [{"path": "/etc/x", "call": "openat", "result": "ok"}]})
	vs := _violations(report, false, "block")
	[[v.rule, v.severity, v.path, v.blocking] | some v in vs] == [["sandbox_escape", "critical", "/etc/x", true]]
}

test_report_for_another_revision if {
	_rules(object.union(_report, {"head": "def"}), false) == {"sandbox_head_mismatch"}
}

test_report_for_an_earlier_commit_of_the_pr if {
	vs := sandbox.violations with input.sandbox as _report
		with input.commits as [{"sha": "abc"}, {"sha": "fed"}]
		with data.aigate.config.sandbox as {"required": false}
		with data.aigate.config.modes.sandbox as "block"
	[v.message | some v in vs] == ["the sandbox report is for abc, not the PR's head fed"]
}

test_head_unknown_without_commit_identities if {
	every commits in [[], [{"sha": ""}]] {
		vs := sandbox.violations with input.sandbox as _report
			with input.commits as commits
			with data.aigate.config.sandbox as {"required": false}
			with data.aigate.config.modes.sandbox as "block"
		vs == set()
	}
}

test_observe_mode_does_not_block if {
	report := object.union(_report, {"exit_code": -9, "limit_hit": "wall_time"})
	vs := _violations(report, false, "observe")
	[v.blocking | some v in vs] == [false]
}
