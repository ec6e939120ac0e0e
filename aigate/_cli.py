"""The `aigate` command. Exit codes: 0 not blocked, 1 blocked, 2 any error (never 0 on an error)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from aigate._cli_audit import add_audit_commands
from aigate._cli_bundle import add_bundle_commands
from aigate._cli_hosts import add_host_commands, github_run_requested
from aigate._cli_sandbox import add_sandbox_commands
from aigate._cli_test import add_test_commands
from aigate._outputs import parse_outputs, write_decision, write_text
from aigate.config import GateConfig
from aigate.errors import AigateError
from aigate.gate import Gate
from aigate.models import InputDocument
from aigate.render import RENDERERS

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are errors like any other: one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"aigate: error: {message} (see '{self.prog} --help')\n")


def _add_sources(parser: argparse.ArgumentParser) -> None:
    sources = parser.add_argument_group("sources")
    sources.add_argument("--pr", type=Path, help="PR metadata: aigate JSON, or a GitHub pull_request event payload")
    sources.add_argument("--commits", type=Path, help="commits JSON: aigate form or GitHub's PR commits list")
    sources.add_argument("--diff", type=Path, help="unified diff (git diff output)")
    sources.add_argument("--repo", type=Path, help="local git repository to read commits, diff and branch from")
    sources.add_argument("--base", help="base ref, with --repo")
    sources.add_argument("--head", help="head ref, with --repo")
    sources.add_argument(
        "--scan", action="append", default=[], metavar="[TOOL=]FILE",
        help="scanner report, its format detected or named (gitleaks=leaks.json); repeatable",
    )
    sources.add_argument(
        "--sandbox", type=Path, metavar="REPORT", help="the report of `aigate sandbox run` for the PR's head"
    )
    sources.add_argument("--input", type=Path, help="a ready input document (JSON); excludes the other sources")
    sources.add_argument("--generation", type=Path,
                         help="how the change was generated: JSON {agent, model, tools, session_links}")
    parser.add_argument(
        "--config", type=Path,
        help="path to .ai-code-gate.yml (default: with --repo, the base revision's; else ./.ai-code-gate.yml). "
        "Inside the checkout it is the PR's own: settings choosing policies, servers or files are ignored",
    )
    parser.add_argument(
        "--state-dir", type=Path,
        help="a folder outside the repository the audit trail and decision log may be written to "
        "(or AIGATE_STATE_DIR)",
    )
    parser.add_argument(
        "--output", "-o", action="append", default=[], metavar="[FORMAT=]FILE",
        help="FORMAT=FILE writes that format to FILE (repeatable: one run writes several); "
        "a bare FILE takes the --format output off standard output",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aigate", description="Govern AI-generated pull requests with Rego policies.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    evaluate = commands.add_parser("evaluate", help="decide on a PR: allow, review or block")
    _add_sources(evaluate)
    evaluate.add_argument("--format", choices=sorted(RENDERERS), default="json")
    evaluate.add_argument(
        "--batch", type=Path, metavar="DIR",
        help="evaluate every PR in DIR (a folder per PR, or input-document .json files); reports, exits 0",
    )
    evaluate.add_argument("--workers", type=_count, default=0, help="worker processes for --batch (0: one per core)")
    evaluate.add_argument(
        "--engine", choices=["embedded", "opa", "auto"],
        help="where the Rego runs (default: policy.engine.backend in the config, else embedded)",
    )
    evaluate.add_argument(
        "--opa-url", action="append", metavar="URL",
        help="an OPA server to evaluate on (or AIGATE_OPA_URL); repeat it, or separate URLs by commas, for a fleet "
        "that requests are spread across with failover; token: AIGATE_OPA_TOKEN",
    )
    evaluate.add_argument("--correlation-id", help="audit: ties this run to the PR's events (default: from the PR)")
    evaluate.add_argument("--prompt-file", type=Path, help="audit: the agent's prompt (stored as a SHA-256 by default)")
    evaluate.set_defaults(handler=_evaluate)

    explain = commands.add_parser("explain", help="a readable account of a decision: every item, its rule and facts")
    _add_sources(explain)
    explain.add_argument("--format", choices=["text", "markdown"], default="text")
    explain.set_defaults(handler=_explain)

    show_input = commands.add_parser("input", help="print the normalised input document as JSON")
    _add_sources(show_input)
    show_input.set_defaults(handler=_input)

    add_test_commands(commands)
    add_bundle_commands(commands)
    add_sandbox_commands(commands)
    add_host_commands(commands)
    add_audit_commands(commands)
    return parser


def _gate_config(args: argparse.Namespace) -> GateConfig:
    """The trusted config: --config, else the base revision's (with --repo), else the checkout's."""
    from aigate.trust import resolve_config

    return resolve_config(
        config=args.config, repo=args.repo, base=args.base if args.repo is not None else None,
        state_dir=args.state_dir,
    )


def _count(text: str) -> int:
    """A whole number of at least 0 (argparse names the option when this raises)."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


_count.__name__ = "whole number"  # argparse: "invalid whole number value: '-1'"


def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config is not None:
        return Path(args.config)
    default = Path(".ai-code-gate.yml")
    return default if default.is_file() else None


