"""Detection through the whole gate: hostile spellings, every identity checked everywhere, the host's
branch variables with --repo, and the signal kinds that could not be checked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from aigate import Gate
from aigate._cli import main
from aigate.config import config_from_mapping
from aigate.models import Decision

HUMAN = {"name": "Alice", "email": "alice@example.com"}


def commit(message: str, author: dict[str, str] = HUMAN, **extra: object) -> dict[str, object]:
    return {"sha": "a" * 40, "author": author, "committer": HUMAN, "message": message, **extra}


def decide(pr: dict[str, object] | None = None, commits: list[dict[str, object]] | None = None) -> Decision:
    with Gate() as gate:
        return gate.evaluate(gate.input_document(pr=pr or {}, commits=commits or [], diff=""))


@pytest.mark.parametrize(
    ("pr", "commits"),
    [
        pytest.param(
            {}, [commit("Fix\n\nCo-authored-by: Claude < noreply@anthropic.com >\n")], id="spaces-in-brackets"
        ),
        pytest.param({"labels": ["ai-generated "]}, [], id="label-trailing-space"),
        pytest.param({"labels": ["ai-\u200dgenerated"]}, [], id="label-zero-width-joiner"),
        pytest.param({"labels": ["ＡＩ－ｇｅｎｅｒａｔｅｄ"]}, [], id="label-fullwidth-nfkc"),
        pytest.param({"head_branch": "refs/heads/claude/x"}, [], id="branch-refs-heads"),
        pytest.param({"head_branch": " claude/x"}, [], id="branch-leading-space"),
        pytest.param({"head_branch": "ｃｌａｕｄｅ/x"}, [], id="branch-fullwidth-nfkc"),
        pytest.param(
            {},
            [commit("Fix\n\nGenerated  with [Claude Code](https://claude.com/claude-code)\n")],
            id="marker-doubled-spaces",
        ),
        pytest.param(
            {},
            [commit("Fix\n\nGenerated with\n[Claude Code](https://claude.com/claude-code)\n")],
            id="marker-split-across-lines",
        ),
        pytest.param({"title": "Fix login. Generated with [Claude Code]"}, [], id="marker-in-title-only"),
        pytest.param({"author": {"login": "helpful-agent", "type": "Bot"}}, [], id="unknown-bot-account"),
        pytest.param(
            {},
            [commit("Fix\n\nCo-authored-by: Claude <noreply@anthropic.com>\n", trailers=[])],
            id="empty-trailers-list-hides-nothing",
        ),
        pytest.param(
            {},
            [commit("Drop CI", author={"name": "Claude", "email": "noreply@anthropic.com"})],
            id="agent-as-commit-author",
        ),
        pytest.param(
            {},
            [commit("Fix\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>\n")],
            id="copilot-other-numeric-id",
        ),
        pytest.param(
            {},
            [commit("Fix\n\n---\n\nNotes.\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n")],
            id="trailer-after-markdown-rule",
        ),
    ],
)
def test_hostile_spelling_is_still_detected(pr: dict[str, object], commits: list[dict[str, object]]) -> None:
    decision = decide(pr, commits)
    assert decision.is_ai, decision.detection
    assert decision.risk is not None  # the AI checks ran


def test_nfkc_forms_are_in_the_input_document() -> None:
    with Gate() as gate:
        document = gate.input_document(pr={"head_branch": "ｃｌａｕｄｅ/x", "title": "plain"}, diff="")
    assert document.nfkc == {"ｃｌａｕｄｅ/x": "claude/x"}
    # A forged map in a ready document is replaced by the real one.
    forged = json.loads(document.model_dump_json())
    forged["nfkc"] = {"ｃｌａｕｄｅ/x": "feature/x"}
    with Gate() as gate:
        assert gate.evaluate(forged).is_ai


def test_detection_lists_kinds_checked_matched_and_unchecked() -> None:
    decision = decide({"labels": ["ai-generated"], "title": "Fix"}, [])
    assert decision.detection.matched == ("label",)
    assert "label" in decision.detection.checked
    assert set(decision.detection.unchecked) == {"branch", "co_author", "bot_author", "unknown_bot"}
    full = decide({"title": "Fix", "head_branch": "feature/x"}, [commit("Fix")])
    assert full.detection.unchecked == () and not full.is_ai
    assert set(full.detection.checked) == {
        "label",
        "co_author",
        "bot_author",
        "branch",
        "message_marker",
        "unknown_bot",
    }


def test_detection_builtin_false_starts_from_the_users_lists() -> None:
    config = config_from_mapping({"detection": {"builtin": False, "labels": ["robot"]}})
    with Gate(config) as gate:
        claude = gate.input_document(
            commits=[commit("x", author={"name": "Claude", "email": "noreply@anthropic.com"})], diff=""
        )
        assert not gate.evaluate(claude).is_ai
        assert gate.evaluate(gate.input_document(pr={"labels": ["Robot"]}, diff="")).is_ai


# --- the branch of a detached HEAD ---------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def detached_checkout(tmp_path: Path) -> Path:
    """A CI-like checkout: the PR's head commit checked out detached, no branch name in the repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "work")
    (repo / "a.txt").write_text("b\n")
    git(repo, "commit", "-q", "-am", "change")
    git(repo, "checkout", "-q", "--detach")
    git(repo, "branch", "-q", "-D", "work")
    return repo


@pytest.mark.parametrize("variable", ["GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"])
def test_repo_takes_the_branch_from_the_hosts_variables(
    detached_checkout: Path, variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"):
        monkeypatch.delenv(name, raising=False)
    args = ["evaluate", "--repo", str(detached_checkout), "--base", "main", "--head", "HEAD"]
    assert main(args) == 0
    without = json.loads(capsys.readouterr().out)
    assert not without["is_ai"] and "branch" in without["detection"]["unchecked"]
    monkeypatch.setenv(variable, "claude/fix-login")
    main(args)
    decision = json.loads(capsys.readouterr().out)
    assert decision["is_ai"]
    assert decision["detection"]["signals"] == [{"kind": "branch", "value": "claude/fix-login", "pattern": "claude/"}]
    assert "branch" in decision["detection"]["checked"]


def test_every_signal_at_once_dropping_one_does_not_evade_the_others() -> None:
    """No AI label, the branch renamed to drop the agent prefix, the trailer only in the first commit."""
    first = commit("Add login\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n")
    later = commit("Address review comments")
    decision = decide({"title": "Add login", "head_branch": "feature/login", "labels": []}, [first, later])
    assert decision.is_ai
    assert decision.detection.matched == ("co_author",)
    assert decision.detection.unchecked == ()


def test_seed_wildcard_does_not_make_automation_ai() -> None:
    """The seed's `*[bot]@*` names no bot: Dependabot's PR and commits stay human, a named one does not."""
    dependabot = {"name": "dependabot[bot]", "email": "49699333+dependabot[bot]@users.noreply.github.com"}
    pr = {"author": {"login": "dependabot[bot]", "type": "Bot"}, "title": "Bump x", "head_branch": "dependabot/pip/x"}
    commits = [commit("Bump x\n\nCo-authored-by: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>\n",
                      author=dependabot)]  # fmt: skip
    for extra in ([], ["dependabot[bot]"]):
        config = config_from_mapping({"detection": {"co_authors": ["*[bot]@*"], "bot_authors": extra}})
        with Gate(config) as gate:
            decision = gate.evaluate(gate.input_document(pr=pr, commits=commits, diff=""))
        assert decision.is_ai is bool(extra)
