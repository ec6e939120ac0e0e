package aigate.risk_test

import rego.v1

import data.aigate.risk

_file(path, added) := {
	"path": path,
	"old_path": null,
	"status": "modified",
	"binary": false,
	"added": added,
	"removed": 0,
}

_files(n, added) := [_file(sprintf("docs/f%d.md", [i]), added) | some i in numbers.range(1, n)]

_finding(severity) := {
	"tool": "t",
	"category": "sast",
	"severity": severity,
	"rule_id": "r",
	"message": "m",
	"path": null,
	"line": null,
}

_points(inp) := points if {
	factors := risk.factors with input as object.union({"files": [], "findings": [], "dependencies": []}, inp)
	points := {f.name: f.points | some f in factors; f.name != "no_changes"}
}

test_files_two_points_each if {
	_points({"files": _files(3, 0)}) == {"files_changed": 6}
}

test_files_capped_at_20 if {
	_points({"files": _files(11, 0)}) == {"files_changed": 20}
}

test_lines_floor_of_fifty if {
	_points({"files": [_file("docs/a.md", 149)]}) == {"files_changed": 2, "lines_added": 2}
}

test_lines_capped_at_20 if {
	_points({"files": [_file("docs/a.md", 5000)]}) == {"files_changed": 2, "lines_added": 20}
}

test_sensitive_path_15_each if {
	_points({"files": [_file("src/auth/a.ts", 0), _file(".github/ci.yml", 0)]}) == {
		"files_changed": 4,
		"sensitive_paths": 30,
	}
}

test_renamed_sensitive_file_counts_once if {
	renamed := object.union(_file("src/auth/b.ts", 0), {"old_path": "src/auth/a.ts", "status": "renamed"})
	_points({"files": [renamed]}) == {"files_changed": 2, "sensitive_paths": 15}
}

test_new_dependency_5_each if {
	deps := [
		{"ecosystem": "pypi", "name": "a", "version": "1", "change": "added"},
		{"ecosystem": "pypi", "name": "b", "version": "1", "change": "added"},
		{"ecosystem": "pypi", "name": "c", "version": "1", "change": "removed"},
	]
	_points({"dependencies": deps}) == {"new_dependencies": 10}
}

test_findings_by_severity_critical_as_high if {
	fs := [_finding("critical"), _finding("high"), _finding("medium"), _finding("low"), _finding("info")]
	_points({"findings": fs}) == {"scan_findings": 55}
}

test_tests_subtract_ten_not_below_zero if {
	inp := {"files": [_file("tests/test_a.py", 5)], "findings": [], "dependencies": []}
	_points(inp) == {"files_changed": 2, "tests_included": -10}
	risk.score == 0 with input as inp
}

test_empty_or_tiny_test_file_earns_no_credit if {
	# An empty file under tests/ (or a one-line stub) cannot buy the credit.
	_points({"files": [_file("src/app.py", 100), _file("tests/test_app.py", 0)]}) == {"files_changed": 4, "lines_added": 2}
	_points({"files": [_file("src/app.py", 100), _file("tests/test_app.py", 4)]}) == {"files_changed": 4, "lines_added": 2}
	_points({"files": [_file("src/app.py", 100), _file("tests/test_app.py", 5)]}) == {
		"files_changed": 4, "lines_added": 2, "tests_included": -10,
	}
}

test_binary_or_deleted_test_file_earns_no_credit if {
	binary := object.union(_file("tests/fixture_test.bin", 0), {"binary": true})
	deleted := object.union(_file("tests/test_old.py", 0), {"status": "deleted", "removed": 40})
	_points({"files": [binary, deleted]}) == {"files_changed": 4}
}

test_tests_never_offset_sensitive_paths if {
	# A test under auth/ is sensitive itself, and a test elsewhere cannot cancel a sensitive change.
	_points({"files": [_file("src/auth/oauth.py", 30), _file("src/auth/test_oauth.py", 40)]}) == {
		"files_changed": 4, "lines_added": 1, "sensitive_paths": 30,
	}
	_points({"files": [_file("src/auth/oauth.py", 30), _file("tests/test_oauth.py", 40)]}) == {
		"files_changed": 4, "lines_added": 1, "sensitive_paths": 15,
	}
}

test_empty_change_is_never_auto_merged if {
	inp := {"files": [], "findings": [], "dependencies": []}
	risk.summary.auto_merge == false with input as inp
	risk.summary.tier == "low" with input as inp
	{f.name | some f in risk.summary.factors} == {"no_changes"} with input as inp
}

test_score_capped_at_100 if {
	fs := [_finding("high") | some _ in numbers.range(1, 10)]
	risk.score == 100 with input as {"files": [], "findings": fs, "dependencies": []}
}

# The tier for a score of 5 * n, made of n low-severity findings.
_tier_for_low_findings(n) := name if {
	inp := {"files": [], "findings": [_finding("low") | some _ in numbers.range(1, n)], "dependencies": []}
	risk.score == 5 * n with input as inp
	name := risk.tier.name with input as inp
}

