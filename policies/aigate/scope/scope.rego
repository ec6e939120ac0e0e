# How big an AI PR may be.
package aigate.scope

import rego.v1

_limits := data.aigate.lib.config.scope_limits

files_changed := count(input.files)

lines_added := sum([file.added | some file in input.files])

lines_removed := sum([file.removed | some file in input.files])

# Binary files count no lines, so their bytes have their own limit: marking `*.py binary` or adding
# one NUL byte must not turn thousands of lines into nothing.
binary_bytes := sum([size |
	some file in _binaries
	size := object.get(file, "binary_size", null)
	is_number(size)
])

_binaries := [file | some file in input.files; file.binary]

_unsized_binaries := {file.path |
	some file in _binaries
	file.status != "deleted"
	not is_number(object.get(file, "binary_size", null))
}

_max_binary_bytes := object.get(_limits, "max_binary_bytes", null)

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

violations contains data.aigate.lib.violation("scope", "max_binary_bytes", "medium", message, null) if {
	_max_binary_bytes != null
	binary_bytes > _max_binary_bytes
	message := sprintf("%d bytes of binary files; the limit is %d", [binary_bytes, _max_binary_bytes])
}

# Without a size the limit cannot be checked: the gate fails closed.
violations contains data.aigate.lib.violation("scope", "binary_size_unknown", "medium", message, path) if {
	_max_binary_bytes != null
	some path in _unsized_binaries
	message := sprintf(
		"%s is binary and the diff does not give its size: make the diff with --binary, or use --repo",
		[path],
	)
}
