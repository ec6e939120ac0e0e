"""The scanning layer's inputs: scanner reports, aigate's own secret check of the added lines, diff-aware
findings, sandbox test results and changed-line coverage. Python gathers facts; Rego decides on them."""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from aigate import _forked
from aigate.models import (
    ChangedLineCoverage,
    Dependency,
    FileChange,
    Finding,
    InputDocument,
    SandboxTestResults,
    ScanReport,
)
from aigate.sources._scan_common import ScanResult, finding_fingerprint, fingerprint, secret_hash
from aigate.sources.added_lines import DiffLines

if TYPE_CHECKING:
    from detect_secrets.core.potential_secret import PotentialSecret

    from aigate.dependencies import DependencyOptions

__all__ = [
    "PendingSecretCheck", "ScanningOptions", "ScanningPart", "assemble_scanning", "builtin_secret_findings",
    "fingerprinted", "prepare_scanning",
]

BUILTIN_TOOL = "aigate"


@dataclass(frozen=True)
class ScanningOptions:
    """What the input document's scanning part is built with (from the `scanning` config section)."""

    # aigate's own detect-secrets pass over the PR's added lines.
    builtin_secrets: bool = True
    # At most this many added lines are read by it (None: all). detect-secrets costs ~30 µs a line
    # (measured: 21 s for the 700,000 added lines of benchmarks/run.py's 10,000-file PR), so the budget
    # bounds the work; lines past it are counted as unchecked, which the scanning policy never treats as clean.
    builtin_secrets_max_lines: int | None = 20_000
    # Dependency discovery and registry checks; None: the defaults.
    dependencies: DependencyOptions | None = None

    @classmethod
    def from_settings(
        cls, scanning: Mapping[str, Any], base_dir: Path | None = None, input_dir: Path | None = None
    ) -> ScanningOptions:
        """`base_dir`: the config's folder; `input_dir`: where the files it names are read (GateConfig.input_dir)."""
        from aigate.dependencies import DependencyOptions

        return cls(
            builtin_secrets=bool(scanning.get("builtin_secrets", {}).get("enabled", True)),
            builtin_secrets_max_lines=scanning.get("builtin_secrets", {}).get("max_added_lines", 20_000),
            dependencies=DependencyOptions.from_settings(scanning.get("dependencies", {}), base_dir, input_dir),
        )


@dataclass
class ScanningPart:
    findings: list[Finding] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    reports: list[ScanReport] = field(default_factory=list)
    tests: SandboxTestResults | None = None
    coverage: ChangedLineCoverage | None = None
    # aigate's own secret check, still running in a forked helper (`assemble_scanning(defer_secrets=True)`):
    # `findings` and `reports` hold what it gives when it finds nothing.
    pending_secrets: PendingSecretCheck | None = None


class PendingSecretCheck:
    """aigate's secret check of the added lines, left to run beside the engine, in a forked copy of the process
    (`start`), while this one goes on with a document that assumes it finds nothing (what it finds in most PRs).
    `completed` makes the document whole: the same document when the guess held, else the one the check would
    have given in line."""

    def __init__(self, check: _SecretCheck) -> None:
        self._check = check
        self._helper: _forked.Shared[list[Finding]] | None = None

    def start(self) -> None:
        """Fork the helper now, when forking is allowed. Called once the document's JSON is written, just before
        the engine reads it: every page of the document this process touches after a fork is copied first (the
        JSON of a 10,000-file document: 28-29 ms before the fork, 35-37 ms after it)."""
        if self._helper is None:
            self._helper = self._check.started()

    def completed(self, document: InputDocument) -> InputDocument:
        """`document` with the check's findings, after the others and counted in its report (the last), as
        `assemble_scanning` puts them when it waits for the check."""
        if self._helper is None:
            own = self._check.findings()
        else:
            own = [finding for part in self._helper.results() for finding in part]
        if not own:
            return document
        scans = list(document.scans)
        last = max(index for index, report in enumerate(scans) if report.format == "builtin-secrets")
        scans[last] = scans[last].model_copy(update={"findings": len(own)})
        return document.model_copy(update={"findings": (*document.findings, *own), "scans": tuple(scans)})

    def cancel(self) -> None:
        """Stop the helper: its result will not be asked for."""
        if self._helper is not None:
            self._helper.cancel()


def prepare_scanning(options: ScanningOptions) -> None:
    """Imports what `options` will run (detect-secrets: ~0.15 s), ahead of time: while git still diffs."""
    if options.builtin_secrets:
        import detect_secrets.core.scan  # noqa: F401


def fingerprinted(result: ScanResult) -> ScanResult:
    """A report with every finding of aigate's own format fingerprinted: that needs no diff, so it is done as the
    report is read (with --repo, while git still diffs); the other formats' findings are marked against the diff."""
    if result.format != "aigate" or all(f.fingerprint for f in result.findings):
        return result
    return replace(result, findings=tuple(_fingerprinted(f) for f in result.findings))


