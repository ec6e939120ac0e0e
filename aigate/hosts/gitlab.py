"""GitLab CI: a merge request pipeline.

The merge request comes from its predefined variables (`CI_MERGE_REQUEST_*`), or from a merge
request webhook payload / REST object given with `--mr FILE` (whose fields win). Commits and diff
come from the checkout (`CI_PROJECT_DIR`) between `CI_MERGE_REQUEST_DIFF_BASE_SHA` and the source
branch's head, so the job needs the history (`GIT_DEPTH: 0`). Writes a Code Quality report and a
JUnit report, which the merge request widget shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aigate.errors import AigateError, PullRequestError
from aigate.hosts.interface import HostAdapter, HostRun
from aigate.models import Decision, PrAuthor, PullRequest
from aigate.render.gitlab import GitlabCodeQualityRenderer
from aigate.render.junit import JunitRenderer
from aigate.sources._io import read_json
from aigate.sources.pr_gitlab import is_gitlab_merge_request, parse_gitlab_merge_request

__all__ = ["GitlabAdapter"]


class GitlabAdapter(HostAdapter):
    name = "gitlab"

    def __init__(
        self,
        *,
        mr: Path | None = None,
        codequality: Path = Path("gl-code-quality-report.json"),
        junit: Path = Path("aigate-junit.xml"),
    ) -> None:
        self.mr = mr
        self.codequality = codequality
        self.junit = junit

    def plan(self, environ: Mapping[str, str]) -> HostRun:
        iid = environ.get("CI_MERGE_REQUEST_IID", "")
        if not iid:
            raise AigateError("CI_MERGE_REQUEST_IID is not set: aigate gitlab runs in a merge request pipeline")
        base = environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "")
        if not base:
            raise AigateError("CI_MERGE_REQUEST_DIFF_BASE_SHA is not set: no base revision to compare with")
        # In a merged results pipeline CI_COMMIT_SHA is the merge commit; the source branch's own
        # head is given apart.
        head = environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or environ.get("CI_COMMIT_SHA", "")
        if not head:
            raise AigateError("CI_COMMIT_SHA is not set: no head revision")
        pr = self._from_variables(environ, iid)
        if self.mr is not None:
            payload = read_json(self.mr, PullRequestError)
            if not isinstance(payload, dict) or not is_gitlab_merge_request(payload):
                raise PullRequestError(str(self.mr), "not a GitLab merge request webhook payload or REST object")
            given = parse_gitlab_merge_request(payload, source=str(self.mr))
            pr = given.model_copy(
                update={k: getattr(pr, k) for k in ("url",) if not getattr(given, k)}
                | ({"author": pr.author} if not given.author.login else {})
            )
        return HostRun(repo=Path(environ.get("CI_PROJECT_DIR") or "."), base=base, head=head, pr=pr)

    @staticmethod
    def _from_variables(environ: Mapping[str, str], iid: str) -> PullRequest:
        labels = tuple(label for label in environ.get("CI_MERGE_REQUEST_LABELS", "").split(",") if label)
        project_url = environ.get("CI_MERGE_REQUEST_PROJECT_URL") or environ.get("CI_PROJECT_URL", "")
        return PullRequest(
            number=int(iid) if iid.isdigit() else None,
            title=environ.get("CI_MERGE_REQUEST_TITLE", ""),
            body=environ.get("CI_MERGE_REQUEST_DESCRIPTION", ""),
            labels=labels,
            # GitLab names no merge request author in its variables; the user who started the
            # pipeline is the closest (a bot's pushes start its pipelines).
            author=PrAuthor(login=environ.get("GITLAB_USER_LOGIN", "")),
            head_branch=environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", ""),
            base_branch=environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", ""),
            url=f"{project_url}/-/merge_requests/{iid}" if project_url else "",
        )

    def publish(self, decision: Decision, environ: Mapping[str, str]) -> None:
        for path, text in (
            (self.codequality, GitlabCodeQualityRenderer().render(decision)),
            (self.junit, JunitRenderer().render(decision)),
        ):
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as e:
                raise AigateError(f"{path}: cannot write: {e.strerror or e}") from e
