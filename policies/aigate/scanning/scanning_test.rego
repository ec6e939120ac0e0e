package aigate.scanning_test

import rego.v1

import data.aigate.scanning

_finding(category, severity) := {
	"tool": "t", "category": category, "severity": severity, "rule_id": "R1",
	"message": "m", "path": "src/a.py", "line": 3,
}

# Every key set: OPA merges an object given with `with` into the data it replaces, regorus replaces it.
_no_thresholds := {c: null | some c in ["secret", "sast", "dependency", "iac", "other"]}

_settings := object.union(_full_settings, {
	"max_findings": {"critical": 0, "high": 0, "medium": 2, "low": null, "info": null},
	"block_on": _no_thresholds, "block_on_human": _no_thresholds,
})

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

# --- thresholds per category, diff-awareness, tests, required reports, coverage ---

_full_settings := {
	"max_findings": {"critical": null, "high": null, "medium": null, "low": null, "info": null},
	"block_secrets": true,
	"count_preexisting": false,
	"block_on": {
		"secret": {"severity": "low", "rank": 3}, "sast": {"severity": "medium", "rank": 2},
		"dependency": {"severity": "high", "rank": 1}, "iac": {"severity": "medium", "rank": 2},
		"other": {"severity": "high", "rank": 1},
	},
	"block_on_human": {
		"secret": {"severity": "low", "rank": 3}, "sast": {"severity": "high", "rank": 1},
		"dependency": {"severity": "critical", "rank": 0}, "iac": {"severity": "high", "rank": 1},
		"other": {"severity": "critical", "rank": 0},
	},
	"severity_rank": {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4},
	"required": [],
	"fail_on_tests": true,
	"min_changed_line_coverage": null,
}

_ai := {"labels": ["ai-generated"]}

_human := {"labels": []}

_rules(pr, findings) := rules if {
	is_ai := pr == _ai
	rules := {v.rule | some v in scanning.violations} with input as {"pr": pr, "files": [], "findings": findings}
		with data.aigate.config.scanning as _full_settings
		with data.aigate.detection.is_ai as is_ai
}

_f(category, severity, introduced) := object.union(_finding(category, severity), {"introduced": introduced})

test_ai_sast_medium_blocks_human_needs_high if {
	_rules(_ai, [_f("sast", "medium", true)]) == {"scan_block_on"}
	_rules(_human, [_f("sast", "medium", true)]) == set()
	_rules(_human, [_f("sast", "high", true)]) == {"scan_block_on"}
}

test_ai_dependency_high_blocks_human_needs_critical if {
	_rules(_ai, [_f("dependency", "high", true)]) == {"scan_block_on"}
	_rules(_ai, [_f("dependency", "medium", true)]) == set()
	_rules(_human, [_f("dependency", "high", true)]) == set()
	_rules(_human, [_f("dependency", "critical", true)]) == {"scan_block_on"}
}

test_ai_iac_medium_blocks_human_needs_high if {
	_rules(_ai, [_f("iac", "medium", true)]) == {"scan_block_on"}
	_rules(_ai, [_f("iac", "low", true)]) == set()
	_rules(_human, [_f("iac", "medium", true)]) == set()
	_rules(_human, [_f("iac", "high", true)]) == {"scan_block_on"}
}

test_secret_low_blocks_for_both if {
	_rules(_ai, [_f("secret", "low", true)]) == {"secret_detected"}
	_rules(_human, [_f("secret", "low", true)]) == {"secret_detected"}
}

test_preexisting_findings_do_not_count if {
	_rules(_ai, [_f("sast", "critical", false), _f("secret", "high", false)]) == set()
}

test_preexisting_findings_count_when_configured if {
	settings := object.union(_full_settings, {"count_preexisting": true})
	rules := {v.rule | some v in scanning.violations} with input as {"findings": [_f("sast", "critical", false)]}
		with data.aigate.config.scanning as settings
	rules == {"scan_block_on"}
}

test_one_violation_per_category_most_severe_first if {
	vs := scanning.violations with input as {"pr": _ai, "findings": [
		_f("sast", "medium", true), _f("sast", "critical", true), _f("iac", "high", true),
	]}
		with data.aigate.config.scanning as _full_settings
		with data.aigate.detection.is_ai as true
	{[v.rule, v.severity] | some v in vs} == {["scan_block_on", "critical"], ["scan_block_on", "high"]}
	some v in vs
	v.severity == "critical"
	startswith(v.message, "2 sast findings at or above medium, the threshold for AI-generated PRs: ")
}

test_failed_or_errored_tests_block if {
	inp := {"findings": [_f("test", "high", true)], "test_results": {"tests": 5, "failures": 1, "errors": 1, "skipped": 1}}
	vs := scanning.violations with input as inp with data.aigate.config.scanning as _full_settings
	[v.message | some v in vs; v.rule == "test_failed"] == ["1 sandbox tests failed and 1 errored: m"]
	count([v | some v in vs; v.rule == "scan_block_on"]) == 0
}

test_passing_tests_do_not_block if {
	inp := {"findings": [], "test_results": {"tests": 5, "failures": 0, "errors": 0, "skipped": 2}}
	count(scanning.violations) == 0 with input as inp with data.aigate.config.scanning as _full_settings
}

