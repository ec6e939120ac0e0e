"""Load `.ai-code-gate.yml`: safe YAML, schema validation with line numbers, defaults, compilation.

The compiled form is what the policies read as `data.aigate.config`: every pattern already
turned into the regular expressions both engines run identically, tiers sorted, modes resolved.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from aigate import _resources
from aigate._text import normalise
from aigate.errors import ConfigError
from aigate.patterns import CompiledPattern, combined_regex, compile_path_pattern, lines_regex, text_regex

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["CONFIG_FILE_NAME", "GateConfig", "LAYERS", "config_from_mapping", "load_config"]

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


@dataclass(frozen=True)
class GateConfig:
    """A loaded, validated configuration."""

    settings: dict[str, Any]
    """The merged configuration, every key present, as in `.ai-code-gate.yml`."""
    data: dict[str, Any]
    """The compiled configuration the policies read as `data.aigate.config`."""
    source: str
    base_dir: Path = field(default_factory=Path.cwd)

    @cached_property  # every decision carries it: computed once, not per evaluation
    def digest(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def policy_dir(self) -> Path | None:
        configured = self.settings["policy"]["policy_dir"]
        return None if configured is None else (self.base_dir / configured).resolve()

    @property
    def audit(self) -> dict[str, Any]:
        return dict(self.settings["audit"])

    def resolve(self, relative: str) -> Path:
        """A path from the config file, relative to the file's folder."""
        return (self.base_dir / relative).resolve()


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
            if key in seen:
                raise _YamlError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path | None = None) -> GateConfig:
    """Load a config file; `None` means the defaults alone."""
    if path is None:
        return config_from_mapping({}, source="<defaults>")
    config_path = Path(path)
    source = str(config_path)
    try:
        raw = config_path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from e
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: file is larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source}: not UTF-8 text (byte {e.start})") from e
    user, root = _parse_yaml(text, source)
    return config_from_mapping(user, source=source, base_dir=config_path.resolve().parent, _root=root)


def config_from_mapping(
    user: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    _root: yaml.Node | None = None,
) -> GateConfig:
    """Validate a user's configuration mapping, fill in defaults and compile it."""
    _validate(user, source, _root)
    settings = _merge_detection(_defaults(), user)
    for tier in settings["review"]["risk_tiers"].values():
        for key, value in _TIER_DEFAULTS.items():
            tier.setdefault(key, value)
    _validate(settings, source, None)
    _check_redact_pointers(settings, source, _root)
    explicit_floors = frozenset((user.get("review") or {}).get("minimum_tier") or {})
    data = _compile(settings, source, _root, explicit_floors)
    return GateConfig(settings=settings, data=data, source=source, base_dir=base_dir or Path.cwd())


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
            document = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _YamlError as e:
        raise ConfigError(f"{source}: line {e.line}: {e.problem}") from e
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
                where = [*location, index]
                raise ConfigError(
                    f"{self.source}: {_where(self.root, where)}{_dotted(where)}: {pattern!r}: {e}"
                ) from e
        return compiled

    def text_patterns(self, location: list[str | int], patterns: list[str], **kind: bool) -> list[dict[str, Any]]:
        """Detection patterns, compared as the policies compare text (aigate._text.normalise); `literal`
        marks a pattern without wildcards, the only kind that matches known non-AI automation."""
        normalised = [normalise(pattern) for pattern in patterns]
        for index, text in enumerate(normalised):
            if not text:
                where = [*location, index]
                raise ConfigError(f"{self.source}: {_where(self.root, where)}{_dotted(where)}: "
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
        return {
            "patterns": [c.as_data() for c in compiled],
            "regex": combined_regex(compiled),
            "lines_regex": lines_regex(compiled),
        }


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
