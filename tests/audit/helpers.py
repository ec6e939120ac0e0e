"""Helpers of the audit tests: configs on disk, sample PRs, reading stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aigate.models import Commit, FileChange, Finding, InputDocument, PrAuthor, PullRequest, Trailer
from aigate.sources.commits import parse_trailers

CLAUDE_MESSAGE = (
    "Add retry to the payments client\n\n"
    "Generated with [Claude Code](https://claude.com/claude-code)\n\n"
    "Claude-Session: https://claude.ai/code/session_01ABC\n"
    "Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n"
)


def write_config(folder: Path, audit: dict[str, Any], **sections: Any) -> Path:
    path = folder / ".ai-code-gate.yml"
    path.write_text(yaml.safe_dump({"audit": {"enabled": True, **audit}, **sections}), encoding="utf-8")
    return path


def commit(message: str, sha: str = "a" * 40) -> Commit:
    return Commit(sha=sha, message=message, trailers=parse_trailers(message))


def claude_pr(number: int = 42, *, files: tuple[FileChange, ...] | None = None, body: str = "",
              findings: tuple[Finding, ...] = ()) -> InputDocument:
    return InputDocument(
        pr=PullRequest(
            number=number, title="Retry payments", body=body, labels=("ai-generated",),
            author=PrAuthor(login="claude[bot]", type="Bot"), head_branch="claude/retry-payments",
            base_branch="main", url=f"https://github.com/acme/payments/pull/{number}",
        ),
        commits=(commit(CLAUDE_MESSAGE),),
        files=files if files is not None else (FileChange(path="src/client.py", status="modified", added=12,
                                                            removed=3),),
        findings=findings,
    )


def write_document(path: Path, document: InputDocument) -> Path:
    path.write_text(document.model_dump_json(), encoding="utf-8")
    return path


def jsonl_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


__all__ = ["CLAUDE_MESSAGE", "Trailer", "claude_pr", "commit", "jsonl_events", "write_config", "write_document"]
