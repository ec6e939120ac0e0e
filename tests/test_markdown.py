"""The Markdown PR comment: verdict and reason first, violations grouped by rule with counts and the
paths folded, sensitive files named, never over the size cap (with a note of what was left out)."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from aigate import Gate
from aigate.config import load_config
from aigate.models import Commit, Decision, FileChange, InputDocument, Person, PullRequest
from aigate.render.markdown import DEFAULT_MAX_CHARS, MarkdownRenderer

SEED = REPO / "examples/.ai-code-gate.yml"


def five_hundred_file_pr(path_length: int) -> Decision:
    """An AI PR of 500 files: blocked .env files, sensitive auth files, files outside the allowed paths,
    over the seed's max_files and max_lines_added."""
    pad = "d" * max(0, path_length - 40)
    files = []
    for i in range(500):
        kind = i % 5
        path = {
            0: f"config/{pad}/service{i}.env.local",
            1: f"src/auth/{pad}/handler{i}.ts",
            2: f"docs/{pad}/page{i}.md",
            3: f"src/app/{pad}/view{i}.tsx",
            4: f"scripts/{pad}/tool{i}.py",
        }[kind]
        files.append(FileChange(path=path, status="added", added=12))
    document = InputDocument(pr=PullRequest(labels=("ai-generated",), head_branch="claude/big"), files=tuple(files))
    with Gate(load_config(SEED)) as gate:
        return gate.evaluate(document)


@pytest.mark.parametrize("path_length", [40, 400])
def test_500_file_pr_stays_under_the_cap_and_puts_the_deciding_rules_first(path_length: int) -> None:
    decision = five_hundred_file_pr(path_length)
    assert decision.outcome == "block"
    text = MarkdownRenderer().render(decision)
    assert len(text) <= DEFAULT_MAX_CHARS

    lines = text.splitlines()
    assert lines[0] == "### aigate: ⛔ **Blocked**"
    why = lines[2]
    assert why.startswith("**Why:** ") and "`max_files`" in why and "`blocked_path`" in why
    # The deciding whole-PR rules come before any per-path row or list.
    position = {rule: text.index(f"| `{rule}` |") for rule in ("max_files", "max_lines_added", "blocked_path")}
    assert position["max_files"] < position["blocked_path"]
    assert position["max_lines_added"] < position["blocked_path"]
    assert text.index("| `max_files` |") < text.index("<details>")
    # Grouped by rule, with counts: one row per rule, not per file.
    assert len(re.findall(r"^\| `blocked_path` \|", text, flags=re.M)) == 1
    assert "| `blocked_path` | paths | high | 200 | 200 paths |" in text
    # Sensitive files named, near the top.
    assert "**Sensitive files (" in text and "service0.env.local" in text[: text.index("#### Blocking")]
    # The tier does not read as the verdict of a blocked PR.
    assert "once the blocking rules are fixed" in text
    if path_length == 400:
        assert "**Left out to stay under 60,000 characters**" in text
        assert re.search(r"- … and \d+ more", text)
    else:
        assert "Left out" not in text
        # Every path of blocked_path and path_not_allowed, folded, and the sensitive files past the first 20.
        assert text.count("<details>") == 3
        assert all(f"- `src/auth//handler{i}.ts`" in text for i in range(1, 500, 5))


def test_smaller_cap_and_json_keeps_everything() -> None:
    decision = five_hundred_file_pr(120)
    text = MarkdownRenderer(max_chars=10_000).render(decision)
    assert len(text) <= 10_000
    assert "Left out" in text
    assert len([v for v in decision.violations if v.rule == "blocked_path"]) == 200
    assert len(decision.risk.sensitive_files if decision.risk else ()) >= 200


def test_allowed_and_human_prs_say_why() -> None:
    with Gate() as gate:
        human = gate.evaluate(InputDocument(files=(FileChange(path="a.py", status="modified", added=1),)))
        one_file = (FileChange(path="a.py", status="modified", added=1),)
        ai = gate.evaluate(InputDocument(pr=PullRequest(labels=("ai-generated",)), files=one_file))
    human_text = MarkdownRenderer().render(human)
    assert human_text.splitlines()[2] == "**Why:** not AI-generated, so no AI checks apply."
    ai_text = MarkdownRenderer().render(ai)
    why = "**Why:** risk **2/100**, tier **low**: auto-merge allowed."
    assert ai_text.startswith(f"### aigate: ✅ **Allowed**\n\n{why}")
    assert "Not checked (no input): bot_author, branch, co_author" in ai_text


def test_a_trailer_two_patterns_match_is_listed_once() -> None:
    # The seed config matches Claude's trailer by two patterns (`noreply@anthropic.com` and
    # `*noreply@anthropic.com`): two signals in the decision, one line item for a reviewer.
    commit = Commit(
        author=Person(name="Ann", email="ann@example.com"),
        message="Fix\n\nCo-authored-by: Claude Fable 5 <noreply@anthropic.com>\n",
    )
    document = InputDocument(commits=(commit,), files=(FileChange(path="a.py", status="modified", added=1),))
    with Gate(load_config(SEED)) as gate:
        decision = gate.evaluate(document)
    trailer = "Claude Fable 5 <noreply@anthropic.com>"
    assert [s.pattern for s in decision.detection.signals if s.value == trailer] == [
        "*noreply@anthropic.com", "noreply@anthropic.com"
    ]
    text = MarkdownRenderer().render(decision)
    assert f"AI-generated: **yes** (co_author `{trailer}`)" in text
