"""Load `.ai-code-gate.yml`: safe YAML, schema validation with line numbers, defaults, compilation.

The compiled form is what the policies read as `data.aigate.config`: every pattern already
turned into the regular expressions both engines run identically, tiers sorted, modes resolved.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import math
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import yaml

from aigate import _resources
from aigate._text import normalise
from aigate.errors import ConfigError
from aigate.patterns import (
    CompiledPattern,
    combined_regex,
    compile_path_pattern,
    escape_pattern,
    lines_regex,
    path_regex,
    text_regex,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

    from aigate.engines.interface import PolicySet

__all__ = [
    "CODE_CHOOSING_SETTINGS",
    "CONFIG_FILE_NAME",
    "AuditSettings",
    "ConfigSource",
    "EngineSettings",
    "GateConfig",
    "IgnoredSetting",
    "LAYERS",
    "config_from_mapping",
    "load_config",
    "parse_config_text",
    "read_config_file",
    "with_ci_definitions",
]

CONFIG_FILE_NAME = ".ai-code-gate.yml"
# Layers that produce violations, each with its own observe/warn/block mode.
LAYERS = ("paths", "scope", "tests", "scanning", "sandbox", "risk")
# Maps whose keys the user chooses: a user's map replaces the default instead of merging into it.
_REPLACED_MAPS = frozenset({"risk_tiers"})
_TIER_DEFAULTS = {"approvals": 0, "auto_merge": False, "require_security_team": False}
# Detection lists a user's file adds to (the built-in agent signatures stay) unless it says
# `detection.builtin: false`; every other list in the file replaces its default.
DETECTION_LISTS = ("labels", "co_authors", "bot_authors", "branch_prefixes", "message_markers", "automation")
_MAX_CONFIG_BYTES = 1 << 20
# Most YAML nodes a config may expand to once aliases are followed. The shipped defaults are ~300
# nodes; a 400-byte "billion laughs" alias bomb expands to billions (measured: 46 s, 9 GB).
MAX_YAML_NODES = 100_000

ConfigSource = Literal["base", "file", "defaults"]
"""Where a config came from: the PR's base revision (`git show BASE:.ai-code-gate.yml`), a file, or
the shipped defaults alone."""

# Settings that choose code, servers or files. Only a trusted config (the base revision, or a file
# outside the checkout being judged) may set them: from the PR's own tree they would let the PR pick
# its own policies, its own "OPA" (which would receive the PR and CI's token), or where files are
# written. From an untrusted config they keep their defaults and the decision flags them.
CODE_CHOOSING_SETTINGS: tuple[tuple[str, ...], ...] = (
    ("policy", "policy_dir"),
    # Custom Rego loaded next to the built-ins, and whether it may weaken the gate: code the PR would choose.
    ("policy", "custom_dir"),
    ("policy", "custom_schema"),
    ("policy", "custom_can_weaken"),
    ("policy", "engine", "backend"),
    ("policy", "engine", "opa_url"),
    ("policy", "engine", "ca_bundle"),
    ("policy", "engine", "client_cert"),
    ("policy", "engine", "client_key"),
    ("policy", "engine", "verify_tls"),
    ("policy", "engine", "require_revision"),
    ("audit", "enabled"),
    ("audit", "path"),
    ("audit", "decision_log"),
    ("audit", "sinks"),  # files, databases and webhooks the audit trail goes to
    ("audit", "signing"),  # the key that signs it
    # Host folders mounted into the sandbox, variables passed into it, and network for its setup:
    # chosen by the PR, they would hand the PR's code the runner's files, secrets or a way out.
    ("sandbox", "read_only_paths"),
    ("sandbox", "env_allow"),
    ("sandbox", "allow_setup"),
    # Limits the PR's code runs under: raised by the PR, its code could hold the runner for hours.
    ("sandbox", "limits"),
)
# Settings naming files aigate writes: they must resolve inside the repository or the state folder.
_WRITTEN_PATH_SETTINGS: tuple[tuple[str, ...], ...] = (("audit", "path"), ("audit", "decision_log"))
# Files that steer the gate, beyond the config file and the policy folder: CI definitions, code
# ownership, and .gitattributes (which can mark source as binary and hide its lines from scope limits).
GATE_FILE_PATTERNS = (".github/workflows/**", ".gitlab-ci.yml", "CODEOWNERS", ".gitattributes")


@dataclass(frozen=True)
class IgnoredSetting:
    """A code-choosing setting an untrusted config tried to set; it kept its default."""

    setting: str
    value: Any


@dataclass(frozen=True)
class EngineSettings:
    """`policy.engine`, typed, with file paths resolved against the config's folder."""

    backend: Literal["embedded", "opa", "auto"]
    opa_url: str | None
    ca_bundle: Path | None
    client_cert: Path | None
    client_key: Path | None
    verify_tls: bool
    timeout: float
    retries: int
    require_revision: str | None


