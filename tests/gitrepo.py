"""A temporary git repository with real commits, for tests of what aigate reads from git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class GitRepo:
    """`git` in a fresh repository; commits get fixed, fake identities unless told otherwise."""

    def __init__(self, root: Path, *, branch: str = "main") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Alice",
            "GIT_AUTHOR_EMAIL": "alice@example.com",
            "GIT_COMMITTER_NAME": "Alice",
            "GIT_COMMITTER_EMAIL": "alice@example.com",
            **(env or {}),
        }
        result = subprocess.run(
            ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True, env=environment
        )
        return result.stdout

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str | None], *, author: tuple[str, str] | None = None) -> str:
        """Commit `files` (path: text, or None to delete); returns the commit's id."""
        for path, text in files.items():
            if text is None:
                self.git("rm", "-q", "-r", "--", path)
            else:
                self.write(path, text)
                self.git("add", "--", path)
        env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]} if author else None
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD").strip()
