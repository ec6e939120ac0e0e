"""Dependencies declared by a manifest or lock file, per ecosystem and name.

Whole files (with `--repo`, or a file the PR adds) are read with real parsers: `packaging` for PEP 508
requirements, `tomllib`, `json`, `configparser`. Without the whole file only the diff's added and removed
lines are known: each line is read on its own, for the shapes a dependency line takes in that format.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name

__all__ = ["Declared", "is_manifest", "manifest_kind", "parse_lines", "parse_manifest"]


@dataclass(frozen=True)
class Declared:
    """One declared dependency: the version (exact when pinned, else the constraint), whether it is pinned, and
    whether it comes from its ecosystem's registry: a workspace member, a local path, a git or URL source does
    not, and no registry knows its name."""

    ecosystem: str
    name: str
    version: str | None
    pinned: bool
    from_registry: bool = True


Declarations = dict[tuple[str, str], Declared]

_KINDS = {
    "pyproject.toml": "pyproject",
    "setup.cfg": "setup_cfg",
    "Pipfile": "pipfile",
    "poetry.lock": "poetry_lock",
    "uv.lock": "uv_lock",
    "package.json": "package_json",
    "package-lock.json": "package_lock",
    "go.mod": "go_mod",
    "Cargo.toml": "cargo_toml",
    "Gemfile": "gemfile",
}
_REQUIREMENTS = re.compile(r"requirements[\w.-]*\.(txt|in)$")


def manifest_kind(path: str) -> str | None:
    # The last part of a git path (never "", ".", ".." nor ending in "/"): PurePosixPath(path).name, without
    # building a path object per changed file (0.1 s for 10,000).
    name = path.rpartition("/")[2]
    if _REQUIREMENTS.fullmatch(name) or (name.endswith(".txt") and "/requirements/" in f"/{path}"):
        return "requirements"
    return _KINDS.get(name)


def is_manifest(path: str) -> bool:
    return manifest_kind(path) is not None


def parse_manifest(path: str, text: str) -> Declarations:
    """Every dependency a whole manifest or lock file declares. A file that does not parse is read line by
    line instead (a half-edited manifest still names its dependencies)."""
    kind = manifest_kind(path)
    if kind is None:
        return {}
    try:
        return _collect(_WHOLE[kind](text))
    except (ValueError, KeyError, TypeError, AttributeError, configparser.Error):
        return parse_lines(path, text.splitlines())


def parse_lines(path: str, lines: Iterable[str]) -> Declarations:
    """The dependencies a set of lines (a diff's added or removed lines) declares, line by line."""
    kind = manifest_kind(path)
    if kind is None:
        return {}
    if kind in _MULTI_LINE:
        return _collect(_MULTI_LINE[kind](list(lines)))
    # Lines alone do not say which table a line is in: a source entry (`name = { path = … }`) does not speak
    # for a requirement line of the same name, which is looked up.
    return _collect(found for line in lines for found in _LINE[kind](line))


def _collect(found: Iterable[Declared]) -> Declarations:
    """One declaration per ecosystem and name: the first, from its registry if any mention is (a name a
    manifest takes from the registry in one place is fetched from it, whatever another table says)."""
    result: Declarations = {}
    for declared in found:
        key = (declared.ecosystem, declared.name)
        first = result.setdefault(key, declared)
        if declared.from_registry and not first.from_registry:
            result[key] = replace(first, from_registry=True)
    return result


# --- Python ---------------------------------------------------------------------------------------

def _pep508(text: str) -> Declared | None:
    text = text.split(" #", 1)[0].strip()
    if not text or text.startswith(("#", "-", "git+", "http:", "https:", "file:", ".")):
        return None
    try:
        requirement = _requirement(text)
    except ValueError:  # packaging's InvalidRequirement
        return None
    specifiers = list(requirement.specifier)
    exact = [s.version for s in specifiers if s.operator in ("==", "===") and "*" not in s.version]
    pinned = len(specifiers) == 1 and bool(exact)
    version = exact[0] if pinned else (str(requirement.specifier) or None)
    # A direct reference (`name @ https://…`, `name @ file:…`) is fetched from where it says, not the index.
    return Declared("pypi", canonicalize_name(requirement.name), version, pinned, requirement.url is None)


def _requirements(text: str) -> Iterator[Declared]:
    for line in text.splitlines():
        yield from _requirements_line(line)


def _requirements_line(line: str) -> Iterator[Declared]:
    declared = _pep508(line.rstrip("\\").strip())
    if declared is not None:
        yield declared


def _pyproject(text: str) -> Iterator[Declared]:
    data = tomllib.loads(text)
    elsewhere = _uv_sources_elsewhere(data.get("tool", {}).get("uv", {}).get("sources", {}))
    for declared in _pyproject_requirements(data):
        yield replace(declared, from_registry=False) if declared.name in elsewhere else declared


def _pyproject_requirements(data: Mapping[str, Any]) -> Iterator[Declared]:
    project = data.get("project", {})
    for entry in project.get("dependencies", []):
        yield from _maybe(_pep508(entry))
    for entries in project.get("optional-dependencies", {}).values():
        for entry in entries:
            yield from _maybe(_pep508(entry))
    for entries in data.get("dependency-groups", {}).values():
        for entry in entries:
            if isinstance(entry, str):
                yield from _maybe(_pep508(entry))
    poetry = data.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [group.get("dependencies", {}) for group in poetry.get("group", {}).values()]
    for table in tables:
        for name, spec in table.items():
            if name.lower() != "python":
                yield _poetry(name, spec)


# The keys by which each tool takes a package from somewhere other than an index (uv: workspace = true too).
_UV_ELSEWHERE = ("path", "git", "url")
_POETRY_ELSEWHERE = ("path", "git", "url")
_PIPFILE_ELSEWHERE = ("path", "file", "git", "hg", "svn", "bzr")
# A uv source for some platforms, extras or groups only: elsewhere uv falls back to the index, so the name is
# still the registry's. (A Poetry or Pipfile marker only limits where the entry is installed.)
_UV_PARTIAL = ("marker", "extra", "group")


def _uv_sources_elsewhere(sources: Mapping[str, Any]) -> set[str]:
    """The packages `[tool.uv.sources]` takes from a workspace member, a path, git or a URL, on every platform."""
    names: set[str] = set()
    for name, entry in sources.items():
        entries = entry if isinstance(entry, list) else [entry]
        if entries and all(_elsewhere(e, _UV_ELSEWHERE, workspace=True, partial=_UV_PARTIAL) for e in entries):
            names.add(canonicalize_name(name))
    return names


def _elsewhere(spec: Any, keys: tuple[str, ...], *, workspace: bool = False, partial: tuple[str, ...] = ()) -> bool:
    """Whether a source table takes the package from somewhere other than an index, always."""
    if not isinstance(spec, Mapping) or any(k in spec for k in partial):
        return False
    return (workspace and spec.get("workspace") is True) or any(k in spec for k in keys)


def _inline_table(table: str | None) -> Any:
    """A TOML inline table's value (None when it is not one): read by TOML, not searched for key-like text."""
    if not table:
        return None
    try:
        return tomllib.loads(f"x = {table}")["x"]
    except tomllib.TOMLDecodeError:
        return None


def _poetry(name: str, spec: Any) -> Declared:
    version = spec.get("version") if isinstance(spec, Mapping) else spec
    text = str(version).strip() if version is not None else None
    # Poetry reads a bare version ("1.2.3") as exactly that version.
    pinned = bool(text) and bool(re.fullmatch(r"=?=?\s*\d[\w.+-]*", text or ""))
    version = text.lstrip("=").strip() if pinned and text else text
    return Declared("pypi", canonicalize_name(name), version, pinned, not _elsewhere(spec, _POETRY_ELSEWHERE))


def _pyproject_line(line: str) -> Iterator[Declared]:
    quoted = re.fullmatch(r"\s*\"([^\"]+)\"\s*,?\s*", line) or re.fullmatch(r"\s*'([^']+)'\s*,?\s*", line)
    if quoted:
        yield from _maybe(_pep508(quoted[1]))
        return
    assignment = _TOML_ASSIGNMENT.fullmatch(line)
    if assignment and assignment["key"].lower() not in _NOT_DEPENDENCIES:
        table = _inline_table(assignment["table"])
        if table is not None:  # a Poetry entry, or a `[tool.uv.sources]` one
            yield _poetry(assignment["key"], table)
        else:
            yield _poetry(assignment["key"], assignment["value"] or _inline_version(assignment["table"]))


def _setup_cfg(text: str) -> Iterator[Declared]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    blocks = [parser.get("options", "install_requires", fallback="")]
    if parser.has_section("options.extras_require"):
        blocks += [value for _, value in parser.items("options.extras_require")]
    for block in blocks:
        for line in block.splitlines():
            yield from _requirements_line(line)


def _setup_cfg_line(line: str) -> Iterator[Declared]:
    # Continuation lines of install_requires are indented requirement strings.
    if line.startswith((" ", "\t")) and "=" not in line.split("==")[0].replace(">=", "").replace("<=", ""):
        yield from _requirements_line(line)
    elif line.strip().startswith("install_requires") and "=" in line:
        yield from _requirements_line(line.split("=", 1)[1])


def _pipfile(text: str) -> Iterator[Declared]:
    data = tomllib.loads(text)
    for section in ("packages", "dev-packages"):
        for name, spec in data.get(section, {}).items():
            yield _pipfile_entry(name, spec)


def _pipfile_entry(name: str, spec: Any) -> Declared:
    version = spec.get("version") if isinstance(spec, Mapping) else spec
    text = None if version in (None, "*") else str(version)
    pinned = text is not None and text.startswith("==") and "*" not in text
    from_registry = not _elsewhere(spec, _PIPFILE_ELSEWHERE)
    return Declared("pypi", canonicalize_name(name), text[2:] if pinned and text else text, pinned, from_registry)


def _pipfile_line(line: str) -> Iterator[Declared]:
    assignment = _TOML_ASSIGNMENT.fullmatch(line)
    if assignment and assignment["key"].lower() not in _NOT_DEPENDENCIES:
        table = _inline_table(assignment["table"])
        version = assignment["value"] or _inline_version(assignment["table"])
        yield _pipfile_entry(assignment["key"], table if table is not None else version)


# Where a locked package comes from, other than an index: uv's `source = { git = … }` keys, and Poetry's
# `[package.source] type = …` values.
_LOCKED_ELSEWHERE = ("git", "path", "directory", "url", "file")


def _python_lock(text: str) -> Iterator[Declared]:
    for package in tomllib.loads(text).get("package", []):
        source = package.get("source", {})
        if isinstance(source, Mapping) and ("virtual" in source or "editable" in source):
            continue  # the project itself, or a member of its workspace
        if isinstance(source, Mapping) and "type" in source:  # Poetry: "legacy" is an index
            from_registry = source["type"] not in _LOCKED_ELSEWHERE
        else:  # uv
            from_registry = not isinstance(source, Mapping) or "registry" in source or not any(
                k in source for k in _LOCKED_ELSEWHERE)
        version = str(package.get("version") or "") or None
        yield Declared("pypi", canonicalize_name(package["name"]), version, True, from_registry)


_LOCK_SOURCE_ELSEWHERE = re.compile(
    r"\s*source\s*=\s*\{\s*(?:git|path|directory|url)\s*=.*|\s*type\s*=\s*\"(?:git|directory|file|url)\"\s*"
)


def _python_lock_lines(lines: list[str]) -> Iterator[Declared]:
    """`[[package]]` blocks as lines: a name, its version, a source that is not the project itself, and
    whether that source is an index."""
    name = version = None
    from_registry = True
    for line in [*lines, "[[package]]"]:
        key = re.fullmatch(r"\s*(name|version)\s*=\s*\"([^\"]+)\"\s*", line)
        if line.strip() == "[[package]]" or (key and key[1] == "name"):
            if name is not None and version is not None:
                yield Declared("pypi", canonicalize_name(name), version, True, from_registry)
            name, version, from_registry = (key[2] if key else None), None, True
        elif key:
            version = key[2]
        elif re.match(r"\s*source\s*=\s*\{.*\b(editable|virtual)\b", line):
            name = None  # the project itself
        elif _LOCK_SOURCE_ELSEWHERE.fullmatch(line):
            from_registry = False


# --- npm -------------------------------------------------------------------------------------------

_NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_EXACT_SEMVER = re.compile(r"=?v?\d+\.\d+\.\d+(-[\w.]+)?(\+[\w.]+)?")
_NPM_RANGE = re.compile(r"[\^~<>=*xX\d]|latest$|next$|npm:|workspace:|file:|git|github:|https?:")
_NPM_NON_DEPENDENCY_KEYS = {
    "name", "version", "description", "main", "module", "types", "typings", "license", "author", "homepage",
    "type", "private", "packageManager", "node", "npm", "lockfileVersion", "resolved", "integrity", "engines",
}  # fmt: skip


# npm specs that fetch from somewhere else than the registry (npm's package-spec: a workspace, a folder, a
# tarball URL, git, or a GitHub `owner/repo`); an `npm:` alias is the registry's.
_NPM_ELSEWHERE = re.compile(
    r"(?:workspace|file|link|git(?:\+\w+)?|github|gitlab|bitbucket|gist|https?):|[\w.-]+/[\w.-]+(?:#.*)?$"
)


def _npm(name: str, spec: str) -> Declared:
    pinned = bool(_EXACT_SEMVER.fullmatch(spec))
    from_registry = not _NPM_ELSEWHERE.match(spec.strip())
    return Declared("npm", name.lower() if not name.startswith("@") else name, spec, pinned, from_registry)


def _package_json(text: str) -> Iterator[Declared]:
    data = json.loads(text)
    for section in _NPM_SECTIONS:
        for name, spec in (data.get(section) or {}).items():
            yield _npm(name, str(spec))


def _package_json_line(line: str) -> Iterator[Declared]:
    entry = re.fullmatch(r"\s*\"(@?[a-z0-9][\w.\-/]*)\"\s*:\s*\"([^\"]*)\"\s*,?\s*", line, re.IGNORECASE)
    if entry and entry[1] not in _NPM_NON_DEPENDENCY_KEYS and _NPM_RANGE.match(entry[2].strip()):
        yield _npm(entry[1], entry[2].strip())


def _package_lock(text: str) -> Iterator[Declared]:
    data = json.loads(text)
    packages = data.get("packages")
    if isinstance(packages, Mapping):
        for key, entry in packages.items():
            if "node_modules/" in key and isinstance(entry, Mapping) and not entry.get("link"):
                from_registry = not str(entry.get("resolved") or "").startswith(("git", "file:", "link:"))
                yield Declared("npm", key.rsplit("node_modules/", 1)[1], entry.get("version"), True, from_registry)
        return
    for name, entry in (data.get("dependencies") or {}).items():  # lockfileVersion 1
        yield Declared("npm", name, entry.get("version") if isinstance(entry, Mapping) else None, True)


def _package_lock_lines(lines: list[str]) -> Iterator[Declared]:
    name = None
    for line in lines:
        key = re.fullmatch(r"\s*\"(?:[^\"]*/)?node_modules/(@?[^\"]+)\"\s*:\s*\{\s*", line)
        version = re.fullmatch(r"\s*\"version\"\s*:\s*\"([^\"]+)\"\s*,?\s*", line)
        if key:
            name = key[1]
        elif version and name is not None:
            yield Declared("npm", name, version[1], True)
            name = None


# --- Go, Cargo, RubyGems ------------------------------------------------------------------------------

def _go_mod(text: str) -> Iterator[Declared]:
    block = False
    for line in text.splitlines():
        stripped = line.split("//", 1)[0].strip()
        if stripped.startswith("require ("):
            block = True
            continue
        if block and stripped == ")":
            block = False
            continue
        if block or stripped.startswith("require "):
            yield from _go_line(stripped.removeprefix("require ").strip())


def _go_line(line: str) -> Iterator[Declared]:
    entry = re.fullmatch(r"\s*(?:require\s+)?([\w.\-~]+(?:/[\w.\-~]+)+)\s+(v[\w.+-]+)\s*(?://.*)?", line)
    if entry:
        yield Declared("go", entry[1], entry[2], True)


_TOML_ASSIGNMENT = re.compile(
    r"\s*\"?(?P<key>[A-Za-z0-9][\w.\-]*)\"?\s*=\s*(?:\"(?P<value>[^\"]*)\"|(?P<table>\{.*\}))\s*(?:#.*)?"
)
_NOT_DEPENDENCIES = {
    "name", "version", "edition", "description", "license", "authors", "readme", "homepage", "repository",
    "documentation", "keywords", "categories", "python", "requires-python", "build-backend", "url",
    "verify_ssl", "python_version", "rust-version", "publish", "resolver", "members", "path", "workspace",
}  # fmt: skip


def _inline_version(table: str | None) -> str | None:
    found = re.search(r"version\s*=\s*\"([^\"]*)\"", table or "")
    return found[1] if found else None


def _cargo(name: str, spec: Any) -> Declared:
    version = spec.get("version") if isinstance(spec, Mapping) else spec
    text = None if version is None else str(version)
    pinned = bool(text) and bool(re.fullmatch(r"=\s*\d+\.\d+\.\d+[\w.+-]*", text or ""))
    return Declared("cargo", name, text.lstrip("= ") if pinned and text else text, pinned)


def _cargo_toml(text: str) -> Iterator[Declared]:
    data = tomllib.loads(text)
    tables = [data.get(k, {}) for k in ("dependencies", "dev-dependencies", "build-dependencies")]
    # A workspace's root declares its members' shared dependencies once (members say `workspace = true`).
    tables.append(data.get("workspace", {}).get("dependencies", {}))
    for target in data.get("target", {}).values():
        tables += [target.get(k, {}) for k in ("dependencies", "dev-dependencies", "build-dependencies")]
    for table in tables:
        for name, spec in table.items():
            if not (isinstance(spec, Mapping) and ("path" in spec or spec.get("workspace"))):
                yield _cargo(name, spec)


def _cargo_line(line: str) -> Iterator[Declared]:
    assignment = _TOML_ASSIGNMENT.fullmatch(line)
    if assignment and assignment["key"] not in _NOT_DEPENDENCIES:
        if assignment["table"] and "path" in assignment["table"]:
            return
        yield _cargo(assignment["key"], assignment["value"] or _inline_version(assignment["table"]))


_GEM = re.compile(r"\s*gem\s+[\"']([\w.\-]+)[\"']\s*(?:,\s*[\"']([^\"']+)[\"'])?(?:\s*,\s*[\"']([^\"']+)[\"'])?.*")


def _gemfile(text: str) -> Iterator[Declared]:
    for line in text.splitlines():
        yield from _gem_line(line)


def _gem_line(line: str) -> Iterator[Declared]:
    entry = _GEM.fullmatch(line)
    if entry:
        constraint = ", ".join(c for c in (entry[2], entry[3]) if c) or None
        exact = re.fullmatch(r"=?\s*(\d[\w.]*)", constraint or "")
        yield Declared("rubygems", entry[1], exact[1] if exact else constraint, bool(exact))


def _maybe(declared: Declared | None) -> Iterator[Declared]:
    if declared is not None:
        yield declared


_WHOLE = {
    "requirements": _requirements, "pyproject": _pyproject, "setup_cfg": _setup_cfg, "pipfile": _pipfile,
    "poetry_lock": _python_lock, "uv_lock": _python_lock, "package_json": _package_json,
    "package_lock": _package_lock, "go_mod": _go_mod, "cargo_toml": _cargo_toml, "gemfile": _gemfile,
}  # fmt: skip


_LINE = {
    "requirements": _requirements_line, "pyproject": _pyproject_line, "setup_cfg": _setup_cfg_line,
    "pipfile": _pipfile_line, "package_json": _package_json_line, "go_mod": _go_line, "cargo_toml": _cargo_line,
    "gemfile": _gem_line,
}  # fmt: skip
_MULTI_LINE = {"poetry_lock": _python_lock_lines, "uv_lock": _python_lock_lines, "package_lock": _package_lock_lines}


def _requirement(text: str) -> Any:
    # packaging.requirements (its parser) is imported only when a requirement is read: every evaluation
    # imports this module, few PRs change a manifest (~20 ms).
    from packaging.requirements import Requirement

    return Requirement(text)
