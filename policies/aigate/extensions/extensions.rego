# Extension points for custom rules. A package `aigate.custom.<name>` (loaded from
# policy.custom_dir, next to the built-in policies) contributes to the decision through rules
# with these names, and every item says which custom rule produced it (`source`):
#
#   violations          {"rule", "message"?, "severity"?, "path"?, "layer"?}; the layer defaults to
#                       <name>, whose mode is policy.modes.<name> (else policy.mode)
#   signals             {"value", "pattern"?}: marks the PR as AI, like a detection signal
#   risk_factors        {"name", "points", "detail"?}: added to the risk score
#   required_reviewers  "reviewer", or {"reviewer", "reason"?, "approvals"?}: the PR needs their
#                       review, and at least `approvals` (default 1) approvals
#   waivers             {"rule", "path"?, "reason"}: lifts a violation; only with
#                       policy.custom_can_weaken, otherwise refused and reported
#
# A custom rule cannot weaken a built-in block unless the config says so: negative risk points
# and waivers are refused (and reported under `custom.refused`) while custom_can_weaken is false.
package aigate.extensions

import rego.v1

can_weaken := object.get(data.aigate.config, "custom_can_weaken", false)

_source(name, point) := sprintf("data.aigate.custom.%s.%s", [name, point])

# object.get for items that may be plain values ("@acme/dba" as well as {"reviewer": ...}).
_field(item, key, fallback) := object.get(item, key, fallback) if is_object(item)

else := fallback

violations contains _violation(name, v) if {
	some name, custom in data.aigate.custom
	some v in custom.violations
}

_violation(name, v) := {
	"rule": object.get(v, "rule", "custom_violation"),
	"layer": layer,
	"severity": object.get(v, "severity", "medium"),
	"message": object.get(v, "message", object.get(v, "rule", "custom violation")),
	"path": object.get(v, "path", null),
	"mode": data.aigate.lib.layer_mode(layer),
	"blocking": data.aigate.lib.layer_mode(layer) == "block",
	"source": _source(name, "violations"),
} if {
	is_object(v)
	layer := object.get(v, "layer", name)
} else := {
	# Anything but an object is still a violation (fail closed), in the custom layer's mode.
	"rule": "custom_violation",
	"layer": name,
	"severity": "medium",
	"message": sprintf("%v", [v]),
	"path": null,
	"mode": data.aigate.lib.layer_mode(name),
	"blocking": data.aigate.lib.layer_mode(name) == "block",
	"source": _source(name, "violations"),
}

signals contains {
	"kind": "custom",
	"value": sprintf("%v", [_field(s, "value", s)]),
	"pattern": sprintf("%v", [_field(s, "pattern", name)]),
	"source": _source(name, "signals"),
} if {
	some name, custom in data.aigate.custom
	some s in custom.signals
}

# Detection's verdict and signals with custom rules' signals counted too (for the decision: the
# agent, and so lib.config, is named from built-in detection alone).
default is_ai := false

is_ai if data.aigate.detection.is_ai

is_ai if count(signals) > 0

all_signals := data.aigate.detection.signals | signals

# The agent the decision names. data.aigate.agent names it from built-in detection alone (the
# config custom rules read depends on it), so a PR only a custom signal marks as AI is `unknown`.
agent_name := "unknown" if {
	data.aigate.agent.name == "human"
	is_ai
} else := data.aigate.agent.name

# The `human` override was chosen before custom signals counted; it must not judge an AI PR.
# Blocking whatever the modes say: the override that set them is the one in question.
violations contains {
	"rule": "human_override_on_ai_pr",
	"layer": "detection",
	"severity": "high",
	"message": concat("", [
		"a custom signal marks this PR as AI, but it was judged with overrides.human; ",
		"name its agent in detection.agents, or drop overrides.human",
	]),
	"path": null,
	"mode": "block",
	"blocking": true,
} if {
	data.aigate.agent.override == "human"
	is_ai
}

_factors contains {
	"name": f.name,
	"points": f.points,
	"detail": _field(f, "detail", f.name),
	"source": _source(name, "risk_factors"),
} if {
	some name, custom in data.aigate.custom
	some f in custom.risk_factors
}

risk_factors contains f if {
	some f in _factors
	_allowed_points(f.points)
}

_allowed_points(points) if points >= 0

_allowed_points(_) if can_weaken

required_reviewers contains {
	"reviewer": sprintf("%v", [_field(r, "reviewer", r)]),
	"reason": sprintf("%v", [_field(r, "reason", "")]),
	"approvals": _field(r, "approvals", 1),
	"source": _source(name, "required_reviewers"),
} if {
	some name, custom in data.aigate.custom
	some r in custom.required_reviewers
}

waivers contains {
	"rule": w.rule,
	"path": _field(w, "path", null),
	"reason": _field(w, "reason", ""),
	"source": _source(name, "waivers"),
} if {
	some name, custom in data.aigate.custom
	some w in custom.waivers
}

# covering(v) lists the custom waivers that would lift violation v.
covering(v) := [w | some w in waivers; w.rule == v.rule; _waiver_path(w, v)]

_waiver_path(w, _) if w.path == null

_waiver_path(w, v) if w.path == v.path

# What custom rules tried and were refused, because policy.custom_can_weaken is false.
refused contains {"source": f.source, "item": f.name, "reason": "negative risk points lower the score"} if {
	not can_weaken
	some f in _factors
	f.points < 0
}

refused contains {
	"source": w.source,
	"item": sprintf("waiver of %s at %v", [w.rule, w.path]),
	"reason": "a custom waiver cannot lift a violation",
} if {
	not can_weaken
	some w in waivers
}
