# Does the PR change tests along with the source it changes?
package aigate.tests

import rego.v1

_rule := data.aigate.lib.config.require_tests

# Deleting a test does not count as including one.
_present := data.aigate.lib.path_batch([file.path | some file in input.files; file.status != "deleted"])

changed_test_files := data.aigate.lib.batch_matches(_rule.test, _present)

changed_source_files := data.aigate.lib.batch_matches(_rule.source, _present) - changed_test_files

default includes_tests := false

includes_tests if count(changed_test_files) > 0

violations contains data.aigate.lib.violation("tests", "tests_required", "medium", message, null) if {
	_rule.enabled
	count(changed_source_files) > 0
	not includes_tests
	sources := sort([p | some p in changed_source_files])
	message := sprintf("source files changed without test changes: %s", [concat(", ", _first_five(sources))])
}

_first_five(paths) := array.slice(paths, 0, 5)
