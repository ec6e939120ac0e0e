"""Validation against aigate's published JSON Schemas, without importing jsonschema when it is not needed.

Importing jsonschema takes ~70 ms, a quarter of the CLI's start-up, and it checks a 10,000-file input
document in ~2 s. `schema_error` first runs a small checker that knows only the keywords aigate's schemas
use and can answer one thing: "valid". Whenever it is not sure (a keyword it does not know, an instance
it would reject), jsonschema decides and describes the problem, so every message still comes from
jsonschema. The checker is strict where it answers: it never calls valid what jsonschema would reject
(the tests compare the two).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from aigate import _resources

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["is_surely_valid", "schema_error"]

Check = Callable[[Any], bool]

# Keywords that only describe: they never make an instance invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs"})
_KNOWN = _ANNOTATIONS | {
    "type", "enum", "const", "properties", "additionalProperties", "required", "items", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minProperties", "pattern", "propertyNames",
    "anyOf", "$ref",
}  # fmt: skip
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    # Deliberately narrower than JSON Schema (which also counts 1.0 as an integer): unsure goes to jsonschema.
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    ("minimum", operator.ge),
    ("maximum", operator.le),
    ("exclusiveMinimum", operator.gt),
    ("exclusiveMaximum", operator.lt),
)


def schema_error(instance: Any, schema_name: str) -> ValidationError | None:
    """jsonschema's best-matching error for `instance` against `schemas/<schema_name>`, None when valid."""
    if _compiled(schema_name)(instance):
        return None
    import jsonschema

    error: ValidationError | None = jsonschema.exceptions.best_match(_validator(schema_name).iter_errors(instance))
    return error


@cache
def _validator(schema_name: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_resources.load_schema(schema_name))


@cache
def _compiled(schema_name: str) -> Check:
    schema = _resources.load_schema(schema_name)
    return _Compiler(schema).compile(schema)


def is_surely_valid(instance: Any, schema: Mapping[str, Any]) -> bool:
    """True only if `instance` is valid against `schema` (a Draft 2020-12 schema with local `$ref`s)."""
    return _Compiler(schema).compile(schema)(instance)


def _never(instance: Any) -> bool:
    return False


def _always(instance: Any) -> bool:
    return True


class _Compiler:
    """Turns a schema into one check function, each subschema compiled once."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.references: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if not isinstance(schema, dict) or not schema.keys() <= _KNOWN:
            return _never
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self._reference(schema["$ref"]))
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not all(isinstance(name, str) and name in _TYPES for name in names):
                return _never
            types = tuple(kind for name in names for kind in _TYPES[name])
            # The exact type: a bool is no integer here, and a subclass (an OrderedDict) is left to jsonschema.
            checks.append(lambda instance: type(instance) in types)
        if "enum" in schema:
            options = schema["enum"]
            checks.append(lambda instance: any(_same(instance, option) for option in options))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda instance: _same(instance, constant))
        if "anyOf" in schema:
            options_checks = [self.compile(option) for option in schema["anyOf"]]
            checks.append(lambda instance: any(check(instance) for check in options_checks))
        checks += self._numbers(schema) + self._strings(schema) + self._arrays(schema) + self._objects(schema)
        if len(checks) == 1:
            return checks[0]
        return lambda instance: all(check(instance) for check in checks)

    def _reference(self, reference: Any) -> Check:
        if not isinstance(reference, str) or not reference.startswith("#/$defs/"):
            return _never
        if reference not in self.references:
            target = self.root.get("$defs", {}).get(reference.removeprefix("#/$defs/"))
            self.references[reference] = _never  # a reference to itself is not something aigate's schemas do
            self.references[reference] = _never if target is None else self.compile(target)
        return self.references[reference]

    def _numbers(self, schema: Mapping[str, Any]) -> list[Check]:
        bounds = [(schema[key], holds) for key, holds in _BOUNDS if key in schema]
        if not bounds:
            return []
        if not all(type(bound) in (int, float) for bound, _ in bounds):
            return [_never]

        def check(instance: Any) -> bool:
            if type(instance) not in (int, float):
                return True  # number keywords do not apply to other types
            return all(holds(instance, bound) for bound, holds in bounds)

        return [check]

    def _strings(self, schema: Mapping[str, Any]) -> list[Check]:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        pattern = schema.get("pattern")
        if low == 0 and high is None and pattern is None:
            return []
        if type(low) is not int or (high is not None and type(high) is not int):
            return [_never]
        try:
            search = re.compile(pattern).search if pattern is not None else None
        except (re.error, TypeError):
            return [_never]

        def check(instance: Any) -> bool:
            if not isinstance(instance, str):
                return True
            if len(instance) < low or (high is not None and len(instance) > high):
                return False
            return search is None or search(instance) is not None

        return [check]

    def _arrays(self, schema: Mapping[str, Any]) -> list[Check]:
        if "items" not in schema:
            return []
        item = self.compile(schema["items"])
        return [lambda instance: not isinstance(instance, list) or all(map(item, instance))]

    def _objects(self, schema: Mapping[str, Any]) -> list[Check]:
        keywords = ("properties", "additionalProperties", "required", "minProperties", "propertyNames")
        if not any(keyword in schema for keyword in keywords):
            return []
        properties = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        additional = schema.get("additionalProperties", True)
        other = _never if additional is False else self.compile(additional)
        required = tuple(schema.get("required", ()))
        least = schema.get("minProperties", 0)
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        if type(least) is not int:
            return [_never]

        def check(instance: Any) -> bool:
            if not isinstance(instance, dict):
                return True
            if len(instance) < least or any(key not in instance for key in required):
                return False
            for key, value in instance.items():
                if not isinstance(key, str) or (names is not None and not names(key)):
                    return False
                if not properties.get(key, other)(value):
                    return False
            return True

        return [check]


def _same(instance: Any, option: Any) -> bool:
    """JSON equality for the scalars schemas list: True is not 1, 1 is not "1"."""
    if isinstance(option, (dict, list)) or isinstance(instance, (dict, list)):
        return False  # not needed by aigate's schemas: unsure
    return type(instance) is type(option) and instance == option
