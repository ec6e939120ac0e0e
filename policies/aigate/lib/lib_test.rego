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
