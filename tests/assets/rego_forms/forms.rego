# Rules the test forms below exercise; one rule no test reaches, for coverage.
package forms

import rego.v1

allow if input.user == "admin"

limits := {"low": 1, "high": 3}

unreached := "nobody asks"
