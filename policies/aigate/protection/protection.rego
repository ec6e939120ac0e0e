# The gate protects itself: a PR that changes the files steering the gate (its config, its
# policies, CI definitions, code owners, .gitattributes) is a violation of its own, and so is a
# config from the PR's own tree that tried to choose the gate's code, servers or files.
package aigate.protection

import rego.v1

_gate := data.aigate.lib.config.gate

# The protection applies wherever the other checks do, and to human PRs when configured.
applies if data.aigate.detection.checks_apply

applies if _gate.apply_to_human

# Changed paths (old and new path of a rename) that steer the gate.
gate_files := data.aigate.lib.batch_matches(_gate.files, data.aigate.lib.changed_batch)

violations contains data.aigate.lib.violation("paths", "gate_config_changed", "high", message, path) if {
	applies
	_gate.enabled
	some path in gate_files
	patterns := data.aigate.lib.patterns_matching(_gate.files, path)
	message := sprintf(
		"%s changes the gate itself (matches %s); it must be reviewed against the base revision's config",
		[path, concat(", ", patterns)],
	)
}

violations contains data.aigate.lib.violation("paths", "untrusted_setting", "high", message, null) if {
	applies
	some ignored in _gate.ignored_settings
	message := sprintf(
		"%s was set by a config from the tree being judged and was ignored; %s",
		[ignored.setting, "only the base revision's config or a --config outside the checkout may set it"],
	)
}
