"""Mask input fields before they leave the process (audit trail, decision logs).

Fields are named by JSON pointers (RFC 6901) in which a `*` segment means every key or index.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["REDACTED", "redact", "unknown_pointer_problem"]

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


def unknown_pointer_problem(pointer: str, schema: dict[str, Any]) -> str | None:
    """Why `pointer` names no field of `schema` (the input document's JSON Schema), or None when it does.

    A pointer that matches nothing would redact nothing, silently: callers treat this as a config error."""
    if not pointer.startswith("/"):
        return "a JSON pointer starts with '/'"
    segments = [_unescape(segment) for segment in pointer.split("/")[1:]]
    nodes = [schema]
    walked = ""
    for segment in segments:
        following: list[dict[str, Any]] = []
        for node in nodes:
            following.extend(_children(_alternatives(node, schema), segment))
        if not following:
            return f"no field {segment!r} under {walked or 'the top level'} in the input schema"
        walked += "/" + _escape(segment)
        nodes = following
    leaves = [option for node in nodes for option in _alternatives(node, schema)]
    if leaves and all("enum" in leaf or "const" in leaf for leaf in leaves):
        return f"{walked} holds one of a fixed set of values, which cannot be redacted"
    return None


def _alternatives(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """`node` with `$ref`s followed and `anyOf`/`oneOf`/`allOf` branches spread out."""
    if "$ref" in node:
        target: Any = root
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[_unescape(part)]
        return _alternatives(target, root)
    found = [node]
    for combinator in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(combinator, []):
            found.extend(_alternatives(branch, root))
    return found


def _children(nodes: list[dict[str, Any]], segment: str) -> list[dict[str, Any]]:
    children: list[dict[str, Any]] = []
    for node in nodes:
        properties = node.get("properties") or {}
        if segment == "*":
            children.extend(properties.values())
        elif segment in properties:
            children.append(properties[segment])
        if "items" in node and isinstance(node["items"], dict) and (segment == "*" or segment.isdigit()):
            children.append(node["items"])
        if segment == "*" or segment.isdigit():
            children.extend(node.get("prefixItems", []))
    return children
