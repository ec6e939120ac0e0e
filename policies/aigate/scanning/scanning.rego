# Scanner findings: secrets, SAST, IaC, vulnerable dependencies and sandbox test failures.
package aigate.scanning

import rego.v1

import data.aigate.lib

_settings := lib.config.scanning

severities := ["critical", "high", "medium", "low", "info"]

finding_counts := {severity: count([f | some f in input.findings; f.severity == severity]) |
	some severity in severities
}

new_dependencies := [dependency | some dependency in input.dependencies; dependency.change == "added"]

violations contains lib.violation("scanning", "scan_threshold", severity, message, null) if {
	some severity in severities
	limit := _settings.max_findings[severity]
	limit != null
	finding_counts[severity] > limit
	message := sprintf("%d %s-severity findings; at most %d allowed", [finding_counts[severity], severity, limit])
}

violations contains lib.violation("scanning", "secret_detected", "critical", message, finding.path) if {
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
