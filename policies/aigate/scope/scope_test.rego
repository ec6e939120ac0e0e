package aigate.scope_test

import rego.v1

import data.aigate.scope

_files(n, added) := [{"path": sprintf("f%d", [i]), "status": "modified", "added": added, "removed": 1} |
	some i in numbers.range(1, n)
]

_limits := {"max_files": 20, "max_lines_added": 500, "max_lines_removed": null}

_rules(files) := rules if {
	vs := scope.violations with input.files as files with data.aigate.config.scope_limits as _limits
	rules := {v.rule | some v in vs}
}

test_at_limits_passes if {
	_rules(_files(20, 25)) == set()
}

test_one_file_over if {
	_rules(_files(21, 1)) == {"max_files"}
}

test_one_line_over if {
	_rules(_files(2, 251)) == {"max_lines_added"}
}

test_message_names_count_and_limit if {
	vs := scope.violations with input.files as _files(21, 1) with data.aigate.config.scope_limits as _limits
	{v.message | some v in vs} == {"21 files changed; the limit is 20"}
}

test_null_limit_is_unlimited if {
	limits := {"max_files": null, "max_lines_added": null, "max_lines_removed": null}
	count(scope.violations) == 0 with input.files as _files(300, 100) with data.aigate.config.scope_limits as limits
}

test_lines_removed_limit if {
	limits := {"max_files": null, "max_lines_added": null, "max_lines_removed": 3}
	{v.rule | some v in scope.violations} == {"max_lines_removed"} with input.files as _files(4, 0)
		with data.aigate.config.scope_limits as limits
}

test_empty_pr if {
	scope.files_changed == 0 with input.files as []
	scope.lines_added == 0 with input.files as []
}

_binary(path, size) := {"path": path, "status": "added", "binary": true, "added": 0, "removed": 0, "binary_size": size}

_binary_limits := object.union(_limits, {"max_binary_bytes": 1000})

_binary_rules(files) := {v.rule |
	some v in scope.violations with input.files as files with data.aigate.config.scope_limits as _binary_limits
}

test_binary_bytes_within_the_limit if {
	_binary_rules([_binary("a.png", 600), _binary("b.png", 400)]) == set()
}

test_binary_bytes_over_the_limit if {
	vs := scope.violations with input.files as [_binary("a.png", 600), _binary("b.png", 401)]
		with data.aigate.config.scope_limits as _binary_limits
	{v.message | some v in vs} == {"1001 bytes of binary files; the limit is 1000"}
}

test_binary_without_a_size_fails_closed if {
	_binary_rules([_binary("a.png", null)]) == {"binary_size_unknown"}
}

test_deleted_binary_without_a_size_is_fine if {
	deleted := object.union(_binary("a.png", null), {"status": "deleted"})
	_binary_rules([deleted]) == set()
}

test_binary_limit_off if {
	count(scope.violations) == 0 with input.files as [_binary("a.png", 10000000), _binary("b.png", null)]
		with data.aigate.config.scope_limits as object.union(_limits, {"max_binary_bytes": null})
}
