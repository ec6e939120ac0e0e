# Custom rules used by tests/authoring: one of each extension point, driven by `custom.team`.
package aigate.custom.team

import rego.v1

_settings := data.aigate.config.custom.team

violations contains data.aigate.lib.violation("team", "ticket_missing", "low", "the PR title names no ticket", null) if {
	not regex.match(_settings.ticket_regex, input.pr.title)
}

signals contains {"value": input.pr.author.login, "pattern": "internal bots"} if {
	input.pr.author.login in _settings.internal_bots
}

risk_factors contains {"name": "payments", "points": 25, "detail": "touches payments/"} if {
	some path in data.aigate.lib.changed_paths
	startswith(path, "payments/")
}

risk_factors contains {"name": "trusted_team_discount", "points": -40} if {
	contains(input.pr.title, "[trusted]")
}

required_reviewers contains {"reviewer": "@acme/payments", "reason": "payments code"} if {
	some path in data.aigate.lib.changed_paths
	startswith(path, "payments/")
}

# Tries to lift a built-in block: refused unless policy.custom_can_weaken.
waivers contains {"rule": "blocked_path", "reason": "our generator writes .env.example"} if {
	some path in data.aigate.lib.changed_paths
	endswith(path, ".env.example")
}
