"""Markdown for a PR comment or a job summary: a reviewer's summary, within a hard size cap.

The verdict and the reason come first, then the sensitive files by name, then the violations grouped
by rule (deciding rules first, paths folded in `<details>`), the risk and the detection. GitHub refuses
comments over 65,536 characters, so the text never exceeds `max_chars` (60,000 by default): path lists
are cut to fit and a closing note says what was left out. The JSON output keeps every detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aigate.models import Decision, Violation
from aigate.render.interface import Renderer

__all__ = ["DEFAULT_MAX_CHARS", "MarkdownRenderer"]

DEFAULT_MAX_CHARS = 60_000

_HEADLINE = {
    "allow": "✅ **Allowed**",
    "review": "👀 **Review required**",
    "block": "⛔ **Blocked**",
}
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
# Longest message or value shown in one line; the JSON keeps the whole text.
_MAX_TEXT = 300
# Kept free for the closing note and the footer, so that they always fit.
_RESERVE = 1_500

_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def _short(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    """Plain text in a table cell: Markdown specials escaped (`**/auth/**` must not turn bold)."""
    return _short(text).translate(_MARKDOWN_SPECIALS)


def _code(text: str) -> str:
    """Text inside backticks (a path): only the pipe (a table cell boundary), backticks and newlines need
    care. A very long path keeps its start and its end, which name it."""
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT // 2] + "…" + text[-(_MAX_TEXT // 2) :]
    return text.replace("`", "'").replace("|", "\\|")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class _RuleGroup:
    """The violations of one rule in one enforcement mode."""

    rule: str
    layer: str
    severity: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return sorted({v.path for v in self.violations if v.path})

    @property
    def whole_pr(self) -> list[Violation]:
        """Violations about the PR as a whole (max_files, max_lines_added…): the deciding rows."""
        return [v for v in self.violations if not v.path]

    def sort_key(self) -> tuple[int, int, int, str]:
        # Rules about the whole PR first, then by severity, then the biggest groups.
        return (0 if self.whole_pr else 1, _SEVERITY_ORDER.get(self.severity, 9), -len(self.violations), self.rule)


def _groups(violations: Iterable[Violation]) -> list[_RuleGroup]:
    groups: dict[str, _RuleGroup] = {}
    for v in violations:
        group = groups.setdefault(v.rule, _RuleGroup(v.rule, v.layer, v.severity))
        if _SEVERITY_ORDER.get(v.severity, 9) < _SEVERITY_ORDER.get(group.severity, 9):
            group.severity = v.severity
        group.violations.append(v)
    return sorted(groups.values(), key=_RuleGroup.sort_key)


class _Budget:
    """What is left of the size cap, and what was left out to respect it."""

    def __init__(self, chars: int) -> None:
        self.chars = chars
        self.left_out: list[str] = []

    def take(self, text: str) -> bool:
        if len(text) + 1 > self.chars:
            return False
        self.chars -= len(text) + 1
        return True


class MarkdownRenderer(Renderer):
    name = "markdown"

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if max_chars < 4 * _RESERVE:
            raise ValueError(f"max_chars must be at least {4 * _RESERVE}")
        self.max_chars = max_chars

    def render(self, decision: Decision) -> str:
        head = [f"### aigate: {_HEADLINE[decision.outcome]}", "", f"**Why:** {_reason(decision)}"]
        enforced = [v for v in decision.violations if v.mode != "observe"]
        groups = {
            "Blocking": _groups(v for v in enforced if v.blocking),
            "Warnings": _groups(v for v in enforced if not v.blocking),
            "Observed (not enforced)": _groups(v for v in decision.violations if v.mode == "observe"),
        }
        summary: list[str] = []
        for title, rule_groups in groups.items():
            if rule_groups:
                summary += ["", f"#### {title}", "", "| rule | layer | severity | count | about |"]
                summary.append("|---|---|---|---:|---|")
                summary += [_group_row(group) for group in rule_groups]
        risk_lines = _risk_lines(decision)
        detection_lines = _detection_lines(decision)
        footer = [
            "",
            f"<sub>decision {decision.decision_id} · engine {decision.engine} · "
            f"policies {decision.policy_revision} · config {decision.config_digest[:19]}</sub>",
        ]
        sensitive = _sensitive_inline(decision)
        fixed = "\n".join([*head, *sensitive, *summary, *risk_lines, *detection_lines, *footer])
        budget = _Budget(self.max_chars - len(fixed) - _RESERVE)
        details: list[str] = []
        for title, rule_groups in groups.items():
            for group in rule_groups:
                details += _details(title, group, budget)
        details += _sensitive_rest(decision, budget)
        lines = [*head, *sensitive, *summary, *details, *risk_lines, *detection_lines]
        if budget.left_out:
            left_out = _short("; ".join(budget.left_out), _RESERVE - 200)
            lines += ["", f"> **Left out to stay under {self.max_chars:,} characters** (the JSON decision has "
                          f"them all): {left_out}"]
        text = "\n".join([*lines, *footer]) + "\n"
        if len(text) > self.max_chars:  # only if the fixed parts alone are too long: cut them, say so
            note = "\n\n> **Cut at the size limit**; the JSON decision has every detail.\n"
            text = text[: self.max_chars - len(note)] + note
        return text


def _reason(decision: Decision) -> str:
    """The verdict's reason in one sentence: what decided it."""
    risk = decision.risk
    blocking = _groups(v for v in decision.violations if v.blocking)
    if decision.outcome == "block":
        parts = [f"`{g.rule}` ({_about(g)})" for g in blocking[:5]]
        more = f" and {len(blocking) - 5} more rules" if len(blocking) > 5 else ""
        return f"{_plural(len(blocking), 'blocking rule')}: " + ", ".join(parts) + more + "."
    if risk is None:
        return "not AI-generated, so no AI checks apply." if not decision.is_ai else "no checks apply."
    requirements = _requirements(decision)
    if decision.outcome == "review":
        return f"risk **{risk.score}/100**, tier **{risk.tier}**: {requirements}."
    if risk.mode != "block":
        return f"risk {risk.score}/100, tier {risk.tier} ({risk.mode} mode: the tier is not enforced)."
    return f"risk **{risk.score}/100**, tier **{risk.tier}**: {requirements}."


