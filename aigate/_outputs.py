"""Where a decision is written: `--format` to standard output, and any number of
`--output FORMAT=FILE` (or one bare `--output FILE` in `--format`) to files."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from aigate.errors import AigateError
from aigate.models import Decision
from aigate.render import RENDERERS

__all__ = ["OutputTarget", "parse_outputs", "write_decision", "write_text"]


@dataclass(frozen=True)
class OutputTarget:
    format: str
    path: Path | None
    """None: standard output."""


def parse_outputs(values: list[str], default_format: str) -> list[OutputTarget]:
    """The targets of `--format`/`--output`: `FORMAT=FILE` writes FORMAT to FILE; a bare `FILE`
    takes `--format`'s output off standard output (once)."""
    targets: list[OutputTarget] = []
    bare = [value for value in values if _split(value) is None]
    if len(bare) > 1:
        raise AigateError(f"--output {bare[1]!r}: only one --output without FORMAT= is allowed; use FORMAT=FILE")
    targets.append(OutputTarget(default_format, Path(bare[0]) if bare else None))
    for value in values:
        split = _split(value)
        if split is not None:
            targets.append(OutputTarget(*split))
    return targets


def _split(value: str) -> tuple[str, Path] | None:
    name, separator, path = value.partition("=")
    if not separator or name not in RENDERERS:
        return None
    if not path:
        raise AigateError(f"--output {value!r}: no file after {name}=")
    return name, Path(path)


def write_decision(decision: Decision, targets: list[OutputTarget]) -> None:
    for target in targets:
        write_text(RENDERERS[target.format]().render(decision), target.path)


def write_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise AigateError(f"--output {output}: cannot write: {e.strerror or e}") from e
