"""No byte of a secret leaves aigate: one planted in every field of every secret format (and in an added
line of the diff) appears in none of the input document, the decision in every output format, the audit
trail (JSON Lines and SQLite sinks, full input), the decision log, or any error message."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from aigate import Gate
from aigate.config import load_config
from aigate.errors import AigateError
from aigate.render import RENDERERS

# One made-up credential per format, each of a shape its detectors would report.
SECRETS = {
    "gitleaks": "AKIAQ7XPLANTEDGITLKS",
    "trufflehog": "ghp_PlantedTruffleHog0123456789abcdefABCD",
    "detect-secrets": "b1946ac92492d2347c6235b4d2611184PLANTEDDS",
    "github-secret-scanning": "xoxb-PLANTED-github-alert-0123456789",
    "trivy": "sk_live_PLANTEDtrivy0123456789abcdef",
    "sarif": "glpat-PLANTEDsarifGitleaks012345",
}
DIFF_SECRET = "AKIAQ7XPLANTEDINDIFF"


def _every_field(value: Any, secret: str) -> Any:
    """The same structure with the secret put into every string field (and appended to every key's value)."""
    if isinstance(value, dict):
        return {key: _every_field(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_every_field(item, secret) for item in value]
    if isinstance(value, str):
        return f"{value} {secret}" if value else secret
    return value


def _gitleaks(s: str) -> Any:
    leak = {
        "RuleID": "aws-access-token", "Description": "AWS", "StartLine": 3, "EndLine": 3, "StartColumn": 1,
        "EndColumn": 40, "Match": f"KEY = '{s}'", "Secret": s, "File": "app/settings.py", "SymlinkFile": "",
        "Commit": "0f1e2d3c", "Entropy": 3.7, "Author": "dev", "Email": "dev@example.com", "Date": "2026-11-30",
        "Message": "add key", "Tags": ["aws"], "Fingerprint": "0f1e2d3c:app/settings.py:aws-access-token:3",
        "Line": f"KEY = '{s}'",
    }
    return [_every_field(leak, s) | {"Secret": s}]


def _trufflehog(s: str) -> str:
    record = {
        "SourceMetadata": {"Data": {"Git": {"commit": "0f1e", "file": "app/settings.py", "email": "d@e.com",
                                             "repository": "https://example.com/r.git", "line": 6}}},
        "SourceID": 1, "SourceType": 7, "SourceName": "trufflehog - git", "DetectorType": 8,
        "DetectorName": "Github", "DetectorDescription": "GitHub", "DecoderName": "PLAIN", "Verified": True,
        "Raw": s, "RawV2": s, "Redacted": s, "ExtraData": {"username": "dev", "scopes": "repo"},
        "StructuredData": None,
    }
    return json.dumps(_every_field(record, s) | {"Raw": s}) + "\n"


def _detect_secrets(s: str) -> Any:
    # detect-secrets keeps a SHA-1 of the secret, never the secret: the planted value stands in its
    # `hashed_secret` field, and in every other one.
    report = {
        "version": "1.5.0", "plugins_used": [{"name": "AWSKeyDetector"}], "filters_used": [],
        "results": {"app/settings.py": [{"type": "AWS Access Key", "filename": "app/settings.py",
                                         "hashed_secret": s, "is_verified": False, "line_number": 3}]},
        "generated_at": "2026-12-03T08:30:10Z",
    }
    planted = _every_field(report, s)
    planted["results"] = {f"app/{s}.py": planted["results"]["app/settings.py"]}
    planted["results"][f"app/{s}.py"][0]["hashed_secret"] = s
    return planted


def _github(s: str) -> Any:
    alert = {
        "number": 7, "created_at": "2026-11-06T18:18:30Z", "url": "https://api.example.com/a/7",
        "html_url": "https://example.com/a/7", "locations_url": "https://api.example.com/a/7/locations",
        "state": "open", "resolution": None, "secret_type": "slack_api_token",
        "secret_type_display_name": "Slack API Token", "secret": s, "validity": "active",
        "push_protection_bypassed": True, "resolution_comment": "none",
        "first_location_detected": {"path": "app/settings.py", "start_line": 9, "blob_sha": "af56"},
    }
    return [_every_field(alert, s) | {"secret": s, "state": "open", "validity": "active"}]


def _trivy(s: str) -> Any:
    report = {
        "SchemaVersion": 2, "ArtifactName": ".", "ArtifactType": "filesystem",
        "Results": [{"Target": "app/settings.py", "Class": "secret", "Secrets": [{
            "RuleID": "stripe-secret-token", "Category": "Stripe", "Severity": "CRITICAL", "Title": "Stripe",
            "StartLine": 4, "EndLine": 4, "Match": f"STRIPE = {s}",
            "Code": {"Lines": [{"Number": 4, "Content": f"STRIPE = {s}", "IsCause": True}]},
        }]}],
    }
    planted = _every_field(report, s)
    planted["Results"][0]["Secrets"][0]["Severity"] = "CRITICAL"
    return planted


def _sarif(s: str) -> Any:
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "gitleaks", "rules": [{"id": "gitlab-pat"}]}}, "results": [{
            "ruleId": "gitlab-pat", "level": "error", "message": {"text": f"gitlab-pat has detected secret {s}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/settings.py"},
                                                "region": {"startLine": 5, "snippet": {"text": s}}}}],
        }]}],
    }
    planted = _every_field(log, s)
    planted["version"] = "2.1.0"
    planted["runs"][0]["tool"]["driver"]["name"] = "gitleaks"
    planted["runs"][0]["results"][0]["level"] = "error"
    planted["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["snippet"]["text"] = s
    return planted


REPORTS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "gitleaks": ("gitleaks.json", _gitleaks),
    "trufflehog": ("trufflehog.jsonl", _trufflehog),
    "detect-secrets": ("detect-secrets.json", _detect_secrets),
    "github-secret-scanning": ("github-alerts.json", _github),
    "trivy": ("trivy.json", _trivy),
    "sarif": ("gitleaks.sarif", _sarif),
}


