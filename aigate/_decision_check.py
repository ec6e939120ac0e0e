"""Whether a decision document from an engine holds together, before the gate acts on it.

An engine's answer is not trusted because it parses: a remote OPA may run other policies, an old
bundle or a broken proxy. The decision must be complete (every field the decision schema gives the
engine to fill, at every level, even those the model would default) and consistent (a blocking
violation means `block`; a violation blocks exactly in block mode; `is_ai` agrees with
`detection`). These are integrity checks on the document's shape, not decision rules: the rules
that produce it stay in Rego.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from aigate.models import Detection, Risk, RiskFactor, Signal, Violation

__all__ = ["ENGINE_FIELDS", "decision_problem"]

# The decision's fields that the policies produce; aigate adds the others (engine, digests, ids).
ENGINE_FIELDS = ("outcome", "is_ai", "detection", "violations", "risk")


def decision_problem(raw: Mapping[str, Any]) -> str | None:
    """What is missing or contradictory in `raw`, in one phrase; None when it holds together."""
    missing = _missing(raw, ENGINE_FIELDS, "")
    if missing:
        return missing
    detection = raw["detection"]
    if not isinstance(detection, Mapping):
        return "detection is not an object"
    missing = _missing(detection, _fields(Detection), "detection.")
    if missing:
        return missing
    signals, violations, risk = detection["signals"], raw["violations"], raw["risk"]
    if not isinstance(signals, list) or not isinstance(violations, list):
        return "detection.signals and violations must be arrays"
    for index, signal in enumerate(signals):
        missing = _missing(signal, _fields(Signal), f"detection.signals[{index}].")
        if missing:
            return missing
    for index, violation in enumerate(violations):
        missing = _missing(violation, _fields(Violation), f"violations[{index}].")
        if missing:
            return missing
    if risk is not None:
        missing = _missing(risk, _fields(Risk), "risk.")
        if missing:
            return missing
        factors = risk["factors"]
        if not isinstance(factors, list):
            return "risk.factors must be an array"
        for index, factor in enumerate(factors):
            missing = _missing(factor, _fields(RiskFactor), f"risk.factors[{index}].")
            if missing:
                return missing

    if raw["is_ai"] is not detection["is_ai"]:
        return f"is_ai is {_json(raw['is_ai'])} but detection.is_ai is {_json(detection['is_ai'])}"
    if detection["is_ai"] is not (len(signals) > 0):
        return f"detection.is_ai is {_json(detection['is_ai'])} with {len(signals)} matching signals"
    for violation in violations:
        if violation["blocking"] is not (violation["mode"] == "block" and violation.get("waived") is not True):
            return (
                f"violation {violation['rule']!r} is in {violation['mode']} mode "
                f"but blocking is {_json(violation['blocking'])}"
            )
        if violation["blocking"] and raw["outcome"] != "block":
            return f"violation {violation['rule']!r} is blocking but the outcome is {raw['outcome']!r}"
    return None


# Fields only some items carry (custom rules' items, waived violations): optional in the document.
_OPTIONAL_FIELDS = frozenset({"source", "waived", "waiver"})


@functools.cache  # once per model, not once per violation (2,200 of them on a 10,000-file PR)
def _fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if name not in _OPTIONAL_FIELDS)


def _missing(value: Any, fields: tuple[str, ...], prefix: str) -> str | None:
    if not isinstance(value, Mapping):
        return f"{prefix.rstrip('.') or 'the decision'} is not an object"
    absent = [name for name in fields if name not in value]
    return f"incomplete: no {prefix}{absent[0]}" if absent else None


def _json(value: Any) -> str:
    return json.dumps(value, default=str)[:80]
