"""The built-in secret check on real code: aigate's loop against detect-secrets' own, on the same lines.

    python benchmarks/secret_check.py [--lines 20000] [--runs 3]

The lines are the first LINES lines of the Python files of the installed packages (sorted by path): real code,
which detect-secrets' plugins read far more slowly than the generated lines of benchmarks/generate.py. Prints
the median time of each loop and their ratio, and exits 1 if the two find different secrets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from detect_secrets.core.scan import _process_line_based_plugins

from aigate.scanning import _LineSecrets, detect_secrets_settings


def real_code(lines: int) -> dict[str, list[tuple[int, str]]]:
    files: dict[str, list[tuple[int, str]]] = {}
    left = lines
    for path in sorted(Path(sysconfig.get_paths()["purelib"]).glob("**/*.py")):
        try:
            text = path.read_text(encoding="utf-8").split("\n")[:left]
        except (OSError, UnicodeDecodeError):
            continue
        files[str(path)] = list(enumerate(text, 1))
        left -= len(text)
        if left <= 0:
            break
    return files


def measure(loop: Callable[[list[tuple[int, str]], str], Iterable[Any]], files: dict[str, list[tuple[int, str]]],
            runs: int) -> tuple[float, list[tuple[str, int, str | None]]]:  # fmt: skip
    times = []
    found: list[tuple[str, int, str | None]] = []
    for _ in range(runs):
        started = time.perf_counter()
        found = [
            (s.type, s.line_number, s.secret_value) for path, numbered in files.items() for s in loop(numbered, path)
        ]
        times.append(time.perf_counter() - started)
    return statistics.median(times), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = real_code(args.lines)
    with detect_secrets_settings():
        theirs, expected = measure(lambda n, p: _process_line_based_plugins(n, filename=p), files, args.runs)
        ours, found = measure(_LineSecrets(), files, args.runs)
    lines = sum(len(numbered) for numbered in files.values())
    print(f"{lines:,} lines of real code, {len(expected)} findings, medians of {args.runs} runs")
    print(f"detect-secrets' loop: {theirs * 1000:,.1f} ms; aigate's loop: {ours * 1000:,.1f} ms; "
          f"ratio {ours / theirs:.2f}")  # fmt: skip
    if found != expected:
        print("the two loops found different secrets", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