def assemble_scanning(
    results: Iterable[tuple[str, ScanResult]],
    *,
    files: tuple[FileChange, ...],
    diff_lines: Callable[[], DiffLines | None],
    dependencies: Iterable[Dependency],
    options: ScanningOptions,
    versions: Callable[[FileChange], tuple[str | None, str | None]] | None = None,
    commits: Iterable[str] = (),
    defer_secrets: bool = False,
) -> ScanningPart:
    """Every report's findings marked `introduced` against the diff, with test results and coverage summed
    over the reports, aigate's own secret findings added, and a record of each report; dependencies the
    changed manifests add, update or remove (read whole through `versions` when a repository gives them).
    `commits`: the ids of the PR's commits (a finding a report ties to one of them counts).
    `defer_secrets`: the built-in secret check may go on in a forked helper (`ScanningPart.pending_secrets`)."""
    part = ScanningPart(dependencies=list(dependencies))
    pr_commits = [c.lower() for c in commits if len(c) >= 7]
    coverage_report = None
    lines: DiffLines | None = None
    lines_read = False

    def diff() -> DiffLines | None:
        nonlocal lines, lines_read
        if not lines_read:
            lines, lines_read = diff_lines(), True
        return lines

    from aigate.dependencies import discover_dependencies  # registry lookups: only when manifests changed

    part.dependencies.extend(discover_dependencies(files, diff_lines=diff, versions=versions,
                                                   options=options.dependencies))

    changed_packages = {
        (d.ecosystem.lower(), d.name.lower()) for d in part.dependencies if d.change in ("added", "updated")
    }
    # None: no changed file is known.
    changed = {f.path: f for f in files if f.status != "deleted"} if files else None
    known = {f.path for f in files}
    results = [(source, _in_checkout(result, known)) for source, result in results]
    if changed is not None:
        _read_ahead(diff, _line_findings(results, changed))
    for source, result in results:
        marked = [
            _introduced(f, changed, diff, changed_packages, end, _in_commits(commit, pr_commits))
            if result.format != "aigate" else _fingerprinted(f)
            for f, end, commit in zip(result.findings, _per_finding(result.end_lines, result),
                                      _per_finding(result.commits, result), strict=True)
        ]  # fmt: skip
        part.findings.extend(marked)
        part.dependencies.extend(result.dependencies)
        part.reports.append(ScanReport(tool=result.tool, format=result.format, source=source,
                                       categories=tuple(result.categories), findings=len(marked)))
        if result.tests is not None:
            part.tests = _summed(part.tests, result.tests)
        if result.coverage is not None:
            coverage_report = result.coverage if coverage_report is None else coverage_report.merged(result.coverage)
    if coverage_report is not None:
        from aigate.sources.coverage_report import changed_line_coverage

        current = diff()
        part.coverage = changed_line_coverage(coverage_report, current.added_numbers() if current else {})
    if options.builtin_secrets:
        current = diff()
        if current is not None:
            check = _SecretCheck(current, options.builtin_secrets_max_lines)
            # Deferred: the check goes on after this returns, and what is read is known up front (`unchecked`).
            deferred = defer_secrets and check.shareable()
            own = [] if deferred else check.findings()
            part.pending_secrets = PendingSecretCheck(check) if deferred else None
            part.findings.extend(own)
            part.reports.append(ScanReport(tool=BUILTIN_TOOL, format="builtin-secrets", source="diff",
                                           categories=("secret",), findings=len(own),
                                           unchecked_lines=check.unchecked))
    return part


def builtin_secret_findings(lines: DiffLines, *, max_lines: int | None = None) -> tuple[list[Finding], int]:
    """detect-secrets (its plugins and filters, as a library) over the added lines, file by file in path
    order, reading at most `max_lines` of them; returns the findings and how many added lines were left unread.
    From the command line, a forked copy of the process reads about the first half of the lines (detect-secrets
    is pure Python: ~30 µs a line, one CPU) while this one reads the rest; the findings keep the path order."""
    check = _SecretCheck(lines, max_lines)
    return check.findings(), check.unchecked


# Below this many lines, forking (~10 ms for a 150 MiB process, and its copied pages) costs more than it saves.
_MIN_FORKED_LINES = 2000
# Lines per part of a shared check: the child sends each part's findings as it is done, and stops where this
# process, once free, starts (about half of what the child has not reached yet).
_LINES_PER_PART = 500


