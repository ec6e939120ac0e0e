"""PR metadata from any supported form."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aigate.errors import PullRequestError
from aigate.models import PullRequest
from aigate.sources._io import read_json
from aigate.sources.pr_generic import parse_generic_pull_request
from aigate.sources.pr_github import is_github_pull_request, parse_github_pull_request
from aigate.sources.pr_gitlab import is_gitlab_merge_request, parse_gitlab_merge_request

__all__ = ["load_pull_request", "load_pull_request_file"]


def load_pull_request(data: Any, *, source: str = "pr") -> PullRequest:
    """A PR from aigate's generic JSON form, GitHub's event payload / REST object, or GitLab's merge
    request webhook payload / REST object."""
    if isinstance(data, PullRequest):
        return data
    if not isinstance(data, Mapping):
        raise PullRequestError(source, f"expected a JSON object, got {type(data).__name__}")
    if is_gitlab_merge_request(data):
        return parse_gitlab_merge_request(data, source=source)
    if is_github_pull_request(data):
        return parse_github_pull_request(data, source=source)
    return parse_generic_pull_request(data, source=source)


def load_pull_request_file(path: Path) -> PullRequest:
    return load_pull_request(read_json(path, PullRequestError), source=str(path))
