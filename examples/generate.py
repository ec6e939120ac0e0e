"""Regenerate examples/prs/*: real commits in a scratch git repository, their real `git diff`.

    python examples/generate.py

Each PR folder holds pr.json (GitHub `pull_request` event payload or aigate's generic form),
commits.json (aigate's commit form, trailers as `git interpret-trailers --parse` gives them)
and pr.diff (`git diff -M base...head`), plus scans/*.json where a scanner report is part of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "prs"
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "TZ": "UTC"}


def git(repo: Path, *args: str, author: tuple[str, str] = ("Alice Doe", "alice@example.com")) -> str:
    env = {**ENV, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
           "GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1],
           "GIT_AUTHOR_DATE": "2026-11-01T10:00:00Z", "GIT_COMMITTER_DATE": "2026-11-01T10:00:00Z",
           "HOME": str(repo.parent)}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(repo: Path, message: str, files: dict[str, str], author: tuple[str, str]) -> None:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, author=author)


def lines(prefix: str, count: int) -> str:
    return "".join(f"{prefix} line {i}\n" for i in range(count))


BASE_FILES = {
    "README.md": "# shop\n",
    "src/auth/session.ts": "export const TIMEOUT = 30;\n",
    "src/ui/button.tsx": "export const Button = () => <button>Buy</button>;\n",
    "src/server/headers.ts": "export const headers = {};\n",
    ".github/workflows/ci.yml": "on: push\n",
}

PRS = [
    {
        "name": "claude-auth",
        "branch": "claude/fix-session-timeout",
        "pr": {"action": "opened", "pull_request": {
            "number": 101, "title": "Fix session timeout", "html_url": "https://github.com/acme/shop/pull/101",
            "body": "Extends the session timeout.\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
            "labels": [], "user": {"login": "alice", "type": "User"},
            "head": {"ref": "claude/fix-session-timeout"}, "base": {"ref": "main"}}},
        "commits": [(
            "Extend session timeout\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
            {"src/auth/session.ts": "export const TIMEOUT = 3600;\nexport const REFRESH = true;\n",
             "tests/session.test.ts": "test('timeout', () => {});\n"},
            ("Alice Doe", "alice@example.com"),
        )],
    },
    {
        "name": "copilot-small",
        "branch": "copilot/fix-button-label",
        "pr": {"action": "opened", "pull_request": {
            "number": 102, "title": "Fix button label", "html_url": "https://github.com/acme/shop/pull/102",
            "body": "Fixes the label.", "labels": [{"name": "copilot"}],
            "user": {"login": "Copilot", "type": "Bot"},
            "head": {"ref": "copilot/fix-button-label"}, "base": {"ref": "main"}}},
        "commits": [(
            "Fix button label\n\nCo-authored-by: alice <alice@example.com>\n",
            {"src/ui/button.tsx": "export const Button = () => <button>Buy now</button>;\n",
             "tests/button.test.tsx": "test('label', () => {});\n"},
            ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
        )],
    },
    {
        "name": "cursor-review",
        "branch": "cursor/security-headers",
        "pr": {"number": 103, "title": "Add security headers", "body": "Made with [Cursor](https://cursor.com)",
               "labels": [], "author": {"login": "carol", "type": "User"},
               "head_branch": "cursor/security-headers", "base_branch": "main",
               "url": "https://github.com/acme/shop/pull/103"},
        "commits": [(
            "Add CSP and security headers\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n",
            {"src/security/csp.ts": lines("export const csp =", 60),
             "src/server/headers.ts": lines("export const header =", 60)},
            ("Carol Roe", "carol@example.com"),
        )],
        "scans": {"semgrep.json": {"findings": [{
            "tool": "semgrep", "category": "sast", "severity": "medium",
            "rule_id": "javascript.express.security.audit.xss", "message": "Possible XSS in header value",
            "path": "src/server/headers.ts", "line": 12}]}},
    },
    {
        "name": "human-ci",
        "branch": "bob/ci-cache",
        "pr": {"action": "opened", "pull_request": {
            "number": 104, "title": "Cache dependencies in CI", "html_url": "https://github.com/acme/shop/pull/104",
            "body": "", "labels": [], "user": {"login": "bob", "type": "User"},
            "head": {"ref": "bob/ci-cache"}, "base": {"ref": "main"}}},
        "commits": [(
            "Cache dependencies in CI\n\nSigned-off-by: Bob Poe <bob@example.com>\n",
            {".github/workflows/ci.yml": "on: push\njobs: {build: {runs-on: ubuntu-latest}}\n",
             "README.md": "# shop\n\nCI caches dependencies.\n"},
            ("Bob Poe", "bob@example.com"),
        )],
    },
]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "shop"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        commit(repo, "Initial commit", BASE_FILES, ("Alice Doe", "alice@example.com"))
        for spec in PRS:
            git(repo, "checkout", "-q", "-b", spec["branch"], "main")
            for message, files, author in spec["commits"]:
                commit(repo, message, files, author)
            out = HERE / spec["name"]
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            diff = git(repo, "diff", "--no-color", "--no-ext-diff", "-M", f"main...{spec['branch']}")
            (out / "pr.diff").write_text(diff)
            commits = []
            for sha in git(repo, "rev-list", "--reverse", f"main..{spec['branch']}").split():
                fields = git(repo, "show", "-s", "--format=%an%x00%ae%x00%cn%x00%ce%x00%B", sha).split("\0")
                commits.append({"sha": sha, "author": {"name": fields[0], "email": fields[1]},
                                "committer": {"name": fields[2], "email": fields[3]},
                                "message": fields[4].rstrip("\n") + "\n"})
            (out / "commits.json").write_text(json.dumps(commits, indent=2, ensure_ascii=False) + "\n")
            (out / "pr.json").write_text(json.dumps(spec["pr"], indent=2, ensure_ascii=False) + "\n")
            for name, report in spec.get("scans", {}).items():
                (out / "scans").mkdir(exist_ok=True)
                (out / "scans" / name).write_text(json.dumps(report, indent=2) + "\n")
            git(repo, "checkout", "-q", "main")


if __name__ == "__main__":
    main()
