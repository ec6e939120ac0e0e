# Which agent wrote the PR, named as the config's `agents` table names it, and the per-agent
# override (`overrides` in the config) that applies to it.
#
# Reads data.aigate.config, never data.aigate.lib.config: lib.config is chosen by this package.
package aigate.agent

import rego.v1

_agents := data.aigate.config.agents

# Each signal's value once, normalised as detection compares it.
_signal_values := {data.aigate.detection.normalise(signal.value) | some signal in data.aigate.detection.signals}

# Each agent's patterns as one alternation, in table order: one regex call per agent and value
# (measured: per pattern and signal, naming the agent took 1.9 ms of a 4.4 ms decision on a 20-file PR).
_agent_regexes := [concat("|", [concat("", ["(?:", p.regex, ")"]) | some p in agent.patterns]) | some agent in _agents]

# Every agent with a pattern matching the value of some detection signal.
matched contains agent.name if {
	some i, agent in _agents
	count(agent.patterns) > 0 # an empty alternation would match anything
	some value in _signal_values
	regex.match(_agent_regexes[i], value)
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
