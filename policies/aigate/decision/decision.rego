# The decision itself: data.aigate.decision is exactly the document the host acts on.
# Only the decision's fields are rules here; helpers live in the layer packages.
package aigate.decision

import rego.v1

import data.aigate.detection as ai_detection
import data.aigate.paths
import data.aigate.risk as risk_layer
import data.aigate.scanning
import data.aigate.scope
import data.aigate.tests

is_ai := ai_detection.is_ai

detection := {"is_ai": ai_detection.is_ai, "signals": ai_detection.signals}

default violations := []

violations := [v | some v in ((paths.violations | scope.violations) | tests.violations) | scanning.violations] if {
	ai_detection.checks_apply
}

default risk := null

risk := risk_layer.summary if ai_detection.checks_apply

# block: any blocking violation. allow: no checks apply, the risk layer is not enforced, or the
# tier auto-merges without approvals. review: everything else, including anything unforeseen.
outcome := "block" if {
	some v in violations
	v.blocking
} else := "allow" if {
	not ai_detection.checks_apply
} else := "allow" if {
	risk.mode != "block"
} else := "allow" if {
	risk.auto_merge
	risk.approvals == 0
} else := "review"
