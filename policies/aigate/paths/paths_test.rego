package aigate.paths_test

import rego.v1

import data.aigate.paths

# Compiled the way aigate.config compiles ["src/**/*.ts", "tests/**"] and ["**/auth/**", "*.env*"].
_paths_config := {
	"allow_all": false,
	"allowed": {
		"patterns": [
			{"pattern": "src/**/*.ts", "regex": `^src(?:/.+)?/[^/]*\.ts(?:(?:/)|$)`},
			{"pattern": "tests/**", "regex": `^tests/`},
		],
		"regex": `^(?:src(?:/.+)?/[^/]*\.ts(?:(?:/)|$)|tests/)`,
		"lines_regex": `(?m)^(?:src(?:/.+)?/[^\n/]*\.ts(?:(?:/)|$)|tests/)[^\n]*`,
	},
	"blocked": {
		"patterns": [
			{"pattern": "**/auth/**", "regex": `^(?:.+/)?auth/`},
			{"pattern": "*.env*", "regex": `^(?:.+/)?[^/]*\.env[^/]*(?:(?:/)|$)`},
		],
		"regex": `^(?:(?:.+/)?auth/|(?:.+/)?[^/]*\.env[^/]*(?:(?:/)|$))`,
		"lines_regex": `(?m)^(?:(?:.+/)?auth/|(?:.+/)?[^\n/]*\.env[^\n/]*(?:(?:/)|$))[^\n]*`,
	},
	"sensitive": {"patterns": [], "regex": `^[^\s\S]`, "lines_regex": `(?m)^[^\s\S][^\n]*`},
}

_file(path) := {"path": path, "old_path": null, "status": "modified", "binary": false, "added": 1, "removed": 0}

_violations(files) := vs if {
	vs := paths.violations with input.files as files with data.aigate.config.paths as _paths_config
}

test_allowed_paths_pass if {
	_violations([_file("src/app.ts"), _file("src/ui/button.ts"), _file("tests/app.test.ts")]) == set()
}

test_blocked_path_at_root_and_depth if {
	_violations([_file("auth/x.ts"), _file("config/.env.local")]) == {
		{
			"rule": "blocked_path", "layer": "paths", "severity": "high", "path": "auth/x.ts",
			"message": "auth/x.ts matches blocked pattern **/auth/**", "mode": "block", "blocking": true,
		},
		{
			"rule": "blocked_path", "layer": "paths", "severity": "high", "path": "config/.env.local",
			"message": "config/.env.local matches blocked pattern *.env*", "mode": "block", "blocking": true,
		},
	}
}

test_path_not_allowed if {
	_violations([_file("README.md")]) == {{
		"rule": "path_not_allowed", "layer": "paths", "severity": "medium", "path": "README.md",
		"message": "README.md is outside the allowed patterns", "mode": "block", "blocking": true,
	}}
}

test_rename_out_of_blocked_dir_is_blocked if {
	renamed := object.union(_file("src/login.ts"), {"old_path": "src/auth/login.ts", "status": "renamed"})
	{v.path | some v in _violations([renamed])} == {"src/auth/login.ts"}
}

test_allow_all_when_no_allowed_patterns if {
	cfg := object.union(_paths_config, {"allow_all": true})
	count(paths.violations) == 0 with input.files as [_file("README.md")] with data.aigate.config.paths as cfg
}

test_warn_mode_does_not_block if {
	vs := paths.violations with input.files as [_file("auth/x.ts")]
		with data.aigate.config.paths as _paths_config
		with data.aigate.config.modes.paths as "warn"
	{[v.rule, v.mode, v.blocking] | some v in vs} == {["blocked_path", "warn", false]}
}

test_warn_mode_path_not_allowed_does_not_block if {
	vs := paths.violations with input.files as [_file("README.md")]
		with data.aigate.config.paths as _paths_config
		with data.aigate.config.modes.paths as "warn"
	vs == {{
		"rule": "path_not_allowed", "layer": "paths", "severity": "medium", "path": "README.md",
		"message": "README.md is outside the allowed patterns", "mode": "warn", "blocking": false,
	}}
}

