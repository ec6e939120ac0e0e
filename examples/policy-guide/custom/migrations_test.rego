# Tests of the worked example. The package is outside aigate.custom, so that evaluating the
# decision from a test never reaches back into the tests.
package aigate_test.custom.migrations

import rego.v1

import data.aigate.custom.migrations

_file(path, status) := {"path": path, "old_path": null, "status": status, "binary": false, "added": 5, "removed": 0}

_pr := {"labels": ["ai-generated"], "author": {"login": "dev", "type": "User"}, "head_branch": "x", "body": ""}

_input(files) := {"pr": _pr, "commits": [], "files": files, "findings": [], "dependencies": []}

_settings := {"migrations": {"team": "@acme/dba", "approvals": 2}}

test_migration_needs_two_approvals_from_the_team if {
	inp := _input([_file("db/migrations/001.up.sql", "added"), _file("db/migrations/001.down.sql", "added")])
	migrations.required_reviewers == {{"reviewer": "@acme/dba", "approvals": 2, "reason": "2 migration file(s) changed"}} with input as inp
		with data.aigate.config.custom as _settings
	data.aigate.decision.outcome == "review" with input as inp with data.aigate.config.custom as _settings
	data.aigate.decision.risk.approvals == 2 with input as inp with data.aigate.config.custom as _settings
}

test_other_paths_need_nothing_extra if {
	inp := _input([_file("docs/migrations.md", "modified")])
	count(migrations.required_reviewers) == 0 with input as inp with data.aigate.config.custom as _settings
	data.aigate.decision.outcome == "allow" with input as inp with data.aigate.config.custom as _settings
}

test_up_without_down_is_a_violation if {
	inp := _input([_file("migrations/002.up.sql", "added")])
	[v.rule | some v in migrations.violations] == ["migration_without_down"] with input as inp
}
