# Scanner findings: secrets, SAST, IaC, vulnerable dependencies and sandbox test failures.
package aigate.scanning

import rego.v1

_settings := data.aigate.lib.config.scanning

severities := ["critical", "high", "medium", "low", "info"]

# Every severity is counted by one native substring count over the findings' severities, joined
# with doubled newlines so that adjacent equal severities stay apart, instead of one pass over
# the findings per severity.
_severity_text := concat("", ["\n", concat("\n\n", [f.severity | some f in counted_findings]), "\n"])

finding_counts := {severity: strings.count(_severity_text, concat("", ["\n", severity, "\n"])) |
	some severity in severities
}

new_dependencies := [dependency | some dependency in input.dependencies; dependency.change == "added"]

# The findings that count: those the PR introduced (on a line or dependency it added or changed),
# or every finding with scanning.count_preexisting. A finding that does not say counts.
counted_findings := input.findings if {
	_settings.count_preexisting
} else := input.findings if {
	count(_preexisting) == 0
} else := [f | some f in input.findings; not f.introduced == false]

_preexisting := [f | some f in input.findings; f.introduced == false]

violations contains data.aigate.lib.violation("scanning", "scan_threshold", severity, message, null) if {
	some severity in severities
	limit := _settings.max_findings[severity]
	limit != null
	finding_counts[severity] > limit
	message := sprintf("%d %s-severity findings; at most %d allowed", [finding_counts[severity], severity, limit])
}

violations contains object.union(_secret_detected, {"message": message, "path": finding.path}) if {
	_settings.block_secrets
	some finding in counted_findings
	finding.category == "secret"
	message := sprintf("%s reports a secret (%s)%s", [finding.tool, finding.rule_id, _location(finding)])
}

_secret_detected := data.aigate.lib.violation_template("scanning", "secret_detected", "critical")

_location(finding) := sprintf(" at %s:%d", [finding.path, finding.line]) if {
	finding.path != null
	finding.line != null
} else := sprintf(" in %s", [finding.path]) if {
	finding.path != null
} else := ""

# Per category, the lowest severity that blocks: AI PRs get scanning.block_on, human PRs (checked
# only with policy.apply_to_human) scanning.block_on_human, which config validation keeps as lax or laxer.
block_on := _settings.block_on if {
	data.aigate.detection.is_ai
} else := _settings.block_on_human

default _who := "human"

_who := "AI-generated" if data.aigate.detection.is_ai

# A category without a threshold of its own uses "other"; test failures and (while block_secrets is
# on) secrets have rules of their own. Whether a category's findings of a severity reach its threshold
# is decided once per category present and severity, not per finding (measured: per finding, 88 ms
# of the decision on 10,000 findings).
_over_pair(category, severity) if {
	category != "test"
	not _secret_ruled(category)
	threshold := object.get(block_on, category, block_on.other)
	threshold != null
	_settings.severity_rank[severity] <= threshold.rank
}

_secret_ruled("secret") if _settings.block_secrets

# Per category with findings, the severities that reach its threshold.
_over_severities := {category: over |
	some category in {f.category | some f in counted_findings}
	over := {severity | some severity in severities; _over_pair(category, severity)}
	count(over) > 0
}

default findings_over_threshold := []

findings_over_threshold := [f |
	some f in counted_findings
	f.severity in _over_severities[f.category]
] if {
	count(_over_severities) > 0
}

# Per category over its threshold, its findings at or above it, in order: one pass per such category.
_over_by_category := {category: over |
	some category, over_severities in _over_severities
	over := [f | some f in counted_findings; f.category == category; f.severity in over_severities]
	count(over) > 0
}

violations contains data.aigate.lib.violation("scanning", "scan_block_on", severity, message, null) if {
	some category, over in _over_by_category
	threshold := object.get(block_on, category, block_on.other)
	severity := _most_severe({f.severity | some f in over})
	message := sprintf("%d %s findings at or above %s, the threshold for %s PRs: %s", [
		count(over), category, threshold.severity, _who,
		concat("; ", [_describe(f) | some f in array.slice(over, 0, 5)]),
	])
}

# The most severe of a set of severities.
_most_severe(present) := [severity | some severity in severities; present[severity]][0]

_describe(finding) := sprintf("%s %s (%s)%s", [finding.tool, finding.rule_id, finding.severity, _location(finding)])

# A failed or errored sandbox test blocks.
violations contains data.aigate.lib.violation("scanning", "test_failed", "high", message, null) if {
	_settings.fail_on_tests
	failing := object.get(input, "test_results", null)
	failing != null
	failing.failures + failing.errors > 0
	names := [f.message | some f in input.findings; f.category == "test"]
	message := sprintf("%d sandbox tests failed and %d errored: %s", [
		failing.failures, failing.errors, concat("; ", array.slice(names, 0, 5)),
	])
}

