package aigate.agent_test

import rego.v1

import data.aigate.agent

_agents := [
	{"name": "claude-code", "patterns": [{"pattern": "claude/*", "regex": `(?i)^claude/.*$`}]},
	{"name": "copilot", "patterns": [{"pattern": "copilot*", "regex": `(?i)^copilot.*$`}]},
]

_signals(values) := {{"kind": "branch", "value": v, "pattern": "p"} | some v in values}

test_first_matching_agent_in_table_order if {
	agent.name == "claude-code" with input as {} with data.aigate.config.agents as _agents
		with data.aigate.detection.signals as _signals(["copilot/x", "claude/y"])
		with data.aigate.detection.is_ai as true
}

test_human_when_not_ai if {
	agent.name == "human" with data.aigate.detection.is_ai as false
}

test_unknown_when_no_agent_matches if {
	agent.name == "unknown" with input as {} with data.aigate.config.agents as _agents
		with data.aigate.detection.signals as _signals(["ai-label"])
		with data.aigate.detection.is_ai as true
}

test_override_only_when_configured if {
	agent.override == "copilot" with input as {} with data.aigate.config.agents as _agents
		with data.aigate.detection.signals as _signals(["copilot/x"])
		with data.aigate.detection.is_ai as true
		with data.aigate.config.overrides as {"copilot": {}}
	agent.override == null with input as {} with data.aigate.config.agents as _agents
		with data.aigate.detection.signals as _signals(["copilot/x"])
		with data.aigate.detection.is_ai as true
		with data.aigate.config.overrides as {"codex": {}}
}
