package aigate.protection_test

import rego.v1

_file(path) := {"path": path, "status": "modified", "added": 1, "removed": 0}

_ai_pr(files) := {"pr": {"labels": ["ai-generated"]}, "files": files, "commits": []}

_rules(result) := {[v.rule, v.path] | some v in result}

test_config_change_is_flagged_for_ai_pr if {
	result := data.aigate.protection.violations with input as _ai_pr([_file(".ai-code-gate.yml"), _file("src/a.py")])
	_rules(result) == {["gate_config_changed", ".ai-code-gate.yml"]}
}

test_workflows_owners_and_attributes_are_gate_files if {
	files := [
		_file(".github/workflows/ci.yml"), _file("docs/CODEOWNERS"), _file("sub/.gitattributes"),
		_file(".gitlab-ci.yml"), _file("src/.github/workflows/x.yml"),
	]
	result := data.aigate.protection.violations with input as _ai_pr(files)
	_rules(result) == {
		["gate_config_changed", ".github/workflows/ci.yml"],
		["gate_config_changed", "docs/CODEOWNERS"],
		["gate_config_changed", "sub/.gitattributes"],
		["gate_config_changed", ".gitlab-ci.yml"],
	}
}

test_a_nested_config_file_is_not_the_gate_config if {
	result := data.aigate.protection.violations with input as _ai_pr([_file("examples/.ai-code-gate.yml")])
	count(result) == 0
}

test_renamed_away_config_counts_under_its_old_path if {
	renamed := {"path": "old.yml", "old_path": ".ai-code-gate.yml", "status": "renamed", "added": 0, "removed": 0}
	result := data.aigate.protection.violations with input as _ai_pr([renamed])
	_rules(result) == {["gate_config_changed", ".ai-code-gate.yml"]}
}

test_human_pr_is_not_flagged_by_default if {
	human := {"pr": {"labels": []}, "files": [_file(".ai-code-gate.yml")], "commits": []}
	result := data.aigate.protection.violations with input as human
	count(result) == 0
}

test_human_pr_is_flagged_when_configured if {
	human := {"pr": {"labels": []}, "files": [_file(".ai-code-gate.yml")], "commits": []}
	result := data.aigate.protection.violations with input as human
		with data.aigate.config.gate.apply_to_human as true
	_rules(result) == {["gate_config_changed", ".ai-code-gate.yml"]}
}

test_disabled_protection_flags_no_change if {
	result := data.aigate.protection.violations with input as _ai_pr([_file(".ai-code-gate.yml")])
		with data.aigate.config.gate.enabled as false
	count(result) == 0
}

test_ignored_settings_are_flagged if {
	ignored := [{"setting": "policy.policy_dir", "value": "evil"}]
	result := data.aigate.protection.violations with input as _ai_pr([])
		with data.aigate.config.gate.ignored_settings as ignored
	_rules(result) == {["untrusted_setting", null]}
	some v in result
	contains(v.message, "policy.policy_dir")
	v.blocking
}
