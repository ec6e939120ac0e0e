"""The `aigate` command's entry point: for `--repo`, git starts on the diff before the rest of aigate is
imported (pydantic, yaml, the engine: ~200 ms), so the two overlap; then the CLI runs as usual."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

_COMMANDS = ("evaluate", "input")
_SINGLE_PR_COMMANDS = ("evaluate", "input", "explain")
_VALUES = ("--repo", "--base", "--head")


def run() -> NoReturn:
    """The `aigate` command (its console script and `python -m aigate`): `main`, then the process ends."""
    # regorus' allocator, mimalloc, advises its arena for transparent huge pages. Reading a repository or a diff,
    # where the kernel compacts memory to fault one in (THP `defrag` "madvise", this VM's) and a helper is forked
    # (a page written after a fork is copied first: 2 MiB for a huge one), the advice cost time: `evaluate --repo`
    # of 10,000 new files 812 -> 745 ms without it (medians of 15 paired runs; the slowest 904 -> 774), of the
    # 100-line hunks 843 -> 834 ms. A ready document (`--input`) was 3-12 ms faster with it, so it keeps it. Read
    # by mimalloc when regorus loads; the command owns its process; a value the user set stays.
    if "--input" not in sys.argv[1:]:
        os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")
    _end_process(_run_cli(ending_process=True))


def main() -> int:
    """The command line, run in this process, which goes on afterwards (the collector as it found it)."""
    return _run_cli(ending_process=False)


def _run_cli(*, ending_process: bool) -> int:
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
        # Turned on again, the collector would collect at the next allocation: with --repo, all of a 10,000-file
        # PR's objects, 35-40 ms of the command's end.
        if single_pr and not ending_process:
            gc.enable()


def _end_process(code: int) -> NoReturn:
    """End the process once the command has returned: its output written, its files closed, its children waited
    for. The interpreter's own exit frees every object one by one, memory the system takes back whole: so
    standard output and error are flushed, the atexit handlers run (temporary folders removed, logging flushed),
    and the process ends (`os._exit`). Not while another thread runs (the interpreter would wait for it), nor when
    a flush fails (the interpreter's exit then reports it, as usual)."""
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None and threading.active_count() == 1:
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):
            pass
        else:
            gc.disable()  # a collection of everything now would only delay the end
            run_exit_handlers()
            os._exit(code)
    sys.exit(code)


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
        from aigate.sources._git import prefetch

        prefetch(values["--repo"], values["--base"], values["--head"])
