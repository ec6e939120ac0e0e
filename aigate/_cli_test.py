"""`aigate test` (and its old name `test-policies`): Rego unit tests, fixture cases and coverage.

Exit codes: 0 every test passed (and coverage meets --threshold), 1 any failure, 2 the tests
cannot run (a parse error, a missing file), with the file and line.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from aigate.errors import AigateError

__all__ = ["add_test_commands"]

_EXIT_OK = 0
_EXIT_FAILED = 1
_EXIT_ERROR = 2
_FIXTURE_SUFFIXES = (".yml", ".yaml", ".json")


def add_test_commands(subparsers: Any) -> None:
    test = subparsers.add_parser(
        "test",
        help="run Rego unit tests (test_* rules) and fixture cases, like `opa test`",
        description=(
            "PATHS are .rego files, fixture files (.yml/.yaml/.json) or folders: a folder gives its .rego "
            "files and the fixture files below a folder named `fixtures`. Default: the configured (or "
            "built-in) policies, policy.custom_dir, and ./tests/fixtures when it exists."
        ),
    )
    test.add_argument("paths", type=Path, nargs="*", metavar="PATHS")
    test.add_argument("--config", type=Path, help="configuration whose compiled data the Rego tests see")
    test.add_argument("--run", "-r", metavar="REGEX", help="only the tests whose name (data.pkg.test_x) matches")
    test.add_argument("-v", "--verbose", action="store_true", help="print every test with its duration")
    test.add_argument("--coverage", action="store_true", help="per-file line coverage from the engine")
    test.add_argument(
        "--threshold", type=float, metavar="N", help="fail when coverage is below N percent (implies --coverage)"
    )
    test.add_argument("--format", choices=["text", "json", "junit"], default="text")
    test.add_argument("--output", "-o", type=Path, help="write the report here instead of standard output")
    test.add_argument(
        "--builtins", action="store_true",
        help="load the built-in policies (not their tests) too, to test custom rules with them",
    )
    test.set_defaults(handler=_test, legacy=False)

    legacy = subparsers.add_parser("test-policies", help="the Rego unit tests of a policy folder (old name of `test`)")
    legacy.add_argument("--config", type=Path, help="configuration whose compiled data the tests see")
    legacy.add_argument("policy_dir", type=Path, nargs="?", help="default: the configured or built-in policies")
    legacy.set_defaults(
        handler=_test, legacy=True, run=None, verbose=False, coverage=False, threshold=None, format="text",
        output=None, builtins=False,
    )

    check = subparsers.add_parser(
        "check", help="parse and compile the policies (built-in and custom), validate the config and fixtures"
    )
    check.add_argument("paths", type=Path, nargs="*", metavar="FIXTURES", help="fixture files or folders")
    check.add_argument("--config", type=Path, help="the .ai-code-gate.yml to validate (default: the defaults)")
    check.set_defaults(handler=_check)

    record = subparsers.add_parser(
        "record", help="write a fixture case (YAML) from a real PR in a git repository, with today's decision"
    )
    record.add_argument("--repo", type=Path, required=True, help="the local git repository")
    record.add_argument("--base", required=True, help="base ref")
    record.add_argument("--head", required=True, help="head ref")
    record.add_argument("--config", type=Path, help="the configuration to record (inline) and decide with")
    record.add_argument("--pr", type=Path, help="PR metadata to record too (labels, author): aigate or GitHub JSON")
    record.add_argument("--scan", type=Path, action="append", default=[], help="scanner report (repeatable)")
    record.add_argument("--name", help="the case's name (default: head branch into base branch)")
    record.add_argument("--output", "-o", type=Path, help="write the fixture here instead of standard output")
    record.set_defaults(handler=_record)


def _check(args: argparse.Namespace) -> int:
    """Every problem, one line each naming its file (and line): config, policies, fixtures."""
    import datetime

    from aigate.config import load_config
    from aigate.custom_policies import gate_policy_set
    from aigate.engines.capabilities import check_policy_builtins
    from aigate.engines.embedded import EmbeddedEngine
    from aigate.fixtures import load_fixture
    from aigate.models import InputDocument

    problems: list[str] = []
    config = None
    try:
        config = load_config(args.config)
    except AigateError as e:
        problems.append(str(e))
    if config is not None:
        try:
            policies = gate_policy_set(config)
            problems.extend(check_policy_builtins(policies))
            # Compiles and evaluates the decision once, so rule-level errors show up here, not on a PR.
            engine = EmbeddedEngine(policies, {"aigate": {"config": config.data}})
            engine.evaluate(InputDocument().model_dump(mode="json"))
        except AigateError as e:
            problems.append(str(e))
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        problems.extend(
            f"{config.source}: exceptions[{entry['id']}] ({entry['rule']}, owner {entry['owner']}) "
            f"expired on {entry['expires']}"
            for entry in config.data["exceptions"]
            if entry["expires"] < today
        )
    fixtures = [p for p in args.paths if p.is_file()]
    fixtures += [f for p in args.paths if p.is_dir() for f in _fixtures_below(p)]
    problems.extend(f"{path}: no such file or folder" for path in args.paths if not path.exists())
    for fixture in fixtures:
        try:
            load_fixture(fixture)
        except AigateError as e:
            problems.append(str(e))
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"check: {len(problems)} problem(s)")
    return _EXIT_FAILED if problems else _EXIT_OK


def _record(args: argparse.Namespace) -> int:
    from aigate.fixtures import record_fixture

    text = record_fixture(
        repo=args.repo, base=args.base, head=args.head, config_path=args.config, pr=args.pr, scans=args.scan,
        name=args.name,
    )
    _write(text, args.output)
    return _EXIT_OK


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise AigateError(f"--output {output}: cannot write: {e.strerror or e}") from e


def _split_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(Rego files and folders, fixture files) named by the command line."""
    rego: list[Path] = []
    fixtures: list[Path] = []
    for path in paths:
        if path.is_dir():
            if any(path.rglob("*.rego")):
                rego.append(path)
            fixtures.extend(_fixtures_below(path))
        elif path.is_file() and path.suffix in _FIXTURE_SUFFIXES:
            fixtures.append(path)
        elif path.is_file() and path.suffix == ".rego":
            rego.append(path)
        elif path.exists():
            raise AigateError(f"{path}: neither a .rego file, a fixture (.yml/.yaml/.json) nor a folder")
        else:
            raise AigateError(f"{path}: no such file or folder")
    return rego, fixtures