class _SecretCheck:
    """The check of the added lines that at most `max_lines` allows (`_reading_plan`), cut at file boundaries into
    parts of about _LINES_PER_PART lines; `unchecked`: how many added lines it leaves unread."""

    def __init__(self, lines: DiffLines, max_lines: int | None) -> None:
        self._lines = lines
        plan, self.unchecked = _reading_plan(lines, max_lines)
        self._chunks: list[list[tuple[str, int]]] = []
        size = _LINES_PER_PART
        for path, count in plan:
            if size >= _LINES_PER_PART:
                self._chunks.append([])
                size = 0
            self._chunks[-1].append((path, count))
            size += count
        self._worth_sharing = sum(count for _, count in plan) >= _MIN_FORKED_LINES and len(self._chunks) > 1

    def shareable(self) -> bool:
        """Whether the check may be shared with a forked helper: the lines are many, and forking is allowed now."""
        return self._worth_sharing and _forked.available()

    def started(self) -> _forked.Shared[list[Finding]] | None:
        """The check started in a forked helper, when it is `shareable`; else None."""
        if not self.shareable():
            return None
        return _forked.Shared(self._parts, len(self._chunks))

    def findings(self) -> list[Finding]:
        """Every finding, in path order: shared with a helper when `started` gives one, else all read here."""
        if not self._chunks:  # nothing added: detect-secrets is not even set up
            return []
        helper = self.started()
        if helper is not None:
            parts = helper.results()
        else:
            parts = [found for _, found in self._parts(range(len(self._chunks)))]
        return [finding for part in parts for finding in part]

    def _parts(self, indices: Sequence[int]) -> Iterator[tuple[int, list[Finding]]]:
        """The findings of each part of `indices`, in that order, as each is done (`_forked.Work`)."""
        self._lines.prepare([path for index in indices for path, _ in self._chunks[index]])
        with detect_secrets_settings():
            line_secrets = _LineSecrets()
            for index in indices:
                yield index, [finding for path, first in self._chunks[index]
                              for finding in _file_secrets(line_secrets, self._lines, path, first)]  # fmt: skip


def _file_secrets(line_secrets: _LineSecrets, lines: DiffLines, path: str, first: int) -> Iterator[Finding]:
    """The findings of the first `first` added lines of `path`."""
    numbered = sorted(lines.added[path].items())[:first]
    seen: set[tuple[str, int]] = set()
    for secret in line_secrets(numbered, path):
        key = (secret.type, secret.line_number)
        if key in seen:
            continue
        seen.add(key)
        hashed = secret_hash(secret.secret_value) if secret.secret_value else None
        yield Finding(
            tool=BUILTIN_TOOL, category="secret", severity="high", tool_severity="",
            rule_id=secret.type, message=f"{secret.type} on an added line", path=path,
            line=secret.line_number, introduced=True, secret_hash=hashed,
            fingerprint=fingerprint(BUILTIN_TOOL, secret.type, path, hashed),
        )


def _reading_plan(lines: DiffLines, max_lines: int | None) -> tuple[list[tuple[str, int]], int]:
    """What the check reads, from the counts alone (known before any line is read, so that the files read can be
    asked for together): (path, how many of its first added lines) in path order, and how many are left unread."""
    plan = []
    unchecked = 0
    budget = max_lines
    for path in sorted(lines.added):
        count = len(lines.added[path])
        read = count if budget is None else min(count, budget)
        if read:
            plan.append((path, read))
        unchecked += count - read
        if budget is not None:
            budget -= read
    return plan, unchecked


# detect-secrets' settings are the process's: one check sets them and puts them back while another reads them (two
# threads checking at once failed, or missed a secret, in about one check in ten). Held for a whole check: it is
# pure Python, so threads never checked in parallel anyway. Reentrant: a check inside a caller's settings goes on.
_ONE_CHECK_AT_A_TIME = threading.RLock()


@contextmanager
def detect_secrets_settings() -> Iterator[None]:
    """detect-secrets' default plugins and filters, as the built-in check runs them: the files are not on disk
    here, so the filter that drops paths it cannot open does not apply. One thread at a time."""
    from detect_secrets.settings import default_settings, get_filters

    with _ONE_CHECK_AT_A_TIME, default_settings() as settings:
        settings.disable_filters("detect_secrets.filters.common.is_invalid_file")
        get_filters.cache_clear()
        try:
            yield
        finally:
            get_filters.cache_clear()


