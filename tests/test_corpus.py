"""Detection on real commits (tests/corpus/commits.json: public repositories, each entry with its
repository, SHA and URL): every AI-assisted commit is detected, no human or plain-automation commit
is flagged, with the defaults and with the seed example config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigate import Gate
from aigate.config import config_from_mapping, load_config
from aigate.models import Decision

ROOT = Path(__file__).resolve().parent.parent
CORPUS: list[dict[str, Any]] = json.loads((ROOT / "tests/corpus/commits.json").read_text(encoding="utf-8"))
SEED = ROOT / "examples/.ai-code-gate.yml"


@pytest.fixture(scope="module", params=["defaults", "seed"])
def gate(request: pytest.FixtureRequest) -> Gate:
    return Gate(load_config(None if request.param == "defaults" else SEED))


def decide(gate: Gate, entry: dict[str, Any]) -> Decision:
    return gate.evaluate(gate.input_document(commits=[entry["commit"]], diff=""))


def test_corpus_size_and_kinds() -> None:
    expected = [entry["expected"] for entry in CORPUS]
    assert expected.count("ai") >= 40
    assert expected.count("not_ai") >= 20
    assert len({(entry["repo"], entry["sha"], entry["url"]) for entry in CORPUS}) == len(CORPUS)
    messages = [entry["commit"]["message"] for entry in CORPUS]
    # The cases the issue names: `---` bodies, squash merges, model-named trailers, Assisted-by.
    assert sum("\n---" in m and "Co-authored-by" in m for m in messages) >= 3
    assert sum(entry["commit"]["committer"]["email"] == "noreply@github.com" for entry in CORPUS) >= 10
    assert any("Claude Opus 4.5 <noreply@anthropic.com>" in m for m in messages)
    assert any("Assisted-by: " in m for m in messages)


@pytest.mark.parametrize("entry", [e for e in CORPUS if e["expected"] == "ai"], ids=lambda e: e["url"])
def test_ai_commit_is_detected(gate: Gate, entry: dict[str, Any]) -> None:
    decision = decide(gate, entry)
    assert decision.is_ai
    assert decision.detection.matched != ("unknown_bot",), "an agent's commit must match an agent signature"


@pytest.mark.parametrize("entry", [e for e in CORPUS if e["expected"] == "not_ai"], ids=lambda e: e["url"])
def test_human_or_automation_commit_is_not_flagged(gate: Gate, entry: dict[str, Any]) -> None:
    decision = decide(gate, entry)
    assert decision.detection.signals == ()
    assert not decision.is_ai and decision.outcome == "allow"


@pytest.mark.parametrize("entry", [e for e in CORPUS if e["expected"] == "unknown_bot"], ids=lambda e: e["url"])
def test_unlisted_bot_is_an_unknown_bot_until_listed(entry: dict[str, Any]) -> None:
    default = decide(Gate(), entry)
    assert {s.kind for s in default.detection.signals} == {"unknown_bot"}
    login = entry["commit"]["author"]["name"]
    listed = Gate(config_from_mapping({"detection": {"automation": [login]}}))
    assert decide(listed, entry).detection.signals == ()


def test_seed_config_adds_to_the_builtin_signatures() -> None:
    """The seed's co_authors (`*[bot]@*`, `*noreply@anthropic.com`) add to the built-in lists: a Codex
    co-author is still AI, and the wildcard does not turn Dependabot or Stainless into agents."""
    seed = load_config(SEED)
    assert "noreply@openai.com" in seed.settings["detection"]["co_authors"]
    assert "*[bot]@*" in seed.settings["detection"]["co_authors"]
    only_users = config_from_mapping({"detection": {"builtin": False, "co_authors": ["*[bot]@*"]}})
    assert only_users.settings["detection"]["co_authors"] == ["*[bot]@*"]
    assert only_users.settings["detection"]["automation"] == []
    codex = next(e for e in CORPUS if "Codex <noreply@openai.com>" in e["commit"]["message"])
    assert not decide(Gate(only_users), codex).is_ai
    assert decide(Gate(seed), codex).is_ai
