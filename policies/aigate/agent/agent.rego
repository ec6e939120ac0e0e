# Which agent wrote the PR, named as the config's `agents` table names it, and the per-agent
# override (`overrides` in the config) that applies to it.
#
# Reads data.aigate.config, never data.aigate.lib.config: lib.config is chosen by this package.
package aigate.agent

import rego.v1

_agents := data.aigate.config.agents

# Every agent with a pattern matching the value of some detection signal.
matched contains agent.name if {
	some agent in _agents
	some signal in data.aigate.detection.signals
	some p in agent.patterns
	regex.match(p.regex, data.aigate.detection.normalise(signal.value))
}

# The first agent of the table that matched; `human` when detection does not mark the PR as AI;
# `unknown` for an AI PR that no agent's patterns name.
default name := "unknown"

name := "human" if {
	not data.aigate.detection.is_ai
} else := names[0] if {
	names := [agent.name | some agent in _agents; matched[agent.name]]
	count(names) > 0
}

# The override applied: the agent's own entry, or none.
default override := null

override := name if data.aigate.config.overrides[name]
