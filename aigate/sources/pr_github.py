"""GitHub's PR metadata: a `pull_request` event payload, or a pull request object from the REST API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import PullRequestError
from aigate.models import PrAuthor, PullRequest

__all__ = ["is_github_pull_request", "parse_github_pull_request"]


def is_github_pull_request(data: Mapping[str, Any]) -> bool:
    """An event payload has `pull_request`; a REST pull request object has `head`, `base` and `user`."""
    return "pull_request" in data or {"head", "base", "user"} <= data.keys()


def parse_github_pull_request(data: Mapping[str, Any], *, source: str) -> PullRequest:
    pull = data.get("pull_request", data)
    where = "pull_request" if "pull_request" in data else "(top level)"
    if not isinstance(pull, Mapping):
        raise PullRequestError(source, f"{where}: expected an object")

    def field(obj: Mapping[str, Any], key: str, kind: type, path: str, default: Any) -> Any:
        value = obj.get(key, default)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PullRequestError(source, f"{path}: expected {kind.__name__}, got {type(value).__name__}")
        return value

    def obj(key: str) -> Mapping[str, Any]:
        value: Mapping[str, Any] = field(pull, key, dict, f"{where}.{key}", {})
        return value

    labels = []
    for index, label in enumerate(field(pull, "labels", list, f"{where}.labels", [])):
        name = label.get("name") if isinstance(label, Mapping) else None
        if not isinstance(name, str):
            raise PullRequestError(source, f"{where}.labels[{index}]: expected an object with a string 'name'")
        labels.append(name)
    user = obj("user")
    return PullRequest(
        number=field(pull, "number", int, f"{where}.number", None),
        title=field(pull, "title", str, f"{where}.title", ""),
        body=field(pull, "body", str, f"{where}.body", ""),
        labels=tuple(labels),
        author=PrAuthor(
            login=field(user, "login", str, f"{where}.user.login", ""),
            type=field(user, "type", str, f"{where}.user.type", ""),
        ),
        head_branch=field(obj("head"), "ref", str, f"{where}.head.ref", ""),
        base_branch=field(obj("base"), "ref", str, f"{where}.base.ref", ""),
        url=field(pull, "html_url", str, f"{where}.html_url", ""),
    )
