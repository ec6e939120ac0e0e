"""JUnit XML: one test case per rule and path, so that CI test widgets (GitLab's MR widget, GitHub
test reporters) list every violation; a blocking violation is a failure, and the decision itself is
one more test case that fails when the PR is blocked."""

from __future__ import annotations

from aigate.models import Decision
from aigate.render._rules import rule_help
from aigate.render.interface import Renderer

__all__ = ["JunitRenderer"]


class JunitRenderer(Renderer):
    name = "junit"

    def render(self, decision: Decision) -> str:
        import xml.etree.ElementTree as ElementTree  # only when JUnit is asked for: CLI start-up

        failures = sum(v.blocking for v in decision.violations) + (decision.outcome == "block")
        tests = len(decision.violations) + 1
        suites = ElementTree.Element("testsuites", name="aigate", tests=str(tests), failures=str(failures))
        suite = ElementTree.SubElement(
            suites, "testsuite", name="aigate", tests=str(tests), failures=str(failures), errors="0", skipped="0"
        )
        properties = ElementTree.SubElement(suite, "properties")
        for name, value in (
            ("outcome", decision.outcome),
            ("is_ai", str(decision.is_ai).lower()),
            ("risk_score", "" if decision.risk is None else str(decision.risk.score)),
            ("risk_tier", "" if decision.risk is None else decision.risk.tier),
            ("approvals", "0" if decision.risk is None else str(decision.risk.approvals)),
            ("decision_id", decision.decision_id),
            ("config_source", decision.config_source),
        ):
            ElementTree.SubElement(properties, "property", name=name, value=value)

        outcome = ElementTree.SubElement(suite, "testcase", classname="aigate.decision", name="outcome")
        if decision.outcome == "block":
            blocking = [v.rule for v in decision.violations if v.blocking]
            failure = ElementTree.SubElement(outcome, "failure", message="blocked", type="block")
            failure.text = "Blocked by: " + ", ".join(dict.fromkeys(blocking))
        else:
            out = ElementTree.SubElement(outcome, "system-out")
            approvals = decision.risk.approvals if decision.risk else 0
            out.text = f"outcome {decision.outcome}; approvals required: {approvals}"

        for violation in decision.violations:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"aigate.{violation.layer}.{violation.rule}",
                name=f"{violation.rule}: {violation.path}" if violation.path else violation.rule,
                file=violation.path or "",
            )
            text = f"{violation.message}\n\n{rule_help(violation.rule).help}"
            if violation.blocking:
                failure = ElementTree.SubElement(
                    case, "failure", message=violation.message, type=f"{violation.severity}"
                )
                failure.text = text
            else:
                out = ElementTree.SubElement(case, "system-out")
                out.text = f"[{violation.mode}] {text}"
        ElementTree.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
