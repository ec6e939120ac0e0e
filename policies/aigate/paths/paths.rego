# Which paths an AI PR may touch: blocked patterns always stop it, allowed patterns fence it in.
package aigate.paths

import rego.v1

import data.aigate.lib

_matchers := lib.config.paths

_changed := [p | some p in lib.changed_paths]

blocked_paths := lib.matched_paths(_matchers.blocked, _changed)

allowed_paths := lib.matched_paths(_matchers.allowed, _changed)

sensitive_paths := lib.matched_paths(_matchers.sensitive, _changed)

violations contains lib.violation("paths", "blocked_path", "high", message, path) if {
	some path in blocked_paths
	patterns := lib.patterns_matching(_matchers.blocked, path)
	message := sprintf("%s matches blocked pattern %s", [path, concat(", ", patterns)])
}

# A blocked path is reported once, as blocked, not again as outside the allowed list.
violations contains lib.violation("paths", "path_not_allowed", "medium", message, path) if {
	not _matchers.allow_all
	some path in lib.changed_paths
	not allowed_paths[path]
	not blocked_paths[path]
	message := sprintf("%s is outside the allowed patterns", [path])
}
