"""`aigate explain`: a readable account of a decision, every item traced to the Rego rule (file and
line) that produced it and to the input facts behind it. Text or Markdown."""

from __future__ import annotations

import json

from aigate.engines.interface import PolicySet
from aigate.models import Decision, InputDocument

__all__ = ["explain"]


def _rule_spans(policies: PolicySet) -> list[tuple[str, int, str]]:
    """(file, line, rule text) of every rule, from regorus's parse of the modules."""
    import regorus

    engine = regorus.Engine()
    for path, source in policies.modules:
        engine.add_policy(str(policies.root / path), source)
    spans = []
    for module in json.loads(engine.get_ast_as_json()):
        data = module["source"]["contents"].encode("utf-8")
        for rule in module["ast"]["rules"]:
            span = next(iter(rule.values()))["span"]
            text = data[span["start"] : span["end"]].decode("utf-8", "replace")
            spans.append((module["source"]["file"], int(span["line"]), text))
    return spans


def _where(spans: list[tuple[str, int, str]], *needles: str) -> str:
    for file, line, text in spans:
        if all(needle in text for needle in needles):
            return f"{file}:{line}"
    return "(rule not found)"


def explain(decision: Decision, document: InputDocument, policies: PolicySet, *, markdown: bool = False) -> str:
    spans = _rule_spans(policies)
    files = {f.path: f for f in document.files}
    lines: list[str] = []
    head = "## " if markdown else ""
    bullet = "- " if markdown else "  "
    agent = decision.agent
    named = f" (agent {agent.name}, override {agent.override})" if agent else ""
    lines.append(f"{head}Outcome: {decision.outcome}{named}")
    lines.append(f"{head}Signals ({len(decision.detection.signals)}), is_ai={decision.is_ai}")
    for s in decision.detection.signals:
        where = s.source or _where(spans, f'"kind": "{s.kind}"')
        lines.append(f"{bullet}{s.kind}: {s.value!r} matched {s.pattern!r} — rule {where}")
    lines.append(f"{head}Violations ({len(decision.violations)})")
    for v in decision.violations:
        where = v.source or _where(spans, f'"{v.rule}"')
        fact = ""
        if v.path in files:
            f = files[v.path]
            fact = f"; input: {f.path} {f.status}, +{f.added}/-{f.removed}"
        state = "waived: " + v.waiver.reason if v.waived and v.waiver else ("blocking" if v.blocking else v.mode)
        lines.append(f"{bullet}{v.rule} [{v.layer}, {state}] {v.message} — rule {where}{fact}")
    if decision.risk is not None:
        risk = decision.risk
        lines.append(f"{head}Risk: score {risk.score}, tier {risk.tier}, approvals {risk.approvals}")
        for factor in risk.factors:
            where = factor.source or _where(spans, f'"name": "{factor.name}"')
            lines.append(f"{bullet}{factor.name}: {factor.points:+d} ({factor.detail}) — rule {where}")
    lines.extend(
        f"{bullet}required reviewer {r.reviewer} ({r.approvals} approvals): {r.reason} — {r.source}"
        for r in decision.required_reviewers
    )
    lines.extend(f"{bullet}refused: {r.item} — {r.reason} ({r.source})" for r in decision.custom.refused)
    return "\n".join(lines) + "\n"