test_required_category_without_report if {
	settings := object.union(_full_settings, {"required": ["secret", "sast"]})
	scans := [
		{"tool": "aigate", "format": "builtin-secrets", "source": "diff", "categories": ["secret"], "findings": 0},
		{"tool": "semgrep", "format": "semgrep", "source": "s.json", "categories": ["sast"], "findings": 0},
	]
	vs := scanning.violations with input as {"findings": [], "scans": scans} with data.aigate.config.scanning as settings
	message := "no secret report was given, and scanning.required lists secret"
	[[v.rule, v.message] | some v in vs] == [["scan_missing", message]]
}

_builtin_report(unchecked) := {
	"tool": "aigate", "format": "builtin-secrets", "source": "diff",
	"categories": ["secret"], "findings": 0, "unchecked_lines": unchecked,
}

test_secret_check_over_its_budget_is_never_clean if {
	inp := {"findings": [], "scans": [_builtin_report(120)]}
	vs := scanning.violations with input as inp with data.aigate.config.scanning as _full_settings
	message := "aigate's secret check left 120 added lines unread (over its budget): give a secret scanner's report"
	[[v.rule, v.severity, v.message] | some v in vs] == [["secret_check_incomplete", "high", message]]
}

test_secret_check_within_budget_or_covered_by_a_scanner if {
	complete := {"findings": [], "scans": [_builtin_report(0)]}
	count(scanning.violations) == 0 with input as complete with data.aigate.config.scanning as _full_settings
	gitleaks := {"tool": "gitleaks", "format": "gitleaks", "source": "g.json", "categories": ["secret"], "findings": 0}
	covered := {"findings": [], "scans": [_builtin_report(120), gitleaks]}
	count(scanning.violations) == 0 with input as covered with data.aigate.config.scanning as _full_settings
}

test_changed_line_coverage_below_minimum if {
	settings := object.union(_full_settings, {"min_changed_line_coverage": 80})
	low := {"findings": [], "coverage": {"measured": 6, "covered": 1, "files": []}}
	message := "1 of 6 changed lines covered (16%); at least 80% required"
	[v.message | some v in scanning.violations] == [message] with input as low
		with data.aigate.config.scanning as settings
	enough := {"findings": [], "coverage": {"measured": 5, "covered": 4, "files": []}}
	count(scanning.violations) == 0 with input as enough with data.aigate.config.scanning as settings
	nothing_measured := {"findings": [], "coverage": {"measured": 0, "covered": 0, "files": []}}
	count(scanning.violations) == 0 with input as nothing_measured with data.aigate.config.scanning as settings
}

# --- new dependencies ---

_dependency_settings := object.union(_full_settings, {"dependencies": {
	"allow": ["pypi:internal-tool"], "deny": ["left-pad"], "min_age_days": 30, "require_pinned": true,
	"typosquat_max_distance": 1,
}})

_dep(name, registry, extra) := object.union(
	{
		"ecosystem": "pypi", "name": name, "version": "1.0", "change": "added", "manifest": "requirements.txt",
		"pinned": true, "registry": registry, "similar_to": null, "similar_distance": null,
	},
	extra,
)

_found := {"status": "found", "source": "registry", "age_days": 400}

_dependency_rules(deps) := rules if {
	rules := {[v.rule, v.blocking] | some v in scanning.violations} with input as {"findings": [], "dependencies": deps}
		with data.aigate.config.scanning as _dependency_settings
}

test_missing_package_is_hallucinated if {
	missing := {"status": "missing", "source": "registry", "age_days": null}
	_dependency_rules([_dep("fastjson-turbo", missing, {})]) == {["hallucinated_package", true]}
}

test_allowlisted_missing_package_passes if {
	missing := {"status": "missing", "source": "snapshot", "age_days": null}
	_dependency_rules([_dep("internal-tool", missing, {})]) == set()
}

test_removed_missing_package_is_not_checked if {
	missing := {"status": "missing", "source": "registry", "age_days": null}
	_dependency_rules([_dep("gone", missing, {"change": "removed"})]) == set()
}

test_denied_too_new_unpinned_typosquat if {
	_dependency_rules([_dep("left-pad", _found, {"ecosystem": "npm"})]) == {["dependency_denied", true]}
	young := {"status": "found", "source": "registry", "age_days": 3}
	_dependency_rules([_dep("young-lib", young, {})]) == {["dependency_too_new", true]}
	_dependency_rules([_dep("loose", _found, {"pinned": false})]) == {["dependency_not_pinned", true]}
	_dependency_rules([_dep("reqeusts", _found, {"similar_to": "requests", "similar_distance": 1})]) == {[
		"typosquat_suspect",
		true,
	]}
	_dependency_rules([_dep("reqxeusts", _found, {"similar_to": "requests", "similar_distance": 2})]) == set()
}

test_unreachable_registry_warns_without_blocking if {
	unreachable := {"status": "unreachable", "source": "registry", "age_days": null}
	_dependency_rules([_dep("requests", unreachable, {})]) == {["registry_unreachable", false]}
}
