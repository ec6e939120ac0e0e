"""Mask input fields before they leave the process (audit trail, decision logs).

Fields are named by JSON pointers (RFC 6901) in which a `*` segment means every key or index.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["REDACTED", "redact"]

REDACTED = "**REDACTED**"


def redact(document: Any, pointers: list[str]) -> tuple[Any, list[str]]:
    """A copy of `document` with each pointed-to field replaced; and the concrete pointers masked."""
    result = copy.deepcopy(document)
    masked: list[str] = []
    for pointer in pointers:
        segments = [_unescape(segment) for segment in pointer.split("/")[1:]]
        _mask(result, segments, "", masked)
    return result, sorted(masked)


def _mask(node: Any, segments: list[str], at: str, masked: list[str]) -> None:
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for key in keys:
            _apply(node, key, rest, f"{at}/{_escape(str(key))}", masked)
    elif isinstance(node, list):
        if head == "*":
            indexes = range(len(node))
        elif head.isdigit() and int(head) < len(node):
            indexes = range(int(head), int(head) + 1)
        else:
            indexes = range(0)
        for index in indexes:
            _apply(node, index, rest, f"{at}/{index}", masked)


def _apply(container: Any, key: Any, rest: list[str], at: str, masked: list[str]) -> None:
    if rest:
        _mask(container[key], rest, at, masked)
    elif container[key] is not None:
        container[key] = REDACTED
        masked.append(at)


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")