class _LineSecrets:
    """What detect-secrets' own `scan._process_line_based_plugins(lines, filename)` yields, in the same order,
    with each plugin's and filter's arguments worked out once (per check, not per file or call): its per-call
    injection (`call_function_with_arguments`) was 40% of the check's time on real code (measured: 115 µs a
    line). A test holds the two equal on a corpus of real code and known secrets. Built inside
    `detect_secrets_settings()`, whose plugins and filters it binds."""

    _LINE = ("filename", "line", "context")
    _SECRET = ("filename", "secret", "plugin", "line")
    _PLUGIN = ("filename", "line", "line_number", "context")

    def __init__(self) -> None:
        from detect_secrets.core.scan import get_filters_with_parameter
        from detect_secrets.settings import get_plugins

        # A line is filtered out when any filter says so, whatever their order (they are plain functions), so
        # they are bound in a fixed order, those that cannot take a call site's arguments left out (detect-secrets
        # calls each and skips its TypeError), and the allowlist's regexes only run on a line that has their word.
        self._line_filters = _bound_filters(get_filters_with_parameter("line"), self._LINE)
        self._secret_filters = _bound_filters(get_filters_with_parameter("secret"), self._SECRET)
        self._context_filters = _bound_filters(get_filters_with_parameter("context"), (*self._SECRET, "context"))
        self._plugins = [(plugin, _Injected(plugin.analyze_line, self._PLUGIN)) for plugin in get_plugins()]
        # The plugins that only look for their regexes, and the others, in the same order: on a line where none
        # of those regexes is found (most lines), only the others are asked (`_only_regexes`).
        plain = [plugin for plugin, _ in self._plugins if _only_regexes(plugin)]
        self._plain_regexes = tuple(regex for plugin in plain for regex in plugin.denylist)
        # Each regex searched only in a line holding the text every match of it holds (`_required_text`).
        self._plain_searches = tuple((_required_text(regex), regex.search) for regex in self._plain_regexes)
        # On a line of ASCII (most lines), each regex is searched only where the lowered line holds one of the
        # texts one of which every match of it holds, lowered (`_necessary_texts`, which serves the regexes that
        # ignore case too), and one search rules out at once those whose texts are all 3 characters or more (rare
        # in code).
        necessary = [(_necessary_texts(regex), regex.search) for regex in self._plain_regexes]
        rare = {text for texts, _ in necessary if texts and min(map(len, texts)) >= _RARE_TEXT for text in texts}
        self._rare_texts = re.compile(_trie_regex(rare)) if rare else None
        self._all_searches = _Searches(necessary)
        self._common_searches = _Searches([(texts, search) for texts, search in necessary
                                           if not texts or not set(texts) <= rare])  # fmt: skip
        # The others, each with what a line must hold for it to find anything (`_plugin_gate`; None: nothing
        # known, it is asked about every line). Plain plugins need no gate: they are asked only where a regex is.
        keywords = _keyword_regex()
        gates = {id(plugin): _plugin_gate(plugin, keywords) for plugin, _ in self._plugins if plugin not in plain}
        gated = [
            (plugin, analyze, None if (gate := gates.get(id(plugin))) is None else gate.may_find)
            for plugin, analyze in self._plugins
        ]  # fmt: skip
        self._gated = gated
        self._not_plain = [entry for entry in gated if entry[0] not in plain]
        # A line of ASCII whose lowered text holds none of every plugin's texts (most lines of generated code, a
        # third of real code's) can give no finding: one search of a trie of them (`_trie_regex`) skips it whole.
        # None when some plugin has none.
        every_text = [texts for texts, _ in necessary] + [gate.texts if gate else None for gate in gates.values()]
        self._may_hold_a_finding = (
            re.compile(_trie_regex({text for texts in every_text if texts for text in texts}))
            if all(every_text) else None
        )  # fmt: skip

    def __call__(self, lines: list[tuple[int, str]], filename: str) -> Iterator[PotentialSecret]:
        from detect_secrets.util.code_snippet import get_code_snippet

        line_content = [text for _, text in lines]
        may_hold = None if self._may_hold_a_finding is None else self._may_hold_a_finding.search
        for line_number, text in lines:
            line = text.rstrip()
            lowered = line.lower() if line.isascii() else None  # None: the line is not ASCII
            if may_hold is not None and lowered is not None and may_hold(lowered) is None:
                continue  # no plugin can find anything in it (and filters only drop what is found)
            context = get_code_snippet(lines=line_content, line_number=line_number)
            if _filtered(self._line_filters, {"filename": filename, "line": line, "context": context}):
                continue
            # Only the plugins whose gate the line passes; the filters first, as detect-secrets orders them (on the
            # 100-line hunks' generated lines, which they all drop, they took 3.1 µs a line, the gates 5.9).
            asked = [(plugin, analyze) for plugin, analyze, may_find in
                     (self._gated if self._found_by_regex(line, lowered) else self._not_plain)
                     if may_find is None or may_find(line)]  # fmt: skip
            offered = {"filename": filename, "line": line, "line_number": line_number, "context": context}
            for plugin, analyze in asked:
                for secret in analyze(offered) or ():
                    found = {"filename": secret.filename, "secret": secret.secret_value, "plugin": plugin, "line": line}
                    if _filtered(self._secret_filters, found):
                        continue
                    if _filtered(self._context_filters, {**found, "context": context}):
                        continue
                    yield secret

    def _found_by_regex(self, line: str, lowered: str | None) -> bool:
        """Whether any plain plugin's regex is found in `line`; `lowered`: the line lowered when it is ASCII, else
        None."""
        if lowered is not None:
            rare_text = self._rare_texts is not None and self._rare_texts.search(lowered) is not None
            return (self._all_searches if rare_text else self._common_searches).found(line, lowered)
        return any((text is None or text in line) and search(line) for text, search in self._plain_searches)


# Texts this long are rare in code: one search for all of them rules out their regexes together.
_RARE_TEXT = 3


