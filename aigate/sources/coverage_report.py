"""Line coverage, whichever report it came from, and the coverage of a PR's added lines.

The public shape the coverage parsers (`scan_coverage_py`, `scan_cobertura`) return, for the scanning
layer and for sandbox runners that produce coverage themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aigate.models import ChangedLineCoverage, FileCoverage
from aigate.sources._scan_common import relative_path

__all__ = ["CoverageReport", "FileLines", "changed_line_coverage"]


@dataclass(frozen=True)
class FileLines:
    """One measured file: the executable lines that ran and those that did not."""

    executed: frozenset[int] = frozenset()
    missing: frozenset[int] = frozenset()

    @property
    def measured(self) -> frozenset[int]:
        return self.executed | self.missing


@dataclass(frozen=True)
class CoverageReport:
    """Per-file line coverage, keyed by the path as the report names it."""

    tool: str
    files: Mapping[str, FileLines] = field(default_factory=dict)

    def lookup(self, path: str) -> FileLines | None:
        """The file's coverage: by its exact path, else by the longest report path the repository path
        ends with at a folder boundary (reports name files relative to where the tests ran)."""
        if path in self.files:
            return self.files[path]
        best: tuple[int, FileLines] | None = None
        for reported, lines in self.files.items():
            clean = relative_path(reported) or reported
            if (path.endswith("/" + clean) or clean.endswith("/" + path)) and (best is None or len(clean) > best[0]):
                best = (len(clean), lines)
        return best[1] if best else None

    def merged(self, other: CoverageReport) -> CoverageReport:
        """Two reports of one test run (several coverage files): a line ran if it ran in either."""
        files = dict(self.files)
        for path, lines in other.files.items():
            if path in files:
                executed = files[path].executed | lines.executed
                files[path] = FileLines(executed, (files[path].missing | lines.missing) - executed)
            else:
                files[path] = lines
        return CoverageReport(tool=self.tool if self.tool == other.tool else "coverage", files=files)


def changed_line_coverage(report: CoverageReport, added_lines: Mapping[str, frozenset[int]]) -> ChangedLineCoverage:
    """How many of the PR's added lines the report measures, and how many of those ran. A changed file the
    report does not list is not measured (it has no executable lines the tests could have run)."""
    files = []
    for path in sorted(added_lines):
        lines = report.lookup(path)
        if lines is None:
            continue
        measured = added_lines[path] & lines.measured
        if measured:
            files.append(FileCoverage(path=path, measured=len(measured), covered=len(measured & lines.executed)))
    return ChangedLineCoverage(
        measured=sum(f.measured for f in files), covered=sum(f.covered for f in files), files=tuple(files)
    )
