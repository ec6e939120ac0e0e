# METADATA
# title: The decision
# description: |
#   data.aigate.decision is exactly the document the host acts on. Only the decision's fields are
#   rules here; helpers live in the layer packages.
# entrypoint: true
package aigate.decision

import rego.v1

# Detection's verdict and signals, custom rules' signals included.
is_ai := data.aigate.extensions.is_ai

detection := {
	"is_ai": data.aigate.extensions.is_ai,
	"signals": data.aigate.extensions.all_signals,
	"checked": data.aigate.detection.checked,
	"matched": data.aigate.detection.matched,
	"unchecked": data.aigate.detection.unchecked,
}

default violations := []

# Custom rules' violations join the built-in layers'; exceptions mark what they waive.
violations := data.aigate.exceptions.apply_all(union({
	data.aigate.paths.violations,
	data.aigate.scope.violations,
	data.aigate.tests.violations,
	data.aigate.scanning.violations,
	data.aigate.sandbox.violations,
	data.aigate.protection.violations,
	data.aigate.extensions.violations,
})) if {
	data.aigate.detection.checks_apply
}

# A human PR (when not every check applies to humans) still answers for changing the gate itself.
violations := [v | some v in data.aigate.protection.violations] if {
	not data.aigate.detection.checks_apply
}

default risk := null

# Custom rules' required reviewers raise the approvals the tier asks for, and rule out auto-merge.
risk := data.aigate.risk.summary if {
	data.aigate.detection.checks_apply
	count(required_reviewers) == 0
} else := object.union(data.aigate.risk.summary, {
	"approvals": max([data.aigate.risk.summary.approvals, max([r.approvals | some r in required_reviewers])]),
	"auto_merge": false,
}) if {
	data.aigate.detection.checks_apply
}

# The agent detection names, and the per-agent override applied (null: none).
agent := {"name": data.aigate.extensions.agent_name, "override": data.aigate.agent.override}

# Which exceptions waived something, which expired, which waived nothing.
exceptions := data.aigate.exceptions.report({v.waiver.exception |
	some v in violations
	v.waived
	v.waiver.exception != null
})

default required_reviewers := []

required_reviewers := [r | some r in data.aigate.extensions.required_reviewers] if {
	data.aigate.detection.checks_apply
}

# What custom rules tried and were refused (they cannot weaken the gate unless the config allows).
custom := {"refused": [r | some r in data.aigate.extensions.refused]}

# block: any blocking violation. allow: no checks apply, the risk layer is not enforced, or the
# tier auto-merges without approvals (and no custom rule requires a reviewer). review: everything
# else, including anything unforeseen.
default outcome := "review"

outcome := "block" if {
	some v in violations
	v.blocking
} else := "allow" if {
	not data.aigate.detection.checks_apply
} else := "review" if {
	count(required_reviewers) > 0
} else := "allow" if {
	risk.mode != "block"
} else := "allow" if {
	risk.auto_merge
	risk.approvals == 0
}
