# Scanner findings: secrets, SAST, IaC, vulnerable dependencies and sandbox test failures.
package aigate.scanning

import rego.v1

_settings := data.aigate.lib.config.scanning

severities := ["critical", "high", "medium", "low", "info"]

# Every severity is counted by one native substring count over the findings' severities, joined
# with doubled newlines so that adjacent equal severities stay apart, instead of one pass over
# the findings per severity.
_severity_text := concat("", ["\n", concat("\n\n", [f.severity | some f in input.findings]), "\n"])

finding_counts := {severity: strings.count(_severity_text, concat("", ["\n", severity, "\n"])) |
	some severity in severities
}

new_dependencies := [dependency | some dependency in input.dependencies; dependency.change == "added"]

violations contains data.aigate.lib.violation("scanning", "scan_threshold", severity, message, null) if {
	some severity in severities
	limit := _settings.max_findings[severity]
	limit != null
	finding_counts[severity] > limit
	message := sprintf("%d %s-severity findings; at most %d allowed", [finding_counts[severity], severity, limit])
}

violations contains data.aigate.lib.violation("scanning", "secret_detected", "critical", message, finding.path) if {
	_settings.block_secrets
	some finding in input.findings
	finding.category == "secret"
	message := sprintf("%s reports a secret (%s)%s", [finding.tool, finding.rule_id, _location(finding)])
}

_location(finding) := sprintf(" at %s:%d", [finding.path, finding.line]) if {
	finding.path != null
	finding.line != null
} else := sprintf(" in %s", [finding.path]) if {
	finding.path != null
} else := ""
