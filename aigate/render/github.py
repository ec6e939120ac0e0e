"""GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` annotation per
violation, at its file and line, which GitHub shows on the PR's changed files and in the run."""

from __future__ import annotations

from aigate.models import Decision, Violation
from aigate.render._rules import violation_line
from aigate.render.interface import Renderer

__all__ = ["GithubAnnotationsRenderer", "escape_data", "escape_property"]

_COMMAND = {"block": "error", "warn": "warning", "observe": "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`%`, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubAnnotationsRenderer(Renderer):
    name = "github"

    def render(self, decision: Decision) -> str:
        lines = [self.annotation(v) for v in decision.violations]
        summary = f"aigate: {decision.outcome}"
        if decision.risk is not None:
            summary += (
                f" (risk {decision.risk.score}/100, tier {decision.risk.tier}, "
                f"{decision.risk.approvals} approval{'s' if decision.risk.approvals != 1 else ''})"
            )
        lines.append(f"::{'error' if decision.outcome == 'block' else 'notice'} title=aigate::{escape_data(summary)}")
        return "\n".join(lines) + "\n"

    @staticmethod
    def annotation(violation: Violation) -> str:
        properties = []
        if violation.path:
            properties += [f"file={escape_property(violation.path)}", f"line={violation_line(violation)}"]
        properties.append(f"title={escape_property(f'aigate {violation.rule} ({violation.severity})')}")
        return f"::{_COMMAND[violation.mode]} {','.join(properties)}::{escape_data(violation.message)}"
