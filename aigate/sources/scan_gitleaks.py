"""gitleaks JSON (`gitleaks detect/dir/git --report-format json`): a list of leaks.

Every leak is a secret. gitleaks gives no severity: each is `high` (tool_severity empty). `Secret`, `Match`
and `Line` carry the secret and are dropped; the secret, and the longer words of the match and line, are
scrubbed from everything kept.
"""

from __future__ import annotations

from typing import Any

from aigate.models import Finding
from aigate.sources._scan_common import (
    ScanResult,
    SecretScrubber,
    fingerprint,
    get,
    line_number,
    mapping,
    relative_path,
    secret_hash,
)

__all__ = ["FORMAT", "looks_like", "parse"]

FORMAT = "gitleaks"
TOOL = "gitleaks"
CATEGORIES = ("secret",)


def looks_like(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "RuleID" in data[0]


def parse(data: Any, *, source: str) -> ScanResult:
    if not isinstance(data, list):
        raise _not_a_list(source)
    leaks = [mapping(leak, source, f"leak {index}") for index, leak in enumerate(data)]
    scrub = SecretScrubber(leak.get("Secret") for leak in leaks)
    scrub.add_matched_text(*(leak.get(name) for leak in leaks for name in ("Match", "Line")))
    findings = []
    commits: list[str] = []
    for index, leak in enumerate(leaks):
        where = f"leak {index}"
        rule_id = scrub.text(get(leak, "RuleID", str, source, where))
        path = scrub(relative_path(get(leak, "File", str, source, where)))
        line = line_number(get(leak, "StartLine", int, source, where, required=False))
        secret = leak.get("Secret")
        hashed = secret_hash(secret) if isinstance(secret, str) and secret else None
        description = scrub.text(get(leak, "Description", str, source, where, required=False, default=""))
        commit = get(leak, "Commit", str, source, where, required=False, default="")
        commits.append(commit)
        findings.append(Finding(
            tool=TOOL, category="secret", severity="high", tool_severity="", rule_id=rule_id,
            message=description or rule_id, path=path, line=line, secret_hash=hashed,
            fingerprint=fingerprint(TOOL, rule_id, path, line, commit, hashed),
        ))
    # `gitleaks git` names the commit of each leak: one of the PR's own commits counts, though a later commit
    # of the PR removed the file again (the secret stays in the branch's history).
    return ScanResult(tool=TOOL, format=FORMAT, categories=CATEGORIES, findings=tuple(findings),
                      commits=tuple(commits))


def _not_a_list(source: str) -> Exception:
    from aigate.errors import ScanError

    return ScanError(source, "a gitleaks report is a JSON list of leaks")
