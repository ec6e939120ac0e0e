"""The files a repository's CI reads as its own definition beyond `.gitlab-ci.yml` and `.github/workflows/`,
found in the base revision: GitLab's local includes (of the pipeline and of its child pipelines) and the
project's own components, GitHub's local actions (`uses: ./path`) and the files they run. A PR that changes
one changes the CI that runs the gate, as a change to the workflow itself does: gate protection covers them
(`aigate.trust.resolve_config`).

Read from the base revision, never the head: the PR being judged must not choose what is protected. Only
what the definitions say literally is followed; a path built from CI variables (`$CI_…`) is not. A
definition that is not YAML is searched for the paths it names instead. Past this reader's budget, an
error: protection that stopped reading would let the unread files through.
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
from aigate.patterns import escape_pattern
from aigate.sources.git_repo import RevisionEntry, list_revision_files, read_revision_blobs

__all__ = ["ci_definition_patterns"]

MAX_FILES = 2000  # GitLab runs at most 150 includes a pipeline (an admin can raise it): far past any
MAX_LEVELS = 100  # GitLab's limit on nested includes
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 16 << 20
_MAX_DOUBLE_STARS = 3  # `**` inside a name: 2^n gitignore patterns; more in one include is its folder

_Kind = Literal["gitlab", "github_workflow", "github_action"]
_ACTION_FILES = ("action.yml", "action.yaml")


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
            return entry.path in (f"{self.path}/{name}" for name in _ACTION_FILES)
        return self.wildcard is not None and self.wildcard.fullmatch(entry.path) is not None


_ROOTS = (_Wanted(".gitlab-ci.yml", "gitlab"), _Wanted(".github/workflows", "github_workflow"))
_Found = Iterator[tuple[str, list[_Wanted]]]  # (pattern, what to read next) per file a definition names


def ci_definition_patterns(repo: Path, base: str) -> tuple[str, ...]:
    """Gitignore patterns (anchored at the repository's top) for the files the base revision's CI definitions
    include or run; RepositoryError when git cannot read the base or the budget is passed."""
    patterns: dict[str, None] = {}
    wanted: list[_Wanted] = list(_ROOTS)
    asked = set(wanted)  # each file or folder is read once: a symbolic link loop ends
    seen: set[str] = set()
    total = 0
    for _ in range(MAX_LEVELS + 1):
        if not wanted:
            return tuple(patterns)
        taken = []
        paths = sorted({w.path for w in wanted})
        entries = list_revision_files(repo, base, None if "" in paths else paths)  # "": a wildcard at the top
        for entry in entries:
            # A file named exactly wins over a folder holding it (its kind, and no wildcard to pass).
            by = next((w for w in wanted if w.path == entry.path), None) or next(
                (w for w in wanted if w.takes(entry)), None)
            if by is None or entry.path in seen or not (entry.is_file or entry.is_symlink):
                continue
            seen.add(entry.path)
            total += entry.size
            if len(seen) > MAX_FILES or total > MAX_TOTAL_BYTES or entry.size > MAX_FILE_BYTES:
                raise RepositoryError(f"--repo {repo}", f"{base}:{entry.path}: CI definitions too many or too large to "
                                      f"follow for gate protection (aigate reads {MAX_FILES} files, 1 MiB each, "
                                      "16 MiB in all)")  # fmt: skip
            taken.append((entry, by.kind))
        found: list[tuple[str, list[_Wanted]]] = []
        for (entry, kind), content in zip(taken, read_revision_blobs(repo, [e for e, _ in taken]), strict=True):
            found += _link(entry.path, content, kind) if entry.is_symlink else _references(entry.path, kind, content)
        # A path read through a symbolic link on one of its folders lists nothing: read it where the link leads.
        listed = {e.path[:i] for e in entries for i, c in enumerate(e.path + "/") if c == "/"}
        found += _through_links(repo, base, [w for w in wanted if w.path and w.path not in listed])
        wanted = []
        for pattern, follow in found:
            patterns.setdefault(pattern)
            wanted += [w for w in follow if w.path not in seen and w not in asked]
            asked.update(follow)
    raise RepositoryError(f"--repo {repo}", f"{base}: CI definitions include each other more than {MAX_LEVELS} "
                          "levels deep (GitLab's limit)")  # fmt: skip


def _link(path: str, content: bytes, kind: _Kind) -> _Found:
    """A symbolic link among the definitions: what it points to is the definition (a folder or a file)."""
    resolved = _link_target(path, content)
    if resolved == "" and kind == "github_action":
        yield from _top_action()
    elif resolved:
        yield _literal(resolved), [_Wanted(resolved, kind)]


def _link_target(link: str, content: bytes) -> str | None:
    """Where a symbolic link at `link` leads, inside the repository; None when it leaves it or is no path."""
    try:
        target = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if target.startswith("/") or _UNFOLLOWED.search(target):
        return None
    return _inside(posixpath.join(posixpath.dirname(link), target))


def _through_links(repo: Path, base: str, missing: list[_Wanted]) -> _Found:
    """For wanted files and folders git did not list, a symbolic link among their parent folders: the link is
    protected, and what is wanted is read again through it."""
    parents = {w.path: [w.path[:i] for i, c in enumerate(w.path) if c == "/"] for w in missing if w.wildcard is None}
    folders = sorted({p for chain in parents.values() for p in chain})
    links = {e.path: e for e in list_revision_files(repo, base, folders, recursive=False) if e.is_symlink}
    if not links:
        return
    targets = dict(zip(links, read_revision_blobs(repo, list(links.values())), strict=True))
    for w in missing:
        link = next((p for p in parents.get(w.path, ()) if p in links), None)
        resolved = None if link is None else _link_target(link, targets[link])
        if link is not None and resolved is not None:
            moved = posixpath.join(resolved, w.path[len(link) + 1:]) if resolved else w.path[len(link) + 1:]
            yield _literal(link), []
            yield _literal(moved), [_Wanted(moved, w.kind)]


# --- the definitions -------------------------------------------------------------------------------

def _references(path: str, kind: _Kind, content: bytes) -> _Found:
    # Most definitions name none: they are not parsed (YAML is ~0.3 ms a file).
    if kind == "gitlab" and b"include" not in content and b"component" not in content:
        return
    if kind == "github_workflow" and (b"./" not in content or b"uses" not in content):
        return
    try:
        document = _load(content)
    except _NotYaml:
        yield from _named_paths(kind, content)
        return
    if kind == "gitlab":
        for written in _gitlab_local_includes(document):
            yield from _gitlab_include(written)
        for name in _gitlab_own_components(document):
            files = [f"templates/{name}.yml", f"templates/{name}/template.yml"]
            yield _literal(f"templates/{name}.yml"), [_Wanted(files[0], "gitlab")]
            yield _literal(f"templates/{name}"), [_Wanted(files[1], "gitlab")]
        return
    for uses in _github_steps(document, kind):
        yield from _local_action(uses)
    if kind == "github_action":
        yield from _action_runs(path, document)


def _named_paths(kind: _Kind, content: bytes) -> _Found:
    """A definition YAML cannot read (CI may still run it): every path it names the way an include or a local
    action is written is protected (more than CI reads, never less)."""
    text = content.decode("utf-8", "replace")
    if kind == "gitlab":
        for written in _LOCAL_LOOKING.findall(text):
            yield from _gitlab_include(written)
    else:
        for uses in _LOCAL_USES.findall(text):
            yield from _local_action(uses)


_LOCAL_LOOKING = re.compile(r"""[\s'"\[,:-]([^\s'"\[\],{}#:]+\.ya?ml)\b""")
_LOCAL_USES = re.compile(r"""uses['"]?\s*:\s*['"]?(\./[^\s'"#,}\]]*)""")


class _NotYaml(Exception):
    pass


def _load(content: bytes) -> Any:
    """A definition's YAML, scalars as text (CI's YAML readers take `=` or `2024-02-30` as text too); of a
    GitLab file with a `spec:` header, the document after it. _NotYaml when it does not parse."""
    try:
        documents = [d for d in yaml.load_all(content, Loader=_DefinitionLoader) if d]  # noqa: S506 - no types
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
        raise _NotYaml from e
    return documents[-1] if documents else None


class _DefinitionLoader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """YAML's base loader (no implicit types: every scalar is text), reading GitLab's `!reference [...]` and
    any other tag as the plain value it tags."""


def _untagged(loader: yaml.BaseLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_DefinitionLoader.add_multi_constructor("!", _untagged)
_DefinitionLoader.add_multi_constructor("tag:yaml.org,2002:", _untagged)


# --- GitLab -------------------------------------------------------------------------------------------

def _gitlab_includes(document: Any) -> Iterator[Any]:
    """Every entry of a GitLab CI file's `include:` and of each job's `trigger: include:` (a child pipeline)."""
    if not isinstance(document, dict):
        return
    includes = [document.get("include")]
    includes += [job["trigger"].get("include") for job in document.values()
                 if isinstance(job, dict) and isinstance(job.get("trigger"), dict)]
    for include in includes:
        yield from include if isinstance(include, list) else [include]


def _gitlab_local_includes(document: Any) -> Iterator[str]:
    """The local files a GitLab CI file includes, as written. A string is local unless it is a URL; `project:`,
    `remote:`, `template:` and `component:` come from elsewhere. Whatever `rules:` an include has: it is included
    on some pipeline."""
    for entry in _gitlab_includes(document):
        local = entry if isinstance(entry, str) and "://" not in entry else (
            entry.get("local") if isinstance(entry, dict) else None)
        if isinstance(local, str):
            yield local


def _gitlab_include(written: str) -> _Found:
    """A local include as written (`/ci/jobs.yml`, `ci/*.yml`): its patterns, and what to read for its own
    includes. Not one made of CI variables, nor one leaving the repository."""
    local = None if _UNFOLLOWED.search(written) else _inside(written.strip().lstrip("/"))
    if local:
        follow = _gitlab_follow(local)
        for pattern in _gitlab_patterns(local):
            yield pattern, follow


_OWN_COMPONENT = re.compile(r"\$\{?CI_SERVER_FQDN\}?/\$\{?CI_PROJECT_PATH\}?/([\w.-]+)@")


def _gitlab_own_components(document: Any) -> Iterator[str]:
    """The project's own CI components a file includes (`$CI_SERVER_FQDN/$CI_PROJECT_PATH/name@…`, how GitLab
    has a project test its components): their templates are in this repository."""
    for entry in _gitlab_includes(document):
        component = entry.get("component") if isinstance(entry, dict) else None
        match = _OWN_COMPONENT.match(component) if isinstance(component, str) else None
        if match and match[1] not in (".", ".."):
            yield match[1]


_UNFOLLOWED = re.compile(r"[$\x00\n\r]")  # CI variables; characters no pattern holds


def _gitlab_patterns(local: str) -> list[str]:
    """Gitignore patterns matching what GitLab's wildcards match: `*` within a folder (gitignore's `*`), `**`
    across folders. A `**` inside a name (`ci/*-**.yml`) matches within one folder or across several:
    `*`, or `*/**/*`, one pattern per choice."""
    pieces = local.split("**")
    if len(pieces) - 1 > _MAX_DOUBLE_STARS:
        folder = local.split("*", 1)[0].rpartition("/")[0]
        return [_literal(folder) if folder else "/**"]
    escaped = ["*".join(escape_pattern(part) for part in piece.split("*")) for piece in pieces]
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


def _local_action(uses: str) -> _Found:
    """A local action (`uses: ./path`): its folder, or for the repository's top its metadata file."""
    if not uses.startswith("./") or _UNFOLLOWED.search(uses):
        return
    folder = _inside(uses.strip())
    if folder == "":
        yield from _top_action()
    elif folder is not None:
        yield _literal(folder), [_Wanted(folder, "github_action")]  # the folder, and the folder's files


def _top_action() -> _Found:
    # An action at the repository's top (`uses: ./`, an action testing itself): its metadata file and what it
    # runs (`_action_runs`); the whole tree would make every PR a change to the gate.
    for name in _ACTION_FILES:
        yield _literal(name), [_Wanted(name, "github_action")]


def _action_runs(path: str, document: Any) -> _Found:
    """The files an action's metadata runs (`runs.main`, `pre`, `post`; a Dockerfile `image`), relative to
    its folder: inside a protected folder already, unless the action is the repository's top or they leave it."""
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, dict):
        return
    folder = posixpath.dirname(path)
    for key in ("main", "pre", "post", "image"):
        value = runs.get(key)
        if isinstance(value, str) and not value.startswith("docker://") and not _UNFOLLOWED.search(value):
            resolved = _inside(posixpath.join(folder, value))
            if resolved and not (folder and resolved.startswith(folder + "/")):
                yield _literal(resolved), []


# --- paths ----------------------------------------------------------------------------------------------

def _inside(path: str) -> str | None:
    """A relative path, normalised; "" for the top, None when it leaves the repository."""
    normal = posixpath.normpath(path)
    if normal == ".":
        return ""
    return None if normal == ".." or normal.startswith(("../", "/")) else normal


def _literal(path: str) -> str:
    # Anchored; a pattern without wildcards also matches everything below it, when it is a folder.
    return "/" + escape_pattern(path)
