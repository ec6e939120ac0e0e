"""The files a repository's CI reads as its own definition beyond `.gitlab-ci.yml` and `.github/workflows/`,
found in the base revision: GitLab's local includes (of the pipeline and of its child pipelines) and GitHub's
local actions (`uses: ./path`). A PR that changes one changes the CI that runs the gate, as a change to the
workflow itself does: gate protection covers them (`aigate.trust.resolve_config`).

Read from the base revision, never the head: the PR being judged must not choose what is protected. Only
what the definitions say literally is followed; a path built from CI variables (`$CI_…`) is not. Past GitLab's
own limits (150 includes, 100 levels) or this reader's, an error: protection that stopped reading would let
the unread files through.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from aigate.errors import RepositoryError
from aigate.sources.git_repo import RevisionEntry, list_revision_files, read_revision_blobs

__all__ = ["ci_definition_patterns"]

MAX_INCLUDES = 150  # GitLab's limit on the files one pipeline includes
MAX_LEVELS = 100  # GitLab's limit on nested includes
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 64 << 20
_MAX_DOUBLE_STARS = 3  # `**` inside a name: 2^n gitignore patterns; more in one include is its folder

_Kind = Literal["gitlab", "github_workflow", "github_action"]


@dataclass(frozen=True)
class _Wanted:
    """A file or folder to read at the next level, the kind of definition it holds, and for a folder which of
    its files: a wildcard include's regex, or an action's metadata file."""

    path: str
    kind: _Kind
    wildcard: re.Pattern[str] | None = None

    def takes(self, entry: RevisionEntry) -> bool:
        if entry.path == self.path:
            return True
        if self.path and not entry.path.startswith(self.path + "/"):
            return False
        if self.kind == "github_workflow":
            return entry.path.endswith((".yml", ".yaml"))
        if self.kind == "github_action":
            return entry.path in (f"{self.path}/action.yml", f"{self.path}/action.yaml")
        return self.wildcard is not None and self.wildcard.fullmatch(entry.path) is not None


_ROOTS = (_Wanted(".gitlab-ci.yml", "gitlab"), _Wanted(".github/workflows", "github_workflow"))


def ci_definition_patterns(repo: Path, base: str) -> tuple[str, ...]:
    """Gitignore patterns (anchored at the repository's top) for the files the base revision's CI definitions
    include or run as actions; RepositoryError when git cannot read the base or a limit is passed."""
    patterns: dict[str, None] = {}
    wanted: list[_Wanted] = list(_ROOTS)
    seen: set[str] = set()
    includes = total = 0
    for _ in range(MAX_LEVELS + 1):
        if not wanted:
            return tuple(patterns)
        taken = []
        paths = sorted({w.path for w in wanted})
        for entry in list_revision_files(repo, base, None if "" in paths else paths):  # "": a wildcard at the top
            # A file named exactly wins over a folder holding it (its kind, and no wildcard to pass).
            by = next((w for w in wanted if w.path == entry.path), None) or next(
                (w for w in wanted if w.takes(entry)), None)
            if by is None or entry.path in seen or not (entry.is_file or entry.is_symlink):
                continue
            seen.add(entry.path)
            includes += by.kind == "gitlab"
            total += entry.size
            if includes > MAX_INCLUDES or total > MAX_TOTAL_BYTES or entry.size > MAX_FILE_BYTES:
                raise RepositoryError(f"--repo {repo}", f"{base}:{entry.path}: CI definitions too many or too large to "
                                      f"follow for gate protection (GitLab includes at most {MAX_INCLUDES} files; "
                                      "aigate reads 1 MiB a file, 64 MiB in all)")  # fmt: skip
            taken.append((entry, by.kind))
        wanted = []
        for (entry, kind), content in zip(taken, read_revision_blobs(repo, [e for e, _ in taken]), strict=True):
            found = _link(entry.path, content, kind) if entry.is_symlink else _references(kind, content)
            for pattern, follow in found:
                patterns.setdefault(pattern)
                wanted += [w for w in follow if w.path not in seen]
    raise RepositoryError(f"--repo {repo}", f"{base}: CI definitions include each other more than {MAX_LEVELS} "
                          "levels deep (GitLab's limit)")  # fmt: skip


def _link(path: str, content: bytes, kind: _Kind) -> Iterator[tuple[str, list[_Wanted]]]:
    """A symbolic link among the definitions: what it points to is the definition (a folder or a file)."""
    target = content.decode("utf-8", "surrogateescape")
    resolved = _inside(posixpath.join(posixpath.dirname(path), target)) if not target.startswith("/") else None
    if resolved:
        yield _literal(resolved), [_Wanted(resolved, kind)]


# --- the definitions -------------------------------------------------------------------------------

def _references(kind: _Kind, content: bytes) -> Iterator[tuple[str, list[_Wanted]]]:
    """(pattern, what to read next) for each local file a definition names."""
    # Most definitions name none: they are not parsed (YAML is ~0.3 ms a file).
    if b"include" not in content if kind == "gitlab" else b"./" not in content or b"uses" not in content:
        return
    document = _load(content)
    if kind == "gitlab":
        for local in _gitlab_local_includes(document):
            yield from ((pattern, _gitlab_follow(local)) for pattern in _gitlab_patterns(local))
        return
    for uses in _github_steps(document, kind):
        folder = _local_action(uses)
        if folder is None:
            continue
        if not folder:
            # An action at the repository's top (`uses: ./`, an action testing itself) is its metadata file:
            # the whole tree would make every PR a change to the gate.
            for name in ("action.yml", "action.yaml"):
                yield _literal(name), [_Wanted(name, "github_action")]
        else:
            yield _literal(folder), [_Wanted(folder, "github_action")]  # the folder, and the folder's files


def _load(content: bytes) -> Any:
    """A definition's YAML (of a GitLab file with a `spec:` header, the document after it); None when it does
    not parse (CI would refuse it too: nothing to follow)."""
    try:
        documents = list(yaml.load_all(content, Loader=_DefinitionLoader))  # noqa: S506 - a safe loader
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None
    return documents[-1] if documents else None


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
    `component:` come from elsewhere. Whatever `rules:` an include has: it is included on some pipeline."""
    if not isinstance(document, dict):
        return
    includes = [document.get("include")]
    includes += [job["trigger"].get("include") for job in document.values()
                 if isinstance(job, dict) and isinstance(job.get("trigger"), dict)]
    for include in includes:
        for entry in include if isinstance(include, list) else [include]:
            local = entry if isinstance(entry, str) and "://" not in entry else (
                entry.get("local") if isinstance(entry, dict) else None)
            if isinstance(local, str) and local.strip() and not _UNFOLLOWED.search(local):
                path = _inside(local.strip().lstrip("/"))
                if path:
                    yield path


_UNFOLLOWED = re.compile(r"[$\x00\n\r]")  # CI variables; characters no pattern holds


def _gitlab_patterns(local: str) -> list[str]:
    """Gitignore patterns matching what GitLab's wildcards match: `*` within a folder (gitignore's `*`), `**`
    across folders. A `**` inside a name (`ci/*-**.yml`) matches within one folder or across several:
    `*`, or `*/**/*`, one pattern per choice."""
    pieces = local.split("**")
    if len(pieces) - 1 > _MAX_DOUBLE_STARS:
        folder = local.split("*", 1)[0].rpartition("/")[0]
        return [_literal(folder) if folder else "/**"]
    escaped = ["*".join(_escaped(part) for part in piece.split("*")) for piece in pieces]
    return sorted({
        "/" + "".join(piece + joint for piece, joint in itertools.zip_longest(escaped, joints, fillvalue=""))
        for joints in itertools.product(("*", "*/**/*"), repeat=len(pieces) - 1)
    })


def _gitlab_follow(local: str) -> list[_Wanted]:
    """The file (or, for a wildcard, the folder and what its files must match) to read for its own includes."""
    if "*" not in local:
        return [_Wanted(local, "gitlab")]
    folder = local.split("*", 1)[0].rpartition("/")[0]
    # GitLab's own translation (`**` is `.*?`, `*` is `[^/]*?`), written out: its wildcards are not gitignore's.
    wildcard = ".*".join("[^/]*".join(re.escape(part) for part in piece.split("*")) for piece in local.split("**"))
    return [_Wanted(folder, "gitlab", re.compile(wildcard))]  # folder "" is the whole tree


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
    if not uses.startswith("./") or _UNFOLLOWED.search(uses):
        return None
    return _inside(uses.strip())


# --- paths ----------------------------------------------------------------------------------------------

def _inside(path: str) -> str | None:
    """A relative path, normalised; "" for the top, None when it leaves the repository."""
    normal = posixpath.normpath(path)
    if normal == ".":
        return ""
    return None if normal == ".." or normal.startswith(("../", "/")) else normal


def _literal(path: str) -> str:
    # Anchored; a pattern without wildcards also matches everything below it, when it is a folder.
    return "/" + _escaped(path)


_SPECIAL = re.compile(r"[\\*?\[\]!# ]")


def _escaped(text: str) -> str:
    """A literal text in a gitignore pattern: wildcard, escape, negation, comment and space characters escaped."""
    return _SPECIAL.sub(lambda m: "\\" + m[0], text)