@dataclass(frozen=True)
class AuditSettings:
    """`audit`, typed; `path` and `decision_log` resolved and checked to stay inside the allowed roots."""

    enabled: bool
    path: Path | None
    input: Literal["full", "hash", "none"]
    redact: tuple[str, ...]
    decision_log: Path | None


@dataclass(frozen=True)
class GateConfig:
    """A loaded, validated configuration."""

    settings: dict[str, Any]
    """The merged configuration, every key present, as in `.ai-code-gate.yml`."""
    data: dict[str, Any]
    """The compiled configuration the policies read as `data.aigate.config`."""
    source: str
    base_dir: Path = field(default_factory=Path.cwd)
    config_source: ConfigSource = "file"
    """Where the config came from; recorded in every decision."""
    trusted: bool = True
    """False for a config from the tree being judged: its code-choosing settings were ignored."""
    ignored_settings: tuple[IgnoredSetting, ...] = ()
    policies: PolicySet | None = None
    """Policies read along with the config (from the base revision); None: read `policy_dir`."""
    custom_policies: PolicySet | None = None
    """`policy.custom_dir`'s modules read along with the config (from the base revision); None: read the folder."""
    input_dir: Path | None = None
    """Where the files the config names are read (a schema, a registry snapshot, certificates): for a config
    read from the base revision, a folder holding the base revision's copies, so that the PR being judged
    cannot replace them; None: `base_dir`. Files the gate writes stay relative to `base_dir`."""
    write_roots: tuple[Path, ...] = ()
    """Folders written files must stay in; empty: anywhere (a library caller's own config)."""

    @cached_property  # every decision carries it: computed once, not per evaluation
    def digest(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def custom_dir(self) -> Path | None:
        configured = self.settings["policy"]["custom_dir"]
        return None if configured is None else self.input_path(configured)

    @property
    def policy_dir(self) -> Path | None:
        configured = self.settings["policy"]["policy_dir"]
        return None if configured is None else self.input_path(configured)

    def input_path(self, relative: str) -> Path:
        """A file the config names for the gate to read, relative to the config's folder (see `input_dir`)."""
        return ((self.input_dir or self.base_dir) / relative).resolve()

    @property
    def audit(self) -> dict[str, Any]:
        return dict(self.settings["audit"])

    def resolve(self, relative: str) -> Path:
        """A path from the config file, relative to the file's folder."""
        return (self.base_dir / relative).resolve()

    @property
    def engine(self) -> EngineSettings:
        engine = self.settings["policy"]["engine"]

        def path(key: str) -> Path | None:
            return None if engine[key] is None else self.input_path(engine[key])

        return EngineSettings(
            backend=engine["backend"],
            opa_url=engine["opa_url"],
            ca_bundle=path("ca_bundle"),
            client_cert=path("client_cert"),
            client_key=path("client_key"),
            verify_tls=engine["verify_tls"],
            timeout=float(engine["timeout"]),
            retries=engine["retries"],
            require_revision=engine["require_revision"],
        )

    @property
    def audit_settings(self) -> AuditSettings:
        audit = self.settings["audit"]
        return AuditSettings(
            enabled=audit["enabled"],
            path=None if audit["path"] is None else self.written_path(audit["path"], "audit.path"),
            input=audit["input"],
            redact=tuple(audit["redact"]),
            decision_log=(
                None
                if audit["decision_log"] is None
                else self.written_path(audit["decision_log"], "audit.decision_log")
            ),
        )

    def written_path(self, configured: str, setting: str) -> Path:
        """Where a configured output file goes; ConfigError when it leaves the repository and state folder."""
        target = self.resolve(configured)
        if self.write_roots and not any(target.is_relative_to(root) for root in self.write_roots):
            roots = " or ".join(str(root) for root in self.write_roots)
            raise ConfigError(
                f"{self.source}: {setting}: {configured!r} resolves to {target}, outside {roots}; "
                "write inside the repository or set a state folder (--state-dir or AIGATE_STATE_DIR)"
            )
        return target


class _YamlError(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which PyYAML would silently let the last one win."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):  # `? [a, b]`: PyYAML's TypeError, an internal error
                raise _YamlError(key_node.start_mark.line + 1, f"a key must be a scalar, not {_kind(key)}")
            if key in seen:
                raise _YamlError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    # Values JSON has no place for, refused where the YAML says them: `.nan` and `.inf` passed the schema's
    # "number" (a NaN timeout then failed at its first use), and `2020-02-30` raised from the date constructor.
    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _YamlError(node.start_mark.line + 1, f"{node.value!r}: not a finite number")
        return value

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as e:
            raise _YamlError(node.start_mark.line + 1, f"{node.value!r}: not a date: {e}") from e


_StrictSafeLoader.add_constructor("tag:yaml.org,2002:float", _StrictSafeLoader.construct_yaml_float)
_StrictSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictSafeLoader.construct_yaml_timestamp)


def load_config(
    path: str | Path | None = None,
    *,
    trusted: bool = True,
    write_roots: tuple[Path, ...] = (),
    follow_symlinks: bool = True,
) -> GateConfig:
    """Load a config file; `None` means the defaults alone.

    `trusted=False` is for a config from the tree being judged: its code-choosing settings
    (`CODE_CHOOSING_SETTINGS`) keep their defaults and are listed in `ignored_settings`.
    """
    if path is None:
        return config_from_mapping({}, source="<defaults>", config_source="defaults", write_roots=write_roots)
    config_path = Path(path)
    source = str(config_path)
    raw = read_config_file(config_path, follow_symlinks=follow_symlinks)
    return parse_config_text(
        raw, source=source, base_dir=config_path.resolve().parent, trusted=trusted, write_roots=write_roots
    )


def read_config_file(path: Path, *, follow_symlinks: bool = True, max_bytes: int = _MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a config file: a regular file only (a FIFO, a device such as /dev/zero, or a
    folder is an error, never a hang or a fallback), read with a bounded read."""
    source = str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if path.is_symlink():
            raise ConfigError(f"{source}: is a symbolic link, not a regular file")
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
        fd = os.open(path, flags)
    except OSError as e:
        raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from e
    try:
        kind = os.fstat(fd).st_mode
    except OSError as e:
        os.close(fd)
        raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from e
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise ConfigError(f"{source}: is {_file_kind(kind)}, not a regular file")
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = handle.read(max_bytes + 1)
        except OSError as e:
            raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from e
    if len(raw) > max_bytes:
        raise ConfigError(f"{source}: file is larger than {max_bytes} bytes")
    return raw


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def parse_config_text(
    raw: bytes,
    *,
    source: str,
    base_dir: Path,
    trusted: bool = True,
    config_source: ConfigSource = "file",
    write_roots: tuple[Path, ...] = (),
    policies: PolicySet | None = None,
) -> GateConfig:
    """A config from its bytes (a file's, or a blob read from git)."""
    user, root = parse_config_yaml(raw, source=source)
    return config_from_mapping(
        user, source=source, base_dir=base_dir, _root=root, trusted=trusted, config_source=config_source,
        write_roots=write_roots, policies=policies,
    )


def parse_config_yaml(raw: bytes, *, source: str) -> tuple[dict[str, Any], yaml.Node | None]:
    """A config's bytes as the user's mapping (not yet validated) and its YAML node, for line numbers."""
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: file is larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source}: not UTF-8 text (byte {e.start})") from e
    return _parse_yaml(text, source)


def config_from_mapping(
    user: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    _root: yaml.Node | None = None,
    trusted: bool = True,
    config_source: ConfigSource = "file",
    write_roots: tuple[Path, ...] = (),
    policies: PolicySet | None = None,
    input_dir: Path | None = None,
) -> GateConfig:
    """Validate a user's configuration mapping, fill in defaults and compile it."""
    user = _dates_as_text(user)
    _validate(user, source, _root)
    defaults = _defaults()
    settings = _merge_detection(defaults, user)
    ignored = () if trusted else _reset_code_choosing(settings, defaults)
    for tier in settings["review"]["risk_tiers"].values():
        for key, value in _TIER_DEFAULTS.items():
            tier.setdefault(key, value)
    _validate(settings, source, None)
    _check_redact_pointers(settings, source, _root)
    explicit_floors = frozenset((user.get("review") or {}).get("minimum_tier") or {})
    data = _compile(settings, source, _root, explicit_floors)
    data["gate"]["ignored_settings"] = [{"setting": i.setting, "value": i.value} for i in ignored]
    data.update(_compile_authoring(settings, data, source, _root, input_dir or base_dir or Path.cwd(), explicit_floors))
    config = GateConfig(
        settings=settings, data=data, source=source, base_dir=base_dir or Path.cwd(), config_source=config_source,
        trusted=trusted, ignored_settings=ignored, policies=policies, write_roots=write_roots, input_dir=input_dir,
    )
    for written in _WRITTEN_PATH_SETTINGS:  # fail at load, not at the first write
        configured = _lookup(settings, written)
        if configured is not None:
            config.written_path(configured, ".".join(written))
    return config


def _lookup(settings: Mapping[str, Any], key: tuple[str, ...]) -> Any:
    value: Any = settings
    for step in key:
        value = value[step]
    return value


def _reset_code_choosing(settings: dict[str, Any], defaults: Mapping[str, Any]) -> tuple[IgnoredSetting, ...]:
    """Put every code-choosing setting back to its default; the ones that differed are returned."""
    ignored = []
    for key in CODE_CHOOSING_SETTINGS:
        default = _lookup(defaults, key)
        value = _lookup(settings, key)
        if value != default:
            ignored.append(IgnoredSetting(".".join(key), value))
            _lookup(settings, key[:-1])[key[-1]] = copy.deepcopy(default)
    return tuple(ignored)


def _dates_as_text(user: Mapping[str, Any]) -> Mapping[str, Any]:
    """YAML reads `expires: 2027-03-31` as a date; exceptions compare days as YYYY-MM-DD text."""
    exceptions = user.get("exceptions")
    if not isinstance(exceptions, list):
        return user
    converted = [
        {**entry, "expires": entry["expires"].isoformat()}
        if isinstance(entry, dict) and isinstance(entry.get("expires"), datetime.date)
        else entry
        for entry in exceptions
    ]
    return {**user, "exceptions": converted}


# Settings an override may not change: where policies come from and how detection works are the
# same for every agent (the agent is named by detection).
_NOT_OVERRIDABLE = ("policy_dir", "custom_dir", "custom_schema", "custom_can_weaken", "engine", "apply_to_human")


def _compile_authoring(
    settings: dict[str, Any],
    data: dict[str, Any],
    source: str,
    root: yaml.Node | None,
    base_dir: Path,
    explicit_floors: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Custom settings, exceptions, the agent table and the per-agent configurations."""
    compiler = _Compiler(source, root)
    policy = settings["policy"]
    if policy["custom_schema"] is not None:
        _validate_custom(settings["custom"], base_dir / policy["custom_schema"], source, root)
    exceptions = []
    for index, entry in enumerate(settings["exceptions"]):
        paths = entry.get("paths")
        exceptions.append({
            "id": index,
            "rule": entry["rule"],
            "paths": None if paths is None else compiler.path_matcher(["exceptions", index, "paths"], paths),
            "agents": list(entry.get("agents") or []),
            "reason": entry["reason"],
            "owner": entry["owner"],
            "expires": entry["expires"],
        })
    agents = [
        {"name": name, "patterns": compiler.text_patterns(["agents", name], patterns)}
        for name, patterns in settings["agents"].items()
    ]
    shared = {
        "custom": copy.deepcopy(settings["custom"]),
        "custom_can_weaken": policy["custom_can_weaken"],
        "exceptions": exceptions,
        "agents": agents,
    }
    overrides = {}
    for name, override in settings["overrides"].items():
        for key in _NOT_OVERRIDABLE:
            if key in (override.get("policy") or {}):
                where = ["overrides", name, "policy", key]
                raise ConfigError(f"{source}: {_where(root, where)}{_dotted(where)}: cannot be set per agent")
        merged = _merge(settings, override)
        for tier in merged["review"]["risk_tiers"].values():
            for key, value in _TIER_DEFAULTS.items():
                tier.setdefault(key, value)
        _validate(merged, source, None)
        floors = explicit_floors | frozenset((override.get("review") or {}).get("minimum_tier") or {})
        overrides[name] = {**data, **_compile(merged, source, root, floors), **shared, "overrides": {}}
    return {**shared, "overrides": overrides}


def _validate_custom(custom: Any, schema_path: Path, source: str, root: yaml.Node | None) -> None:
    import jsonschema

    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"{source}: policy.custom_schema: {schema_path}: cannot read a JSON Schema: {e}") from e
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(custom))
    except jsonschema.exceptions.SchemaError as e:
        raise ConfigError(f"{source}: policy.custom_schema: {schema_path}: not a valid schema: {e.message}") from e
    if error is not None:
        where: list[str | int] = ["custom", *error.absolute_path]
        raise ConfigError(f"{source}: {_where(root, where)}{_dotted(where)}: {error.message} ({schema_path.name})")


def _check_redact_pointers(settings: Mapping[str, Any], source: str, root: yaml.Node | None) -> None:
    """A redaction pointer that names no input field would silently redact nothing: refuse it."""
    from aigate.redaction import unknown_pointer_problem

    schema = _resources.load_schema("input.schema.json")
    for index, pointer in enumerate(settings["audit"]["redact"]):
        problem = unknown_pointer_problem(pointer, schema)
        if problem is not None:
            where: list[str | int] = ["audit", "redact", index]
            raise ConfigError(f"{source}: {_where(root, where)}{_dotted(where)}: {pointer!r}: {problem}")


def _parse_yaml(text: str, source: str) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        loader = _StrictSafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expansion(root, source)
            document = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _YamlError as e:
        raise ConfigError(f"{source}: line {e.line}: {e.problem}") from e
    except RecursionError as e:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply") from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{source}: {where}invalid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: invalid YAML: {e}") from e
    if document is None:
        return {}, None
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: line 1: the file must be a mapping of sections, not {_kind(document)}")
    return document, root


def _schema_error(instance: Mapping[str, Any]) -> ValidationError | None:
    """jsonschema's best-matching error against `schemas/config.schema.json`, None when valid.

    jsonschema-rs answers "valid" (~3 ms to import, against ~60 ms for jsonschema, a quarter of the CLI's
    start-up); jsonschema describes what is wrong, so messages stay jsonschema's."""
    try:
        if _quick_validator().is_valid(instance):
            return None
    except (ValueError, TypeError, OverflowError):
        pass  # a value JSON has no type for (a YAML date): jsonschema says what is wrong with it
    from jsonschema.exceptions import best_match

    error: ValidationError | None = best_match(_config_validator().iter_errors(instance))
    return error


@cache
def _quick_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(_resources.load_schema("config.schema.json"))


@cache
def _config_validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_resources.load_schema("config.schema.json"))


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand beyond `MAX_YAML_NODES` nodes, or refer to themselves.

    PyYAML shares an aliased node instead of copying it, so composing is cheap; what explodes is
    everything after (validation, merging, hashing, error messages), which sees the expanded tree.
    Sizes are memoised per node, so this check is linear in the document, not in its expansion."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ConfigError(f"{source}: line {node.start_mark.line + 1}: a YAML alias refers to itself")
        in_progress.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node) + size(value_node)
                if total > MAX_YAML_NODES:
                    break
        in_progress.discard(key)
        if total > MAX_YAML_NODES:
            raise ConfigError(
                f"{source}: line {node.start_mark.line + 1}: YAML aliases expand to more than "
                f"{MAX_YAML_NODES} nodes; refusing the document"
            )
        sizes[key] = total
        return total

    size(root)


def _validate(instance: Mapping[str, Any], source: str, root: yaml.Node | None) -> None:
    error = _schema_error(instance)
    if error is None:
        return
    location = list(error.absolute_path)
    problem = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        unknown = sorted(str(k) for k in error.instance if k not in known)
        if unknown:
            location.append(unknown[0])
            problem = "unknown key" + (f"; expected one of: {', '.join(sorted(known))}" if known else "")
    raise ConfigError(f"{source}: {_where(root, location)}{_dotted(location) or '(top level)'}: {problem}")


def _where(root: yaml.Node | None, location: list[str | int]) -> str:
    line = _line_of(root, location)
    return f"line {line}: " if line is not None else ""


def _line_of(root: yaml.Node | None, location: list[str | int]) -> int | None:
    node = root
    line = None
    for step in location:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == step:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(location: list[str | int]) -> str:
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


# The shipped defaults are read with libyaml when PyYAML has it (~15 ms faster than the Python loader):
# they need no duplicate-key or line-number checks.
_DEFAULTS_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _defaults() -> dict[str, Any]:
    with _resources.defaults_path().open(encoding="utf-8") as handle:
        defaults: dict[str, Any] = yaml.load(handle, Loader=_DEFAULTS_LOADER)
    return defaults


def _merge_detection(defaults: dict[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """The user's file over the defaults, with each detection list added to the built-in one."""
    detection = dict(user.get("detection") or {})
    builtin = detection.get("builtin", defaults["detection"]["builtin"])
    lists = {
        key: list(dict.fromkeys([*(defaults["detection"][key] if builtin else []), *detection.pop(key, [])]))
        for key in DETECTION_LISTS
    }
    merged = _merge(defaults, {**user, "detection": detection})
    merged["detection"].update(lists)
    return merged


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict) and key not in _REPLACED_MAPS:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _Compiler:
    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self.root = root

    def _compile_each(self, location: list[str | int], patterns: list[str], **kind: bool) -> list[CompiledPattern]:
        compiled = []
        for index, pattern in enumerate(patterns):
            try:
                if kind.get("path"):
                    compiled.append(compile_path_pattern(pattern, ignore_case=kind.get("ignore_case", False)))
                else:
                    options = {k: v for k, v in kind.items() if k not in ("path", "ignore_case")}
                    compiled.append(CompiledPattern(pattern, text_regex(pattern, **options)))
            except ValueError as e:
                raise self._error([*location, index], f"{pattern!r}: {e}") from e
        return compiled

    def _error(self, where: list[str | int], problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {_where(self.root, where)}{_dotted(where)}: {problem}")

    def text_patterns(self, location: list[str | int], patterns: list[str], **kind: bool) -> list[dict[str, Any]]:
        """Detection patterns, compared as the policies compare text (aigate._text.normalise); `literal`
        marks a pattern without wildcards, the only kind that matches known non-AI automation."""
        normalised = [normalise(pattern) for pattern in patterns]
        for index, text in enumerate(normalised):
            if not text:
                raise self._error([*location, index],
                                  f"{patterns[index]!r}: empty once whitespace and zero-width characters go")
        compiled = self._compile_each(location, normalised, **kind)
        return [
            {**c.as_data(), "pattern": pattern, "literal": "*" not in pattern and "?" not in pattern}
            for c, pattern in zip(compiled, patterns, strict=True)
        ]

    def path_matcher(
        self, location: list[str | int], patterns: list[str], *, ignore_case: bool = False
    ) -> dict[str, Any]:
        compiled = self._compile_each(location, patterns, path=True, ignore_case=ignore_case)
        try:
            return {
                "patterns": [c.as_data() for c in compiled],
                "regex": combined_regex(compiled),
                "lines_regex": lines_regex(compiled),
            }
        except ValueError as e:
            # The list's regexes are checked together, each pattern's being a part of them; when they fail,
            # each pattern alone says which one is at fault.
            for index, pattern in enumerate(patterns):
                try:
                    path_regex(pattern, ignore_case=ignore_case)
                except ValueError as alone:
                    raise self._error([*location, index], f"{pattern!r}: {alone}") from e
            raise self._error(location, f"the patterns' combined regex: {e}") from e


def _compile(
    settings: dict[str, Any], source: str, root: yaml.Node | None, explicit_floors: frozenset[str] = frozenset()
) -> dict[str, Any]:
    compiler = _Compiler(source, root)
    detection = settings["detection"]
    policy = settings["policy"]
    scanning = settings["scanning"]
    review = settings["review"]

    section_mode = {"paths": policy["mode"], "scope": policy["mode"], "tests": policy["mode"],
                    "scanning": scanning["mode"], "sandbox": settings["sandbox"]["mode"], "risk": review["mode"]}
    modes = {layer: policy["modes"].get(layer, section_mode[layer]) for layer in LAYERS}
    # Custom layers named in policy.modes keep their mode; unnamed ones take policy.mode (default_mode).
    modes.update({layer: mode for layer, mode in policy["modes"].items() if layer not in modes})

    blocked = policy["blocked_patterns"]
    sensitive = policy["sensitive_patterns"] + [p for p in blocked if p not in policy["sensitive_patterns"]]
    tiers = sorted(
        ({"name": name, **tier} for name, tier in review["risk_tiers"].items()),
        key=lambda tier: (tier["threshold"], tier["name"]),
    )
    return {
        "detection": {
            "labels": compiler.text_patterns(["detection", "labels"], detection["labels"]),
            "co_authors": compiler.text_patterns(["detection", "co_authors"], detection["co_authors"]),
            "bot_authors": compiler.text_patterns(["detection", "bot_authors"], detection["bot_authors"]),
            "branch_prefixes": compiler.text_patterns(
                ["detection", "branch_prefixes"], detection["branch_prefixes"], anchored=False, prefix=True
            ),
            "message_markers": compiler.text_patterns(
                ["detection", "message_markers"], detection["message_markers"], anchored=False
            ),
            "automation": compiler.text_patterns(["detection", "automation"], detection["automation"]),
            "unknown_bots": detection["unknown_bots"],
        },
        "apply_to_human": policy["apply_to_human"],
        "modes": modes,
        "default_mode": policy["mode"],
        "paths": {
            "allow_all": not policy["allowed_patterns"],
            "allowed": compiler.path_matcher(["policy", "allowed_patterns"], policy["allowed_patterns"]),
            # Blocked and sensitive patterns fold case (git's core.ignoreCase=true) unless switched off;
            # allowed patterns never do, so that a fence cannot widen.
            "blocked": compiler.path_matcher(
                ["policy", "blocked_patterns"], blocked, ignore_case=policy["ignore_case"]
            ),
            "sensitive": compiler.path_matcher(
                ["policy", "sensitive_patterns"], sensitive, ignore_case=policy["ignore_case"]
            ),
        },
        "scope_limits": dict(policy["scope_limits"]),
        "require_tests": {
            "enabled": policy["require_tests"]["enabled"],
            "source": compiler.path_matcher(
                ["policy", "require_tests", "source_patterns"], policy["require_tests"]["source_patterns"]
            ),
            "test": compiler.path_matcher(
                ["policy", "require_tests", "test_patterns"], policy["require_tests"]["test_patterns"]
            ),
        },
        "scanning": _compile_scanning(scanning, source, root),
        "risk": {
            "tiers": tiers,
            "weights": copy.deepcopy(review["risk_weights"]),
            "auto_merge_max_severity": review["auto_merge_max_severity"],
            "minimum_tier": _minimum_tier(review, tiers, source, root, explicit_floors),
            "gate_config": compiler.path_matcher(["review", "gate_config_patterns"], review["gate_config_patterns"]),
        },
        "sandbox": {"required": settings["sandbox"]["required"]},
        "gate": _compile_gate_protection(compiler, settings),
    }


_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def _compile_scanning(scanning: dict[str, Any], source: str, root: yaml.Node | None) -> dict[str, Any]:
    ai, human = scanning["block_on"], scanning["block_on_human"]
    for category in sorted(set(ai) | set(human)):
        # A lower threshold blocks more: AI PRs must be held at least as strictly as human ones.
        if _strictness(ai.get(category)) < _strictness(human.get(category)):
            where = ["scanning", "block_on", category]
            raise ConfigError(
                f"{source}: {_where(root, where)}{_dotted(where)}: {ai.get(category)!r} is laxer than "
                f"block_on_human.{category} ({human.get(category)!r}); AI PRs are held at least as strictly"
            )
    dependencies = scanning["dependencies"]
    return {
        "max_findings": dict(scanning["max_findings"]),
        "block_secrets": scanning["block_secrets"],
        "count_preexisting": scanning["count_preexisting"],
        "block_on": {c: _ranked(ai.get(c)) for c in sorted(set(ai) | set(human))},
        "block_on_human": {c: _ranked(human.get(c)) for c in sorted(set(ai) | set(human))},
        "severity_rank": {severity: rank for rank, severity in enumerate(_SEVERITY_ORDER)},
        "required": list(scanning["required"]),
        "fail_on_tests": scanning["fail_on_tests"],
        "min_changed_line_coverage": scanning["min_changed_line_coverage"],
        "dependencies": {
            "allow": [name.lower() for name in dependencies["allow"]],
            "deny": [name.lower() for name in dependencies["deny"]],
            "min_age_days": dependencies["min_age_days"],
            "require_pinned": dependencies["require_pinned"],
            "typosquat_max_distance": dependencies["typosquat"]["max_distance"],
        },
    }


def _strictness(severity: str | None) -> int:
    """How much a threshold blocks: null nothing (-1), critical least (0), info most (4)."""
    return -1 if severity is None else _SEVERITY_ORDER.index(severity)


def _ranked(severity: str | None) -> dict[str, Any] | None:
    """A threshold as Rego compares it: a finding blocks when its rank is at most this one's."""
    return None if severity is None else {"severity": severity, "rank": _SEVERITY_ORDER.index(severity)}


def _minimum_tier(
    review: dict[str, Any], tiers: list[dict[str, Any]], source: str, root: yaml.Node | None, explicit: frozenset[str]
) -> dict[str, Any]:
    names = [tier["name"] for tier in tiers]
    floors = {}
    for reason, name in review["minimum_tier"].items():
        if name is None:
            continue
        if name not in names and reason not in explicit:
            continue  # a default floor ("medium") whose tier the user's own tiers do not define
        if name not in names:
            where = ["review", "minimum_tier", reason]
            raise ConfigError(f"{source}: {_where(root, where)}{_dotted(where)}: {name!r} is not a risk tier "
                              f"(tiers: {', '.join(names)})")
        floors[reason] = {"name": name, "index": names.index(name)}
    return floors


class NamedInput(NamedTuple):
    """A file or folder a config names for the gate to read, by a path relative to the config's folder."""

    setting: str  # dotted: policy.custom_dir
    path: str  # normalised: no `.` or empty parts, `..` only leading
    kind: Literal["file", "folder"]

    @property
    def outside(self) -> bool:
        """Whether the path leaves the config's folder (a repository cannot supply it)."""
        return self.path == ".." or self.path.startswith("../")


def config_input_paths(settings: Mapping[str, Any]) -> list[NamedInput]:
    """The relative files and folders a config names for the gate to read: code (policies), and data that
    decides (the custom settings' schema, the registry snapshot, popular-name lists, certificates). From the
    base revision they are read as the base has them, and a PR that changes them changes the gate. Tolerant
    of wrong types: validation reports those."""
    found: list[NamedInput] = []

    def lookup(keys: tuple[str, ...]) -> Any:
        value: Any = settings
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    def add(keys: tuple[str, ...], kind: Literal["file", "folder"]) -> None:
        value = lookup(keys)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            found.append(NamedInput(".".join(keys), Path(os.path.normpath(value)).as_posix(), kind))

    add(("policy", "policy_dir"), "folder")
    add(("policy", "custom_dir"), "folder")
    add(("policy", "custom_schema"), "file")
    for key in ("ca_bundle", "client_cert", "client_key"):
        add(("policy", "engine", key), "file")
    add(("scanning", "dependencies", "registry", "snapshot"), "file")
    names = lookup(("scanning", "dependencies", "typosquat", "popular_names"))
    for ecosystem in names if isinstance(names, Mapping) else ():
        add(("scanning", "dependencies", "typosquat", "popular_names", str(ecosystem)), "file")
    return found


def with_ci_definitions(config: GateConfig, patterns: Sequence[str]) -> GateConfig:
    """`config`, with gate protection covering the files matching `patterns` too: the CI definitions a
    repository's base revision includes or runs (`aigate.sources.ci_definitions`)."""
    if not patterns:
        return config
    compiler = _Compiler(config.source, None)
    gate = {**config.data["gate"], "files": _gate_files(compiler, config.settings, patterns)}
    return dataclasses.replace(config, data={**config.data, "gate": gate})


def _compile_gate_protection(compiler: _Compiler, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The files whose change is a change to the gate itself: its config, the files it names (policies, custom
    policies and their schema, registry data, certificates), CI, owners."""
    protection = settings["policy"]["gate_protection"]
    return {
        "enabled": protection["enabled"],
        "apply_to_human": protection["apply_to_human"],
        "files": _gate_files(compiler, settings),
        "ignored_settings": [],
    }


def _gate_files(compiler: _Compiler, settings: Mapping[str, Any], ci_definitions: Sequence[str] = ()) -> dict[str, Any]:
    protection = settings["policy"]["gate_protection"]
    builtin = [f"/{CONFIG_FILE_NAME}", *GATE_FILE_PATTERNS, *ci_definitions]
    builtin.extend(
        "/" + escape_pattern(named.path) + ("/**" if named.kind == "folder" else "")
        for named in config_input_paths(settings)
        if named.path != "." and not named.outside
    )
    compiler.path_matcher(["policy", "gate_protection", "patterns"], protection["patterns"])  # errors name the index
    patterns = builtin + [p for p in protection["patterns"] if p not in builtin]
    return compiler.path_matcher(["policy", "gate_protection", "patterns"], patterns)


