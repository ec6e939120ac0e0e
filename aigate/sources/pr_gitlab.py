"""GitLab's merge request metadata: a merge request webhook payload (`object_kind:
merge_request`), or a merge request object from the REST API (`GET /projects/:id/merge_requests/:iid`).

Labels are objects in both (`{"title": …}` in the webhook, `{"name": …}` in the REST API with
`with_labels_details=true`) or plain strings (the REST API's default); all three are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigate.errors import PullRequestError
from aigate.models import PrAuthor, PullRequest

__all__ = ["is_gitlab_merge_request", "parse_gitlab_merge_request"]


def is_gitlab_merge_request(data: Mapping[str, Any]) -> bool:
    """A webhook payload says `object_kind: merge_request`; a REST object has `iid` and both branches."""
    return data.get("object_kind") == "merge_request" or {"iid", "source_branch", "target_branch"} <= data.keys()


def parse_gitlab_merge_request(data: Mapping[str, Any], *, source: str) -> PullRequest:
    webhook = data.get("object_kind") == "merge_request"
    where = "object_attributes" if webhook else "(top level)"
    mr = data.get("object_attributes") if webhook else data
    if not isinstance(mr, Mapping):
        raise PullRequestError(source, f"{where}: expected an object")

    def field(obj: Mapping[str, Any], key: str, kind: type, path: str, default: Any) -> Any:
        value = obj.get(key, default)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PullRequestError(source, f"{path}: expected {kind.__name__}, got {type(value).__name__}")
        return value

    # The webhook lists labels at the top level (and, in newer versions, in object_attributes too).
    label_owner, label_where = (data, "labels") if webhook and "labels" in data else (mr, f"{where}.labels")
    labels = []
    for index, label in enumerate(field(label_owner, "labels", list, label_where, [])):
        name = label if isinstance(label, str) else None
        if isinstance(label, Mapping):
            name = label.get("title", label.get("name"))
        if not isinstance(name, str):
            raise PullRequestError(
                source, f"{label_where}[{index}]: expected a string or an object with a string 'title' or 'name'"
            )
        labels.append(name)
    # The REST object names its author; a webhook names the user whose action sent it (for an
    # `open` event, the author).
    author = field(mr, "author", dict, f"{where}.author", {}) if not webhook else field(
        data, "user", dict, "user", {}
    )
    return PullRequest(
        number=field(mr, "iid", int, f"{where}.iid", None),
        title=field(mr, "title", str, f"{where}.title", ""),
        body=field(mr, "description", str, f"{where}.description", ""),
        labels=tuple(labels),
        author=PrAuthor(
            login=field(author, "username", str, f"{'user' if webhook else where + '.author'}.username", ""),
            type="Bot" if author.get("bot") is True else "",
        ),
        head_branch=field(mr, "source_branch", str, f"{where}.source_branch", ""),
        base_branch=field(mr, "target_branch", str, f"{where}.target_branch", ""),
        url=field(mr, "web_url" if not webhook else "url", str, f"{where}.url", ""),
    )
