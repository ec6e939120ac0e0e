"""`aigate sandbox run`: run a PR's tests in isolation and write the sandbox report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aigate.config import CONFIG_FILE_NAME
from aigate.errors import AigateError

__all__ = ["add_sandbox_commands"]

_EXIT_OK = 0


def add_sandbox_commands(subparsers: Any) -> None:
    """Add `sandbox run` to the `aigate` command's subparsers."""
    sandbox = subparsers.add_parser("sandbox", help="run a PR's tests in isolation (bubblewrap)")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True, parser_class=type(sandbox))
    run = commands.add_parser(
        "run",
        help="check out HEAD into a scratch worktree and run COMMAND there without network or credentials",
        description="Writes a sandbox report (schemas/sandbox_report.schema.json) for `aigate evaluate --sandbox`. "
        "Exits 0 when the report is written, whatever the command did: the gate judges the report. "
        "Exits 2 when the sandbox cannot run.",
    )
    run.add_argument("--repo", type=Path, default=Path("."), help="the git repository (default: .)")
    run.add_argument("--head", required=True, help="the revision to run (the PR's head)")
    run.add_argument("--base", help=f"the PR's base revision: its {CONFIG_FILE_NAME} is the one obeyed (without "
                     "--config); a config from the checkout itself is the PR's own, and its sandbox settings "
                     "are ignored")
    run.add_argument("--config", type=Path, help=f"path to {CONFIG_FILE_NAME} (its `sandbox` section)")
    run.add_argument("--setup", help="a shell command run first WITH network, e.g. 'python -m venv .venv && ...'")
    run.add_argument("--report", type=Path, help="write the report here (default: standard output); the JUnit and "
                     "coverage files go to REPORT's folder, under <report name>-artifacts/")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from aigate.sandbox import SandboxSettings, run_sandbox

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise AigateError("sandbox run: no command given; put it after `--`, e.g. -- python -m pytest")
    from aigate.trust import resolve_config

    # The same trust rule as `evaluate`: the code under test must not choose its own sandbox.
    config = resolve_config(config=args.config, repo=args.repo, base=args.base)
    for ignored in config.ignored_settings:
        print(f"aigate: {config.source}: {ignored.setting} ignored: the file is the checkout's own, not trusted",
              file=sys.stderr)
    settings = SandboxSettings.from_config(config.settings["sandbox"])
    artifacts_dir = None
    if args.report is not None:
        artifacts_dir = args.report.parent / f"{args.report.stem}-artifacts"
    report = run_sandbox(args.repo, args.head, command, settings=settings, setup=args.setup,
                         artifacts_dir=artifacts_dir)
    text = report.model_dump_json(indent=2) + "\n"
    if args.report is None:
        sys.stdout.write(text)
        return _EXIT_OK
    try:
        args.report.write_text(text, encoding="utf-8")
    except OSError as e:
        raise AigateError(f"sandbox run: --report {args.report}: cannot write: {e.strerror or e}") from e
    return _EXIT_OK
