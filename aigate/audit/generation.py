"""What the change says about how it was generated: agent, model, tools and session links, from the
input's `generation`, commit trailers, message markers, the PR author and the head branch.

Trailer conventions read (see AGENT_SIGNATURES): `Co-authored-by: NAME <EMAIL>` (Claude Code writes the
model as NAME, e.g. `Claude Opus 4.5`), `Assisted-by: AGENT:MODEL [TOOL…]` (the Linux kernel's),
`Claude-Session: URL`, `Replit-Commit-Session-Id: ID`, `Made-with: AGENT`. Which identity belongs to
which agent is data: `audit.agents` in the config (an e-mail, bot login or branch prefix to a name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aigate.audit.events import GenerationEvidence, GenerationPayload
from aigate.models import Decision, InputDocument

__all__ = ["infer_generation"]

_EMAIL = re.compile(r"<([^<>]+)>\s*$")
_SESSION_KEYS = frozenset({"claude-session", "replit-commit-session-id", "agent-session", "session"})
_MODEL_HINT = re.compile(r"\d")


def infer_generation(document: InputDocument, decision: Decision, agents: Mapping[str, str]) -> GenerationPayload:
    """The generation payload for `document` (already redacted: redacted fields say nothing here)."""
    agent: str | None = None
    model: str | None = None
    tools: list[str] = []
    sessions: list[str] = []
    evidence: list[GenerationEvidence] = []

    def known(identity: str) -> str | None:
        return agents.get(identity.strip().lower())

    given = document.generation
    if given is not None:
        agent, model = given.agent, given.model
        tools.extend(given.tools)
        sessions.extend(given.session_links)
        evidence.append(GenerationEvidence(source="input", text="generation"))
    for commit in document.commits:
        for trailer in commit.trailers:
            key = trailer.key.lower()
            value = trailer.value.strip()
            if key == "assisted-by" and value:
                # AGENT:MODEL [TOOL…]
                head, *extra = value.split()
                name, _, version = head.partition(":")
                agent = agent or name or None
                model = model or version or None
                tools.extend(t.strip("[]") for t in extra if t.strip("[]"))
                evidence.append(GenerationEvidence(source="trailer", text=f"{trailer.key}: {value}"))
            elif key == "co-authored-by":
                match = _EMAIL.search(value)
                email = match.group(1) if match else value
                name = value[: match.start()].strip() if match else ""
                owner = known(email) or known(value)
                if owner is None:
                    continue
                agent = agent or owner
                aider_model = re.fullmatch(r"aider \((.+)\)", name)
                if aider_model:
                    model = model or aider_model.group(1)
                elif name and _MODEL_HINT.search(name):
                    model = model or name
                evidence.append(GenerationEvidence(source="trailer", text=f"{trailer.key}: {value}"))
            elif key in _SESSION_KEYS and value:
                sessions.append(value)
                evidence.append(GenerationEvidence(source="trailer", text=f"{trailer.key}: {value}"))
            elif key == "made-with" and value:
                agent = agent or known(value) or value
                evidence.append(GenerationEvidence(source="trailer", text=f"{trailer.key}: {value}"))
        for identity in (commit.author.email, commit.author.name, commit.committer.email):
            owner = known(identity) if identity else None
            if owner:
                agent = agent or owner
                evidence.append(GenerationEvidence(source="trailer", text=f"author: {identity}"))
                break
    for signal in decision.detection.signals:
        if signal.kind == "message_marker":
            evidence.append(GenerationEvidence(source="marker", text=signal.value))
            agent = agent or known(signal.pattern)
    login = document.pr.author.login
    if login and known(login):
        agent = agent or known(login)
        evidence.append(GenerationEvidence(source="pr_author", text=login))
    branch = document.pr.head_branch
    if branch and "/" in branch:
        prefix = branch.split("/", 1)[0] + "/"
        if known(prefix):
            agent = agent or known(prefix)
            evidence.append(GenerationEvidence(source="branch", text=prefix))
    return GenerationPayload(
        agent=agent,
        model=model,
        tools=tuple(dict.fromkeys(tools)),
        session_links=tuple(dict.fromkeys(sessions)),
        evidence=tuple(dict.fromkeys(evidence)),
    )