test_tier_boundaries if {
	risk.tier.name == "low" with input as {"files": [], "findings": [], "dependencies": []}
	_tier_for_low_findings(6) == "low" # 30
	_tier_for_low_findings(7) == "medium" # 35
	_tier_for_low_findings(14) == "medium" # 70
	_tier_for_low_findings(15) == "high" # 75
	_tier_for_low_findings(20) == "high" # 100
}

test_score_past_every_threshold_takes_highest_tier if {
	tiers := [{"name": "low", "threshold": 10, "approvals": 0, "auto_merge": true, "require_security_team": false}]
	fs := [_finding("high"), _finding("high")]
	risk.tier.name == "low" with input as {"files": [], "findings": fs, "dependencies": []}
		with data.aigate.config.risk.tiers as tiers
}

# --- review.minimum_tier floors and auto-merge only on clean scans ---

test_sensitive_path_raises_low_score_to_medium if {
	inp := {"files": [_file("src/auth/a.ts", 1)], "findings": [], "dependencies": []}
	risk.score == 17 with input as inp
	risk.score_tier.name == "low" with input as inp
	risk.summary.tier == "medium" with input as inp
	risk.summary.raised_by == ["sensitive_path"] with input as inp
	risk.summary.auto_merge == false with input as inp
}

test_new_dependency_raises_to_medium if {
	dependency := {"ecosystem": "npm", "name": "a", "version": "1", "change": "added"}
	inp := {"files": [], "findings": [], "dependencies": [dependency]}
	[risk.score, risk.summary.tier] == [5, "medium"] with input as inp
	risk.summary.raised_by == ["new_dependency"] with input as inp
}

test_gate_config_change_raises_to_medium if {
	inp := {"files": [_file("service/.ai-code-gate.yml", 1)], "findings": [], "dependencies": []}
	risk.summary.raised_by == ["gate_config"] with input as inp
	risk.summary.tier == "medium" with input as inp
}

test_submodule_raises_to_medium if {
	added := object.union(_file("vendor/lib", 0), {"status": "added", "old_mode": null, "new_mode": "160000"})
	inp := {"files": [added], "findings": [], "dependencies": []}
	risk.summary.raised_by == ["submodule"] with input as inp
	risk.summary.tier == "medium" with input as inp
	risk.summary.auto_merge == false with input as inp
}

test_submodule_moved_to_another_commit_raises_to_medium if {
	bumped := object.union(_file("vendor/lib", 1), {"old_mode": "160000", "new_mode": "160000"})
	risk.summary.raised_by == ["submodule"] with input as {"files": [bumped], "findings": [], "dependencies": []}
}

test_submodule_removed_or_file_is_no_floor if {
	removed := object.union(_file("vendor/lib", 0), {"status": "deleted", "old_mode": "160000", "new_mode": null})
	plain := object.union(_file("docs/a.md", 1), {"old_mode": "100644", "new_mode": "100644"})
	inp := {"files": [removed, plain], "findings": [], "dependencies": []}
	risk.summary.raised_by == [] with input as inp
	risk.summary.tier == "low" with input as inp
}

test_floor_off_when_null if {
	inp := {"files": [_file("src/auth/a.ts", 1)], "findings": [], "dependencies": []}

	# Every key set: OPA merges an object given with `with` into the data it replaces.
	off := {"sensitive_path": null, "new_dependency": null, "gate_config": null, "submodule": null}
	risk.summary.tier == "low" with input as inp with data.aigate.config.risk.minimum_tier as off
}

test_floor_never_lowers_a_higher_tier if {
	fs := [_finding("high") | some _ in numbers.range(1, 5)]
	inp := {"files": [_file("src/auth/a.ts", 1)], "findings": fs, "dependencies": []}
	risk.summary.tier == "high" with input as inp
}

test_low_tier_with_a_finding_is_not_auto_merged if {
	clean := {"files": [_file("docs/a.md", 1)], "findings": [], "dependencies": []}
	risk.summary.auto_merge == true with input as clean
	with_low := {"files": [_file("docs/a.md", 1)], "findings": [_finding("low")], "dependencies": []}
	risk.summary.tier == "low" with input as with_low
	risk.summary.auto_merge == false with input as with_low
	info_only := {"files": [_file("docs/a.md", 1)], "findings": [_finding("info")], "dependencies": []}
	risk.summary.auto_merge == true with input as info_only
}

test_auto_merge_threshold_configurable if {
	inp := {"files": [_file("docs/a.md", 1)], "findings": [_finding("low")], "dependencies": []}
	risk.summary.auto_merge == true with input as inp with data.aigate.config.risk.auto_merge_max_severity as "medium"
	risk.summary.auto_merge == true with input as inp with data.aigate.config.risk.auto_merge_max_severity as null
	risk.summary.auto_merge == true with input as inp with data.aigate.config.modes.scanning as "observe"
}

test_preexisting_finding_does_not_hold_auto_merge if {
	old := object.union(_finding("high"), {"introduced": false})
	inp := {"files": [_file("docs/a.md", 1)], "findings": [old], "dependencies": []}
	risk.summary.auto_merge == true with input as inp
	risk.score == 2 with input as inp
}