def _fixtures_below(folder: Path) -> list[Path]:
    from aigate.fixtures import looks_like_fixture

    found = []
    for file in sorted(folder.rglob("*")):
        if not file.is_file() or file.suffix not in _FIXTURE_SUFFIXES:
            continue
        relative = file.relative_to(folder).parts[:-1]
        if (folder.name == "fixtures" or "fixtures" in relative) and looks_like_fixture(file):
            found.append(file)
    return found


def _test(args: argparse.Namespace) -> int:
    from aigate import _resources
    from aigate.config import load_config
    from aigate.engines.capabilities import check_policy_builtins
    from aigate.engines.interface import PolicySet
    from aigate.policy_tests import load_rego_modules, run_rego_tests
    from aigate.test_report import TestReport, render_report

    # The built-in tests are written against the defaults: a config is used only when named.
    config = load_config(args.config)
    rego_paths: list[Path]
    fixture_paths: list[Path]
    if args.legacy:
        rego_paths = [args.policy_dir or config.policy_dir or _resources.policies_dir()]
        fixture_paths = []
    elif args.paths:
        rego_paths, fixture_paths = _split_paths(args.paths)
    else:
        rego_paths = [config.policy_dir or _resources.policies_dir()]
        custom = config.settings["policy"].get("custom_dir")
        if custom:
            rego_paths.append(config.resolve(custom))
        default_fixtures = Path("tests") / "fixtures"
        fixture_paths = _fixtures_below(default_fixtures) if default_fixtures.is_dir() else []
    select = None
    if args.run is not None:
        try:
            select = re.compile(args.run)
        except re.error as e:
            raise AigateError(f"--run {args.run!r}: not a regular expression: {e}") from e

    modules = load_rego_modules(rego_paths) if rego_paths else []
    if args.builtins:  # the built-in policies the custom rules build on, without their tests
        builtins = load_rego_modules([_resources.policies_dir()])
        modules = [m for m in builtins if not m.path.endswith("_test.rego")] + modules
    report_coverage = args.coverage or args.threshold is not None
    run = run_rego_tests(modules, {"aigate": {"config": config.data}}, select=select, coverage=report_coverage)
    # Builtins outside what every engine shares would make results differ between engines.
    policy_modules = tuple((m.path, m.source) for m in modules if not m.path.endswith("_test.rego"))
    problems = check_policy_builtins(PolicySet(policy_modules, Path("."))) if policy_modules else []

    fixtures: list[Any] = []
    if fixture_paths:
        from aigate.fixtures import run_fixture_files

        fixtures = run_fixture_files(fixture_paths, select=select)
    if not run.results and not fixtures:
        where = ", ".join(str(p) for p in [*rego_paths, *fixture_paths]) or "the given paths"
        raise AigateError(f"{where}: no test_ rules and no fixture cases found")
    report = TestReport(
        rego=run.results, fixtures=tuple(fixtures), coverage=run.coverage, threshold=args.threshold,
        problems=tuple(problems),
    )
    text = _legacy_text(report) if args.legacy else render_report(report, args.format, verbose=args.verbose)
    _write(text, args.output)
    if not report.failed:
        return _EXIT_OK
    return _EXIT_ERROR if args.legacy else _EXIT_FAILED


def _legacy_text(report: Any) -> str:
    """`test-policies` prints what it always printed: FAIL lines, then `rego: N passed, M failed`."""
    lines = [f"FAIL {problem}" for problem in report.problems]
    lines.extend(
        f"FAIL {r.test.module}: {r.test.rule}: {r.detail}" for r in report.rego if r.status in ("fail", "error")
    )
    failed = sum(r.status in ("fail", "error") for r in report.rego)
    lines.append(f"rego: {sum(r.status == 'pass' for r in report.rego)} passed, {failed} failed")
    return "\n".join(lines) + "\n"
