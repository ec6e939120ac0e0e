# Shared helpers: the compiled configuration, the one violation builder, batch path matching.
#
# Policies name another package's rules in full (data.aigate.paths.blocked_paths), not through
# an import alias: regorus evaluates every rule of a package that is reached through an alias
# (measured: risk.sensitive_files took twice as long as the rules it needs).
package aigate.lib

import rego.v1

# The compiled .ai-code-gate.yml (aigate.config fills every default before evaluation), as the
# override for the PR's agent (`overrides` in the config) adjusts it, when there is one.
config := data.aigate.config.overrides[data.aigate.agent.override] if {
	data.aigate.agent.override != null
} else := data.aigate.config

# violation builds every violation the same way; the layer's mode decides whether it blocks.
# The mode is looked up once per violation (twice took 24 of the 183 ms decision on a 10,000-file PR).
violation(layer, rule, severity, message, path) := {
	"rule": rule,
	"layer": layer,
	"severity": severity,
	"message": message,
	"path": path,
	"mode": mode,
	"blocking": mode == "block",
} if {
	mode := layer_mode(layer)
}

# violation_template is `violation` with its message and path left to fill, for rules that report one
# violation per path or finding (outside the allowed list, a secret): each fills it with
# object.union(template, {"message": m, "path": p}), one built-in call instead of a call of `violation`
# (measured: 7 of the decision's 130 ms for each 1,000 violations of a 10,000-file PR).
violation_template(layer, rule, severity) := violation(layer, rule, severity, "", null)

# A layer's mode: its own (policy.modes), else policy.mode, so a custom layer has one too.
# A function of the config because custom layers are named at run time, not known here.
# regal ignore:external-reference
layer_mode(layer) := object.get(_layer_modes, layer, _default_mode)

_layer_modes := object.get(config, "modes", {})

_default_mode := object.get(config, "default_mode", "block")

# path_batch prepares a collection of paths for matching, once for all pattern lists: the paths
# joined with newlines, which one `regex.find_n` scans for every match, and the rare paths that
# contain a newline themselves, which are matched one by one so that they cannot split.
path_batch(paths) := {"joined": concat("\n", paths), "multi_line": set()} if {
	not contains(concat("", paths), "\n")
} else := {
	"joined": concat("\n", [p | some p in paths; not contains(p, "\n")]),
	"multi_line": {p | some p in paths; contains(p, "\n")},
}

# batch_matches is the subset of a path batch that `matcher` (a compiled pattern list) matches.
batch_matches(matcher, batch) := single_line | multi_line if {
	single_line := {p | some p in regex.find_n(matcher.lines_regex, batch.joined, -1)}
	multi_line := {p | some p in batch.multi_line; regex.match(matcher.regex, p)}
}

# matched_paths is the subset of `paths` that `matcher` matches.
matched_paths(matcher, paths) := batch_matches(matcher, path_batch(paths))

# patterns_matching lists the patterns of `matcher` that match one path, as the user wrote them.
patterns_matching(matcher, path) := [p.pattern | some p in matcher.patterns; regex.match(p.regex, path)]

# The new path of every changed file.
file_paths := {file.path | some file in input.files}

# Files that are not plainly modified, in one pass: the few the rules below look at again.
_unusual_files := [file | some file in input.files; file.status != "modified"]

renamed_files := [file | some file in _unusual_files; file.status == "renamed"]

# changed_paths is every path a PR touches: a renamed file counts under its old and new path.
changed_paths := file_paths | {file.old_path | some file in renamed_files}

# changed_paths, prepared once for every pattern list the path rules match.
changed_batch := path_batch(changed_paths)

copied_files := [file | some file in _unusual_files; file.status == "copied"]

# Symlinks whose target the diff or the repository gave.
symlink_files := [file | some file in input.files; file.link_target != null]

# Symlinks with a target inside the repository (aigate resolves it against the link's folder).
linked_files := [file | some file in symlink_files; file.link_target_path != null]

# exposed_paths is what a PR changes and what it reveals without changing it: the source of a copy
# (copying .env to public/x.txt publishes .env) and the target of a symlink (src/cfg -> ../.env).
exposed_paths := ((changed_paths | {file.old_path | some file in copied_files}) | {file.link_target_path |
	some file in linked_files
}) | {path |
	some files in link_target_files
	some path in files
}

# Per symlink to a folder (from a repository), the files under that folder: the link exposes them all.
link_target_files[file.path] := files if {
	some file in linked_files
	files := object.get(file, "link_target_files", null)
	is_array(files)
}

# Without copies or symlinks (the usual PR) the changed paths' batch serves, not a second one.
exposed_batch := changed_batch if {
	count(copied_files) == 0
	count(linked_files) == 0
} else := path_batch(exposed_paths)

# placed_paths are the paths where a PR puts something that may stand where a folder was: a new,
# renamed or copied file, or one whose type changes (file, symlink, submodule).
placed_paths := {file.path | some file in _unusual_files; _places[file.status]} | {file.path |
	some file in input.files
	file.old_mode != file.new_mode
	file.status == "modified"
	_file_type(file.old_mode) != _file_type(file.new_mode)
}

_places := {"added", "renamed", "copied"}

_file_type(mode) := substring(mode, 0, 2) if is_string(mode)

# folder_batch holds "P/" for every placed path P: a pattern that matches it matches everything in
# a folder P, so P counts as inside that folder (a file put where `.github/workflows` was).
folder_batch := path_batch({concat("", [path, "/"]) | some path in placed_paths})