class _Searches:
    """Regexes, each searched in a line of ASCII only where the lowered line holds one of its necessary texts
    (`_necessary_texts`): one text is looked for as is, several with a regex of them; none, it is searched."""

    def __init__(self, searches: Iterable[tuple[tuple[str, ...] | None, Callable[[str], object]]]) -> None:
        self._one_text: list[tuple[str, Callable[[str], object]]] = []
        self._texts: list[tuple[Callable[[str], object], Callable[[str], object]]] = []
        self._always: list[Callable[[str], object]] = []
        for texts, search in searches:
            if not texts:
                self._always.append(search)
            elif len(texts) == 1:
                self._one_text.append((texts[0], search))
            else:
                self._texts.append((re.compile(_trie_regex(texts)).search, search))

    def found(self, line: str, lowered: str) -> bool:
        return (
            any(text in lowered and search(line) for text, search in self._one_text)
            or any(holds(lowered) and search(line) for holds, search in self._texts)
            or any(search(line) for search in self._always)
        )


def _required_text(regex: re.Pattern[str]) -> str | None:
    """The longest run of literal characters the regex's top level holds (a sequence: each of its items is in every
    match, in order), when it matches case: a line without it cannot match. None otherwise. Searching 45 regexes a
    line was half of the check (0.15 s of 20,000 generated lines, 0.32 s of real code); looking for their texts
    first, two thirds of that. Parsed by the stdlib's own parser of regexes."""
    from re import _parser  # type: ignore[attr-defined]

    if regex.flags & re.IGNORECASE:
        return None
    longest = run = ""
    for op, argument in _parser.parse(regex.pattern, regex.flags).data:
        run = run + chr(argument) if op is _parser.LITERAL else ""
        longest = max(longest, run, key=len)
    return longest or None


def _necessary_texts(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Texts of ASCII, lowered, one of which the lowered line holds wherever a line of ASCII holds a match of the
    regex, whether or not it ignores case: the longest run of literal characters of one of the sequences every
    match goes through (groups are read as part of the sequence around them, a repeat at least once as its
    content), or one text of each branch of an alternation there; the set whose shortest text is longest. None
    when there is none. Read by the stdlib's own parser of regexes."""
    from re import _parser  # type: ignore[attr-defined]

    texts = _sequence_texts(_parser.parse(regex.pattern, regex.flags).data)
    return tuple(sorted(texts)) if texts else None


def _sequence_texts(items: Iterable[tuple[Any, Any]]) -> frozenset[str] | None:
    from re import _parser  # type: ignore[attr-defined]

    candidates: list[frozenset[str]] = []
    run = ""
    for op, argument in _flattened(items):
        if op is _parser.LITERAL and chr(argument).isascii():
            run += chr(argument).lower()
            continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        inner = None
        if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT) and argument[0] >= 1:
            inner = _sequence_texts(argument[2].data)
        elif op is _parser.BRANCH:
            branches = [_sequence_texts(branch.data) for branch in argument[1]]
            inner = frozenset().union(*branches) if all(branches) else None  # type: ignore[arg-type]
        if inner:
            candidates.append(inner)
    if run:
        candidates.append(frozenset({run}))
    return max(candidates, key=lambda texts: (min(map(len, texts)), -len(texts)), default=None)


def _trie_regex(texts: Iterable[str]) -> str:
    """A regex of `texts` as a trie (`a(?:b|cd)`), which matches where one of them is. Python's `re` tries every
    branch of a flat alternation at every place of a line (~70 texts: 4.7-5.9 µs a line of generated code), and a
    trie only at the places its first characters are (0.6-0.8 µs)."""
    trie: dict[str, Any] = {}
    for text in texts:
        node = trie
        for character in text:
            node = node.setdefault(character, {})
        node[""] = {}  # a text ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(character) + pattern(rest) for character, rest in sorted(node.items()) if character]
        if not branches:
            return ""
        if "" in node:  # a text ends here: what follows is not needed
            return ""
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(trie)


