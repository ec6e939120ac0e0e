# The decision's authoring fields: the agent and its override, exceptions, custom rules' items.
package aigate.decision_test

import rego.v1

import data.aigate.decision

_authoring_pr := {
	"labels": ["ai-generated"], "author": {"login": "alice", "type": "User"},
	"head_branch": "fix", "body": "",
}

_authoring_file(path) := {
	"path": path, "old_path": null, "status": "modified",
	"binary": false, "added": 1, "removed": 0,
}

_authoring_input(files) := {
	"pr": _authoring_pr, "commits": [], "files": files,
	"findings": [], "dependencies": [], "evaluated_on": "2026-12-03",
}

# A config exception waiving blocked_path anywhere, in force through 2027.
_exception := {
	"id": 0, "rule": "blocked_path", "paths": null, "agents": [], "reason": "vetted", "owner": "@sec",
	"expires": "2027-01-01",
}

test_waived_violation_stays_but_does_not_block if {
	inp := _authoring_input([_authoring_file("config/.env")])
	[v.waived | some v in decision.violations] == [true] with input as inp
		with data.aigate.config.exceptions as [_exception]
	decision.outcome != "block" with input as inp with data.aigate.config.exceptions as [_exception]
	decision.exceptions.applied == [0] with input as inp with data.aigate.config.exceptions as [_exception]
}

test_custom_reviewer_turns_allow_into_review if {
	inp := _authoring_input([_authoring_file("docs/a.md")])
	decision.outcome == "allow" with input as inp
	decision.outcome == "review" with input as inp
		with data.aigate.custom as {"dba": {"required_reviewers": {"@acme/dba"}}}
	[r.reviewer | some r in decision.required_reviewers] == ["@acme/dba"] with input as inp
		with data.aigate.custom as {"dba": {"required_reviewers": {"@acme/dba"}}}
	decision.risk.approvals == 1 with input as inp
		with data.aigate.custom as {"dba": {"required_reviewers": {"@acme/dba"}}}
}

test_custom_signal_makes_a_pr_ai if {
	inp := {
		"pr": {"labels": [], "author": {"login": "bob", "type": "User"}, "head_branch": "x", "body": ""},
		"commits": [], "files": [_authoring_file(".env")], "findings": [], "dependencies": [],
	}
	decision.outcome == "allow" with input as inp
	decision.outcome == "block" with input as inp
		with data.aigate.custom as {"internal": {"signals": {{"value": "internal-bot"}}}}
	decision.detection.is_ai with input as inp
		with data.aigate.custom as {"internal": {"signals": {{"value": "internal-bot"}}}}
}

test_custom_signal_alone_is_never_judged_as_human if {
	inp := {
		"pr": {"labels": [], "author": {"login": "bob", "type": "User"}, "head_branch": "x", "body": ""},
		"commits": [], "files": [_authoring_file("docs/a.md")], "findings": [], "dependencies": [],
	}
	custom := {"internal": {"signals": {{"value": "internal-bot"}}}}
	decision.agent == {"name": "unknown", "override": null} with input as inp with data.aigate.custom as custom
	lax := object.union(data.aigate.config, {"default_mode": "observe"})
	decision.agent == {"name": "human", "override": "human"} with input as inp
		with data.aigate.config.overrides as {"human": lax}
	decision.outcome == "block" with input as inp with data.aigate.custom as custom
		with data.aigate.config.overrides as {"human": lax}
	[v.rule | some v in decision.violations; v.blocking] == ["human_override_on_ai_pr"] with input as inp
		with data.aigate.custom as custom
		with data.aigate.config.overrides as {"human": lax}
}

test_agent_override_adjusts_limits if {
	inp := _authoring_input([_authoring_file("a.md"), _authoring_file("b.md")])
	limits := {"max_files": 1, "max_lines_added": null, "max_lines_removed": null}
	strict := object.union(data.aigate.config, {"scope_limits": limits})
	decision.agent == {"name": "unknown", "override": "unknown"} with input as inp
		with data.aigate.config.overrides as {"unknown": strict}
	[v.rule | some v in decision.violations] == ["max_files"] with input as inp
		with data.aigate.config.overrides as {"unknown": strict}
	decision.violations == [] with input as inp
}
