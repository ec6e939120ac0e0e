"""aigate's own PR metadata form: the `pr` object of the input document, as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aigate.errors import PullRequestError
from aigate.models import PullRequest
from aigate.sources._io import first_validation_problem

__all__ = ["parse_generic_pull_request"]


def parse_generic_pull_request(data: Mapping[str, Any], *, source: str) -> PullRequest:
    try:
        return PullRequest.model_validate(data)
    except ValidationError as e:
        raise PullRequestError(source, first_validation_problem(e)) from e
