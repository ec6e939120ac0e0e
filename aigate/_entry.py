"""The `aigate` command's entry point: for `--repo`, git starts on the diff before the rest of aigate is
imported (pydantic, yaml, the engine: ~200 ms), so the two overlap; then the CLI runs as usual."""

from __future__ import annotations

import atexit
import gc
import sys
from pathlib import Path

_COMMANDS = ("evaluate", "input")
_SINGLE_PR_COMMANDS = ("evaluate", "input", "explain")
_VALUES = ("--repo", "--base", "--head")


def main() -> int:
    arguments = sys.argv[1:]
    _prefetch(arguments)
    from aigate import _forked

    _forked.allow()  # this process is aigate's own: a helper may share its work on the second CPU
    # Deciding on one PR allocates and frees hundreds of thousands of containers (JSON, models, git's records).
    # On a 10,000-file PR the cyclic collector ran 200-450 times, took 46 ms of `evaluate --input` and 110 ms
    # of `evaluate --repo` (gc.callbacks), and found ~1,200 objects in cycles: left to the process's end, with
    # the same peak memory. Paused for the commands that decide on one PR; --batch and the others keep it.
    single_pr = bool(arguments) and arguments[0] in _SINGLE_PR_COMMANDS and "--batch" not in arguments
    if single_pr:
        gc.disable()
        # At exit, the interpreter's last collection would traverse all of it again (46-70 ms, against 12-15 ms
        # when frozen): the process's memory goes back to the system whole. Only when the process ends.
        atexit.register(gc.freeze)
    try:
        from aigate._cli import main as cli_main

        return cli_main()
    finally:
        if single_pr:
            gc.enable()


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
