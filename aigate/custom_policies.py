"""The policies a gate evaluates: the built-in (or configured) ones, plus `policy.custom_dir`.

Custom packages live under `aigate.custom.*` (their rules reach the decision through the extension
points of the aigate.extensions package) or outside `aigate.*` altogether (helpers). A custom
module in a built-in package (aigate.paths, aigate.decision, ...) could change what the built-in
rules decide, so it is refused unless the config sets `policy.custom_can_weaken`.
"""

from __future__ import annotations

import json
from pathlib import Path

from aigate import _resources
from aigate.config import GateConfig
from aigate.engines.interface import PolicySet, load_policy_set
from aigate.errors import PolicyError

__all__ = ["CUSTOM_PACKAGE", "gate_policy_set", "module_package"]

CUSTOM_PACKAGE = "aigate.custom"


def module_package(path: str, source: str) -> tuple[str, int]:
    """The package a module declares and its line, from regorus's parse of it. Raises PolicyError."""
    import regorus

    from aigate.engines.embedded import engine_error_line

    engine = regorus.Engine()
    try:
        engine.add_policy(path, source)
    except Exception as e:  # regorus raises RuntimeError/ValueError with a source excerpt
        raise PolicyError(engine_error_line(e)) from e
    [module] = json.loads(engine.get_ast_as_json())
    package = module["ast"]["package"]
    names = []
    node = package["refr"]
    while True:  # Var, or RefDot chains (package a.b.c)
        kind, body = next(iter(node.items()))
        if kind == "Var":
            names.append(str(body["value"]))
            break
        if kind == "RefDot":
            names.append(str(body["field"][1]))
            node = body["refr"]
            continue
        if kind == "RefBrack":
            names.append(str(next(iter(body["index"].values()))["value"]))
            node = body["refr"]
            continue
        raise PolicyError(f"{path}: unexpected package form {kind}")
    return ".".join(reversed(names)), int(package["span"]["line"])


def gate_policy_set(config: GateConfig) -> PolicySet:
    """The built-in (or policy.policy_dir) policies, with policy.custom_dir's modules added."""
    base = config.policies or load_policy_set(config.policy_dir or _resources.policies_dir())
    custom = config.custom_policies  # read from the base revision with the config
    if custom is None:
        if config.custom_dir is None:
            return base
        custom = load_policy_set(config.custom_dir)
    custom_dir = custom.root
    may_weaken = bool(config.settings["policy"]["custom_can_weaken"])
    modules = []
    for relative, source in custom.modules:
        path = custom_dir / relative
        package, line = module_package(str(path), source)
        builtin = package == "aigate" or package.startswith("aigate.")
        if builtin and not (package == CUSTOM_PACKAGE or package.startswith(CUSTOM_PACKAGE + ".")) and not may_weaken:
            raise PolicyError(
                f"{path}:{line}: package {package}: custom policies cannot change a built-in package (they "
                f"could lift its blocks); use package {CUSTOM_PACKAGE}.<name>, or set policy.custom_can_weaken"
            )
        # A folder read from the base revision is named as `BASE:folder`, not as a path on this machine.
        modules.append((str(path) if config.custom_policies is not None else str(Path(path).resolve()), source))
    return PolicySet(modules=base.modules + tuple(modules), root=base.root)
