# Which paths an AI PR may touch: blocked patterns always stop it, allowed patterns fence it in.
package aigate.paths

import rego.v1

_matchers := data.aigate.lib.config.paths

blocked_paths := data.aigate.lib.batch_matches(_matchers.blocked, data.aigate.lib.changed_batch)

allowed_paths := data.aigate.lib.batch_matches(_matchers.allowed, data.aigate.lib.changed_batch)

sensitive_paths := data.aigate.lib.batch_matches(_matchers.sensitive, data.aigate.lib.changed_batch)

violations contains data.aigate.lib.violation("paths", "blocked_path", "high", message, path) if {
	some path in blocked_paths
	patterns := data.aigate.lib.patterns_matching(_matchers.blocked, path)
	message := sprintf("%s matches blocked pattern %s", [path, concat(", ", patterns)])
}

# A blocked path is reported once, as blocked, not again as outside the allowed list.
violations contains data.aigate.lib.violation("paths", "path_not_allowed", "medium", message, path) if {
	not _matchers.allow_all
	some path in _outside_allowed
	message := sprintf("%s is outside the allowed patterns", [path])
}

# Set differences, not a lookup per changed path.
_outside_allowed := (data.aigate.lib.changed_paths - allowed_paths) - blocked_paths
