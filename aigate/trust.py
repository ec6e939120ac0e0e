"""Which configuration judges a PR, so that the PR being judged cannot choose it.

- `--config FILE` wins. It is *trusted* when it lies outside the checkout being judged; a file
  inside the checkout is the PR's own, so its code-choosing settings are ignored and flagged.
- Otherwise, with a repository and a base revision, the config and every file it names for the gate
  to read (`policy_dir`, `custom_dir`, `custom_schema`, the registry snapshot, popular-name lists,
  certificates) are read from the base revision (`git show BASE:.ai-code-gate.yml`); absent there
  means the defaults.
- Otherwise `./.ai-code-gate.yml` is the checkout's own (untrusted); it must be a regular file, not a
  symlink, a folder or anything else (an error, never a silent fallback to the defaults).

Files the gate writes (audit trail, decision log) must stay inside the repository or the state
folder (`--state-dir` / `AIGATE_STATE_DIR`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path

from aigate.config import (
    CONFIG_FILE_NAME,
    GateConfig,
    NamedInput,
    config_from_mapping,
    config_input_paths,
    load_config,
    parse_config_yaml,
    with_ci_definitions,
)
from aigate.engines.interface import MAX_POLICY_BYTES, PolicySet
from aigate.errors import ConfigError, PolicyError, RepositoryError

__all__ = ["ENV_STATE_DIR", "resolve_config"]

ENV_STATE_DIR = "AIGATE_STATE_DIR"
_MAX_CONFIG_BYTES = 1 << 20
# A file the base config names (a schema, a registry snapshot, a popular-name list, a certificate).
_MAX_NAMED_FILE_BYTES = 64 << 20


def resolve_config(
    *,
    config: Path | None = None,
    repo: Path | None = None,
    base: str | None = None,
    state_dir: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> GateConfig:
    """The config that judges a PR (see the module's description)."""
    from aigate.sources.git_repo import repository_root  # subprocess: only when a checkout is involved

    env = os.environ if environ is None else environ
    here = (cwd or Path.cwd()).resolve()
    checkout = repository_root(repo) if repo is not None else repository_root(here)
    if checkout is None:
        checkout = (repo or here).resolve()
    state = state_dir or (Path(env[ENV_STATE_DIR]) if env.get(ENV_STATE_DIR) else None)
    roots = (checkout, *((state.resolve(),) if state is not None else ()))

    if config is not None:
        path = config if config.is_absolute() else here / config
        trusted = not _inside(path, checkout)
        # A trusted file's own folder is a place its admin chose for the files it writes.
        file_roots = roots if not trusted else (*roots, path.resolve().parent)
        loaded = load_config(config, trusted=trusted, write_roots=file_roots)
        return _with_base_ci(loaded, repo, base) if repo is not None and base else loaded
    if repo is not None and base:
        return _base_config(repo, base, checkout, roots)
    implicit = here / CONFIG_FILE_NAME
    if implicit.is_symlink() or implicit.exists():
        return load_config(implicit, trusted=False, write_roots=roots, follow_symlinks=False)
    return load_config(None, write_roots=roots)


def _inside(path: Path, folder: Path) -> bool:
    # Both the path as given (a symlink inside the checkout) and where it leads count as inside.
    return path.absolute().is_relative_to(folder) or path.resolve().is_relative_to(folder)


def _base_config(repo: Path, base: str, checkout: Path, roots: tuple[Path, ...]) -> GateConfig:
    from aigate.sources.git_repo import read_revision_file, with_history_hint

    source = f"{base}:{CONFIG_FILE_NAME}"
    try:
        raw = read_revision_file(repo, base, CONFIG_FILE_NAME, limit=_MAX_CONFIG_BYTES + 1)
    except RepositoryError as e:
        raise ConfigError(f"{e.source}: {with_history_hint(repo, e.problem, base)}") from e
    if raw is None:
        return _with_base_ci(load_config(None, write_roots=roots), repo, base)
    user, root = parse_config_yaml(raw, source=source)
    # The files the config names are the base revision's too: from the checkout, the PR being judged would
    # choose its own custom policies, their schema, the registry snapshot or the popular-name lists.
    inputs = Path(tempfile.mkdtemp(prefix="aigate-base-inputs-"))
    try:
        policy_sets = _read_base_inputs(repo, base, source, config_input_paths(user), inputs)
        config = dataclasses.replace(
            config_from_mapping(user, source=source, base_dir=checkout, _root=root, config_source="base",
                                write_roots=roots, input_dir=inputs),
            policies=policy_sets.get("policy.policy_dir"), custom_policies=policy_sets.get("policy.custom_dir"),
        )  # fmt: skip
        config = _with_base_ci(config, repo, base)
    except BaseException:
        shutil.rmtree(inputs, ignore_errors=True)
        raise
    # The copies live as long as the config that reads them.
    weakref.finalize(config, shutil.rmtree, inputs, ignore_errors=True)
    return config


def _with_base_ci(config: GateConfig, repo: Path, base: str) -> GateConfig:
    """`config`, protecting the CI definitions the base revision includes or runs as well (GitLab's local
    includes, GitHub's local actions)."""
    from aigate.sources.ci_definitions import ci_definition_patterns
    from aigate.sources.git_repo import with_history_hint

    if not config.settings["policy"]["gate_protection"]["enabled"]:
        return config  # nothing is protected: nothing to read, nor to fail on
    try:
        patterns = ci_definition_patterns(repo, base)
    except RepositoryError as e:
        raise RepositoryError(e.source, with_history_hint(repo, e.problem, base)) from e
    return with_ci_definitions(config, patterns)


def _read_base_inputs(
    repo: Path, base: str, source: str, named: list[NamedInput], inputs: Path
) -> dict[str, PolicySet]:
    """Read each named file from `base` into `inputs` (at its relative path), and each named folder as the
    policies it holds; returns those by setting. An error names what the base lacks."""
    from aigate.sources.git_repo import read_revision_file, read_revision_tree

    policy_sets: dict[str, PolicySet] = {}
    for item in named:
        if item.outside:
            raise ConfigError(f"{source}: {item.setting}: {item.path!r} leaves the repository: the base revision "
                              "cannot supply it")  # fmt: skip
        where = f"{base}:{item.path}"
        try:
            if item.kind == "folder":
                files = read_revision_tree(repo, base, item.path, suffix=".rego", limit=MAX_POLICY_BYTES)
                if files is None:
                    raise PolicyError(f"{where}: policy folder not found at the base revision")
                policy_sets[item.setting] = _policy_set(files, where)
                continue
            content = read_revision_file(repo, base, item.path, limit=_MAX_NAMED_FILE_BYTES + 1)
        except RepositoryError as e:
            raise PolicyError(f"{e.source}: {e.problem}") from e
        if content is None:
            raise ConfigError(f"{source}: {item.path!r}: no such file at the base revision")
        if len(content) > _MAX_NAMED_FILE_BYTES:
            raise ConfigError(f"{where}: larger than the {_MAX_NAMED_FILE_BYTES}-byte limit")
        target = inputs / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return policy_sets


def _policy_set(files: tuple[tuple[str, bytes], ...], where: str) -> PolicySet:
    modules = []
    for path, content in files:
        if path.endswith("_test.rego"):
            continue
        try:
            modules.append((path, content.decode("utf-8")))
        except UnicodeDecodeError as e:
            raise PolicyError(f"{where}/{path}: cannot read policy: not UTF-8 (byte {e.start})") from e
    if not modules:
        raise PolicyError(f"{where}: no .rego files at the base revision")
    return PolicySet(modules=tuple(modules), root=Path(where))
