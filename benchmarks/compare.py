"""Two installed versions of aigate, measured round by round on the same PRs, for the README's before/after table.

    python benchmarks/compare.py --before OLD_VENV --after NEW_VENV [--rounds 5] [--keep DIR]
                                 [--hunk-size N | --new-files]

Each VENV is a virtualenv with that version installed (`python -m venv V && V/bin/pip install .` at each commit). On
this 2-CPU VM timings drift by 2-3x over minutes, so each measurement of one version is followed at once by the same
of the other (which goes first alternates by round), and each figure is the median over the rounds, with the median
of the rounds' paired differences: the drift hits both alike. Measured, as whole processes: `aigate evaluate --repo`
of the 10,000-file, 1,000,000-line PR (benchmarks/generate.generate_repository: hunks of 10, or --hunk-size; or
--new-files, the files it changes are new) with the seed config, the same with the built-in secret check off,
`aigate evaluate --input` of the document each version's own `aigate input` wrote; and in-process, `Gate.evaluate`
of the typical 20-file PR, warm (median of 200). Every CLI run must exit 1 (the PR is blocked), or the comparison
stops. Each round also times git alone on the same PR (`git diff --raw --numstat -z`, the least `--repo` asks of
it): a yardstick of this machine's speed at that moment, the same for both versions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from generate import BASE_BRANCH, CONFIG, HEAD_BRANCH, generate_repository  # noqa: E402

# Run by each version's own interpreter: the warm evaluation of the typical 20-file PR, in milliseconds.
_WARM = """
import statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from generate import CONFIG, generate_pr
from aigate.config import load_config
from aigate.document import build_input_document
from aigate.gate import Gate
work = Path(sys.argv[2])
work.mkdir(parents=True, exist_ok=True)
(work / "config.yml").write_text(CONFIG)
pr = generate_pr(work / "typical", files=20, changed_lines=400, findings=3)
document = build_input_document(pr=pr.pr, commits=pr.commits, diff=pr.diff, scans=[pr.scan])
gate = Gate(load_config(work / "config.yml"))
for _ in range(5):
    gate.evaluate(document)
times = []
for _ in range(200):
    started = time.perf_counter()
    gate.evaluate(document)
    times.append(time.perf_counter() - started)
print(statistics.median(times) * 1000)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="virtualenv of the old version")
    parser.add_argument("--after", type=Path, required=True, help="virtualenv of the new version")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--hunk-size", type=int, default=10,
                        help="changed lines per hunk (10: git diffs every file line by line; 100: fewer, larger hunks)")
    parser.add_argument("--new-files", action="store_true",
                        help="the files the PR changes are new: git counts their lines without diffing them")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="aigate-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    generated = generate_repository(
        work / "repo", files=10_000, changed_lines=1_000_000, findings=10_000, hunk_size=args.hunk_size,
        new_files=args.new_files,
    )
    config = work / "config.yml"
    config.write_text(CONFIG)
    no_secrets = work / "config-no-builtin-secrets.yml"
    no_secrets.write_text(CONFIG + "scanning:\n  builtin_secrets: {enabled: false}\n")
    sources = generated.cli_sources()
    versions = {"before": args.before, "after": args.after}
    for name, venv in versions.items():
        subprocess.run([str(venv / "bin" / "aigate"), "input", *sources, "--output", str(work / f"input-{name}.json")],
                       check=True, cwd=work)  # fmt: skip
    measures = ("repo", "repo, secret check off", "input", "warm 20 files", "git's numstat alone")
    numstat = ["git", "-C", str(generated.repo), "diff", "--raw", "--numstat", "-z", "--no-abbrev", "-M", "-C",
               f"{BASE_BRANCH}...{HEAD_BRANCH}"]  # fmt: skip
    results: dict[str, dict[str, list[float]]] = {name: {m: [] for m in measures} for name in versions}
    for round_number in range(1, args.rounds + 1):
        # Each measurement of one version is followed at once by the same of the other (in turns, which goes
        # first): the VM's drift over seconds hits both alike, and the paired differences show it least.
        order = list(versions.items()) if round_number % 2 else list(versions.items())[::-1]
        for measure in ("repo", "repo, secret check off", "input"):
            for name, venv in order:
                aigate = str(venv / "bin" / "aigate")
                if measure == "repo":
                    command = [aigate, "evaluate", "--config", str(config), *sources]
                elif measure == "repo, secret check off":
                    command = [aigate, "evaluate", "--config", str(no_secrets), *sources]
                else:
                    command = [aigate, "evaluate", "--config", str(config), "--input", str(work / f"input-{name}.json")]
                results[name][measure].append(_cli(command, work))
        for name, venv in order:
            warm = subprocess.run(
                [str(venv / "bin" / "python"), "-c", _WARM, str(BENCHMARKS), str(work / f"warm-{name}")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[name]["warm 20 files"].append(float(warm.stdout) / 1000)
        started = time.perf_counter()
        subprocess.run(numstat, capture_output=True, check=True)
        for name in versions:  # the same yardstick for both
            results[name]["git's numstat alone"].append(time.perf_counter() - started)
        print(f"round {round_number}: " + json.dumps(
            {name: {m: round(values[-1] * 1000, 1) for m, values in row.items()} for name, row in results.items()}
        ), file=sys.stderr)  # fmt: skip
    shape = "--new-files" if args.new_files else f"--hunk-size {args.hunk_size}"
    print(f"Command: `python benchmarks/compare.py --rounds {args.rounds} {shape}` — medians of {args.rounds} "
          "interleaved rounds, milliseconds; the last column, the median of each round's after - before\n")  # fmt: skip
    print("| measurement | before | after | after / before | paired difference |")
    print("|---|---:|---:|---:|---:|")
    for measure in measures:
        before = statistics.median(results["before"][measure])
        after = statistics.median(results["after"][measure])
        pairs = zip(results["after"][measure], results["before"][measure], strict=True)
        paired = statistics.median(after_one - before_one for after_one, before_one in pairs)
        difference = "" if measure == "git's numstat alone" else f"{paired * 1000:+,.1f}"
        print(f"| {measure} | {before * 1000:,.1f} | {after * 1000:,.1f} | {after / before:.2f} | {difference} |")
    return 0


def _cli(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 1:
        raise SystemExit(f"{' '.join(command[:3])}: exit {completed.returncode}, expected 1 (blocked): "
                         f"{completed.stderr.decode(errors='replace')[-300:]}")  # fmt: skip
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
