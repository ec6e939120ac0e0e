"""`aigate github`, `aigate gitlab` and `aigate hook`: the host adapters on the command line."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any

from aigate._outputs import parse_outputs, write_decision
from aigate.errors import AigateError
from aigate.hosts.interface import HostAdapter, HostOptions, exit_code
from aigate.render import RENDERERS

__all__ = ["add_host_commands", "github_run_requested"]


def _common(parser: argparse.ArgumentParser, default_format: str) -> None:
    parser.add_argument("--config", type=Path, help="a trusted config (default: the base revision's .ai-code-gate.yml)")
    parser.add_argument(
        "--scan", action="append", default=[], metavar="[TOOL=]FILE", help="scanner report (repeatable)"
    )
    parser.add_argument("--sandbox", type=Path, metavar="REPORT",
                        help="the report of `aigate sandbox run` for the PR's head")
    parser.add_argument("--format", choices=sorted(RENDERERS), default=default_format,
                        help=f"what goes to standard output (default: {default_format})")
    parser.add_argument("--output", "-o", action="append", default=[], metavar="[FORMAT=]FILE",
                        help="FORMAT=FILE writes that format to FILE too (repeatable)")
    parser.add_argument("--fail-on", choices=["block", "review", "never"], default="block",
                        help="exit 1 when the outcome is block (default), review or block, or never")
    parser.add_argument("--state-dir", type=Path, help="a folder outside the repository files may be written to")
    parser.add_argument("--engine", choices=["embedded", "opa", "auto"])
    parser.add_argument("--opa-url", help="an OPA server (or AIGATE_OPA_URL)")


def add_host_commands(subparsers: Any) -> None:
    github = subparsers.add_parser("github", help="GitHub Actions: judge the pull_request event's PR")
    _common(github, "github")
    github.set_defaults(handler=_github)

    gitlab = subparsers.add_parser("gitlab", help="GitLab CI: judge the merge request pipeline's MR")
    _common(gitlab, "markdown")
    gitlab.add_argument("--mr", type=Path, help="a merge request webhook payload or REST object (JSON)")
    gitlab.add_argument("--codequality", type=Path, default=Path("gl-code-quality-report.json"),
                        help="Code Quality report to write (default: gl-code-quality-report.json)")
    gitlab.add_argument("--junit", type=Path, default=Path("aigate-junit.xml"),
                        help="JUnit report to write (default: aigate-junit.xml)")
    gitlab.set_defaults(handler=_gitlab)

    hook = subparsers.add_parser("hook", help="local git: a pre-push hook")
    hooks = hook.add_subparsers(dest="hook_command", required=True, parser_class=type(hook))
    pre_push = hooks.add_parser("pre-push", help="judge the pushed commits (git's pre-push hook input)")
    pre_push.add_argument("remote", nargs="?", default="origin")
    pre_push.add_argument("url", nargs="?", default="")
    pre_push.add_argument("--base", help="base of a new branch (default: refs/remotes/REMOTE/HEAD)")
    _common(pre_push, "markdown")
    pre_push.set_defaults(handler=_pre_push)
    install = hooks.add_parser("install", help="write .git/hooks/pre-push running this aigate")
    install.add_argument("--repo", type=Path, default=Path("."))
    install.set_defaults(handler=_install)


def _options(args: argparse.Namespace) -> HostOptions:
    return HostOptions(config=args.config, scans=tuple(args.scan), sandbox=args.sandbox, fail_on=args.fail_on,
                       state_dir=args.state_dir, engine=args.engine, opa_url=args.opa_url)


def _run(adapter: HostAdapter, args: argparse.Namespace) -> int:
    from aigate.hosts._run import evaluate_run

    options = _options(args)
    targets = parse_outputs(args.output, args.format)
    _, decision = evaluate_run(adapter, options, os.environ)
    adapter.publish(decision, os.environ)
    write_decision(decision, targets)
    return exit_code(decision, options.fail_on)


def _github(args: argparse.Namespace) -> int:
    from aigate.hosts.github import GithubAdapter

    return _run(GithubAdapter(), args)


def _gitlab(args: argparse.Namespace) -> int:
    from aigate.hosts.gitlab import GitlabAdapter

    return _run(GitlabAdapter(mr=args.mr, codequality=args.codequality, junit=args.junit), args)


def _pre_push(args: argparse.Namespace) -> int:
    from aigate.hosts._run import evaluate_run
    from aigate.hosts.local import PushAdapter, pushed_refs
    from aigate.sources.git_repo import repository_root

    stdin_text = "" if os.environ.get("PRE_COMMIT_TO_REF") else sys.stdin.read(1 << 20)
    repo = repository_root(Path.cwd()) or Path.cwd()
    worst = 0
    for ref in pushed_refs(stdin_text, os.environ):
        adapter = PushAdapter(ref, repo=repo, remote=args.remote, base=args.base)
        _, decision = evaluate_run(adapter, _options(args), os.environ)
        # A hook's standard output is the user's terminal: the decision goes to standard error.
        sys.stderr.write(RENDERERS[args.format]().render(decision))
        for target in parse_outputs(args.output, args.format)[1:]:
            write_decision(decision, [target])
        worst = max(worst, exit_code(decision, args.fail_on))
    return worst


def _install(args: argparse.Namespace) -> int:
    from aigate.hosts.local import hook_script
    from aigate.sources.git_repo import git_path

    target = git_path(args.repo, "hooks/pre-push")
    if target.exists():
        raise AigateError(f"{target}: a pre-push hook is already installed; add `aigate hook pre-push \"$@\"` to it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_script(sys.executable), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"aigate: installed {target}")
    return 0


def github_run_requested(argv: list[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """`aigate` with no command inside a GitHub Actions pull_request run means `aigate github`."""
    from aigate.hosts.github import PR_EVENTS

    return not argv and environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_EVENT_NAME") in PR_EVENTS
