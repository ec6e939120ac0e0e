"""Which Rego builtins a policy may call so that every engine decides the same way.

The same policies run on the embedded engine (regorus) and on OPA. A builtin only one of them
has fails on the other, and some builtins that both have differ in what they do or depend on
more than the input. `check_policy_builtins` lists every call in a policy (not `_test.rego`
files) that is forbidden, or unknown to either engine, as `file:line: name: problem`.

Calls are found in the source text with strings and comments blanked out; a call whose name is
an import alias, a rule or function of the same module, or a `data`/`input` reference is the
policy's own, not a builtin. Engines are asked directly: regorus in-process, OPA through
`opa capabilities --current` when an opa binary is around, or any `opa_has_builtin` probe.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aigate.engines.interface import PolicySet
from aigate.errors import EngineError

__all__ = [
    "FORBIDDEN_BUILTINS",
    "BuiltinCall",
    "builtin_calls",
    "check_policy_builtins",
    "forbidden_reason",
    "opa_builtin_names",
    "regorus_has_builtin",
]

_REPRODUCIBLE = "decisions must follow from the input and config alone"
# Name, or prefix ending in ".*", to why policies must not call it.
FORBIDDEN_BUILTINS: dict[str, str] = {
    "rego.metadata.*": "the embedded engine (regorus) has no annotations; put settings in .ai-code-gate.yml",
    "glob.*": "glob semantics differ between the engines; aigate compiles config patterns to regular "
    "expressions that both run alike",
    "http.send": _REPRODUCIBLE,
    "net.lookup_ip_addr": _REPRODUCIBLE,
    "opa.runtime": _REPRODUCIBLE,
    "time.now_ns": _REPRODUCIBLE,
    "rand.intn": _REPRODUCIBLE,
    "uuid.rfc4122": _REPRODUCIBLE,
}

_KEYWORDS = frozenset(
    {"as", "contains", "default", "else", "every", "false", "if", "import", "in", "not", "null", "package",
     "some", "true", "with"}
)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CALL = re.compile(rf"(?<![\w.\]\)])({_NAME}(?:\.{_NAME})*)\(")
# A rule or function head starts a line (as `opa fmt` writes them): `name`, `name(args)`,
# `default name`, followed by what only a head can be followed by.
_HEAD = re.compile(
    rf"^(?:default\s+)?({_NAME})(?:\.{_NAME}|\[[^\]\n]*\])*\s*(?:\([^)\n]*\))?\s*(?::=|=|\bif\b|\bcontains\b|\{{|$)",
    re.MULTILINE,
)
_IMPORT = re.compile(rf"^import\s+({_NAME}(?:\.{_NAME})*)(?:\s+as\s+({_NAME}))?", re.MULTILINE)


@dataclass(frozen=True)
class BuiltinCall:
    name: str
    module: str
    line: int


def forbidden_reason(name: str) -> str | None:
    for pattern, reason in FORBIDDEN_BUILTINS.items():
        if name == pattern or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
            return reason
    return None


def builtin_calls(policies: PolicySet) -> list[BuiltinCall]:
    """Every builtin call site in the policies' modules, `_test.rego` files left out."""
    calls = []
    for module, source in policies.modules:
        if module.endswith("_test.rego"):
            continue
        code = _blank_strings_and_comments(source)
        own = {match.group(1) for match in _HEAD.finditer(code)} - _KEYWORDS
        aliases = {"data", "input"}
        for match in _IMPORT.finditer(code):
            path = match.group(1).split(".")
            if path[0] in ("data", "input"):
                aliases.add(match.group(2) or path[-1])
        for match in _CALL.finditer(code):
            name = match.group(1)
            head = name.split(".", 1)[0]
            if name in _KEYWORDS or head in aliases or head in own:
                continue
            if name == "set" and code.startswith(")", match.end()):  # `set()` is the empty-set literal
                continue
            calls.append(BuiltinCall(name, module, code.count("\n", 0, match.start()) + 1))
    return calls


def check_policy_builtins(
    policies: PolicySet,
    *,
    opa_has_builtin: Callable[[str], bool] | None = None,
    opa_binary: str | None = None,
) -> list[str]:
    """Problems, one line each; empty when every call is in the builtins both engines share.

    OPA's builtins come from `opa_has_builtin`, else from `opa capabilities --current` of
    `opa_binary` (or `opa` found as the engines find it); with neither, OPA is not asked.
    """
    if opa_has_builtin is None:
        if opa_binary is None:
            from aigate.engines.opa_binary import find_opa_binary

            opa_binary = find_opa_binary()
        if opa_binary is not None:
            names = opa_builtin_names(opa_binary)
            opa_has_builtin = names.__contains__
    problems = []
    for call in builtin_calls(policies):
        where = f"{policies.root / call.module}:{call.line}: {call.name}"
        reason = forbidden_reason(call.name)
        if reason is not None:
            problems.append(f"{where}: not allowed in policies: {reason}")
        elif not regorus_has_builtin(call.name):
            problems.append(f"{where}: not a builtin of the embedded engine (regorus)")
        elif opa_has_builtin is not None and not opa_has_builtin(call.name):
            problems.append(f"{where}: not a builtin of OPA")
    return problems


@functools.cache
def regorus_has_builtin(name: str) -> bool:
    """Whether regorus knows the function: a call with no arguments fails on arity, or runs, if it does."""
    import regorus

    if not re.fullmatch(rf"{_NAME}(?:\.{_NAME})*", name):
        return False
    try:
        regorus.Engine().eval_query(f"{name}()")
    except Exception as e:  # regorus raises RuntimeError with the parser's or checker's message
        return "could not find function" not in str(e)
    return True


def opa_builtin_names(opa_binary: str) -> frozenset[str]:
    """The builtin names of an OPA binary, from `opa capabilities --current`."""
    try:
        completed = subprocess.run(
            [opa_binary, "capabilities", "--current"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EngineError(f"{opa_binary} capabilities --current: {e}") from e
    try:
        capabilities = json.loads(completed.stdout)
        names = frozenset(builtin["name"] for builtin in capabilities["builtins"])
    except (ValueError, KeyError, TypeError) as e:
        detail = " ".join(completed.stderr.decode("utf-8", "replace").split())[:200]
        raise EngineError(f"{opa_binary} capabilities --current: no builtin list ({detail or e})") from e
    return names


def _blank_strings_and_comments(source: str) -> str:
    """`source` with string contents and comments replaced by spaces; lines and columns kept."""
    return "".join(_blanked(source))


def _blanked(source: str) -> Iterator[str]:
    index, length = 0, len(source)
    while index < length:
        char = source[index]
        if char == "#":
            end = source.find("\n", index)
            end = length if end < 0 else end
            yield " " * (end - index)
            index = end
        elif char == "`":
            end = source.find("`", index + 1)
            end = length if end < 0 else end + 1
            yield "".join(c if c == "\n" else " " for c in source[index:end])
            index = end
        elif char == '"':
            end = index + 1
            while end < length and source[end] not in '"\n':
                end += 2 if source[end] == "\\" else 1
            end = min(end + 1, length)
            yield " " * (end - index)
            index = end
        else:
            yield char
            index += 1
