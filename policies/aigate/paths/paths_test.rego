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
