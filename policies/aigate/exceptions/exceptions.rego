# Exceptions from the config: each waives one rule for given paths (and optionally agents) until
# its `expires` day, with a reason and an owner. A waived violation stays in the decision, marked
# `waived` and not blocking. Expired and unused exceptions are reported.
package aigate.exceptions

import rego.v1

_entries := data.aigate.config.exceptions

# The evaluation day (YYYY-MM-DD): the gate sets input.evaluated_on whenever exceptions exist.
_today := object.get(input, "evaluated_on", null)

# In force through its `expires` day. Without an evaluation day nothing is in force: the gate
# cannot tell, and fails closed.
in_force(entry) if {
	is_string(_today)
	entry.expires >= _today
}

# covering(v) lists the exceptions in force that waive violation v, in config order.
covering(v) := [entry |
	some entry in _entries
	entry.rule == v.rule
	in_force(entry)
	_covers_path(entry, v)
	_covers_agent(entry)
]

# No `paths`: the rule is waived wherever it fires, pathless violations included.
_covers_path(entry, _) if entry.paths == null

_covers_path(entry, v) if {
	entry.paths != null
	is_string(v.path)
	regex.match(entry.paths.regex, v.path)
}

_covers_agent(entry) if count(entry.agents) == 0

_covers_agent(entry) if data.aigate.agent.name in entry.agents

# apply(v) is v, or v waived by the first exception covering it, or (only when the config lets
# custom rules weaken the gate) by the first custom waiver covering it.
apply(v) := object.union(v, {
	"blocking": false,
	"waived": true,
	"waiver": _waiver(waivers[0]),
}) if {
	waivers := covering(v)
	count(waivers) > 0
} else := object.union(v, {
	"blocking": false,
	"waived": true,
	"waiver": {
		"exception": null, "reason": waivers[0].reason, "owner": null, "expires": null,
		"source": waivers[0].source,
	},
}) if {
	data.aigate.extensions.can_weaken
	waivers := data.aigate.extensions.covering(v)
	count(waivers) > 0
} else := v

# apply_all(violations) is every violation, each through `apply`; when nothing can waive one (no exception
# in force, no custom waiver the config lets weaken the gate) they are taken as they are (measured: `apply`
# on the 2,200 violations of a 10,000-file PR took 14 of the decision's 160 ms).
apply_all(violations) := [apply(v) | some v in violations] if {
	_can_waive
} else := [v | some v in violations]

_can_waive if {
	some entry in _entries
	in_force(entry)
}

_can_waive if {
	data.aigate.extensions.can_weaken
	count(data.aigate.extensions.waivers) > 0
}

_waiver(entry) := {
	"exception": entry.id,
	"reason": entry.reason,
	"owner": entry.owner,
	"expires": entry.expires,
	"source": sprintf("exceptions[%d]", [entry.id]),
}

# report(used) says which exceptions waived something (`used`: their ids), which are expired and
# which, in force, waived nothing.
report(used) := {
	"applied": sort([id | some id in used]),
	"expired": [_waiver(entry) | some entry in _entries; not in_force(entry)],
	"unused": [_waiver(entry) | some entry in _entries; in_force(entry); not entry.id in used],
}
