# Shared helpers: the compiled configuration, the one violation builder, batch path matching.
package aigate.lib

import rego.v1

# The compiled .ai-code-gate.yml (aigate.config fills every default before evaluation).
config := data.aigate.config

# violation builds every violation the same way; the layer's mode decides whether it blocks.
violation(layer, rule, severity, message, path) := {
	"rule": rule,
	"layer": layer,
	"severity": severity,
	"message": message,
	"path": path,
	"mode": config.modes[layer],
	"blocking": config.modes[layer] == "block",
}

# matched_paths is the subset of `paths` that `matcher` (a compiled pattern list) matches.
# One regex scan over the newline-joined paths replaces one engine call per path; the few
# paths that themselves contain a newline are matched one by one so they cannot split.
matched_paths(matcher, paths) := single_line | multi_line if {
	joined := concat("\n", [p | some p in paths; not contains(p, "\n")])
	single_line := {p | some p in regex.find_n(matcher.lines_regex, joined, -1)}
	multi_line := {p | some p in paths; contains(p, "\n"); regex.match(matcher.regex, p)}
}

# patterns_matching lists the patterns of `matcher` that match one path, as the user wrote them.
patterns_matching(matcher, path) := [p.pattern | some p in matcher.patterns; regex.match(p.regex, path)]

# changed_paths is every path a PR touches: a renamed file counts under its old and new path.
changed_paths contains file.path if some file in input.files

changed_paths contains file.old_path if {
	some file in input.files
	file.status == "renamed"
}