def _requirements(decision: Decision) -> str:
    risk = decision.risk
    if risk is None:
        return "no requirements"
    needs = []
    if risk.approvals:
        needs.append(_plural(risk.approvals, "approval") + " required")
    if risk.require_security_team:
        needs.append("security team review")
    if not needs and not risk.auto_merge:
        needs.append("a person decides (this tier does not auto-merge)")
    if risk.auto_merge and not risk.approvals:
        needs.append("auto-merge allowed")
    return ", ".join(needs)


def _about(group: _RuleGroup) -> str:
    if group.whole_pr and not group.paths:
        return _cell(group.whole_pr[0].message)
    return _plural(len(group.paths) or len(group.violations), "path" if group.paths else "finding")


def _group_row(group: _RuleGroup) -> str:
    return f"| `{group.rule}` | {group.layer} | {group.severity} | {len(group.violations)} | {_about(group)} |"


def _details(title: str, group: _RuleGroup, budget: _Budget) -> list[str]:
    """The rule's paths (or messages), folded, as many as the budget allows."""
    items = [f"- `{_code(path)}`" for path in group.paths]
    items += [f"- {_cell(v.message)}" for v in group.whole_pr if len(group.whole_pr) > 1 or group.paths]
    if not items:
        return []
    summary = f"<summary><code>{group.rule}</code>: {_plural(len(items), 'item')} ({title.lower()})</summary>"
    return _folded(summary, items, group.rule, budget)


def _folded(summary: str, items: list[str], what: str, budget: _Budget) -> list[str]:
    opening = ["", "<details>", summary, ""]
    closing = ["", "</details>"]
    if not budget.take("\n".join(opening + closing)):
        budget.left_out.append(f"{len(items)} items of {what}")
        return []
    shown: list[str] = []
    for item in items:
        if not budget.take(item):
            break
        shown.append(item)
    if len(shown) < len(items):
        missing = len(items) - len(shown)
        shown.append(f"- … and {missing} more")
        budget.left_out.append(f"{missing} of {len(items)} items of {what}")
    return [*opening, *shown, *closing]


_SENSITIVE_INLINE = 20


def _sensitive_inline(decision: Decision) -> list[str]:
    """The sensitive files by name, the first ones inline (the rest are folded below the rules)."""
    files = decision.risk.sensitive_files if decision.risk else ()
    if not files:
        return []
    inline = ", ".join(f"`{_code(path)}`" for path in files[:_SENSITIVE_INLINE])
    more = f" and {len(files) - _SENSITIVE_INLINE} more (below)" if len(files) > _SENSITIVE_INLINE else ""
    return ["", f"**Sensitive files ({len(files)}):** {inline}{more}"]


def _sensitive_rest(decision: Decision, budget: _Budget) -> list[str]:
    rest = list(decision.risk.sensitive_files[_SENSITIVE_INLINE:]) if decision.risk else []
    if not rest:
        return []
    items = [f"- `{_code(path)}`" for path in rest]
    return _folded(f"<summary>{len(rest)} more sensitive files</summary>", items, "sensitive files", budget)


def _risk_lines(decision: Decision) -> list[str]:
    risk = decision.risk
    if risk is None:
        return []
    lines = ["", "#### Risk", ""]
    if decision.outcome == "block":
        lines.append(f"Score **{risk.score}/100**, tier **{risk.tier}**: once the blocking rules are fixed, "
                     f"{_requirements(decision)}.")
    else:
        enforced = "" if risk.mode == "block" else f" ({risk.mode} mode, not enforced)"
        lines.append(f"Score **{risk.score}/100**, tier **{risk.tier}**: {_requirements(decision)}{enforced}.")
    if risk.factors:
        lines += ["", "| factor | points | detail |", "|---|---:|---|"]
        lines += [f"| {f.name} | {f.points:+d} | {_cell(f.detail)} |" for f in risk.factors]
    return lines


def _detection_lines(decision: Decision) -> list[str]:
    detection = decision.detection
    lines = ["", "#### Detection", ""]
    if detection.signals:
        # What matched, once each: one trailer matched by two patterns is one signal to a reviewer (the
        # decision's JSON keeps every pattern).
        matched = list(dict.fromkeys((s.kind, s.value) for s in detection.signals))
        signals = ", ".join(f"{kind} `{_code(value)}`" for kind, value in matched[:10])
        more = f" and {len(matched) - 10} more" if len(matched) > 10 else ""
        lines.append(f"AI-generated: **yes** ({signals}{more})")
    else:
        lines.append("AI-generated: **no** (no signal matched)")
    if detection.unchecked:
        lines.append(f"Not checked (no input): {', '.join(detection.unchecked)}")
    return lines
