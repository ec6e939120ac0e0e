# Worked example of docs/policy-guide.md: a PR that changes a database migration needs two
# approvals, one of them from the team named in the config (custom.migrations.team).
package aigate.custom.migrations

import rego.v1

_settings := object.get(data.aigate.config.custom, "migrations", {})

# Every changed path under migrations/ (at the root or in any folder), renames' old paths included.
migration_paths contains path if {
	some path in data.aigate.lib.changed_paths
	regex.match(`(^|/)migrations/`, path)
}

required_reviewers contains {
	"reviewer": object.get(_settings, "team", "@database-owners"),
	"approvals": object.get(_settings, "approvals", 2),
	"reason": sprintf("%d migration file(s) changed", [count(migration_paths)]),
} if {
	count(migration_paths) > 0
}

# A migration without a down step cannot be rolled back: a violation in the `migrations` layer,
# whose mode is policy.modes.migrations (else policy.mode).
violations contains data.aigate.lib.violation(
	"migrations", "migration_without_down", "medium",
	sprintf("%s adds a migration with no down step", [file.path]), file.path,
) if {
	some file in input.files
	file.status == "added"
	migration_paths[file.path]
	endswith(file.path, ".up.sql")
	not _has_down(file.path)
}

_has_down(up) if {
	some file in input.files
	file.path == concat("", [trim_suffix(up, ".up.sql"), ".down.sql"])
}
