"""How detection compares text: Unicode NFKC, then zero-width characters removed and every run of
whitespace collapsed to one space. Case is folded by the policies' case-insensitive expressions.

Python applies NFKC (Rego has no Unicode normalisation builtin) and hands the policies the NFKC form
of each input text that NFKC changes; the policies do the rest, so that an input document sent to an
OPA server by any other client is compared the same way."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ZERO_WIDTH", "nfkc_changes", "normalise"]

# Format characters that render as nothing: zero-width space/non-joiner/joiner, word joiner, BOM,
# soft hyphen, Mongolian vowel separator. Kept in step with `_zero_width` in detection.rego.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_ZERO_WIDTH = re.compile(f"[{ZERO_WIDTH}]")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, zero-width characters removed, whitespace collapsed and trimmed (patterns are compiled
    from this form, so a pattern with doubled spaces still matches)."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    return _WHITESPACE.sub(" ", text).strip()


def nfkc_changes(texts: list[str]) -> dict[str, str]:
    """`{text: NFKC(text)}` for each text that NFKC changes (usually none)."""
    changed: dict[str, str] = {}
    for text in texts:
        if text and not text.isascii():  # NFKC leaves ASCII as it is
            folded = unicodedata.normalize("NFKC", text)
            if folded != text:
                changed[text] = folded
    return changed
