# Which paths an AI PR may touch: blocked patterns always stop it, allowed patterns fence it in.
package aigate.paths

import rego.v1

_matchers := data.aigate.lib.config.paths

# Blocked and sensitive patterns see what a PR exposes (copy sources, symlink targets) as well as
# what it changes; the allowed fence sees only what it changes.
blocked_paths := data.aigate.lib.batch_matches(_matchers.blocked, data.aigate.lib.exposed_batch)

allowed_paths := data.aigate.lib.batch_matches(_matchers.allowed, data.aigate.lib.changed_batch)

sensitive_paths := data.aigate.lib.batch_matches(_matchers.sensitive, data.aigate.lib.exposed_batch)

# Paths put where a blocked folder was ("P/" matched): they count as inside it.
blocked_folders := {trim_suffix(probe, "/") |
	some probe in data.aigate.lib.batch_matches(_matchers.blocked, data.aigate.lib.folder_batch)
}

violations contains data.aigate.lib.violation("paths", "blocked_path", "high", message, path) if {
	some path in blocked_paths
	patterns := data.aigate.lib.patterns_matching(_matchers.blocked, path)
	some how in _how_exposed(path)
	message := sprintf("%s matches blocked pattern %s%s", [path, concat(", ", patterns), how])
}

violations contains data.aigate.lib.violation("paths", "blocked_path", "high", message, path) if {
	some path in blocked_folders
	not blocked_paths[path]
	patterns := data.aigate.lib.patterns_matching(_matchers.blocked, concat("", [path, "/"]))
	message := sprintf("%s takes the place of a folder blocked by %s", [path, concat(", ", patterns)])
}

# A symlink that leaves the repository (or points at its top, or into a .git folder) reaches what no
# pattern can check.
violations contains data.aigate.lib.violation("paths", "symlink_outside_repository", "high", message, file.path) if {
	some file in data.aigate.lib.symlink_files
	object.get(file, "link_target_path", null) == null
	message := sprintf(
		"%s is a symlink to %s, outside the repository, its top folder or .git",
		[file.path, file.link_target],
	)
}

# How a blocked path is reached: changed by the PR, copied, or linked to.
_how_exposed(path) := (({"" | data.aigate.lib.changed_paths[path]} | {sprintf(" (copied to %s)", [file.path]) |
	some file in data.aigate.lib.copied_files
	file.old_path == path
}) | {sprintf(" (the target of symlink %s)", [file.path]) |
	some file in data.aigate.lib.linked_files
	file.link_target_path == path
}) | {sprintf(" (under %s, the target of symlink %s)", [file.link_target_path, file.path]) |
	some file in data.aigate.lib.linked_files
	path in object.get(data.aigate.lib.link_target_files, file.path, [])
}

# A blocked path is reported once, as blocked, not again as outside the allowed list.
violations contains object.union(_not_allowed, {"message": message, "path": path}) if {
	not _matchers.allow_all
	some path in _outside_allowed
	message := sprintf("%s is outside the allowed patterns", [path])
}

_not_allowed := data.aigate.lib.violation_template("paths", "path_not_allowed", "medium")

# Set differences, not a lookup per changed path.
_outside_allowed := (data.aigate.lib.changed_paths - allowed_paths) - blocked_paths