# Each category scanning.required lists needs a report (aigate's built-in secret check is not one).
reported_categories := {category |
	some report in object.get(input, "scans", [])
	report.format != "builtin-secrets"
	some category in report.categories
}

violations contains data.aigate.lib.violation("scanning", "scan_missing", "high", message, null) if {
	some category in _settings.required
	not reported_categories[category]
	message := sprintf("no %s report was given, and scanning.required lists %s", [category, category])
}

# aigate's own secret check reads a bounded number of added lines (scanning.builtin_secrets.max_added_lines):
# lines past it were never looked at, so a PR that large is not clean unless a secret scanner covered it.
violations contains data.aigate.lib.violation("scanning", "secret_check_incomplete", "high", message, null) if {
	not reported_categories.secret
	some report in object.get(input, "scans", [])
	report.format == "builtin-secrets"
	unchecked := object.get(report, "unchecked_lines", 0)
	unchecked > 0
	message := sprintf(
		"aigate's secret check left %d added lines unread (over its budget): give a secret scanner's report",
		[unchecked],
	)
}

# Coverage of the added lines a coverage report measures, against scanning.min_changed_line_coverage.
changed_line_coverage := floor((100 * input.coverage.covered) / input.coverage.measured) if {
	input.coverage.measured > 0
}

violations contains data.aigate.lib.violation("scanning", "changed_line_coverage", "medium", message, null) if {
	minimum := _settings.min_changed_line_coverage
	minimum != null
	input.coverage.measured > 0
	100 * input.coverage.covered < minimum * input.coverage.measured
	message := sprintf("%d of %d changed lines covered (%d%%); at least %v%% required", [
		input.coverage.covered, input.coverage.measured, changed_line_coverage, minimum,
	])
}

# --- New dependencies: registry existence, allow/deny lists, age, pinning, typo-squats ---

_dependency_settings := _settings.dependencies

# Added or updated: the dependencies a PR brings in.
incoming_dependencies := [d | some d in input.dependencies; d.change != "removed"]

_listed(names, dependency) if lower(dependency.name) in names

_listed(names, dependency) if concat(":", [dependency.ecosystem, lower(dependency.name)]) in names

_allowed(dependency) if _listed(_dependency_settings.allow, dependency)

_describe_dependency(d) := sprintf("%s %s%s (%s)", [d.ecosystem, d.name, _version(d), _manifest(d)])

_version(d) := sprintf(" %s", [d.version]) if {
	d.version != null
} else := ""

_manifest(d) := d.manifest if {
	d.manifest != null
} else := "given"

# A package its registry does not know: a name an AI invented or mistyped. Blocking, whatever the mode
# of the thresholds: it is a violation of its own.
violations contains data.aigate.lib.violation("scanning", "hallucinated_package", "critical", message, d.manifest) if {
	some d in incoming_dependencies
	d.registry.status == "missing"
	not _allowed(d)
	message := sprintf("%s does not exist in its registry (%s)", [_describe_dependency(d), d.registry.source])
}

violations contains data.aigate.lib.violation("scanning", "dependency_denied", "high", message, d.manifest) if {
	some d in incoming_dependencies
	_listed(_dependency_settings.deny, d)
	message := sprintf("%s is on the deny list (scanning.dependencies.deny)", [_describe_dependency(d)])
}

violations contains data.aigate.lib.violation("scanning", "dependency_too_new", "high", message, d.manifest) if {
	minimum := _dependency_settings.min_age_days
	minimum != null
	some d in incoming_dependencies
	d.registry.age_days != null
	d.registry.age_days < minimum
	not _allowed(d)
	message := sprintf("%s was first published %d days ago; at least %d required", [
		_describe_dependency(d), d.registry.age_days, minimum,
	])
}

violations contains data.aigate.lib.violation("scanning", "dependency_not_pinned", "medium", message, d.manifest) if {
	_dependency_settings.require_pinned
	some d in incoming_dependencies
	d.pinned == false
	message := sprintf("%s is not pinned to an exact version", [_describe_dependency(d)])
}

violations contains data.aigate.lib.violation("scanning", "typosquat_suspect", "high", message, d.manifest) if {
	distance := _dependency_settings.typosquat_max_distance
	distance != null
	some d in incoming_dependencies
	d.similar_to != null
	d.similar_distance <= distance
	not _allowed(d)
	message := sprintf("%s is %d edit(s) from the popular package %s: a typo-squat?", [
		_describe_dependency(d), d.similar_distance, d.similar_to,
	])
}

# scanning.dependencies.registry.unreachable: warn. Reported, never blocking.
violations contains v if {
	some d in incoming_dependencies
	d.registry.status == "unreachable"
	message := sprintf("the %s registry could not be reached to check %s", [d.ecosystem, _describe_dependency(d)])
	v := object.union(
		data.aigate.lib.violation("scanning", "registry_unreachable", "medium", message, d.manifest),
		{"mode": "warn", "blocking": false},
	)
}
