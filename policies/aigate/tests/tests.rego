# Does the PR change tests along with the source it changes?
package aigate.tests

import rego.v1

import data.aigate.lib

_rule := lib.config.require_tests

# Deleting a test does not count as including one.
_present := [file.path | some file in input.files; file.status != "deleted"]

changed_test_files := lib.matched_paths(_rule.test, _present)

changed_source_files := lib.matched_paths(_rule.source, _present) - changed_test_files

includes_tests := count(changed_test_files) > 0

violations contains lib.violation("tests", "tests_required", "medium", message, null) if {
	_rule.enabled
	count(changed_source_files) > 0
	not includes_tests
	sources := sort([p | some p in changed_source_files])
	message := sprintf("source files changed without test changes: %s", [concat(", ", _first_five(sources))])
}

_first_five(paths) := array.slice(paths, 0, 5)