# Compiled by aigate.config from blocked [".env", ".github/workflows/**", "secrets/"] with ignore_case
# (its long regexes are kept whole, as aigate.config writes them: line-length is ignored for them).
_hardened_config := {
	"allow_all": true,
	"allowed": {"patterns": [], "regex": `^[^\s\S]`, "lines_regex": `(?m)^[^\s\S][^\n]*`},
	"blocked": {
		"patterns": [
			{"pattern": ".env", "regex": `^(?:[\s\S]*/)?\.[eE][nN][vV](?:/|$)`},
			# regal ignore:line-length
			{"pattern": ".github/workflows/**", "regex": `^\.[gG][iI][tT][hH][uU][bB]/[wW][oO][rR][kK][fF][lL][oO][wW][sS]/[\s\S]*(?:/|$)`},
			{"pattern": "secrets/", "regex": `^(?:[\s\S]*/)?[sS][eE][cC][rR][eE][tT][sS]/`},
		],
		# regal ignore:line-length
		"regex": `^(?:(?:\.[gG][iI][tT][hH][uU][bB]/[wW][oO][rR][kK][fF][lL][oO][wW][sS]/[\s\S]*)(?:/|$)|(?:[\s\S]*/)?(?:\.[eE][nN][vV])(?:/|$)|(?:[\s\S]*/)?(?:[sS][eE][cC][rR][eE][tT][sS])/)`,
		# regal ignore:line-length
		"lines_regex": `(?m)^(?:(?:\.[gG][iI][tT][hH][uU][bB]/[wW][oO][rR][kK][fF][lL][oO][wW][sS]/[^\n]*)(?:/|$)|(?:[^\n]*/)?(?:\.[eE][nN][vV])(?:/|$)|(?:[^\n]*/)?(?:[sS][eE][cC][rR][eE][tT][sS])/)[^\n]*`,
	},
	"sensitive": {"patterns": [], "regex": `^[^\s\S]`, "lines_regex": `(?m)^[^\s\S][^\n]*`},
}

_hardened(files) := {[v.rule, v.path, v.message] |
	some v in paths.violations with input.files as files with data.aigate.config.paths as _hardened_config
}

test_case_folded_blocked_path if {
	_hardened([_file("config/.ENV")]) == {["blocked_path", "config/.ENV", "config/.ENV matches blocked pattern .env"]}
}

test_copy_source_is_checked if {
	copy := object.union(_file("public/x.txt"), {"old_path": ".env", "status": "copied"})
	_hardened([copy]) == {["blocked_path", ".env", ".env matches blocked pattern .env (copied to public/x.txt)"]}
}

test_copy_source_is_not_fenced_by_allowed_patterns if {
	copy := object.union(_file("src/x.ts"), {"old_path": "lib/x.ts", "status": "copied"})
	{v.path | some v in _violations([copy])} == set()
}

test_symlink_target_is_checked if {
	link := object.union(_file("src/cfg"), {
		"status": "added", "new_mode": "120000",
		"link_target": "../.env", "link_target_path": ".env",
	})
	_hardened([link]) == {["blocked_path", ".env", ".env matches blocked pattern .env (the target of symlink src/cfg)"]}
}

test_symlink_to_a_folder_exposes_the_files_under_it if {
	link := object.union(_file("static/c"), {
		"status": "added", "new_mode": "120000", "link_target": "../config", "link_target_path": "config",
		"link_target_files": ["config/.env", "config/app.toml"],
	})
	_hardened([link]) == {[
		"blocked_path", "config/.env",
		"config/.env matches blocked pattern .env (under config, the target of symlink static/c)",
	]}
}

test_symlink_to_a_folder_of_allowed_files_is_not_blocked if {
	link := object.union(_file("static/c"), {
		"status": "added", "new_mode": "120000", "link_target": "../docs", "link_target_path": "docs",
		"link_target_files": ["docs/a.md"],
	})
	_hardened([link]) == set()
}

test_symlink_outside_the_repository if {
	link := object.union(_file("src/cfg"), {
		"status": "added", "new_mode": "120000",
		"link_target": "../../etc/passwd", "link_target_path": null,
	})
	_hardened([link]) == {[
		"symlink_outside_repository", "src/cfg",
		"src/cfg is a symlink to ../../etc/passwd, outside the repository, its top folder or .git",
	]}
}

test_file_in_place_of_a_blocked_folder if {
	placed := object.union(_file(".github/workflows"), {"status": "added"})
	_hardened([placed]) == {[
		"blocked_path", ".github/workflows",
		".github/workflows takes the place of a folder blocked by .github/workflows/**",
	]}
}

test_symlink_or_submodule_in_place_of_a_blocked_folder if {
	symlink := object.union(_file("x/secrets"), {"old_mode": "100644", "new_mode": "120000"})
	submodule := object.union(_file("y/Secrets"), {"status": "added", "new_mode": "160000"})
	found := {[v[0], v[1]] | some v in _hardened([symlink, submodule])}
	found == {["blocked_path", "x/secrets"], ["blocked_path", "y/Secrets"]}
}

test_file_modified_in_place_is_not_a_folder if {
	_hardened([object.union(_file("x/secrets"), {"old_mode": "100644", "new_mode": "100644"})]) == set()
}

test_path_with_a_newline_is_matched_alone if {
	_hardened([_file("cfg\nprod/.env"), _file("README.md")]) == {[
		"blocked_path", "cfg\nprod/.env", "cfg\nprod/.env matches blocked pattern .env",
	]}
}