def _flattened(items: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """The items of a sequence, each group's own in its place (a group matches its content once, in place)."""
    from re import _parser  # type: ignore[attr-defined]

    for op, argument in items:
        if op is _parser.SUBPATTERN:
            yield from _flattened(argument[3].data)
        else:
            yield op, argument


class _Injected:
    """A detect-secrets plugin method or filter, called as `call_function_with_arguments` calls it: with the
    keyword arguments it declares (the bound instance stays bound), out of those a call site `offered`."""

    __slots__ = ("_function", "_taken", "_whole", "callable")

    def __init__(self, function: Callable[..., Any], offered: tuple[str, ...]) -> None:
        from detect_secrets.util.inject import get_injectable_variables

        declared = get_injectable_variables(function)
        if inspect.ismethod(function):
            declared = declared[1:]  # the instance it is bound to
        self._function = function
        self._taken = tuple(name for name in offered if name in declared)
        self._whole = self._taken == offered
        # False: it needs an argument the call site does not offer, so every call is a TypeError.
        required = [
            name for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is parameter.empty
            and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        ]  # fmt: skip
        self.callable = all(name in self._taken for name in required)

    def __call__(self, values: dict[str, Any]) -> Any:
        if self._whole:
            return self._function(**values)
        return self._function(**{name: values[name] for name in self._taken})


class _NeedsWord(_Injected):
    """detect-secrets' allowlist filter, called only when the line or the one before it holds the word each of its
    regexes needs ("pragma"; `_allowlist_word` checks that when binding): its regexes cost ~18 µs a line (measured
    on benchmarks/generate.py's lines, 0.36 s for 20,000), the test for the word well under 1."""

    __slots__ = ("_word",)

    def __init__(self, function: Callable[..., Any], offered: tuple[str, ...], word: str) -> None:
        super().__init__(function, offered)
        self._word = word

    def __call__(self, values: dict[str, Any]) -> Any:
        if self._word not in values["line"] and self._word not in values["context"].previous_line:
            return False
        return super().__call__(values)


def _only_regexes(plugin: object) -> bool:
    """Whether a plugin yields exactly what `findall` finds of its fixed regexes (`denylist`) in the line, as
    detect-secrets' RegexBasedDetector does unless a plugin changes that: then a line where none of them is found
    yields nothing from it, and it need not be asked. Its call costs ~2.5 µs a line (23 of the 27 plugins: ~55 µs
    a line, 1.1 s of 20,000 lines), looking for its regexes ~0.2 µs each."""
    from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector

    if not isinstance(plugin, RegexBasedDetector):
        return False
    kind = type(plugin)
    return (
        kind.analyze_line is BasePlugin.analyze_line
        and kind.analyze_string is RegexBasedDetector.analyze_string
        and isinstance(inspect.getattr_static(kind, "denylist"), tuple | list)
    )


class _Gate(NamedTuple):
    """What a line must pass for a plugin to find anything in it (`may_find`), and texts, lowered, one of which a
    line of ASCII it passes holds once lowered."""

    may_find: Callable[[str], bool]
    texts: tuple[str, ...]


def _plugin_gate(plugin: object, keywords: re.Pattern[str] | None) -> _Gate | None:
    """What a line must pass for one of detect-secrets' other plugins to find anything in it, when known; None
    otherwise (another plugin, or another detect-secrets version's). Asking a plugin costs 1.4-5.4 µs a line
    (measured on benchmarks/generate.py's lines: 0.2 s of 20,000 for these four), the gates well under 1."""
    from detect_secrets.plugins.base import BasePlugin
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.keyword import KeywordDetector

    if type(plugin) is KeywordDetector and keywords is not None:
        keyword_texts = _necessary_texts(keywords)
        if keyword_texts:
            return _Gate(_keyword_gate(keywords), keyword_texts)
    if (
        isinstance(plugin, HighEntropyStringsPlugin)
        and type(plugin).analyze_line is HighEntropyStringsPlugin.analyze_line
        and type(plugin).analyze_string is HighEntropyStringsPlugin.analyze_string
        and _starts_with_a_quote(plugin.regex)
    ):
        # Without `enable_eager_search` (never offered here), it yields only what its regex finds, which starts
        # with a quote.
        return _Gate(_holds_a_quote, ("'", '"'))
    if type(plugin) is JwtTokenDetector and type(plugin).analyze_line is BasePlugin.analyze_line:
        # It yields the matches of its regexes that are well-formed tokens.
        texts = [_required_text(regex) for regex in plugin.denylist]
        lowered = [_necessary_texts(regex) for regex in plugin.denylist]
        if texts and all(text is not None for text in texts) and all(lowered):
            return _Gate(lambda line: any(text in line for text in texts if text is not None),
                         tuple(sorted({text for each in lowered if each for text in each})))  # fmt: skip
    return None


def _starts_with_a_quote(regex: re.Pattern[str]) -> bool:
    """Whether every match of `regex` starts with a single or a double quote: its first item is a group of the
    class of the two, as detect-secrets' high-entropy plugins write it (`([\\'"])…`)."""
    from re import _parser  # type: ignore[attr-defined]

    items = _parser.parse(regex.pattern, regex.flags).data
    if not items or items[0][0] is not _parser.SUBPATTERN:
        return False
    group = items[0][1][3].data
    quotes = sorted([(_parser.LITERAL, ord("'")), (_parser.LITERAL, ord('"'))])
    return len(group) == 1 and group[0][0] is _parser.IN and sorted(group[0][1]) == quotes


def _holds_a_quote(line: str) -> bool:
    return "'" in line or '"' in line


def _keyword_gate(keywords: re.Pattern[str]) -> Callable[[str], bool]:
    """`keywords.search` (its words in any case), answered for a line of ASCII by a search of the lowered line
    for the words as written: the same answer when they are written in lower case and none of their other
    letters matches an ASCII character in some case. Ignoring case, Python's `re` tries every place of the line
    against every word (5.4 µs a 28-character line, measured); the lowered search takes well under 1."""
    pattern = keywords.pattern
    others = {character for character in pattern if not character.isascii()}
    matches_ascii = any(
        re.fullmatch(re.escape(character), chr(code), re.IGNORECASE) for character in others for code in range(128)
    )
    if pattern != pattern.lower() or matches_ascii:
        return lambda line: keywords.search(line) is not None
    as_written = re.compile(pattern)

    def may_find(line: str) -> bool:
        if line.isascii():
            return as_written.search(line.lower()) is not None
        return keywords.search(line) is not None

    return may_find


def _keyword_regex() -> re.Pattern[str] | None:
    """Its keywords (`api_?key`, `password`, `secret`…) in any case, when every regex KeywordDetector can use
    holds the group of them as a part of its own (not optional, not one branch of an alternation): a line
    without one cannot match any of them. None (the plugin runs on every line) when another detect-secrets
    version's regexes are not built that way."""
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser of regexes

    from detect_secrets.plugins import keyword

    alternation = "|".join(keyword.DENYLIST)
    group = repr(_parser.parse(f"({alternation})").data[0][1][3])
    tables = (*keyword.REGEX_BY_FILETYPE.values(), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    # The file types share their regexes (64 entries, 10 regexes): each is parsed once (~2 ms each).
    for pattern, flags in dict.fromkeys((regex.pattern, regex.flags) for table in tables for regex in table):
        parts = _parser.parse(pattern, flags).data
        if not any(op is _parser.SUBPATTERN and repr(av[3]) == group for op, av in parts):
            return None
    return re.compile(alternation, re.IGNORECASE)


def _bound_filters(filters: Iterable[Callable[..., Any]], offered: tuple[str, ...]) -> list[_Injected]:
    """`filters` bound to a call site's arguments, by name, those that can never take them left out."""
    from detect_secrets.filters.allowlist import is_line_allowlisted

    word = _allowlist_word() if "line" in offered and "context" in offered else None
    bound = [
        _NeedsWord(function, offered, word) if word and function is is_line_allowlisted
        else _Injected(_same_answer_faster(function), offered)
        for function in sorted(filters, key=lambda function: f"{function.__module__}.{function.__qualname__}")
    ]  # fmt: skip
    return [check for check in bound if check.callable]


def _same_answer_faster(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, or for detect-secrets' indirect-reference filter a check that answers the same faster."""
    from detect_secrets.filters.heuristic import is_indirect_reference

    if function is is_indirect_reference:
        return _indirect_reference_check() or function
    return function


# What may start detect-secrets' indirect-reference regex: characters other than a line break, '=', '!' or ':',
# then white space. Both may match nothing.
_MAY_MATCH_NOTHING = r"([^\v=!:]*)\s*"


def _indirect_reference_check() -> Callable[[str], bool] | None:
    r"""detect-secrets' `is_indirect_reference` (a line like `secret = get_secret()` is no secret) searches each
    line for `([^\v=!:]*)\s*(:=?|[!=]{1,3})\s*(…)`. Its first two parts may match nothing, so a line holds a match
    exactly when it holds one of the rest, which can only start at ':', '!' or '='. Searching for the rest alone
    gives the same answer; the whole regex, tried from every character and scanning on to the next '=' each
    time, took 65 µs a line of real code (1.3 of the check's 2.5 s on 20,000 lines). None (the filter runs as
    is) when another detect-secrets version's regex does not start that way."""
    from detect_secrets.filters.heuristic import _get_indirect_reference_regex, is_indirect_reference

    regex = _get_indirect_reference_regex()
    if not regex.pattern.startswith(_MAY_MATCH_NOTHING):
        return None
    rest = re.compile(regex.pattern[len(_MAY_MATCH_NOTHING) :], regex.flags)

    def indirect_reference(line: str) -> bool:
        if len(line) > _INDIRECT_REFERENCE_MAX_LINE:
            return is_indirect_reference(line)  # detect-secrets' own answer for a line it does not search
        return rest.search(line) is not None

    return indirect_reference


# detect-secrets does not search a longer line (catastrophic backtracking): it answers for those itself.
_INDIRECT_REFERENCE_MAX_LINE = 1000


def _allowlist_word() -> str | None:
    """"pragma", when every regex of detect-secrets' allowlist filter (for any file: only YAML's differ) needs it
    as is; None otherwise (another detect-secrets version), and the filter then runs on every line."""
    from detect_secrets.filters.allowlist import _get_allowlist_regexes_for_file

    word = "pragma"
    for filename in ("x", "x.yaml"):
        for regexes in _get_allowlist_regexes_for_file(filename):
            for regex in regexes:
                if regex.flags & re.IGNORECASE or word not in regex.pattern or "|" in regex.pattern.split(word)[0]:
                    return None
    return word


def _filtered(filters: list[_Injected], values: dict[str, Any]) -> bool:
    """detect-secrets' `_is_filtered_out`: whether any filter says so; one that cannot take the arguments is
    skipped (its TypeError)."""
    for check in filters:
        try:
            if check(values):
                return True
        except TypeError:
            pass
    return False


def _fingerprinted(finding: Finding) -> Finding:
    if finding.fingerprint:
        return finding
    return finding.model_copy(update={"fingerprint": finding_fingerprint(finding)})


def _line_findings(results: list[tuple[str, ScanResult]], changed: Mapping[str, FileChange]) -> set[str]:
    """The paths whose added lines `_introduced` reads."""
    return {
        f.path
        for _, result in results
        if result.format != "aigate"
        for f in result.findings
        if f.path is not None and _decided_by_lines(f, changed)
    }


def _decided_by_lines(finding: Finding, changed: Mapping[str, FileChange]) -> bool:
    """Whether `_introduced` decides on a finding by the added lines of its file: one on a line of a file the PR
    changes (not one it adds or copies, whose every line is new), and not a test's or a package's."""
    file = None if finding.path is None else changed.get(finding.path)
    return (
        finding.category != "test" and not finding.package and file is not None and finding.line is not None
        and file.status not in ("added", "copied")
    )  # fmt: skip


def _read_ahead(diff: Callable[[], DiffLines | None], paths: set[str]) -> None:
    """Reads the lines of `paths` together (a repository's git runs once for them all), if any are wanted."""
    if paths:
        lines = diff()
        if lines is not None:
            lines.prepare(paths)


def _per_finding(values: tuple[Any, ...], result: ScanResult) -> tuple[Any, ...]:
    """`values`, one per finding of `result`; Nones where the format gave none (or a count that does not fit)."""
    return values if len(values) == len(result.findings) else (None,) * len(result.findings)


# The most lines after its first that a finding's range is read for added lines (a whole-file match).
_MAX_SPAN = 10_000


def _in_commits(commit: object, pr_commits: list[str]) -> bool:
    """Whether `commit` (a report's, full or abbreviated) is one of the PR's (full or abbreviated)."""
    if not isinstance(commit, str) or len(commit) < 7:
        return False
    commit = commit.lower()
    return any(commit.startswith(c) or c.startswith(commit) for c in pr_commits)


def checkout_path(path: str, known: set[str]) -> str:
    """An absolute report path as the repository path it ends with: the longest of the PR's files (`known`)
    that it ends with at a folder boundary; else the path without its leading `/`, as before."""
    parts = path.lstrip("/").split("/")
    for start in range(len(parts)):  # the longest ending first
        candidate = "/".join(parts[start:])
        if candidate in known:
            return candidate
    return "/".join(parts)


def _in_checkout(result: ScanResult, known: set[str]) -> ScanResult:
    """`result` with its findings' absolute paths made repository paths (`checkout_path`)."""
    if not any(f.path and f.path.startswith("/") for f in result.findings):
        return result
    findings = [
        f.model_copy(update={"path": checkout_path(f.path, known)}) if f.path and f.path.startswith("/") else f
        for f in result.findings
    ]
    return replace(result, findings=tuple(findings))


def _introduced(
    finding: Finding,
    changed: Mapping[str, FileChange] | None,
    diff: Callable[[], DiffLines | None],
    changed_packages: set[tuple[str, str]],
    end_line: int | None = None,
    in_pr_commit: bool = False,
) -> Finding:
    """True when the finding is on a line the PR added or changed, in a file it added, or on a dependency it
    added or updated; a failed test always counts; with no changed file known, every finding counts.
    `changed`: the files the PR changes and does not delete, by path (None when no changed file is known).
    A finding over several lines (to `end_line`) counts when any of them is added; one found in a commit of the
    PR (`in_pr_commit`) counts though the final diff no longer holds it."""
    if finding.category == "test" or changed is None or in_pr_commit:
        return finding
    if finding.package:
        ecosystem = (finding.ecosystem or "").lower()
        name = finding.package.lower()
        introduced = any(n == name and (not ecosystem or e == ecosystem) for e, n in changed_packages)
        return finding.model_copy(update={"introduced": introduced})
    if finding.path is None:
        return finding
    file = changed.get(finding.path)
    if file is None:
        return finding.model_copy(update={"introduced": False})
    if not _decided_by_lines(finding, changed):
        return finding.model_copy(update={"introduced": file.status in ("added", "copied") or file.added > 0})
    lines = diff()
    added = lines.added.get(finding.path, {}) if lines is not None else None
    if added is None:
        return finding.model_copy(update={"introduced": True})
    assert finding.line is not None  # _decided_by_lines
    last = finding.line if end_line is None or end_line < finding.line else min(end_line, finding.line + _MAX_SPAN)
    return finding.model_copy(update={"introduced": any(n in added for n in range(finding.line, last + 1))})


def _summed(total: SandboxTestResults | None, more: SandboxTestResults) -> SandboxTestResults:
    if total is None:
        return more
    return SandboxTestResults(tests=total.tests + more.tests, failures=total.failures + more.failures,
                              errors=total.errors + more.errors, skipped=total.skipped + more.skipped)


def replace_options(options: ScanningOptions, **changes: Any) -> ScanningOptions:
    return replace(options, **changes)
