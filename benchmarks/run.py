"""aigate's benchmarks: one command, one Markdown report.

    python benchmarks/run.py            # 10 / 1,000 / 10,000 / 50,000 files, median of 5 runs
    python benchmarks/run.py --smoke    # 10 / 1,000 files, 2 runs (CI)
    python benchmarks/run.py --runs 9 --sizes 10,10000
    python benchmarks/run.py --repository-only --runs 7   # only the real-repository measurements

Generated PRs (benchmarks/generate.py) have up to 1,000,000 changed lines and 10,000 findings. Each size
measures normalisation (diff, scan), evaluation on the embedded engine (warm, in-process), the same
evaluation on real OPA (OPA v1's Go engine through the opa-golib wheel, as tests/opa_reference.py gets
it), and the CLI end to end as a subprocess with its peak memory. Then a typical 20-file PR evaluated
warm, the CLI's start-up, batch mode with 1 and 2 workers, the diff's shape (hunk sizes) at 10,000 files
(not with --smoke), and growth between sizes. Last, the same 10,000-file PR (1,000 with --smoke) as a real
git repository (generate.generate_repository; hunks of 10 and 100, and new files, where not --smoke):
`aigate evaluate --repo` and `aigate evaluate --input` (the document `aigate input` wrote) end to end, beside
`git diff --raw --numstat -z` alone.

Timings are reported, never judged: targets are printed beside them. The run fails (exit 1) when any
evaluation errors or decides wrongly (the generated blocked paths must be reported, and so on), or when
the embedded engine and OPA disagree.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # aigate as installed, else from this checkout

from generate import BASE_BRANCH, CONFIG, HEAD_BRANCH, Expected, GeneratedPr, generate_pr, generate_repository  # noqa: E402

from aigate.config import load_config  # noqa: E402
from aigate.document import build_input_document  # noqa: E402
from aigate.errors import DiffError  # noqa: E402
from aigate.gate import Gate  # noqa: E402
from aigate.sources._io import read_text  # noqa: E402
from aigate.sources.diff import parse_diff  # noqa: E402
from aigate.sources.scans import load_scan_file  # noqa: E402

FULL_SIZES = (10, 1_000, 10_000, 50_000)
SMOKE_SIZES = (10, 1_000)
MAX_LINES = 1_000_000
MAX_FINDINGS = 10_000
LINES_PER_FILE = 100


@dataclass
class SizeResult:
    files: int
    changed_lines: int
    diff_bytes: int
    findings: int
    parse_diff_s: float
    parse_scan_s: float
    evaluate_s: float
    engine_s: float
    opa_s: float | None
    cli_s: float
    peak_rss_bytes: int
    problems: list[str] = field(default_factory=list)


@dataclass
class RepositoryResult:
    files: int
    changed_lines: int
    hunk_size: int
    new_files: bool
    patch_bytes: int
    document_bytes: int
    git_s: float
    git_cpu_s: float
    repo_cli_s: float
    input_cli_s: float
    peak_rss_bytes: int


def median_time(action: Callable[[], Any], runs: int, *, warmup: int = 0) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# Runs the CLI from a small process and reports its wall time and peak RSS. Linux counts a child's peak
# RSS from the process it was forked from, so the CLI is not started from this (large) process directly.
_LAUNCHER = """\
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{time.perf_counter() - started} {usage.ru_maxrss * 1024}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _aigate_command() -> list[str]:
    script = shutil.which("aigate", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "aigate"]


