# How big an AI PR may be.
package aigate.scope

import rego.v1

_limits := data.aigate.lib.config.scope_limits

files_changed := count(input.files)

lines_added := sum([file.added | some file in input.files])

lines_removed := sum([file.removed | some file in input.files])

violations contains data.aigate.lib.violation("scope", "max_files", "medium", message, null) if {
	_limits.max_files != null
	files_changed > _limits.max_files
	message := sprintf("%d files changed; the limit is %d", [files_changed, _limits.max_files])
}

violations contains data.aigate.lib.violation("scope", "max_lines_added", "medium", message, null) if {
	_limits.max_lines_added != null
	lines_added > _limits.max_lines_added
	message := sprintf("%d lines added; the limit is %d", [lines_added, _limits.max_lines_added])
}

violations contains data.aigate.lib.violation("scope", "max_lines_removed", "medium", message, null) if {
	_limits.max_lines_removed != null
	lines_removed > _limits.max_lines_removed
	message := sprintf("%d lines removed; the limit is %d", [lines_removed, _limits.max_lines_removed])
}
