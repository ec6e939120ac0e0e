# The 0-100 risk score, factor by factor, and the review tier it falls in.
package aigate.risk

import rego.v1

import data.aigate.lib
import data.aigate.paths
import data.aigate.scanning
import data.aigate.scope
import data.aigate.tests

_weights := lib.config.risk.weights

_tiers := lib.config.risk.tiers

# A file counts as sensitive once, whether its new or (renamed) old path matched.
sensitive_files contains file.path if {
	some file in input.files
	paths.sensitive_paths[file.path]
}

sensitive_files contains file.path if {
	some file in input.files
	file.status == "renamed"
	paths.sensitive_paths[file.old_path]
}

_finding_weight(severity) := _weights.finding.high if severity == "critical"

_finding_weight(severity) := _weights.finding[severity] if severity != "critical"

_finding_points := sum([_finding_weight(finding.severity) | some finding in input.findings])

# In the order the score formula lists them; a factor worth 0 points is left out.
_candidate_factors := [
	{
		"name": "files_changed",
		"points": min([scope.files_changed * _weights.points_per_file, _weights.max_file_points]),
		"detail": sprintf("%d files changed", [scope.files_changed]),
	},
	{
		"name": "lines_added",
		"points": min([floor(scope.lines_added / _weights.lines_added_per_point), _weights.max_line_points]),
		"detail": sprintf("%d lines added", [scope.lines_added]),
	},
	{
		"name": "sensitive_paths",
		"points": count(sensitive_files) * _weights.sensitive_path,
		"detail": sprintf("%d sensitive files changed", [count(sensitive_files)]),
	},
	{
		"name": "new_dependencies",
		"points": count(scanning.new_dependencies) * _weights.new_dependency,
		"detail": sprintf("%d new dependencies", [count(scanning.new_dependencies)]),
	},
	{
		"name": "scan_findings",
		"points": _finding_points,
		"detail": sprintf("%d scanner findings", [count(input.findings)]),
	},
	{
		"name": "tests_included",
		"points": _tests_points,
		"detail": "the PR changes tests",
	},
]

_tests_points := _weights.tests_included if tests.includes_tests else := 0

factors := [factor | some factor in _candidate_factors; factor.points != 0]

score := max([0, min([100, sum([factor.points | some factor in factors])])])

# The first tier, in ascending threshold order, whose threshold is >= the score; past every
# threshold, the highest tier.
tier := eligible[0] if {
	eligible := [t | some t in _tiers; t.threshold >= score]
	count(eligible) > 0
} else := _tiers[count(_tiers) - 1]

summary := {
	"score": score,
	"factors": factors,
	"tier": tier.name,
	"approvals": tier.approvals,
	"auto_merge": tier.auto_merge,
	"require_security_team": tier.require_security_team,
	"mode": lib.config.modes.risk,
}
