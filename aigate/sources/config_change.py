"""The part of a unified diff that changes `.ai-code-gate.yml`, for reviewers to read.

The gate never applies it: the config comes from the base revision. It is cut out of the diff
text by its `diff --git` header, so a multi-megabyte diff is scanned once, not parsed again.
"""

from __future__ import annotations

import re

__all__ = ["CONFIG_FILE_NAME", "MAX_CONFIG_CHANGE_CHARS", "config_change"]

CONFIG_FILE_NAME = ".ai-code-gate.yml"

MAX_CONFIG_CHANGE_CHARS = 64 << 10

# git quotes a path with unusual characters ("a/x y" stays bare, tabs and quotes are escaped);
# .ai-code-gate.yml at the root never needs quoting, on either side of a rename.
_HEADER = re.compile(r"^diff --git (?:a/\S+ b/\.ai-code-gate\.yml|a/\.ai-code-gate\.yml b/\S+)$", re.MULTILINE)
_NEXT_FILE = "\ndiff --git "


def config_change(diff_text: str, *, limit: int = MAX_CONFIG_CHANGE_CHARS) -> str | None:
    """The `diff --git` section of `.ai-code-gate.yml` (added, changed, renamed or deleted), or None."""
    match = _HEADER.search(diff_text)
    if match is None:
        return None
    end = diff_text.find(_NEXT_FILE, match.start())
    section = diff_text[match.start() : end + 1 if end != -1 else len(diff_text)]
    if len(section) > limit:
        section = section[:limit].rsplit("\n", 1)[0] + "\n… (truncated)\n"
    return section if section.endswith("\n") else section + "\n"
