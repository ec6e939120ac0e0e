# The sandbox report: what the PR's own tests did when run in isolation (`aigate sandbox run`).
package aigate.sandbox

import rego.v1

_settings := data.aigate.lib.config.sandbox

# The report, when the host gave one.
report := input.sandbox if input.sandbox != null

has_report if report

# The PR's head: its last commit (commits are oldest first, as git and the hosts list them).
# A report for an earlier commit tested code that is not the code being merged.
# Without the commits' identities ("": no commits, or no sha) there is nothing to compare with.
default _pr_head := ""

_pr_head := input.commits[count(input.commits) - 1].sha

_head_known if report.head == _pr_head

_head_known if _pr_head == ""

failed_tests := report.tests.failures + report.tests.errors

violations contains data.aigate.lib.violation("sandbox", "sandbox_missing", "high", message, null) if {
	_settings.required
	not has_report
	message := "no sandbox report: the PR's tests were not run in the sandbox (sandbox.required)"
}

violations contains data.aigate.lib.violation("sandbox", "sandbox_tests_failed", "high", message, null) if {
	failed_tests > 0
	message := sprintf("%d of %d tests failed or errored in the sandbox", [failed_tests, report.tests.tests])
}

# A failing command fails the gate even when it wrote no JUnit file to count from.
violations contains data.aigate.lib.violation("sandbox", "sandbox_command_failed", "high", message, null) if {
	report.exit_code != 0
	report.limit_hit == null
	failed_tests == 0
	message := sprintf("the sandboxed command %s exited with %d", [concat(" ", report.command), report.exit_code])
}

violations contains data.aigate.lib.violation("sandbox", "sandbox_limit_hit", "high", message, null) if {
	report.limit_hit != null
	message := sprintf("the sandboxed command hit its %s limit", [report.limit_hit])
}

violations contains data.aigate.lib.violation("sandbox", "sandbox_network_attempt", "high", message, null) if {
	report.network_attempted
	targets := {sprintf("%s:%d", [a.address, a.port]) | some a in report.network_attempts}
	message := sprintf("the sandboxed code tried to reach the network: %s", [concat(", ", sort(targets))])
}

violations contains data.aigate.lib.violation("sandbox", "sandbox_escape", "critical", message, write.path) if {
	some write in report.writes_outside_worktree
	message := sprintf("the sandboxed code wrote outside its worktree (%s)", [write.call])
}

violations contains data.aigate.lib.violation("sandbox", "sandbox_head_mismatch", "high", message, null) if {
	has_report
	not _head_known
	message := sprintf("the sandbox report is for %s, not the PR's head %s", [report.head, _pr_head])
}
