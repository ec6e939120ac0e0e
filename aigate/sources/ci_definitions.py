"""The files a repository's CI reads as its own definition beyond `.gitlab-ci.yml` and `.github/workflows/`,
found in the base revision: GitLab's local includes (of the pipeline and of its child pipelines) and GitHub's
local actions (`uses: ./path`). A PR that changes one changes the CI that runs the gate, as a change to the
workflow itself does: gate protection covers them (`aigate.trust.resolve_config`).

Read from the base revision, never the head: the PR being judged must not choose what is protected. Only
what the definitions say literally is followed; a path built from CI variables (`$CI_…`) is not.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml

from aigate.sources.git_repo import read_revision_blobs

__all__ = ["ci_definition_patterns"]

# GitLab's own limit on the files one pipeline may include; past it GitLab refuses the pipeline.
MAX_FILES = 150
MAX_FILE_BYTES = 1 << 20
_ROUNDS = 16  # nesting levels followed (GitLab allows 100 includes deep, in practice a handful)

_Kind = Literal["gitlab", "github_workflow", "github_action"]
# What to read next: a file or folder, the kind of definition it holds, and for a folder a wildcard include's
# regex its files must match.
_Pending = dict[str, tuple[_Kind, "re.Pattern[str] | None"]]
_ROOTS: _Pending = {".gitlab-ci.yml": ("gitlab", None), ".github/workflows": ("github_workflow", None)}


def ci_definition_patterns(repo: Path, base: str) -> tuple[str, ...]:
    """Gitignore patterns (anchored at the repository's top) for the files the base revision's CI definitions
    include or run as actions; RepositoryError when git cannot read the base."""
    patterns: dict[str, None] = {}
    pending = dict(_ROOTS)
    seen: set[str] = set()
    for _ in range(_ROUNDS):
        if not pending or len(seen) >= MAX_FILES:
            break
        blobs = read_revision_blobs(repo, base, sorted(pending), limit=MAX_FILE_BYTES)
        followed: _Pending = {}
        for path, content in sorted(blobs.items()):
            kind, wildcard = next(v for p, v in pending.items() if path == p or path.startswith(p + "/"))
            if path in seen or len(seen) >= MAX_FILES or (wildcard is not None and not wildcard.fullmatch(path)):
                continue
            if kind == "github_workflow" and not path.endswith((".yml", ".yaml")):
                continue
            seen.add(path)
            for pattern, follow in _references(kind, content):
                patterns.setdefault(pattern)
                followed.update({f: v for f, v in follow.items() if f not in seen})
        pending = followed
    return tuple(patterns)


def _references(kind: _Kind, content: bytes) -> Iterator[tuple[str, _Pending]]:
    """(pattern, what to read next) for each local file a definition names."""
    document = _load(content)
    if kind == "gitlab":
        for local in _gitlab_local_includes(document):
            yield _gitlab_pattern(local), _gitlab_follow(local)
        return
    steps = _github_steps(document, kind)
    for uses in steps:
        folder = _local_action(uses)
        if folder is None:
            continue
        # An action at the repository's top (`uses: ./`, an action testing itself) is its metadata file: the
        # whole tree would make every PR a change to the gate.
        files = [posixpath.join(folder, name) for name in ("action.yml", "action.yaml")]
        follow: _Pending = dict.fromkeys(files, ("github_action", None))
        for pattern in ([_literal(f) for f in files] if not folder else [_literal(folder) + "/**"]):
            yield pattern, follow


def _load(content: bytes) -> Any:
    """A definition's YAML; None when it does not parse (CI would refuse it too: nothing to follow)."""
    try:
        return yaml.load(content, Loader=_DefinitionLoader)  # noqa: S506 - a safe loader, tags read as plain values
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None


class _DefinitionLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, reading GitLab's `!reference [...]` and any other tag as the plain value it tags."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_DefinitionLoader.add_multi_constructor("!", _untagged)


# --- GitLab -------------------------------------------------------------------------------------------

def _gitlab_local_includes(document: Any) -> Iterator[str]:
    """The local files a GitLab CI file includes: its `include:` and every job's `trigger: include:` (a child
    pipeline's definition). A string is local unless it is a URL; `project:`, `remote:`, `template:` and
    `component:` come from elsewhere."""
    if not isinstance(document, dict):
        return
    includes = [document.get("include")]
    includes += [job["trigger"].get("include") for job in document.values()
                 if isinstance(job, dict) and isinstance(job.get("trigger"), dict)]
    for include in includes:
        for entry in include if isinstance(include, list) else [include]:
            local = entry if isinstance(entry, str) and "://" not in entry else (
                entry.get("local") if isinstance(entry, dict) else None)
            if isinstance(local, str) and local.strip() and "$" not in local:
                path = posixpath.normpath(local.strip().lstrip("/"))
                if not path.startswith("../") and path not in (".", ".."):
                    yield path


def _gitlab_pattern(local: str) -> str:
    # GitLab's wildcards: `*` within a folder, `**` across folders (`configs/**.yml`): gitignore's `*` and
    # `**/*`. Everything else is literal.
    return "/" + "**/*".join("*".join(_escaped(part) for part in piece.split("*")) for piece in local.split("**"))


def _gitlab_follow(local: str) -> _Pending:
    """The file (or, for a wildcard, the folder and what its files must match) to read for its own includes."""
    if "*" not in local:
        return {local: ("gitlab", None)}
    folder = local.split("*", 1)[0].rpartition("/")[0]
    if not folder:
        return {}  # a wildcard at the top: not followed (it would read the whole tree)
    # GitLab's two wildcards, translated by hand: they are a language of their own, not gitignore's.
    wildcard = ".*".join("[^/]*".join(re.escape(part) for part in piece.split("*")) for piece in local.split("**"))
    return {folder: ("gitlab", re.compile(wildcard))}


# --- GitHub -------------------------------------------------------------------------------------------

def _github_steps(document: Any, kind: _Kind) -> Iterator[str]:
    """Every step's `uses:` in a workflow's jobs, or in a composite action's `runs.steps`."""
    if not isinstance(document, dict):
        return
    if kind == "github_workflow":
        jobs = document.get("jobs")
        jobs = jobs.values() if isinstance(jobs, dict) else []
        step_lists = [job.get("steps") for job in jobs if isinstance(job, dict)]
    else:
        runs = document.get("runs")
        step_lists = [runs.get("steps")] if isinstance(runs, dict) else []
    for steps in step_lists:
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and isinstance(step.get("uses"), str):
                yield step["uses"]


def _local_action(uses: str) -> str | None:
    """The repository folder of a local action (`./path`), "" for the top; None for any other action."""
    if not uses.startswith("./"):
        return None
    folder = posixpath.normpath(uses.strip())
    if folder == ".":
        return ""
    return None if folder.startswith("../") or folder == ".." or "$" in folder else folder


def _literal(path: str) -> str:
    return "/" + _escaped(path)


_SPECIAL = re.compile(r"[\\*?\[\]!# ]")


def _escaped(text: str) -> str:
    """A literal text in a gitignore pattern: wildcard, escape, negation, comment and space characters escaped."""
    return _SPECIAL.sub(lambda m: "\\" + m[0], text)
