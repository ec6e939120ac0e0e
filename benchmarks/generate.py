"""Synthetic pull requests for the benchmarks: a `git diff` text, PR metadata, commits and a native scan.

Every PR is built from its index alone (no randomness), and `generate_pr` returns what a correct gate
must decide about it, so the benchmark can check every evaluation it times.

Files, by index `i` (the first two are always there):
- 0: `config/.env.production`, 1: `services/auth/session.ts`: both blocked (`*.env*`, `**/auth/**`);
- i % 10 == 7: `docs/guide/page{i}.md`, outside the allowed patterns;
- i % 10 == 8: `tests/unit/mod{i}.test.ts`, a test;
- otherwise `src/pkg{i // 1000}/mod{i // 50 % 20}/file{i}.ts` (or `.tsx`);
and by kind: i % 50 == 11 added, 12 deleted, 13 renamed (from `src/legacy/…`), i % 100 == 14 binary
(`src/assets/logo{i}.png`, not allowed), i % 100 == 15 a mode change (`scripts/run{i}.sh`, not allowed),
everything else modified. The changed lines are spread evenly over the text files, in hunks of 10 changed
lines by default (7 added, 3 removed) with 3 lines of context on each side, as `git diff` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CONFIG = """\
detection:
  labels: ["ai-generated", "copilot", "claude"]
  co_authors: ["*[bot]@*", "*noreply@anthropic.com"]
policy:
  allowed_patterns: ["src/**/*.ts", "src/**/*.tsx", "tests/**"]
  blocked_patterns: ["*.env*", "**/auth/**", "docker-compose*.yml", ".github/workflows/**"]
  scope_limits: {max_files: 20, max_lines_added: 500}
review:
  risk_tiers:
    low: {threshold: 30, approvals: 0, auto_merge: true}
    medium: {threshold: 70, approvals: 1}
    high: {threshold: 100, approvals: 2, require_security_team: true}
