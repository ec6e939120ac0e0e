package aigate.tests_test

import rego.v1

import data.aigate.tests

_file(path, status) := {"path": path, "status": status, "added": 1, "removed": 0}

_violations(files) := vs if {
	vs := tests.violations with input.files as files with data.aigate.config.require_tests.enabled as true
}

test_source_without_tests_is_flagged if {
	_violations([_file("src/app.py", "modified")]) == {{
		"rule": "tests_required", "layer": "tests", "severity": "medium", "path": null,
		"message": "source files changed without test changes: src/app.py", "mode": "block", "blocking": true,
	}}
}

test_source_with_tests_passes if {
	_violations([_file("src/app.py", "modified"), _file("tests/test_app.py", "added")]) == set()
}

test_deleted_test_does_not_count if {
	{v.rule | some v in _violations([_file("src/app.py", "modified"), _file("tests/test_app.py", "deleted")])} == {
		"tests_required",
	}
}

test_docs_only_needs_no_tests if {
	_violations([_file("README.md", "modified")]) == set()
}

test_disabled_by_default if {
	count(tests.violations) == 0 with input.files as [_file("src/app.py", "modified")]
}

test_test_file_is_not_a_source_file if {
	tests.changed_source_files == set() with input.files as [_file("src/app.test.ts", "added")]
	tests.includes_tests with input.files as [_file("src/app.test.ts", "added")]
}
