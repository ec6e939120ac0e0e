"""The `aigate` command's entry point: for `--repo`, git starts on the diff before the rest of aigate is
imported (pydantic, yaml, the engine: ~200 ms), so the two overlap; then the CLI runs as usual."""

from __future__ import annotations

import sys
from pathlib import Path

_COMMANDS = ("evaluate", "input")
_VALUES = ("--repo", "--base", "--head")


def main() -> int:
    _prefetch(sys.argv[1:])
    from aigate._cli import main as cli_main

    return cli_main()


def _prefetch(arguments: list[str]) -> None:
    """Start reading the repository's diff if the command line reads one. A guess: when it guesses wrong (an
    abbreviated option, an odd spelling), nothing picks up what it started and the CLI reads as usual."""
    if not arguments or arguments[0] not in _COMMANDS or any(a in ("--batch", "--input") for a in arguments):
        return
    values: dict[str, str] = {}
    rest = iter(arguments[1:])
    for argument in rest:
        if argument == "--":
            break
        name, equals, value = argument.partition("=")
        if name in _VALUES:
            values[name] = value if equals else next(rest, "")
    if len(values) == len(_VALUES):
        from aigate.sources.git_repo import prefetch

        prefetch(Path(values["--repo"]), values["--base"], values["--head"])
