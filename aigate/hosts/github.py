"""GitHub Actions: a `pull_request` / `pull_request_target` run.

Reads the event payload at `GITHUB_EVENT_PATH`; commits and diff come from the checkout
(`GITHUB_WORKSPACE`) between `pull_request.base.sha` and `pull_request.head.sha`, so the checkout
needs the full history (`actions/checkout` with `fetch-depth: 0`). Writes the Markdown decision to
`GITHUB_STEP_SUMMARY` and `outcome`, `score`, `tier`, `approvals` (and `is_ai`, `decision_id`) to
`GITHUB_OUTPUT`; the annotations go to standard output, where the runner reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aigate.errors import AigateError, PullRequestError
from aigate.hosts.interface import HostAdapter, HostRun
from aigate.models import Decision
from aigate.render.markdown import MarkdownRenderer
from aigate.sources._io import read_json
from aigate.sources.pr_github import parse_github_pull_request

__all__ = ["PR_EVENTS", "GithubAdapter", "step_outputs"]

PR_EVENTS = ("pull_request", "pull_request_target")


class GithubAdapter(HostAdapter):
    name = "github"

    def plan(self, environ: Mapping[str, str]) -> HostRun:
        event = environ.get("GITHUB_EVENT_NAME", "")
        if event not in PR_EVENTS:
            raise AigateError(
                f"GITHUB_EVENT_NAME {event or '(unset)'}: aigate github runs on pull_request or pull_request_target"
            )
        path = environ.get("GITHUB_EVENT_PATH")
        if not path:
            raise AigateError("GITHUB_EVENT_PATH is not set: no event payload to read")
        payload = read_json(Path(path), PullRequestError)
        if not isinstance(payload, dict) or not isinstance(payload.get("pull_request"), dict):
            raise PullRequestError(path, "no pull_request object in the event payload")
        pr = parse_github_pull_request(payload, source=path)
        base = _sha(payload["pull_request"], "base", path)
        head = _sha(payload["pull_request"], "head", path)
        return HostRun(repo=Path(environ.get("GITHUB_WORKSPACE") or "."), base=base, head=head, pr=pr)

    def publish(self, decision: Decision, environ: Mapping[str, str]) -> None:
        summary = environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            _append(Path(summary), MarkdownRenderer().render(decision), "GITHUB_STEP_SUMMARY")
        output = environ.get("GITHUB_OUTPUT")
        if output:
            _append(Path(output), "".join(f"{k}={v}\n" for k, v in step_outputs(decision).items()), "GITHUB_OUTPUT")


def step_outputs(decision: Decision) -> dict[str, str]:
    risk = decision.risk
    return {
        "outcome": decision.outcome,
        "score": "" if risk is None else str(risk.score),
        "tier": "" if risk is None else risk.tier,
        "approvals": "0" if risk is None else str(risk.approvals),
        "is_ai": str(decision.is_ai).lower(),
        "decision_id": decision.decision_id,
    }


def _sha(pull: dict[str, Any], side: str, source: str) -> str:
    value = (pull.get(side) or {}).get("sha") if isinstance(pull.get(side), dict) else None
    if not isinstance(value, str) or not value:
        raise PullRequestError(source, f"pull_request.{side}.sha: missing")
    return value


def _append(path: Path, text: str, name: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as e:
        raise AigateError(f"{name} {path}: cannot append: {e.strerror or e}") from e
