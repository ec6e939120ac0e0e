"""Markdown for a PR comment or a job summary."""

from __future__ import annotations

from aigate.models import Decision, Violation
from aigate.render.interface import Renderer

__all__ = ["MarkdownRenderer"]

_HEADLINE = {
    "allow": "✅ **Allowed**",
    "review": "👀 **Review required**",
    "block": "⛔ **Blocked**",
}


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def _cell(text: str) -> str:
    """Plain text in a table cell: Markdown specials escaped (`**/auth/**` must not turn bold)."""
    return text.translate(_MARKDOWN_SPECIALS).replace("\n", " ")


def _violation_rows(violations: list[Violation]) -> list[str]:
    rows = ["| rule | layer | severity | path | message |", "|---|---|---|---|---|"]
    rows += [
        f"| `{v.rule}` | {v.layer} | {v.severity} | {f'`{_code(v.path)}`' if v.path else ''} | {_cell(v.message)} |"
        for v in violations
    ]
    return rows


def _code(text: str) -> str:
    """Text inside backticks: only the pipe (a table cell boundary) and newlines need care."""
    return text.replace("`", "'").replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer(Renderer):
    name = "markdown"

    def render(self, decision: Decision) -> str:
        lines = [f"### aigate: {_HEADLINE[decision.outcome]}", ""]
        if decision.is_ai:
            signals = ", ".join(f"{s.kind} `{_code(s.value)}`" for s in decision.detection.signals)
            lines.append(f"AI-generated: yes ({signals})")
        else:
            lines.append("AI-generated: no")
        risk = decision.risk
        if risk is not None:
            needs = []
            if risk.approvals:
                needs.append(f"{risk.approvals} approval{'s' if risk.approvals != 1 else ''}")
            if risk.require_security_team:
                needs.append("security team review")
            if risk.auto_merge and not risk.approvals and decision.outcome != "block":
                needs.append("auto-merge")
            enforced = "" if risk.mode == "block" else f" ({risk.mode} mode, not enforced)"
            lines += ["", f"Risk: **{risk.score}/100**, tier **{risk.tier}**: {', '.join(needs) or 'no requirements'}"
                      f"{enforced}"]
            if risk.factors:
                lines += ["", "| factor | points | detail |", "|---|---:|---|"]
                lines += [f"| {f.name} | {f.points:+d} | {_cell(f.detail)} |" for f in risk.factors]
        for title, group in (
            ("Blocking", [v for v in decision.violations if v.blocking]),
            ("Warnings", [v for v in decision.violations if v.mode == "warn"]),
        ):
            if group:
                lines += ["", f"#### {title}", "", *_violation_rows(group)]
        observed = [v for v in decision.violations if v.mode == "observe"]
        if observed:
            lines += ["", "<details><summary>Observed (not enforced)</summary>", "", *_violation_rows(observed),
                      "", "</details>"]
        lines += ["", f"<sub>decision {decision.decision_id} · engine {decision.engine} · "
                      f"policies {decision.policy_revision} · config {decision.config_digest[:19]}</sub>"]
        return "\n".join(lines) + "\n"
