# Every form of test rule `opa test` runs, with results both engines must give alike.
package forms_test

import rego.v1

import data.forms

test_plain_passes if {
	forms.allow with input.user as "admin"
}

	test_indented_fails if {
		forms.allow with input.user as "guest"
	}

test_assigned_true := true

test_assigned_value := 3

test_contains_form contains "x" if {
	forms.limits.low == 1
}

test_parameterised[level] if {
	some level, n in forms.limits
	n >= 1
}

test_parameterised_one_fails[level] := ok if {
	some level, n in forms.limits
	ok := n < 2
}

test_function(x) if {
	x == 1
}

todo_test_later if {
	false
}

test_defined_twice if {
	true
}

test_defined_twice if {
	false
}

test_error if {
	to_number("not a number") == 1
}

_helper := "not a test"