def _document(gate: Gate, args: argparse.Namespace) -> InputDocument:
    if args.input is not None:
        return _ready_document(args)
    return gate.input_document(**_sources(args))


def _ready_document(args: argparse.Namespace) -> InputDocument:
    """The document of --input, which takes no other source."""
    if any([args.pr, args.commits, args.diff, args.repo, args.scan, args.sandbox, args.generation]):
        raise AigateError("--input takes a ready input document; do not combine it with other sources")
    from aigate._input_document import load_input_document

    return load_input_document(args.input)


def _sources(args: argparse.Namespace) -> dict[str, Any]:
    """The sources the command line names, as `Gate.input_document` takes them."""
    if args.repo is None and (args.base or args.head):
        raise AigateError("--base and --head need --repo")
    return {"pr": args.pr, "commits": args.commits, "diff": args.diff, "repo": args.repo, "base": args.base,
            "head": args.head, "scans": args.scan, "sandbox": args.sandbox, "generation": args.generation}


def _single_output(args: argparse.Namespace, what: str) -> Path | None:
    """The one bare --output of a command whose output has a single format."""
    if len(args.output) > 1 or any("=" in value and value.split("=", 1)[0] in RENDERERS for value in args.output):
        raise AigateError(f"{what} writes one output: give at most one --output FILE")
    return Path(args.output[0]) if args.output else None


def _opa_urls(args: argparse.Namespace) -> str | None:
    """Every --opa-url as one comma-separated string (each may itself list several)."""
    return ",".join(args.opa_url) if args.opa_url else None


def _evaluate(args: argparse.Namespace) -> int:
    if args.batch is not None:
        renderer = RENDERERS[args.format]()
        from aigate import _batch  # process pools: only for --batch

        report = _batch.evaluate_directory(
            args.batch, config_path=_config_path(args), renderer=renderer, workers=args.workers,
            engine=args.engine, opa_url=_opa_urls(args),
        )
        write_text(report.text, _single_output(args, "--batch"))
        for problem in report.errors:
            print(f"aigate: error: {problem}", file=sys.stderr)
        return EXIT_ERROR if report.errors else EXIT_OK
    targets = parse_outputs(args.output, args.format)
    prompt = None
    if args.prompt_file is not None:
        from aigate.errors import InputError
        from aigate.sources._io import read_text

        prompt = read_text(args.prompt_file, InputError)
    with Gate(_gate_config(args), engine=args.engine, opa_url=_opa_urls(args)) as gate:
        # From sources, Gate.evaluate builds the document itself: it can decide while the secret check runs.
        if args.input is not None:
            decision = gate.evaluate(_ready_document(args), correlation_id=args.correlation_id, prompt=prompt)
        else:
            decision = gate.evaluate(correlation_id=args.correlation_id, prompt=prompt, **_sources(args))
    write_decision(decision, targets)
    return EXIT_BLOCKED if decision.blocked else EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from aigate.explain import explain

    with Gate.from_config(_config_path(args)) as gate:
        document = _document(gate, args)
        decision = gate.evaluate(document)
        text = explain(decision, document, gate.policies, markdown=args.format == "markdown")
    write_text(text, _single_output(args, "aigate explain"))
    return EXIT_BLOCKED if decision.blocked else EXIT_OK


def _input(args: argparse.Namespace) -> int:
    with Gate(_gate_config(args)) as gate:
        document = _document(gate, args)
    from aigate._input_document import readable_json

    write_text(readable_json(document), _single_output(args, "aigate input"))
    return EXIT_OK


def _terminated(signum: int, frame: object) -> NoReturn:
    # SIGTERM (a CI job cancelled, a container stopped) unwinds like Ctrl-C, so that a managed OPA
    # server is stopped on the way out instead of outliving aigate in its own process group.
    raise KeyboardInterrupt


_MAX_DETAIL = 400
# The options that name an input, in the order a reader gives them.
_SOURCE_OPTIONS = ("input", "batch", "pr", "commits", "diff", "repo", "base", "head", "scan", "sandbox", "config")


def _sources_named(args: argparse.Namespace) -> str:
    """The inputs of this run as its command line named them, e.g. `--pr pr.json --diff pr.diff`."""
    named: list[str] = []
    for option in _SOURCE_OPTIONS:
        value = getattr(args, option, None)
        items = value if isinstance(value, list) else [value]
        named.extend(f"--{option} {item}" for item in items if item is not None)
    return " ".join(named) or f"aigate {getattr(args, 'command', '')} (no input named)".replace("  ", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if github_run_requested(arguments, os.environ):
        arguments = ["github"]  # inside a GitHub Actions PR run, plain `aigate` is `aigate github`
    args = parser.parse_args(arguments)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        code: int = args.handler(args)
        return code
    except AigateError as e:
        print(e.diagnostics(), file=sys.stderr)
    except KeyboardInterrupt:
        print("aigate: error: interrupted", file=sys.stderr)
    except Exception as e:  # fail closed: an unforeseen failure is an error, never an allow
        # RecursionError, MemoryError, a serialisation error…: the line still names what was being read.
        detail = " ".join(str(e).split())
        if len(detail) > _MAX_DETAIL:
            detail = detail[:_MAX_DETAIL] + "…"
        print(f"aigate: internal error: {_sources_named(args)}: {type(e).__name__}: {detail}", file=sys.stderr)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
