package aigate.scanning_test

import rego.v1

import data.aigate.scanning

_finding(category, severity) := {
	"tool": "t", "category": category, "severity": severity, "rule_id": "R1",
	"message": "m", "path": "src/a.py", "line": 3,
}

_settings := {"max_findings": {"critical": 0, "high": 0, "medium": 2, "low": null, "info": null}, "block_secrets": true}

_violations(findings) := vs if {
	vs := scanning.violations with input.findings as findings with data.aigate.config.scanning as _settings
}

test_no_findings_pass if {
	_violations([]) == set()
}

test_one_high_over_zero if {
	{[v.rule, v.severity, v.message] | some v in _violations([_finding("sast", "high")])} == {[
		"scan_threshold", "high", "1 high-severity findings; at most 0 allowed",
	]}
}

test_medium_at_limit_passes if {
	_violations([_finding("sast", "medium"), _finding("iac", "medium")]) == set()
}

test_medium_over_limit if {
	fs := [_finding("sast", "medium"), _finding("iac", "medium"), _finding("sast", "medium")]
	{v.rule | some v in _violations(fs)} == {"scan_threshold"}
}

test_low_unlimited if {
	_violations([_finding("sast", "low") | some _ in numbers.range(1, 50)]) == set()
}

test_secret_blocks_whatever_its_severity if {
	{[v.rule, v.path, v.message] | some v in _violations([_finding("secret", "low")])} == {[
		"secret_detected", "src/a.py", "t reports a secret (R1) at src/a.py:3",
	]}
}

test_secret_not_blocked_when_disabled if {
	settings := object.union(_settings, {"block_secrets": false})
	count(scanning.violations) == 0 with input.findings as [_finding("secret", "low")]
		with data.aigate.config.scanning as settings
}

test_new_dependencies_only_added if {
	deps := [
		{"ecosystem": "npm", "name": "a", "version": "1", "change": "added"},
		{"ecosystem": "npm", "name": "b", "version": "2", "change": "updated"},
	]
	[d.name | some d in scanning.new_dependencies] == ["a"] with input.dependencies as deps
}
