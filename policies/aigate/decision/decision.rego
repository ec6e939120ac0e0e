# METADATA
# title: The decision
# description: |
#   data.aigate.decision is exactly the document the host acts on. Only the decision's fields are
#   rules here; helpers live in the layer packages.
# entrypoint: true
package aigate.decision

import rego.v1

is_ai := data.aigate.detection.is_ai

detection := {
	"is_ai": data.aigate.detection.is_ai,
	"signals": data.aigate.detection.signals,
	"checked": data.aigate.detection.checked,
	"matched": data.aigate.detection.matched,
	"unchecked": data.aigate.detection.unchecked,
}

default violations := []

violations := [v |
	some v in union({
		data.aigate.paths.violations,
		data.aigate.scope.violations,
		data.aigate.tests.violations,
		data.aigate.scanning.violations,
		data.aigate.sandbox.violations,
		data.aigate.protection.violations,
	})
] if {
	data.aigate.detection.checks_apply
}

# A human PR (when not every check applies to humans) still answers for changing the gate itself.
violations := [v | some v in data.aigate.protection.violations] if {
	not data.aigate.detection.checks_apply
}

default risk := null

risk := data.aigate.risk.summary if data.aigate.detection.checks_apply

# block: any blocking violation. allow: no checks apply, the risk layer is not enforced, or the
# tier auto-merges without approvals. review: everything else, including anything unforeseen.
default outcome := "review"

outcome := "block" if {
	some v in violations
	v.blocking
} else := "allow" if {
	not data.aigate.detection.checks_apply
} else := "allow" if {
	risk.mode != "block"
} else := "allow" if {
	risk.auto_merge
	risk.approvals == 0
}
