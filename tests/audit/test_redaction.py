"""Redaction on every sink: no redacted value, and nothing derived from one, is ever stored; no secret
finding's value either. A pointer that names no input field is a config error."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.errors import ConfigError
from aigate.models import Commit, FileChange, Finding, InputDocument, PrAuthor, PullRequest
from aigate.sources.commits import parse_trailers
from audit.helpers import write_config, write_document

SECRETS = ("SECRETBRANCH", "SECRETREPO", "SECRETLOGIN", "SECRETBODY", "SECRETTRAILER", "SECRETPATH", "AKIAABCDEFGH")
REDACT = ["/pr/body", "/pr/head_branch", "/pr/url", "/pr/author/login", "/commits/*/message", "/files/*/path",
          "/files/*/old_path"]


def sensitive_pr() -> InputDocument:
    message = ("Rotate SECRETBODY credentials\n\nSee SECRETBODY notes\n\n"
               "Reviewed-on: SECRETTRAILER-42\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>\n")
    return InputDocument(
        pr=PullRequest(number=5, url="https://github.com/acme/SECRETREPO/pull/5", body="SECRETBODY plan",
                       labels=("ai-generated",), author=PrAuthor(login="SECRETLOGIN[bot]", type="Bot"),
                       head_branch="claude/SECRETBRANCH-fix", base_branch="main"),
        commits=(Commit(sha="c" * 40, message=message, trailers=parse_trailers(message)),),
        files=(FileChange(path="config/SECRETPATH.env", status="added", added=4),
               FileChange(path="src/SECRETPATH/auth/keys.py", status="modified", added=9, removed=1)),
        findings=(Finding(tool="gitleaks", category="secret", severity="high", rule_id="aws-access-key",
                          message="AWS key AKIAABCDEFGH found", path="src/app.py", line=3),),
    )


def assert_clean(text: str, where: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{where} holds redacted values: {leaked}"
    assert "**REDACTED**" in text, where


def _stored_texts(tmp_path: Path, extra_sinks: list[dict[str, Any]] | None = None) -> dict[str, str]:
    sinks = [{"type": "jsonl", "path": "audit.jsonl"}, {"type": "sqlite", "path": "audit.db"},
             *(extra_sinks or [])]
    config = write_config(tmp_path, {"sinks": sinks, "input": "full", "redact": REDACT})
    with Gate.from_config(config) as gate:
        decision = gate.evaluate(sensitive_pr(), correlation_id=None)
    # The decision itself (returned to the host) keeps every value; only what is stored is redacted.
    assert decision.outcome == "block"
    assert any("SECRETPATH" in (v.path or "") for v in decision.violations)
    connection = sqlite3.connect(tmp_path / "audit.db")
    rows = "\n".join(" ".join(map(str, row)) for row in connection.execute("SELECT * FROM audit_events"))
    connection.close()
    return {"jsonl": (tmp_path / "audit.jsonl").read_text(), "sqlite": rows}


def test_redaction_on_file_and_sqlite(tmp_path: Path) -> None:
    stored = _stored_texts(tmp_path)
    for sink, text in stored.items():
        assert_clean(text, sink)
    text = stored["jsonl"]
    # Derived values: the pr block, signal values, violation paths and messages, trailers, correlation id.
    assert '"head_branch":"**REDACTED**"' in text and '"url":"**REDACTED**"' in text
    assert '"kind":"branch","pattern":"claude/","value":"**REDACTED**"' in text
    assert re.search(r'"correlation_id":"sha256:[0-9a-f]{64}"', text)
    assert '"message":"**REDACTED** matches blocked pattern *.env*"' in text
    # Trailers come from the redacted message: they, and the co-author signal found in them, are redacted.
    assert '"trailers":"**REDACTED**"' in text
    assert '"kind":"co_author","pattern":"noreply@anthropic.com","value":"**REDACTED**"' in text
    # What was not redacted is kept: the file counts, the label, the scanner's rule.
    assert '"lines_added":13' in text and '"value":"ai-generated"' in text and "aws-access-key" in text


def test_redaction_on_stdout(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "stdout"}], "input": "full", "redact": REDACT})
    document = write_document(tmp_path / "input.json", sensitive_pr())
    result = run_cli("evaluate", "--config", config, "--input", document, "-o", tmp_path / "decision.json")
    assert result.code == 1, result.stderr
    assert len(result.stdout.splitlines()) == 7
    assert_clean(result.stdout, "stdout")


def test_secret_findings_never_stored_even_unredacted(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}], "redact": [],
                                     "input": "hash"})
    with Gate.from_config(config) as gate:
        gate.evaluate(sensitive_pr())
    text = (tmp_path / "audit.jsonl").read_text()
    assert "AKIAABCDEFGH" not in text
    assert "aws-access-key" in text  # the finding itself is recorded


@pytest.mark.parametrize(
    ("pointer", "problem"),
    [
        ("/pr/bodie", "no field 'bodie' under /pr"),
        ("/commits/*/mesage", "no field 'mesage' under /commits/*"),
        ("/files/*/status", "fixed set of values"),
        ("pr/body", "does not match"),
    ],
)
def test_pointer_that_names_no_input_field_is_a_config_error(pointer: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        config_from_mapping({"audit": {"redact": [pointer]}})


def test_pointers_that_name_input_fields_are_accepted() -> None:
    config_from_mapping({"audit": {"redact": ["/pr", "/commits/0/author/email", "/findings/*/message",
                                              "/generation/session_links/*", "/pr/labels/*"]}})


def test_nfkc_forms_of_redacted_texts_are_not_stored(tmp_path: Path) -> None:
    # The input's `nfkc` map copies every text NFKC changes: for a redacted text, that copy must go too.
    document = sensitive_pr().model_copy(update={"pr": sensitive_pr().pr.model_copy(
        update={"body": "ＳＥＣＲＥＴＢＯＤＹ plan", "title": "ｆｕｌｌｗｉｄｔｈ title"})})
    document = type(document).model_validate(document.model_dump())
    assert "ＳＥＣＲＥＴＢＯＤＹ plan" in document.nfkc
    config = write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}], "input": "full",
                                     "redact": REDACT})
    with Gate.from_config(config) as gate:
        gate.evaluate(document)
    text = (tmp_path / "audit.jsonl").read_text()
    assert "ＳＥＣＲＥＴＢＯＤＹ" not in text and "SECRETBODY" not in text
    assert "ｆｕｌｌｗｉｄｔｈ title" in text  # the title was not redacted: its form stays


def test_decision_log_redacts_derived_values_too(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"sinks": [{"type": "jsonl", "path": "audit.jsonl"}], "input": "full",
                                     "redact": REDACT, "decision_log": "decisions.jsonl"})
    with Gate.from_config(config) as gate:
        decision = gate.evaluate(sensitive_pr())
    text = (tmp_path / "decisions.jsonl").read_text()
    assert_clean(text, "decision log")
    record = __import__("json").loads(text)
    assert record["decision_id"] == decision.decision_id
    assert "/input/pr/head_branch" in record["masked"]
