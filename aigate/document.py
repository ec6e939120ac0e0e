"""Assemble and validate the input document from its sources."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aigate._input_document import canonical_json, document_data, input_digest, load_input_document, readable_json
from aigate.errors import DiffError, InputDocumentError
from aigate.models import Commit, Dependency, FileChange, Finding, Generation, InputDocument, PullRequest
from aigate.sandbox.report import SandboxReport
from aigate.scanning import PendingSecretCheck, ScanningOptions, assemble_scanning, fingerprinted, prepare_scanning
from aigate.sources._io import first_validation_problem, read_json, read_text
from aigate.sources.added_lines import DiffLines, read_diff_lines
from aigate.sources.commits import load_commits, load_commits_file
from aigate.sources.config_change import CONFIG_FILE_NAME, config_change
from aigate.sources.diff import parse_diff
from aigate.sources.pull_request import load_pull_request, load_pull_request_file
from aigate.sources.sandbox_report import load_sandbox_report
from aigate.sources.scans import ScanSpec, load_scan_file, parse_scan_spec

__all__ = [
    "build_input_document", "canonical_json", "document_data", "host_head_branch", "input_digest",
    "load_input_document", "readable_json", "require_diff_source",
]

PrSource = PullRequest | Mapping[str, Any] | Path
CommitsSource = Sequence[Commit] | Sequence[Mapping[str, Any]] | Path
DiffSource = str | Path | Sequence[FileChange]
SandboxSource = SandboxReport | Mapping[str, Any] | Path
# A report: its file (format detected from the content), "TOOL=FILE", or (tool, file).
ScanSource = Path | str | ScanSpec | tuple[str, str | Path]


def build_input_document(
    *,
    pr: PrSource | None = None,
    commits: CommitsSource | None = None,
    diff: DiffSource | None = None,
    repo: Path | None = None,
    base: str | None = None,
    head: str | None = None,
    scans: Iterable[ScanSource] = (),
    findings: Iterable[Finding] = (),
    dependencies: Iterable[Dependency] = (),
    sandbox: SandboxSource | None = None,
    generation: Generation | Mapping[str, Any] | Path | None = None,
    scanning: ScanningOptions | None = None,
    defer_secret_check: Callable[[PendingSecretCheck], None] | None = None,
) -> InputDocument:
    """Normalise every given source into one input document.

    A local repository (`repo`, `base`, `head`) supplies commits, the diff and the head branch;
    explicit `commits`/`diff` take precedence over it, and `pr` metadata over its branch names.
    Paths are read as files; mappings, sequences and strings are taken as already loaded.
    `sandbox` is the report of `aigate sandbox run` for the PR's head.
    `generation` (agent, model, tools, session links) is what the host knows of how the change was made.
    `scanning` says how scanner reports, aigate's own secret check and dependency checks are applied
    (default: the defaults of the `scanning` config section).
    `defer_secret_check`: when given, aigate's secret check may go on in a forked helper (the `aigate` command
    only) after the document is returned; the document then assumes it finds nothing, and the callback gets
    the check, whose `completed(document)` is the whole document.
    """
    options = scanning or ScanningOptions()
    # The changed lines, read only when needed (diff-aware findings, coverage, secrets).
    changed_lines: Callable[[], DiffLines | None] = functools.partial(_known_lines, None)
    # Both versions of a changed file, when a repository can give them (manifests are read whole).
    versions: Callable[[FileChange], tuple[str | None, str | None]] | None = None
    pull_request = _pull_request(pr)
    commit_list: tuple[Commit, ...] = ()
    files: tuple[FileChange, ...] = ()
    # The PR's change to the gate's config, for reviewers (never applied).
    config_diff: str | None = None
    # Reports are read first: with --repo, git is diffing meanwhile (the CLI starts it before its imports).
    evidence = None if sandbox is None else load_sandbox_report(sandbox)
    # The sandbox's coverage files measure the PR's added lines like any coverage report given.
    scans = [*scans, *(evidence.coverage_files if evidence is not None else ())]
    reports = []
    for scan in scans:
        spec = parse_scan_spec(scan)
        reports.append((str(spec.path), fingerprinted(load_scan_file(spec.path, format=spec.format))))
    if repo is not None:
        if not base or not head:
            raise InputDocumentError("--repo", "needs both --base and --head")
        prepare_scanning(options)
        from aigate.sources.git_repo import read_repository  # subprocess and tempfile: only for --repo

        snapshot = read_repository(repo, base, head)
        commit_list = snapshot.commits
        files = snapshot.files
        changed_lines = functools.partial(_known_lines, snapshot.lines)  # read from git's patch as asked
        versions = snapshot.file_versions
        if any(CONFIG_FILE_NAME in (change.path, change.old_path) for change in files):
            # Only the config's own hunks are read: the PR's whole patch may be large.
            config_diff = snapshot.patch([CONFIG_FILE_NAME])
        pull_request = pull_request.model_copy(
            update={
                "head_branch": pull_request.head_branch or snapshot.head_branch or host_head_branch(),
                "base_branch": pull_request.base_branch or snapshot.base_branch,
            }
        )
    if commits is not None:
        commit_list = _commits(commits)
    if diff is not None:
        versions = None
        files, given_text = _files(diff)
        changed_lines = functools.partial(_known_lines, given_text)
        config_diff = given_text
    part = assemble_scanning(
        reports,
        files=files,
        diff_lines=changed_lines,
        dependencies=dependencies,
        options=options,
        versions=versions,
        commits=[commit.sha for commit in commit_list],
        defer_secrets=defer_secret_check is not None,
    )
    if part.pending_secrets is not None and defer_secret_check is not None:
        defer_secret_check(part.pending_secrets)
    return InputDocument(
        pr=pull_request,
        commits=commit_list,
        files=files,
        findings=(*findings, *part.findings),
        dependencies=tuple(part.dependencies),
        scans=tuple(part.reports),
        test_results=part.tests,
        coverage=part.coverage,
        sandbox=None if evidence is None else evidence.report,
        generation=_generation(generation),
        config_change=None if config_diff is None else config_change(config_diff),
    )


def _known_lines(lines: DiffLines | str | None) -> DiffLines | None:
    return read_diff_lines(lines) if isinstance(lines, str) else lines


def _generation(generation: Generation | Mapping[str, Any] | Path | None) -> Generation | None:
    if generation is None or isinstance(generation, Generation):
        return generation
    source = "generation"
    if isinstance(generation, Path):
        source = str(generation)
        generation = read_json(generation, InputDocumentError)
    if not isinstance(generation, Mapping):
        raise InputDocumentError(source, f"expected a JSON object, got {type(generation).__name__}")
    try:
        return Generation.model_validate(generation)
    except ValidationError as e:
        raise InputDocumentError(source, first_validation_problem(e)) from e


def require_diff_source(diff: object, repo: object) -> None:
    """Fail closed: a decision without a diff would check nothing, and "no files" would read as an empty
    PR that is allowed. `Gate.evaluate` and `aigate evaluate` call this after reading the other sources,
    so a broken one is reported first; building a document alone (`aigate input`) may leave the diff out."""
    if diff is None and repo is None:
        raise DiffError(
            "diff", "no diff source: give a diff (--diff FILE) or a repository (--repo with --base and --head)"
        )


# CI checks out a detached HEAD; the host names the PR's branch in its own variables.
HEAD_BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")


def host_head_branch() -> str:
    """The PR's head branch as GitHub Actions or GitLab CI names it; "" when neither does."""
    for variable in HEAD_BRANCH_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return ""


def _pull_request(pr: PrSource | None) -> PullRequest:
    if pr is None:
        return PullRequest()
    if isinstance(pr, Path):
        return load_pull_request_file(pr)
    return load_pull_request(pr)


def _commits(commits: CommitsSource) -> tuple[Commit, ...]:
    if isinstance(commits, Path):
        return load_commits_file(commits)
    if all(isinstance(commit, Commit) for commit in commits):
        return tuple(commit for commit in commits if isinstance(commit, Commit))
    return load_commits(list(commits))


def _files(diff: DiffSource) -> tuple[tuple[FileChange, ...], str | None]:
    """The changed files, and the diff's text when there is one (its added lines are read on demand)."""
    if isinstance(diff, Path):
        text = read_text(diff, DiffError)
        return parse_diff(text, source=str(diff)), text
    if isinstance(diff, str):
        return parse_diff(diff), diff
    return tuple(diff), None
