package aigate.lib_test

import rego.v1

import data.aigate.lib

_matcher := {
	"patterns": [
		{"pattern": "**/auth/**", "regex": `^(?:.+/)?auth/`},
		{"pattern": "*.env*", "regex": `^(?:.+/)?[^/]*\.env[^/]*(?:(?:/)|$)`},
	],
	"regex": `^(?:(?:.+/)?auth/|(?:.+/)?[^/]*\.env[^/]*(?:(?:/)|$))`,
	"lines_regex": `(?m)^(?:(?:.+/)?auth/|(?:.+/)?[^\n/]*\.env[^\n/]*(?:(?:/)|$))[^\n]*`,
}

test_matched_paths_finds_every_match if {
	paths := ["auth/a.ts", "src/auth/b.ts", "src/author.ts", "config/.env.local", "README.md"]
	lib.matched_paths(_matcher, paths) == {"auth/a.ts", "src/auth/b.ts", "config/.env.local"}
}

test_matched_paths_path_with_newline_cannot_split if {
	paths := ["docs/x\nauth/y", "ok.txt"]
	lib.matched_paths(_matcher, paths) == set()
}

test_matched_paths_path_with_newline_still_matched if {
	paths := ["auth/x\ny"]
	lib.matched_paths(_matcher, paths) == {"auth/x\ny"}
}

test_matched_paths_empty if {
	lib.matched_paths(_matcher, []) == set()
}

test_patterns_matching_names_each_pattern if {
	lib.patterns_matching(_matcher, "auth/.env") == ["**/auth/**", "*.env*"]
}

test_changed_paths_includes_old_path_of_renames if {
	files := [
		{"path": "new/a.ts", "old_path": "auth/a.ts", "status": "renamed"},
		{"path": "b.ts", "old_path": "c.ts", "status": "copied"},
		{"path": "d.ts", "old_path": null, "status": "modified"},
	]
	lib.changed_paths == {"new/a.ts", "auth/a.ts", "b.ts", "d.ts"} with input.files as files
}

test_violation_blocks_only_in_block_mode if {
	v := lib.violation("paths", "blocked_path", "high", "m", "p") with data.aigate.config.modes as {"paths": "warn"}
	v == {
		"rule": "blocked_path", "layer": "paths", "severity": "high", "message": "m",
		"path": "p", "mode": "warn", "blocking": false,
	}
}

test_violation_template_filled_is_the_violation if {
	every mode in ["observe", "warn", "block"] {
		modes := {"scanning": mode}
		template := lib.violation_template("scanning", "secret_detected", "critical") with data.aigate.config.modes as modes
		filled := object.union(template, {"message": "m", "path": "p"})
		filled == lib.violation("scanning", "secret_detected", "critical", "m", "p") with data.aigate.config.modes as modes
		blocks := mode == "block"
		filled.blocking == blocks
	}
}

test_exposed_paths_add_copy_sources_and_link_targets if {
	files := [
		{"path": "public/x.txt", "old_path": ".env", "status": "copied"},
		{"path": "src/cfg", "status": "added", "link_target": "../.env", "link_target_path": "config/.env"},
		{"path": "out", "status": "added", "link_target": "/etc", "link_target_path": null},
	]
	lib.exposed_paths == {"public/x.txt", ".env", "src/cfg", "config/.env", "out"} with input.files as files
	lib.changed_paths == {"public/x.txt", "src/cfg", "out"} with input.files as files
}

test_exposed_batch_is_the_changed_batch_without_copies_or_links if {
	files := [{"path": "a", "status": "added"}, {"path": "b", "old_path": "c", "status": "renamed"}]
	lib.exposed_batch == lib.changed_batch with input.files as files
}

test_placed_paths_are_new_paths_and_type_changes if {
	files := [
		{"path": "new", "status": "added"},
		{"path": "moved", "old_path": "x", "status": "renamed"},
		{"path": "now-a-link", "status": "modified", "old_mode": "100644", "new_mode": "120000"},
		{"path": "edited", "status": "modified", "old_mode": "100644", "new_mode": "100644"},
		{"path": "executable", "status": "mode_changed", "old_mode": "100644", "new_mode": "100755"},
		{"path": "gone", "status": "deleted"},
	]
	lib.placed_paths == {"new", "moved", "now-a-link"} with input.files as files
	lib.folder_batch.joined == "moved/\nnew/\nnow-a-link/" with input.files as files
}