def _write(folder: Path, name: str) -> Path:
    file_name, make = REPORTS[name]
    content = make(SECRETS[name])
    path = folder / file_name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _fragments(secret: str) -> list[str]:
    # The whole value and its distinctive middle: a partly masked copy is a leak too.
    return [secret, secret[4:-4]]


def _leaks(text: str) -> list[str]:
    return [s for secret in [*SECRETS.values(), DIFF_SECRET] for s in _fragments(secret) if s in text]


def test_every_report_really_holds_its_secret(tmp_path: Path) -> None:
    for name in REPORTS:
        assert SECRETS[name] in _write(tmp_path, name).read_text()


def test_no_planted_secret_reaches_any_output(tmp_path: Path) -> None:
    reports = [_write(tmp_path, name) for name in REPORTS]
    diff = tmp_path / "pr.diff"
    diff.write_text(
        "diff --git a/app/settings.py b/app/settings.py\nindex 1111111..2222222 100644\n"
        "--- a/app/settings.py\n+++ b/app/settings.py\n@@ -1 +1,2 @@\n import os\n"
        f'+AWS_ACCESS_KEY_ID = "{DIFF_SECRET}"\n', encoding="utf-8")
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"number": 9, "labels": ["ai-generated"], "title": "keys"}), encoding="utf-8")
    config = tmp_path / ".ai-code-gate.yml"
    config.write_text(json.dumps({
        "audit": {"enabled": True, "input": "full", "redact": [], "decision_log": "decisions.jsonl",
                  "sinks": [{"type": "jsonl", "path": "audit.jsonl"}, {"type": "sqlite", "path": "audit.db"}]},
    }), encoding="utf-8")

    with Gate(load_config(config)) as gate:
        document = gate.input_document(pr=pr, diff=diff, scans=reports)
        assert {f.tool for f in document.findings if f.category == "secret"} >= {
            "gitleaks", "trufflehog", "detect-secrets", "github-secret-scanning", "trivy", "aigate"}
        decision = gate.evaluate(document)
    assert decision.outcome == "block"
    outputs = {"input document": document.model_dump_json(), "decision": decision.model_dump_json()}
    outputs |= {f"render {name}": renderer().render(decision) for name, renderer in RENDERERS.items()}
    for produced in sorted(tmp_path.iterdir()):
        if produced.name in ("audit.jsonl", "decisions.jsonl") or produced.name.startswith("audit.db"):
            outputs[produced.name] = produced.read_bytes().decode("utf-8", errors="replace")
    with sqlite3.connect(tmp_path / "audit.db") as db:
        tables = [row[0] for row in db.execute("select name from sqlite_master where type = 'table'")]
        outputs["audit.db rows"] = json.dumps([list(row) for t in tables for row in db.execute(f'select * from "{t}"')],
                                              default=str)
    assert len(outputs["audit.jsonl"]) > 1000 and len(outputs["decisions.jsonl"]) > 1000
    assert {name: _leaks(text) for name, text in outputs.items() if _leaks(text)} == {}

    cli = run_cli("evaluate", "--config", config, "--pr", pr, "--diff", diff,
                  *[arg for report in reports for arg in ("--scan", str(report))], "--format", "markdown")
    assert cli.code == 1 and _leaks(cli.stdout + cli.stderr) == []
    shown = run_cli("input", "--pr", pr, "--diff", diff, *[a for r in reports for a in ("--scan", str(r))])
    assert shown.code == 0 and _leaks(shown.stdout + shown.stderr) == []


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_no_planted_secret_in_errors_about_a_broken_report(tmp_path: Path, name: str) -> None:
    report = _write(tmp_path, name)
    text = report.read_text()
    for broken in (text[: len(text) // 2], text.replace('"', "'", 3), text + "}{"):
        report.write_text(broken, encoding="utf-8")
        with pytest.raises(AigateError) as error:
            Gate().input_document(scans=[report])
        assert _leaks(str(error.value)) == []
        cli = run_cli("input", "--scan", f"{name}={report}")
        assert cli.code == 2 and _leaks(cli.stderr) == []