def cli_environment(work: Path) -> dict[str, str]:
    """The CLI runs as installed: with its bytecode cached (pip compiles it at install; here it is written
    on the first run into a folder of the benchmark's own, even where PYTHONDONTWRITEBYTECODE is set)."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    environment["RUST_BACKTRACE"] = "0"
    return environment


def run_cli(args: list[str], *, cwd: Path) -> tuple[int, str, str, float, int]:
    """(exit code, stdout, stderr, wall seconds, peak RSS bytes) of `aigate ARGS` in a fresh process."""
    command = _aigate_command()
    if len(command) == 1:
        command = [sys.executable, *command]  # the script's interpreter line runs the same Python
    with tempfile.TemporaryDirectory() as scratch:
        measured = Path(scratch) / "measured"
        completed = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(measured), *command, *args],
            cwd=cwd, capture_output=True, check=False, env=cli_environment(cwd),
        )  # fmt: skip
        elapsed, rss = measured.read_text().split()
    return completed.returncode, completed.stdout.decode(), completed.stderr.decode(), float(elapsed), int(rss)


def check_decision(decision: dict[str, Any], expected: Expected, where: str) -> list[str]:
    """What is wrong with a decision on a generated PR (empty when it is right)."""
    problems = []
    violations = decision.get("violations") or []
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for violation in violations:
        by_rule.setdefault(violation["rule"], []).append(violation)
    if decision.get("outcome") != "block":
        problems.append(f"outcome {decision.get('outcome')!r}, expected 'block'")
    if decision.get("is_ai") is not True:
        problems.append("not detected as AI-generated")
    blocked = sorted(v["path"] for v in by_rule.get("blocked_path", []))
    if blocked != sorted(expected.blocked):
        problems.append(f"blocked paths {blocked}, expected {sorted(expected.blocked)}")
    if len(by_rule.get("path_not_allowed", [])) != expected.not_allowed:
        problems.append(f"{len(by_rule.get('path_not_allowed', []))} path_not_allowed, expected {expected.not_allowed}")
    if ("max_files" in by_rule) != (expected.files > 20):
        problems.append("max_files violation wrong")
    if len(by_rule.get("secret_detected", [])) != expected.secrets:
        problems.append(f"{len(by_rule.get('secret_detected', []))} secret_detected, expected {expected.secrets}")
    risk = decision.get("risk") or {}
    factors = {factor["name"]: factor["detail"] for factor in risk.get("factors", [])}
    if factors.get("files_changed") != f"{expected.files} files changed":
        problems.append(f"files_changed factor {factors.get('files_changed')!r}")
    if factors.get("lines_added") != f"{expected.added} lines added":
        problems.append(f"lines_added factor {factors.get('lines_added')!r}")
    return [f"{where}: {problem}" for problem in problems]


def load_opa(gate: Gate) -> tuple[Any, str | None]:
    """A ReferenceOpaEngine on the gate's policies and data, or (None, why not)."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import opa_reference  # type: ignore[import-not-found]  # tests/ is put on the path just above
    except ImportError as e:
        return None, f"tests/opa_reference.py not importable: {e}"
    try:
        return opa_reference.ReferenceOpaEngine(gate.policies, {"aigate": {"config": gate.config.data}}), None
    except opa_reference.ReferenceUnavailable as e:
        return None, f"real OPA unavailable: {e}"
    except Exception as e:  # a broken wheel, a policy OPA rejects: reported, not fatal to the benchmark
        return None, f"real OPA failed to load the policies: {type(e).__name__}: {e}"


def _parse_file(diff: Path) -> Any:
    return parse_diff(read_text(diff, DiffError), source=str(diff))


def measure_size(pr: GeneratedPr, gate: Gate, opa: Any, config: Path, runs: int, work: Path) -> SizeResult:
    expected = pr.expected
    cli_runs = runs
    if expected.files <= 1_000:
        runs = max(runs, 20)  # in-process timings of small PRs are short: more runs for a steadier median
    problems: list[str] = []
    where = f"{expected.files} files"
    parse_diff_s = median_time(partial(_parse_file, pr.diff), runs)
    parse_scan_s = median_time(lambda: load_scan_file(pr.scan), runs)
    document = build_input_document(pr=pr.pr, commits=pr.commits, diff=pr.diff, scans=[pr.scan])
    if len(document.files) != expected.files:
        problems.append(f"{where}: {len(document.files)} files parsed, expected {expected.files}")
    if (sum(f.added for f in document.files), sum(f.removed for f in document.files)) != (
        expected.added, expected.removed,
    ):  # fmt: skip
        problems.append(f"{where}: parsed line counts differ from the generated ones")
    decision = gate.evaluate(document)
    problems += check_decision(decision.model_dump(mode="json"), expected, f"{where} (in-process)")
    evaluate_s = median_time(lambda: gate.evaluate(document), runs, warmup=1)
    input_document = document.model_dump(mode="json")
    engine_s = median_time(lambda: gate.engine.evaluate(input_document), runs, warmup=1)
    opa_s = None
    if opa is not None:
        embedded_raw = gate.engine.evaluate(input_document)
        opa_raw = opa.evaluate(input_document)
        if _canonical(opa_raw) != _canonical(embedded_raw):
            problems.append(f"{where}: real OPA and the embedded engine decide differently")
        opa_s = median_time(lambda: opa.evaluate(input_document), runs, warmup=1)
    cli_times, peak = [], 0
    for _ in range(cli_runs):
        code, out, err, elapsed, rss = run_cli(["evaluate", "--config", str(config), *pr.cli_sources()], cwd=work)
        cli_times.append(elapsed)
        peak = max(peak, rss)
        if code != 1:
            problems.append(f"{where} (CLI): exit {code}, expected 1 (blocked): {err.strip()[:200]}")
            break
        problems += check_decision(json.loads(out), expected, f"{where} (CLI)")
    return SizeResult(
        files=expected.files,
        changed_lines=expected.added + expected.removed,
        diff_bytes=pr.diff_bytes,
        findings=expected.findings,
        parse_diff_s=parse_diff_s,
        parse_scan_s=parse_scan_s,
        evaluate_s=evaluate_s,
        engine_s=engine_s,
        opa_s=opa_s,
        cli_s=statistics.median(cli_times),
        peak_rss_bytes=peak,
        problems=sorted(set(problems)),
    )


