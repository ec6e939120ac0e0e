"""aigate's own secret check of the added lines (detect-secrets as a library), on by default."""

from __future__ import annotations

import json

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.document import build_input_document
from aigate.scanning import ScanningOptions

KEY_ID = "AKIAZ3MSJV4WWNKWW5FG"
TOKEN = "ghp_R8x2Kq9ZmT4vLw7NcY3pBf6HjD1sGa5Ue0Xi"
DIFF = (
    "diff --git a/app/settings.py b/app/settings.py\nindex 1111111..2222222 100644\n"
    "--- a/app/settings.py\n+++ b/app/settings.py\n@@ -1,2 +1,4 @@\n import os\n"
    f'+AWS_ACCESS_KEY_ID = "{KEY_ID}"\n+GITHUB = "{TOKEN}"\n DEBUG = False\n'
)
PR = {"labels": ["ai-generated"]}


def test_added_secrets_found_and_redacted() -> None:
    document = build_input_document(diff=DIFF)
    own = [f for f in document.findings if f.tool == "aigate"]
    assert {(f.rule_id, f.line) for f in own} >= {("AWS Access Key", 2), ("GitHub Token", 3)}
    assert all(f.category == "secret" and f.introduced and f.secret_hash for f in own)
    dumped = document.model_dump_json()
    assert KEY_ID not in dumped and TOKEN not in dumped
    assert [(r.tool, r.categories) for r in document.scans] == [("aigate", ("secret",))]


def test_removed_and_context_lines_are_not_scanned() -> None:
    removed = DIFF.replace("+AWS", "-AWS").replace("+GITHUB", " GITHUB").replace("@@ -1,2 +1,4 @@", "@@ -1,4 +1,3 @@")
    assert [f for f in build_input_document(diff=removed).findings if f.tool == "aigate"] == []


def test_an_ai_pr_adding_a_key_is_blocked_by_default() -> None:
    decision = Gate().evaluate(pr=PR, diff=DIFF)
    assert decision.outcome == "block"
    assert {v.rule for v in decision.violations} >= {"secret_detected"}
    assert KEY_ID not in decision.model_dump_json() and TOKEN not in decision.model_dump_json()


def test_switched_off() -> None:
    assert build_input_document(diff=DIFF, scanning=ScanningOptions(builtin_secrets=False)).findings == ()
    gate = Gate(config_from_mapping({"scanning": {"builtin_secrets": {"enabled": False}}}))
    assert gate.input_document(diff=DIFF).findings == ()
    assert json.loads(gate.input_document(diff=DIFF).model_dump_json())["scans"] == []
