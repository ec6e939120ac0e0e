"""The dependencies a PR adds, updates or removes, read from the manifests and lock files it changes, and
what their registries and a list of popular names say about each new one. Facts only: the scanning
policy decides what is a violation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigate.dependencies.manifests import Declared, is_manifest, parse_lines, parse_manifest
from aigate.dependencies.registry import RegistryClient, RegistryOptions
from aigate.dependencies.typosquat import PopularNames
from aigate.models import Dependency, FileChange
from aigate.sources.added_lines import DiffLines

__all__ = ["DependencyOptions", "FileVersions", "discover_dependencies"]

# (base text, head text) of a changed file; None for a side where the file does not exist.
FileVersions = Callable[[FileChange], tuple[str | None, str | None]]


@dataclass(frozen=True)
class DependencyOptions:
    """scanning.dependencies, with paths resolved."""

    enabled: bool = True
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    popular_names: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], base_dir: Path | None, input_dir: Path | None = None
    ) -> DependencyOptions:
        folder = input_dir or base_dir or Path.cwd()  # the popular-name lists are read, never written
        typosquat = settings.get("typosquat", {})
        return cls(
            enabled=bool(settings.get("enabled", True)),
            registry=RegistryOptions.from_settings(settings.get("registry", {}), base_dir, input_dir),
            popular_names={e: folder / p for e, p in (typosquat.get("popular_names") or {}).items()},
        )


def discover_dependencies(
    files: Iterable[FileChange],
    *,
    diff_lines: Callable[[], DiffLines | None],
    versions: FileVersions | None = None,
    options: DependencyOptions | None = None,
    registry: RegistryClient | None = None,
) -> list[Dependency]:
    """Dependencies added, updated or removed by the changed manifests and lock files: from both whole versions
    of each file when `versions` can read them (a repository), else from the diff's added and removed lines.
    Each added or updated one is looked up in its registry and against the popular names."""
    options = options or DependencyOptions()
    manifests = [f for f in files if is_manifest(f.path) or (f.old_path is not None and is_manifest(f.old_path))]
    if not options.enabled or not manifests:
        return []
    lines = None if versions is not None else diff_lines()
    found = _Found()
    for change in manifests:
        base, head = _declarations(change, versions, lines)
        for key, declared in head.items():
            before = base.get(key)
            if before is None:
                found.add(declared, "added", change.path)
            elif before.version != declared.version:
                found.add(declared, "updated", change.path)
        for key, declared in base.items():
            if key not in head:
                found.add(declared, "removed", change.path)
    client = registry or RegistryClient(options.registry)
    popular = PopularNames(options.popular_names)
    result = []
    for found_key, dependency in found.dependencies.items():
        # No registry knows a workspace member, a local path, a git or URL source: neither the registry nor
        # the popular names have a say (status stays "unchecked"); the deny list and pinning still do.
        if dependency.change != "removed" and found_key in found.from_registry:
            near = popular.nearest(dependency.ecosystem, dependency.name)
            dependency = dependency.model_copy(update={
                "registry": client.lookup(dependency.ecosystem, dependency.name),
                "similar_to": near[0] if near else None,
                "similar_distance": near[1] if near else None,
            })
        result.append(dependency)
    return result


def _declarations(
    change: FileChange, versions: FileVersions | None, lines: DiffLines | None
) -> tuple[dict[tuple[str, str], Declared], dict[tuple[str, str], Declared]]:
    old_path = change.old_path or change.path
    if versions is not None:
        base_text, head_text = versions(change)
        base = parse_manifest(old_path, base_text) if base_text is not None else {}
        head = parse_manifest(change.path, head_text) if head_text is not None and change.status != "deleted" else {}
        return base, head
    if lines is None:
        return {}, {}
    added = [text for _, text in sorted(lines.added.get(change.path, {}).items())]
    removed = [text for _, text in sorted(lines.removed.get(old_path, {}).items())]
    if change.status == "added":
        return {}, parse_manifest(change.path, "\n".join(added) + "\n")  # the whole new file is in the diff
    if change.status == "deleted":
        return parse_manifest(old_path, "\n".join(removed) + "\n"), {}
    return parse_lines(old_path, removed), parse_lines(change.path, added)


@dataclass
class _Found:
    """The dependencies found so far, one per ecosystem, name and change, and which of them come from a registry."""

    dependencies: dict[tuple[str, str, str], Dependency] = field(default_factory=dict)
    from_registry: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, declared: Declared, change: str, manifest: str) -> None:
        key = (declared.ecosystem, declared.name, change)
        if declared.from_registry:  # any file that takes it from the registry has it looked up (fails closed)
            self.from_registry.add(key)
        existing = self.dependencies.get(key)
        if existing is not None:
            # Declared in a manifest and its lock file: one dependency, pinned if either pins it.
            if declared.pinned and not existing.pinned:
                self.dependencies[key] = existing.model_copy(update={"pinned": True, "version": declared.version})
            return
        self.dependencies[key] = Dependency(
            ecosystem=declared.ecosystem, name=declared.name, version=declared.version, change=change,
            manifest=manifest, pinned=declared.pinned,
        )