def _canonical(raw: dict[str, Any]) -> str:
    def order(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: order(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted((order(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return json.dumps(order(raw), sort_keys=True)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 1024:,.0f} KiB"


def growth_rows(results: list[SizeResult]) -> list[str]:
    """Markdown rows: how the input and each cost grow between consecutive sizes from 1,000 files on, as a
    ratio and per 10x files (x10.0 per 10x is linear)."""
    rows = []
    large = [r for r in results if r.files >= 1_000]
    for small, big in zip(large, large[1:], strict=False):

        def grew(value: Callable[[SizeResult], float], small: SizeResult = small, big: SizeResult = big) -> str:
            ratio = value(big) / value(small)
            return f"×{ratio:.1f} (×{ratio ** (1 / math.log10(big.files / small.files)):.1f})"

        rows.append(
            f"| {small.files:,} → {big.files:,} | ×{big.files / small.files:.0f} | "
            f"×{big.diff_bytes / small.diff_bytes:.1f} | ×{big.findings / small.findings:.0f} | "
            f"{grew(lambda r: r.parse_diff_s)} | {grew(lambda r: r.engine_s)} | {grew(lambda r: r.opa_s or math.nan)} "
            f"| {grew(lambda r: r.cli_s)} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10 and 1,000 files, 2 runs, 20 batch PRs")
    parser.add_argument("--runs", type=int, help="runs per measurement, median reported (default 5; smoke 2)")
    parser.add_argument("--sizes", help="comma-separated file counts (default 10,1000,10000,50000)")
    parser.add_argument("--batch-prs", type=int, help="PRs for the batch measurement (default 200; smoke 20)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument(
        "--repository-only", action="store_true", help="only the real-repository measurements (--repo, --input)"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.smoke else 5)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SMOKE_SIZES if args.smoke else FULL_SIZES)
    batch_prs = args.batch_prs or (20 if args.smoke else 200)
    work = args.keep or Path(tempfile.mkdtemp(prefix="aigate-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(work, sizes, runs, batch_prs, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, sizes: list[int], runs: int, batch_prs: int, args: argparse.Namespace) -> int:
    config = work / ".ai-code-gate.yml"
    config.write_text(CONFIG, encoding="utf-8")
    gate = Gate(load_config(config), engine="embedded")
    opa, opa_missing = load_opa(gate)
    empty = work / "empty-pr.json"
    empty.write_text(json.dumps({"labels": ["ai-generated"]}), encoding="utf-8")
    # A diff source is required (fail closed): the empty PR's is an empty diff.
    empty_diff = work / "empty-pr.diff"
    empty_diff.write_text("", encoding="utf-8")
    evaluate_empty = ["evaluate", "--config", str(config), "--pr", str(empty), "--diff", str(empty_diff)]
    for warm_up in (["--help"], evaluate_empty):
        run_cli(warm_up, cwd=work)  # caches the bytecode
    problems: list[str] = []
    repository_files = 1_000 if args.smoke else 10_000
    repositories = [
        measure_repository(work, config, runs, problems, repository_files, hunk_size, new_files=new_files)
        for hunk_size, new_files in (((10, False),) if args.smoke else ((10, False), (100, False), (100, True)))
    ]
    if args.repository_only:
        print("\n".join(repository_rows(repositories)))
        return _report_problems(problems)
    results = []
    for files in sizes:
        pr = generate_pr(
            work / f"pr-{files}",
            files=files,
            changed_lines=min(files * LINES_PER_FILE, MAX_LINES),
            findings=min(files, MAX_FINDINGS),
        )
        result = measure_size(pr, gate, opa, config, runs, work)
        problems += result.problems
        results.append(result)
        print(f"measured {files:,} files", file=sys.stderr)

    typical = generate_pr(work / "pr-typical", files=20, changed_lines=400, findings=3)
    typical_document = build_input_document(
        pr=typical.pr, commits=typical.commits, diff=typical.diff, scans=[typical.scan]
    )
    problems += check_decision(gate.evaluate(typical_document).model_dump(mode="json"), typical.expected, "20 files")
    typical_s = median_time(lambda: gate.evaluate(typical_document), max(runs, 200), warmup=5)

    startup = {}
    baseline_rss = 0
    for label, cli_args, ok in (
        ("`aigate --help`", ["--help"], 0),
        ("`aigate evaluate` of an empty PR", evaluate_empty, 0),
    ):
        times = []
        for _ in range(max(runs, 5)):
            code, _, err, elapsed, rss = run_cli(cli_args, cwd=work)
            if code != ok:
                problems.append(f"{label}: exit {code}: {err.strip()[:200]}")
            times.append(elapsed)
            baseline_rss = max(baseline_rss, rss)
        startup[label] = statistics.median(times)

    batch = measure_batch(work, batch_prs, config, problems)
    shapes = [] if args.smoke else measure_shapes(work, config, runs, problems)

    print(report(results, typical_s, startup, batch, opa_missing, runs, baseline_rss, args, shapes, repositories))
    return _report_problems(problems)


def _report_problems(problems: list[str]) -> int:
    if problems:
        print("\n## Problems\n")
        for problem in problems:
            print(f"- {problem}")
        return 1
    return 0


def measure_shapes(
    work: Path, config: Path, runs: int, problems: list[str]
) -> list[tuple[int, int, int, float, float]]:
    """10,000 files and 1,000,000 changed lines in hunks of 10, 30 and 100 changed lines:
    (hunk size, hunks, diff bytes, parse diff seconds, CLI seconds)."""
    rows = []
    for hunk_size in (10, 30, 100):
        pr = generate_pr(
            work / f"shape-{hunk_size}", files=10_000, changed_lines=MAX_LINES, findings=MAX_FINDINGS,
            hunk_size=hunk_size,
        )  # fmt: skip
        parse_s = median_time(partial(_parse_file, pr.diff), runs)
        times = []
        for _ in range(runs):
            code, out, err, elapsed, _ = run_cli(["evaluate", "--config", str(config), *pr.cli_sources()], cwd=work)
            times.append(elapsed)
            if code != 1:
                problems.append(f"hunks of {hunk_size} (CLI): exit {code}: {err.strip()[:200]}")
                break
            problems += check_decision(json.loads(out), pr.expected, f"hunks of {hunk_size} (CLI)")
        hunks = pr.diff.read_text(encoding="utf-8").count("\n@@ -")
        rows.append((hunk_size, hunks, pr.diff_bytes, parse_s, statistics.median(times)))
        shutil.rmtree(pr.directory, ignore_errors=True)
    return rows


def measure_repository(
    work: Path, config: Path, runs: int, problems: list[str], files: int, hunk_size: int, *, new_files: bool = False
) -> RepositoryResult:
    """The generated PR as a real repository: `evaluate --repo`, then `evaluate --input` of the document
    `aigate input` writes from the same sources, each as a whole process; and git's own diff alone."""
    generated = generate_repository(
        work / f"repo-{files}-{'new' if new_files else hunk_size}", files=files,
        changed_lines=min(files * LINES_PER_FILE, MAX_LINES), findings=min(files, MAX_FINDINGS), hunk_size=hunk_size,
        new_files=new_files,
    )  # fmt: skip
    where = f"{files:,} files in a repository, {_shape(hunk_size, new_files)}"
    git = ["git", "-C", str(generated.repo), "diff", "-M", "-C", f"{BASE_BRANCH}...{HEAD_BRANCH}"]
    patch_bytes = len(subprocess.run(git, capture_output=True, check=True).stdout)
    git_times, git_cpu = [], []
    for _ in range(runs):
        before = os.times()
        started = time.perf_counter()
        subprocess.run([*git[:4], "--raw", "--numstat", "-z", "--no-abbrev", *git[4:]], capture_output=True, check=True)
        git_times.append(time.perf_counter() - started)
        after = os.times()
        git_cpu.append(after.children_user + after.children_system - before.children_user - before.children_system)
    repo_times, peak = [], 0
    for _ in range(runs):
        code, out, err, elapsed, rss = run_cli(
            ["evaluate", "--config", str(config), *generated.cli_sources()], cwd=work
        )
        repo_times.append(elapsed)
        peak = max(peak, rss)
        if code != 1:
            problems.append(f"{where} (--repo): exit {code}, expected 1 (blocked): {err.strip()[:200]}")
            break
        problems += check_decision(json.loads(out), generated.expected, f"{where} (--repo)")
    document = generated.directory / "input.json"
    code, _, err, _, _ = run_cli(["input", *generated.cli_sources(), "--output", str(document)], cwd=work)
    if code != 0:
        problems.append(f"{where} (aigate input): exit {code}: {err.strip()[:200]}")
    input_times = []
    for _ in range(runs):
        code, out, err, elapsed, rss = run_cli(
            ["evaluate", "--config", str(config), "--input", str(document)], cwd=work
        )
        input_times.append(elapsed)
        peak = max(peak, rss)
        if code != 1:
            problems.append(f"{where} (--input): exit {code}, expected 1 (blocked): {err.strip()[:200]}")
            break
        problems += check_decision(json.loads(out), generated.expected, f"{where} (--input)")
    result = RepositoryResult(
        files=files, changed_lines=generated.expected.added + generated.expected.removed, hunk_size=hunk_size,
        new_files=new_files, patch_bytes=patch_bytes,
        document_bytes=document.stat().st_size if document.exists() else 0,
        git_s=statistics.median(git_times), git_cpu_s=statistics.median(git_cpu),
        repo_cli_s=statistics.median(repo_times), input_cli_s=statistics.median(input_times), peak_rss_bytes=peak,
    )  # fmt: skip
    shutil.rmtree(generated.directory, ignore_errors=True)
    return result


def _shape(hunk_size: int, new_files: bool) -> str:
    return "new files" if new_files else f"hunks of {hunk_size}"


def repository_rows(repositories: list[RepositoryResult]) -> list[str]:
    lines = [
        "",
        "The same PR as a real git repository (`benchmarks/generate.py`'s `generate_repository`: `main` and "
        f"`{HEAD_BRANCH}`, the hunks' files with 20 unchanged lines between hunks), each CLI run one process:",
        "",
        "| files | changed lines | changed lines per hunk | patch (not read) | `git diff --raw --numstat -z` alone "
        "(CPU) | `evaluate --repo` | input document | `evaluate --input` | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.files:,} | {r.changed_lines:,} | {'new files' if r.new_files else r.hunk_size} | "
        f"{_mib(r.patch_bytes)} | {_ms(r.git_s)} "
        f"({_ms(r.git_cpu_s)}) | {_ms(r.repo_cli_s)} | {_mib(r.document_bytes)} | {_ms(r.input_cli_s)} "
        f"| {_mib(r.peak_rss_bytes)} |"
        for r in repositories
    ]
    return lines


def measure_batch(work: Path, prs: int, config: Path, problems: list[str]) -> dict[int, float]:
    """Wall time of `aigate evaluate --batch` over `prs` typical PRs, with 1 and 2 workers."""
    directory = work / "batch"
    for index in range(prs):
        generate_pr(directory / f"pr-{index:04d}", files=20, changed_lines=400, findings=3)
    times = {}
    for workers in (1, 2):
        args = ["evaluate", "--config", str(config), "--batch", str(directory), "--workers", str(workers)]
        code, out, err, elapsed, _ = run_cli(args, cwd=work)
        if code != 0:
            problems.append(f"batch ({workers} workers): exit {code}: {err.strip()[:200]}")
        else:
            lines = [json.loads(line) for line in out.splitlines() if line.strip()]
            wrong = [line["name"] for line in lines if line.get("decision", {}).get("outcome") != "block"]
            if len(lines) != prs or wrong:
                problems.append(f"batch ({workers} workers): {len(lines)} reports, wrong outcome for {wrong[:3]}")
        times[workers] = elapsed
    return times


def report(
    results: list[SizeResult],
    typical_s: float,
    startup: dict[str, float],
    batch: dict[int, float],
    opa_missing: str | None,
    runs: int,
    baseline_rss: int,
    args: argparse.Namespace,
    shapes: list[tuple[int, int, int, float, float]],
    repositories: list[RepositoryResult],
) -> str:
    command = "python benchmarks/run.py" + (" --smoke" if args.smoke else "")
    if args.runs:
        command += f" --runs {args.runs}"
    if args.sizes:
        command += f" --sizes {args.sizes}"
    lines = [
        f"Command: `{command}` — medians of {runs} runs (in-process timings up to 1,000 files: of "
        f"{max(runs, 20)}); Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs. Embedded = regorus in-process; OPA = OPA v1 (opa-golib wheel) in-process.",
        "",
        "| files | changed lines | diff | findings | parse diff | parse scan | evaluate (warm) | embedded engine "
        "| OPA | embedded / OPA | CLI end to end | peak RSS | RSS / diff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.engine_s / r.opa_s:.2f}" if r.opa_s else "–"
        lines.append(
            f"| {r.files:,} | {r.changed_lines:,} | {_mib(r.diff_bytes)} | {r.findings:,} | {_ms(r.parse_diff_s)} "
            f"| {_ms(r.parse_scan_s)} | {_ms(r.evaluate_s)} | {_ms(r.engine_s)} | {_ms(r.opa_s)} | {ratio} "
            f"| {_ms(r.cli_s)} | {_mib(r.peak_rss_bytes)} | {r.peak_rss_bytes / r.diff_bytes:,.1f}× |"
        )
    if opa_missing:
        lines += ["", f"OPA: not measured — {opa_missing}."]
    lines += [
        "",
        "- *evaluate (warm)*: `Gate.evaluate` on a ready input document (serialise, evaluate, validate the "
        "decision); *embedded engine* and *OPA*: the engines alone on the same input (a dict), which the ratio "
        "compares. *CLI end to end*: `aigate evaluate --config … --pr … --commits … --diff … --scan …` as a "
        "subprocess; *peak RSS*: its `ru_maxrss`, "
        f"{_mib(baseline_rss)} of it the interpreter and libraries (an empty PR).",
        "",
        "| measurement | median | target |",
        "|---|---:|---:|",
        f"| `Gate.evaluate`, typical 20-file PR, warm | {_ms(typical_s)} | < 5 ms |",
    ]
    for label, seconds in startup.items():
        lines.append(f"| CLI start-up: {label} | {_ms(seconds)} | < 300 ms |")
    for workers, seconds in batch.items():
        lines.append(
            f"| `--batch` of {args.batch_prs or (20 if args.smoke else 200)} typical PRs, "
            f"{workers} worker{'s' if workers > 1 else ''} | {_ms(seconds)} | |"
        )
    if len(batch) == 2:
        lines.append(f"| batch speed-up, 2 workers over 1 | ×{batch[1] / batch[2]:.2f} | |")
    for r in repositories:
        shape = f"{r.files:,} files, {r.changed_lines:,} lines, {_shape(r.hunk_size, r.new_files)}"
        lines.append(f"| `aigate evaluate --repo`, {shape} | {_ms(r.repo_cli_s)} | < 800 ms |")
        lines.append(f"| `aigate evaluate --input`, {shape} | {_ms(r.input_cli_s)} | < 600 ms |")
    if shapes:
        lines += [
            "",
            "The diff's shape at 10,000 files and 1,000,000 changed lines (hunks with 3 lines of context each side):",
            "",
            "| changed lines per hunk | hunks | diff | parse diff | CLI end to end |",
            "|---:|---:|---:|---:|---:|",
        ]
        for hunk_size, hunks, size, parse_s, cli_s in shapes:
            lines.append(f"| {hunk_size} | {hunks:,} | {_mib(size)} | {_ms(parse_s)} | {_ms(cli_s)} |")
    lines += repository_rows(repositories)
    growth = growth_rows(results)
    if growth:
        lines += [
            "",
            "Growth between sizes, and per 10× files in brackets (×10.0 per 10× is linear):",
            "",
            "| sizes (files) | files | diff | findings | parse diff | embedded engine | OPA | CLI end to end |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *growth,
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