"""

BLOCKED = ("config/.env.production", "services/auth/session.ts")
SEVERITIES = ("low", "medium", "info", "low", "medium", "high", "low", "info", "medium", "critical")


@dataclass(frozen=True)
class Expected:
    """What the gate must say about a generated PR."""

    files: int
    added: int
    removed: int
    blocked: tuple[str, ...]
    not_allowed: int  # paths outside the allowed patterns, blocked ones excepted (renames come from allowed paths)
    secrets: int
    findings: int


@dataclass(frozen=True)
class GeneratedPr:
    directory: Path
    pr: Path
    commits: Path
    diff: Path
    scan: Path
    expected: Expected

    @property
    def diff_bytes(self) -> int:
        return self.diff.stat().st_size

    def cli_sources(self) -> list[str]:
        return [
            "--pr", str(self.pr), "--commits", str(self.commits), "--diff", str(self.diff), "--scan", str(self.scan)
        ]  # fmt: skip


def _path(i: int) -> tuple[str, bool]:
    """The path of file i and whether it is allowed (blocked paths are neither)."""
    if i < len(BLOCKED):
        return BLOCKED[i], False
    if i % 100 == 14:
        return f"src/assets/logo{i}.png", False
    if i % 100 == 15:
        return f"scripts/run{i}.sh", False
    if i % 10 == 7:
        return f"docs/guide/page{i}.md", False
    if i % 10 == 8:
        return f"tests/unit/mod{i}.test.ts", True
    extension = "tsx" if i % 3 == 0 else "ts"
    return f"src/pkg{i // 1000}/mod{i // 50 % 20}/file{i}.{extension}", True


def _hunks(i: int, changed: int, out: list[str], size: int = 10) -> tuple[int, int]:
    """Hunks of `size` changed lines, 70% added and 30% removed (the last one smaller), totalling `changed`."""
    added = removed = 0
    old_line = new_line = 1
    left = changed
    k = 0
    while left > 0:
        adds = min(size - size * 3 // 10, left)
        removes = min(size * 3 // 10, left - adds)
        left -= adds + removes
        out.append(f"@@ -{old_line},{6 + removes} +{new_line},{6 + adds} @@ export function part{k}() {{\n")
        out.extend(f"   const keep{k}_{j} = {j};\n" for j in range(3))
        out.extend(f"-  const old{k}_{j} = compute({i}, {j});\n" for j in range(removes))
        out.extend(f"+  const value{k}_{j} = compute({i}, {j}) + {k};\n" for j in range(adds))
        out.extend(f"   return keep{k}_{j};\n" for j in range(3))
        added += adds
        removed += removes
        old_line += 20 + 6 + removes
        new_line += 20 + 6 + adds
        k += 1
    return added, removed


def diff_text(files: int, changed_lines: int, hunk_size: int = 10) -> tuple[str, int, int, int]:
    """(diff, added, removed, paths outside the allowed patterns); `changed_lines` exactly, spread over the
    text files (binary files and mode changes have none)."""
    kinds = ["modified" if i < len(BLOCKED) else _kind(i) for i in range(files)]
    text_files = sum(kind not in ("binary", "mode") for kind in kinds)
    base, extra = divmod(changed_lines, text_files)
    if base == 0:
        raise ValueError("at least one changed line per text file")
    out: list[str] = []
    added = removed = not_allowed = 0
    text_index = 0
    for i in range(files):
        path, allowed = _path(i)
        kind = kinds[i]
        if kind not in ("binary", "mode"):
            per_file = base + (1 if text_index < extra else 0)
            text_index += 1
        blob_a, blob_b = f"{i * 7919 % 0xFFFFFFF:07x}", f"{i * 104729 % 0xFFFFFFF:07x}"
        if kind == "binary":
            out.append(f"diff --git a/{path} b/{path}\nindex {blob_a}..{blob_b} 100644\n")
            out.append(f"Binary files a/{path} and b/{path} differ\n")
        elif kind == "mode":
            out.append(f"diff --git a/{path} b/{path}\nold mode 100644\nnew mode 100755\n")
        elif kind == "added":
            out.append(f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..{blob_b}\n")
            out.append(f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{per_file} @@\n")
            out.extend(f"+export const line{j} = {i} + {j};\n" for j in range(per_file))
            added += per_file
        elif kind == "deleted":
            out.append(f"diff --git a/{path} b/{path}\ndeleted file mode 100644\nindex {blob_a}..0000000\n")
            out.append(f"--- a/{path}\n+++ /dev/null\n@@ -1,{per_file} +0,0 @@\n")
            out.extend(f"-export const line{j} = {i} + {j};\n" for j in range(per_file))
            removed += per_file
        elif kind == "renamed":
            old = f"src/legacy/file{i}.ts"
            out.append(f"diff --git a/{old} b/{path}\nsimilarity index 90%\nrename from {old}\nrename to {path}\n")
            out.append(f"index {blob_a}..{blob_b} 100644\n--- a/{old}\n+++ b/{path}\n")
            a, r = _hunks(i, per_file, out, hunk_size)
            added, removed = added + a, removed + r
        else:
            out.append(f"diff --git a/{path} b/{path}\nindex {blob_a}..{blob_b} 100644\n--- a/{path}\n+++ b/{path}\n")
            a, r = _hunks(i, per_file, out, hunk_size)
            added, removed = added + a, removed + r
        if not allowed and path not in BLOCKED:
            not_allowed += 1
    return "".join(out), added, removed, not_allowed


def _kind(i: int) -> str:
    if i % 100 == 14:
        return "binary"
    if i % 100 == 15:
        return "mode"
    return {11: "added", 12: "deleted", 13: "renamed"}.get(i % 50, "modified")


def scan(findings: int, files: int) -> tuple[dict[str, list[dict[str, object]]], int]:
    """A native scan with `findings` findings, one in ten a secret; (scan, secrets)."""
    items: list[dict[str, object]] = []
    secrets = 0
    for n in range(findings):
        path, _ = _path(n % files)
        if n % 10 == 0:
            items.append({
                "tool": "gitleaks", "category": "secret", "severity": "high", "rule_id": "generic-api-key",
                "message": f"API key in {path}", "path": path, "line": 1 + n % 40,
            })  # fmt: skip
            secrets += 1
        else:
            items.append({
                "tool": "semgrep", "category": "sast", "severity": SEVERITIES[n % len(SEVERITIES)],
                "rule_id": f"typescript.rule-{n % 37}", "message": f"finding {n}", "path": path, "line": 1 + n % 90,
            })  # fmt: skip
    return {"findings": items}, secrets


PR = {
    "number": 4242,
    "title": "Refactor the widget pipeline",
    "body": "Large refactor.\n\nGenerated with [Claude Code](https://claude.com/claude-code)",
    "labels": ["ai-generated"],
    "author": {"login": "alice", "type": "User"},
    "head_branch": "claude/refactor-widgets",
    "base_branch": "main",
    "url": "https://example.com/acme/shop/pull/4242",
}

COMMITS = [
    {
        "sha": f"{n:040x}",
        "author": {"name": "Alice Doe", "email": "alice@example.com"},
        "committer": {"name": "Alice Doe", "email": "alice@example.com"},
        "message": f"Refactor step {n}\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
        "trailers": [{"key": "Co-Authored-By", "value": "Claude <noreply@anthropic.com>"}],
    }
    for n in range(3)
]


def generate_pr(directory: Path, *, files: int, changed_lines: int, findings: int, hunk_size: int = 10) -> GeneratedPr:
    """Write pr.json, commits.json, pr.diff and scans/scan.json into `directory`."""
    if files < len(BLOCKED):
        raise ValueError(f"at least {len(BLOCKED)} files")
    (directory / "scans").mkdir(parents=True, exist_ok=True)
    text, added, removed, not_allowed = diff_text(files, changed_lines, hunk_size)
    document, secrets = scan(findings, files)
    pr, commits, diff, scan_path = (
        directory / "pr.json",
        directory / "commits.json",
        directory / "pr.diff",
        directory / "scans" / "scan.json",
    )
    pr.write_text(json.dumps(PR), encoding="utf-8")
    commits.write_text(json.dumps(COMMITS), encoding="utf-8")
    diff.write_text(text, encoding="utf-8")
    scan_path.write_text(json.dumps(document), encoding="utf-8")
    expected = Expected(
        files=files,
        added=added,
        removed=removed,
        blocked=BLOCKED,
        not_allowed=not_allowed,
        secrets=secrets,
        findings=findings,
    )
    return GeneratedPr(directory, pr, commits, diff, scan_path, expected)


# The same PR as a real git repository: `main` holds the base, `claude/refactor-widgets` the PR's commits.
BASE_BRANCH, HEAD_BRANCH = "main", "claude/refactor-widgets"


@dataclass(frozen=True)
class GeneratedRepository:
    directory: Path
    repo: Path
    pr: Path
    scan: Path
    expected: Expected

    def cli_sources(self) -> list[str]:
        return [
            "--repo", str(self.repo), "--base", BASE_BRANCH, "--head", HEAD_BRANCH, "--pr", str(self.pr),
            "--scan", str(self.scan),
        ]  # fmt: skip


def _hunk_contents(i: int, changed: int, size: int) -> tuple[list[str], list[str], int, int]:
    """(base lines, head lines, added, removed) of a file whose diff is `_hunks`' hunks: each hunk's context,
    then 20 unchanged lines, so that git cuts the same hunks."""
    base: list[str] = []
    head: list[str] = []
    added = removed = 0
    left, k = changed, 0
    while left > 0:
        adds = min(size - size * 3 // 10, left)
        removes = min(size * 3 // 10, left - adds)
        left -= adds + removes
        keep = [f"  const keep{k}_{j} = {j};\n" for j in range(3)]
        back = [f"  return keep{k}_{j};\n" for j in range(3)]
        filler = [f"  // {i} part {k} line {j}\n" for j in range(20)]
        base += keep + [f"  const old{k}_{j} = compute({i}, {j});\n" for j in range(removes)] + back + filler
        head += keep + [f" const value{k}_{j} = compute({i}, {j}) + {k};\n" for j in range(adds)] + back + filler
        added, removed, k = added + adds, removed + removes, k + 1
    return base, head, added, removed


def generate_repository(
    directory: Path, *, files: int, changed_lines: int, findings: int, hunk_size: int = 10, new_files: bool = False
) -> GeneratedRepository:
    """A git repository (built with `git fast-import`) whose `main...claude/refactor-widgets` is the PR
    `generate_pr` writes as a diff: the same paths, kinds and counts, plus pr.json and scans/scan.json.

    With `new_files`, every file the PR would modify is new instead (`export const` lines, which detect-secrets'
    plugins read whole, where the hunks' `= compute(…)` lines are dropped by its first filter): git counts their
    lines without diffing them, the shape of an agent's PR that adds a feature or scaffolds a service."""
    import subprocess

    if files < len(BLOCKED):
        raise ValueError(f"at least {len(BLOCKED)} files")
    kinds = ["modified" if i < len(BLOCKED) else _kind(i) for i in range(files)]
    if new_files:
        kinds = ["added" if kind == "modified" else kind for kind in kinds]
    # Renames are exact here: git finds those by their blob ids at any size, while a 10,000-file diff is far
    # past the rename limit (diff.renameLimit) that finding similar files needs.
    text_files = sum(kind not in ("binary", "mode", "renamed") for kind in kinds)
    per, extra = divmod(changed_lines, text_files)
    if per == 0:
        raise ValueError("at least one changed line per text file")
    base_tree: dict[str, tuple[str, bytes]] = {}
    head_tree: dict[str, tuple[str, bytes]] = {}
    added = removed = not_allowed = text_index = 0
    for i in range(files):
        path, allowed = _path(i)
        kind = kinds[i]
        per_file = 0
        if kind not in ("binary", "mode", "renamed"):
            per_file = per + (1 if text_index < extra else 0)
            text_index += 1
        if kind == "binary":
            base_tree[path] = ("100644", b"\x89PNG\r\n\x1a\n\x00" + bytes([i % 251]) * 64)
            head_tree[path] = ("100644", b"\x89PNG\r\n\x1a\n\x00" + bytes([(i + 1) % 251]) * 80)
        elif kind == "mode":
            script = f"#!/bin/sh\necho run {i}\n".encode()
            base_tree[path], head_tree[path] = ("100644", script), ("100755", script)
        elif kind in ("added", "deleted"):
            lines = "".join(f"export const line{j} = {i} + {j};\n" for j in range(per_file)).encode()
            (head_tree if kind == "added" else base_tree)[path] = ("100644", lines)
            added, removed = (added + per_file, removed) if kind == "added" else (added, removed + per_file)
        elif kind == "renamed":
            content = "".join(f"export const kept{j} = {i} + {j};\n" for j in range(20)).encode()
            base_tree[f"src/legacy/file{i}.ts"], head_tree[path] = ("100644", content), ("100644", content)
        else:
            base_lines, head_lines, a, r = _hunk_contents(i, per_file, hunk_size)
            base_tree[path] = ("100644", "".join(base_lines).encode())
            head_tree[path] = ("100644", "".join(head_lines).encode())
            added, removed = added + a, removed + r
        if not allowed and path not in BLOCKED:
            not_allowed += 1
    repo = directory / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    environment = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(directory), "PATH": "/usr/bin:/bin:/usr/local/bin"}

    def git(*args: str, stdin: bytes | None = None) -> None:
        subprocess.run(["git", "-C", str(repo), *args], input=stdin, check=True, capture_output=True, env=environment)

    git("init", "-q", "-b", BASE_BRANCH)
    stream: list[bytes] = []

    def commit(branch: str, message: str, tree: dict[str, tuple[str, bytes]] | None, parent: str | None) -> None:
        data = message.encode()
        stream.append(f"commit refs/heads/{branch}\n".encode())
        stream.append(b"author Alice Doe <alice@example.com> 1700000000 +0000\n")
        stream.append(b"committer Alice Doe <alice@example.com> 1700000000 +0000\n")
        stream.append(b"data %d\n%s\n" % (len(data), data))
        if parent is not None:
            stream.append(f"from {parent}\n".encode())
        if tree is not None:
            stream.append(b"deleteall\n")
            for path, (mode, content) in tree.items():
                stream.append(b"M %s inline %s\ndata %d\n%s\n" % (mode.encode(), path.encode(), len(content), content))

    commit(BASE_BRANCH, "Base\n", base_tree, None)
    for n, step in enumerate(COMMITS):
        first = n == 0  # the first commit makes the whole change; the others only carry messages
        commit(HEAD_BRANCH, str(step["message"]), head_tree if first else None, "refs/heads/main" if first else None)
    git("fast-import", "--quiet", stdin=b"".join(stream))
    git("symbolic-ref", "HEAD", f"refs/heads/{HEAD_BRANCH}")
    document, secrets = scan(findings, files)
    pr, scan_path = directory / "pr.json", directory / "scans" / "scan.json"
    scan_path.parent.mkdir(parents=True, exist_ok=True)
    pr.write_text(json.dumps(PR), encoding="utf-8")
    scan_path.write_text(json.dumps(document), encoding="utf-8")
    expected = Expected(
        files=files, added=added, removed=removed, blocked=BLOCKED, not_allowed=not_allowed, secrets=secrets,
        findings=findings,
    )  # fmt: skip
    return GeneratedRepository(directory, repo, pr, scan_path, expected)
