# The 0-100 risk score, factor by factor, and the review tier it falls in.
package aigate.risk

import rego.v1

_weights := data.aigate.lib.config.risk.weights

_tiers := data.aigate.lib.config.risk.tiers

_sensitive_paths := data.aigate.paths.sensitive_paths

# A file counts as sensitive once, whether its new or (renamed) old path matched. Both parts
# walk the (few) sensitive paths and renamed files, not every file.
sensitive_files := ({path | some path in _sensitive_paths; data.aigate.lib.file_paths[path]} | {file.path |
	some file in data.aigate.lib.renamed_files
	_sensitive_paths[file.old_path]
}) | {file.path |
	some file in data.aigate.lib.copied_files
	_sensitive_paths[file.old_path]
}

# Points per finding by severity, from the counts: critical counts as high, a severity without a
# weight scores nothing.
_finding_points := sum([
	(_counts.critical + _counts.high) * object.get(_weights.finding, "high", 0),
	_counts.medium * object.get(_weights.finding, "medium", 0),
	_counts.low * object.get(_weights.finding, "low", 0),
	_counts.info * object.get(_weights.finding, "info", 0),
])

_counts := data.aigate.scanning.finding_counts

# In the order the score formula lists them; a factor worth 0 points is left out.
_candidate_factors := [
	{
		"name": "files_changed",
		"points": min([data.aigate.scope.files_changed * _weights.points_per_file, _weights.max_file_points]),
		"detail": sprintf("%d files changed", [data.aigate.scope.files_changed]),
	},
	{
		"name": "lines_added",
		"points": min([
			floor(data.aigate.scope.lines_added / _weights.lines_added_per_point),
			_weights.max_line_points,
		]),
		"detail": sprintf("%d lines added", [data.aigate.scope.lines_added]),
	},
	{
		"name": "sensitive_paths",
		"points": count(sensitive_files) * _weights.sensitive_path,
		"detail": sprintf("%d sensitive files changed", [count(sensitive_files)]),
	},
	{
		"name": "new_dependencies",
		"points": count(data.aigate.scanning.new_dependencies) * _weights.new_dependency,
		"detail": sprintf("%d new dependencies", [count(data.aigate.scanning.new_dependencies)]),
	},
	{
		"name": "scan_findings",
		"points": _finding_points,
		"detail": sprintf("%d scanner findings", [count(input.findings)]),
	},
	{
		"name": "tests_included",
		"points": _tests_points,
		"detail": sprintf("%d test files with added test code", [count(credited_test_files)]),
	},
]

# The tests credit is earned, not bought:
# - only by a test file with real added test code: present, not binary, with at least
#   `tests_min_added_lines` added lines (an empty file under tests/ earns nothing);
# - never when the PR changes a sensitive file: tests do not make an auth or CI change less risky,
#   so a test under auth/ cannot cancel its own sensitive points, and neither can a test elsewhere.
# The test patterns are matched only when the credit is worth points.
default _tests_points := 0

_tests_points := _weights.tests_included if {
	_weights.tests_included != 0
	count(sensitive_files) == 0
	count(credited_test_files) > 0
}

_file_by_path := {file.path: file | some file in input.files}

credited_test_files := {path |
	some path in data.aigate.tests.changed_test_files
	file := _file_by_path[path]
	not file.binary
	file.added >= _weights.tests_min_added_lines
}

# A PR that changes nothing is never auto-merged: for an AI PR an empty diff means a wrong diff
# source or a change made elsewhere, and a person decides. Listed as a factor worth 0 points.
_empty_change if count(input.files) == 0

default _empty_factors := []

_empty_factors := [{"name": "no_changes", "points": 0, "detail": "the PR changes no file: never auto-merged"}] if {
	_empty_change
}

# Custom rules' risk factors (data.aigate.custom.<name>.risk_factors) count after the built-in ones.
factors := array.concat(
	array.concat([factor | some factor in _candidate_factors; factor.points != 0], _empty_factors),
	[factor | some factor in data.aigate.extensions.risk_factors],
)

score := max([0, min([100, sum([factor.points | some factor in factors])])])

# The first tier, in ascending threshold order, whose threshold is >= the score; past every
# threshold, the highest tier.
score_tier := eligible[0] if {
	eligible := [t | some t in _tiers; t.threshold >= score]
	count(eligible) > 0
} else := _tiers[count(_tiers) - 1]

# review.minimum_tier: reasons that hold a PR at a tier or above whatever its score.
_floors := data.aigate.lib.config.risk.minimum_tier

minimum_tier_reasons contains "sensitive_path" if {
	_floors.sensitive_path.index >= 0
	count(sensitive_files) > 0
}

minimum_tier_reasons contains "new_dependency" if {
	_floors.new_dependency.index >= 0
	count(data.aigate.scanning.new_dependencies) > 0
}

# A submodule added or moved to another commit brings code from elsewhere that the diff does not show.
minimum_tier_reasons contains "submodule" if {
	_floors.submodule.index >= 0
	some file in input.files
	file.status != "deleted"
	file.new_mode == "160000"
}

minimum_tier_reasons contains "gate_config" if {
	_floors.gate_config.index >= 0
	count(data.aigate.lib.batch_matches(data.aigate.lib.config.risk.gate_config, data.aigate.lib.changed_batch)) > 0
}

_score_tier_index := [i | some i, t in _tiers; t.name == score_tier.name][0]

# The score's tier, raised to the highest floor that applies.
tier := _tiers[max({_score_tier_index} | {_floors[reason].index | some reason in minimum_tier_reasons})]

# Auto-merge only when the scans are clean: no counted finding at or above
# review.auto_merge_max_severity. A scanning layer in observe mode only records.
auto_merge_held if {
	data.aigate.lib.config.modes.scanning != "observe"
	threshold := data.aigate.lib.config.risk.auto_merge_max_severity
	threshold != null
	limit := data.aigate.lib.config.scanning.severity_rank[threshold]
	some finding in data.aigate.scanning.counted_findings
	data.aigate.lib.config.scanning.severity_rank[finding.severity] <= limit
}

default auto_merge := false

auto_merge if {
	tier.auto_merge
	not auto_merge_held
	not _empty_change
}

summary := {
	"score": score,
	"factors": factors,
	"tier": tier.name,
	"approvals": tier.approvals,
	"auto_merge": auto_merge,
	"require_security_team": tier.require_security_team,
	"mode": data.aigate.lib.config.modes.risk,
	"raised_by": sort([reason | some reason in minimum_tier_reasons]),
	"sensitive_files": sort(sensitive_files),
}
