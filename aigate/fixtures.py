"""Fixture cases: a recorded PR and the decision expected for it, run end to end.

A fixture is one YAML or JSON file:

    name: migrations need two approvals          # optional; default: the file name
    config: {policy: {mode: block}}              # inline, or a path relative to the fixture
    pr: {title: ..., labels: [...]}              # inline (aigate or GitHub form), or a path
    commits: [...]                               # inline, or a path
    diff: |                                      # inline text (has a newline), or a path
      diff --git a/x b/x ...
    scans: [semgrep.json, {file: r.json, format: native}, {report: {...}, format: auto}]
    expect:                                      # a subset of the decision
      outcome: review
      is_ai: true
      tier: medium
      score: 45                                  # or {min: 30, max: 70}
      approvals: 1
      violations: [{rule: blocked_path, path: .env}]   # exactly these (rule, and path when given)
      signals: [co_author, {kind: label, value: ai-generated}]
      agent: copilot                             # the agent named, and the override applied
      override: copilot
      waived: [{rule: blocked_path, path: .env.example}]   # exactly the waived violations
      expired_exceptions: [1]                    # indexes in the config's `exceptions`
      unused_exceptions: []
      required_reviewers: ["@acme/dba"]
      refused: []                                # what custom rules tried and were refused
    evaluated_on: 2026-12-03                     # the day exceptions expire against (default: today)

Every source goes through the same normalisers as `aigate evaluate`, and the decision comes from
the same Gate, so a fixture tests the whole pipeline, not the policies alone.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from aigate.errors import AigateError, ConfigError
from aigate.test_report import FixtureResult, Mismatch

__all__ = [
    "FixtureError",
    "expectation_of",
    "load_fixture",
    "looks_like_fixture",
    "record_fixture",
    "run_fixture",
    "run_fixture_files",
]

_KEYS = frozenset({"name", "description", "config", "pr", "commits", "diff", "scans", "evaluated_on", "expect"})
_EXPECT_KEYS = frozenset(
    {
        "outcome", "is_ai", "tier", "score", "approvals", "require_security_team", "violations", "signals", "agent",
        "override", "waived", "expired_exceptions", "unused_exceptions", "required_reviewers", "refused",
    }
)
_MAX_FIXTURE_BYTES = 64 << 20


class FixtureError(AigateError):
    """A fixture file that cannot be read or does not have the fixture shape."""


class _Fixture:
    def __init__(self, path: Path, data: dict[str, Any], lines: dict[str, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines
        self.name = str(data.get("name") or path.stem)

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def load_fixture(path: Path) -> _Fixture:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FixtureError(f"{path}: cannot read: {e.strerror or e}") from e
    if len(raw) > _MAX_FIXTURE_BYTES:
        raise FixtureError(f"{path}: larger than {_MAX_FIXTURE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FixtureError(f"{path}: not UTF-8 text (byte {e.start})") from e
    lines: dict[str, int] = {}
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise FixtureError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from e
    else:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            raise FixtureError(f"{path}{line}: invalid YAML: {e.problem or e.context}") from e
        except yaml.YAMLError as e:
            raise FixtureError(f"{path}: invalid YAML: {e}") from e
        lines = _key_lines(root)
    if not isinstance(data, dict):
        raise FixtureError(f"{path}:1: a fixture is a mapping (config, pr, commits, diff, scans, expect)")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise FixtureError(
            f"{path}:{lines.get(str(unknown[0]), 1)}: unknown key {unknown[0]!r}; expected one of: "
            + ", ".join(sorted(_KEYS))
        )
    expect = data.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise FixtureError(f"{path}:{lines.get('expect', 1)}: `expect` must be a non-empty mapping")
    unknown = sorted(set(expect) - _EXPECT_KEYS)
    if unknown:
        raise FixtureError(
            f"{path}:{lines.get('expect.' + str(unknown[0]), 1)}: expect: unknown key {unknown[0]!r}; "
            "expected one of: " + ", ".join(sorted(_EXPECT_KEYS))
        )
    return _Fixture(path, data, lines)


def looks_like_fixture(path: Path) -> bool:
    """Whether a file found in a folder walk is an aigate fixture (a mapping with `expect`): other
    YAML/JSON below a `fixtures` folder (scanner reports, PR payloads) is left to its owners."""
    try:
        if path.stat().st_size > _MAX_FIXTURE_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "expect" in data


def _key_lines(root: yaml.Node | None) -> dict[str, int]:
    """The line of each top-level key and of each `expect.<key>`."""
    lines: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if key.value == "expect" and isinstance(value, yaml.MappingNode):
            for sub_key, _ in value.value:
                lines[f"expect.{sub_key.value}"] = sub_key.start_mark.line + 1
    return lines


# --- evaluation ------------------------------------------------------------------------------


def _relative(fixture: _Fixture, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else fixture.path.parent / path


def _config(fixture: _Fixture) -> Any:
    from aigate.config import config_from_mapping, load_config

    value = fixture.data.get("config")
    where = f"{fixture.path}:{fixture.line('config')}"
    if value is None:
        return load_config(None)
    if isinstance(value, str):
        return load_config(_relative(fixture, value))
    if isinstance(value, dict):
        try:
            return config_from_mapping(value, source=f"{where}: config", base_dir=fixture.path.parent.resolve())
        except ConfigError:
            raise
    raise FixtureError(f"{where}: `config` is a mapping or a path, not {type(value).__name__}")


def _sources(fixture: _Fixture) -> dict[str, Any]:
    from aigate.models import Dependency, Finding
    from aigate.sources.commits import load_commits
    from aigate.sources.diff import parse_diff
    from aigate.sources.pull_request import load_pull_request
    from aigate.sources.scans import load_scan, load_scan_file

    data = fixture.data
    sources: dict[str, Any] = {}

    def where(key: str) -> str:
        return f"{fixture.path}:{fixture.line(key)}: {key}"

    # Inline sources go through the same normalisers as files, named by the fixture's file and line.
    for key, load in (("pr", load_pull_request), ("commits", load_commits)):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            sources[key] = _relative(fixture, value)
        elif isinstance(value, dict | list):
            sources[key] = load(value, source=where(key))
        else:
            raise FixtureError(f"{where(key)}: inline data or a path, not {type(value).__name__}")
    diff = data.get("diff")
    if diff is not None:
        if not isinstance(diff, str):
            raise FixtureError(f"{where('diff')}: diff text or a path, not {type(diff).__name__}")
        sources["diff"] = parse_diff(diff, source=where("diff")) if "\n" in diff else _relative(fixture, diff)
    findings: list[Finding] = []
    dependencies: list[Dependency] = []
    scans = data.get("scans") or []
    if not isinstance(scans, list):
        raise FixtureError(f"{fixture.path}:{fixture.line('scans')}: `scans` is a list")
    for index, entry in enumerate(scans):
        scan = f"{where('scans')}[{index}]"
        if isinstance(entry, str):
            found, deps = load_scan_file(_relative(fixture, entry))
        elif isinstance(entry, dict) and "file" in entry:
            found, deps = load_scan_file(_relative(fixture, str(entry["file"])), format=entry.get("format", "auto"))
        elif isinstance(entry, dict) and "report" in entry:
            found, deps = load_scan(entry["report"], source=scan, format=entry.get("format", "auto"))
        elif isinstance(entry, dict):
            found, deps = load_scan(entry, source=scan)
        else:
            raise FixtureError(f"{scan}: a path, {{file: ...}}, {{report: ...}} or an inline report")
        findings.extend(found)
        dependencies.extend(deps)
    sources["findings"] = findings
    sources["dependencies"] = dependencies
    return sources


class _GateCache:
    """One compiled Gate per distinct configuration: fixtures sharing a config share an engine."""

    def __init__(self) -> None:
        self._gates: dict[tuple[str, str], Any] = {}

    def gate(self, config: Any) -> Any:
        from aigate.gate import Gate

        key = (config.digest, str(config.policy_dir))
        if key not in self._gates:
            self._gates[key] = Gate(config, engine="embedded")
        return self._gates[key]

    def close(self) -> None:
        for gate in self._gates.values():
            gate.close()


def run_fixture(path: Path, gates: _GateCache | None = None) -> FixtureResult:
    """Evaluate one fixture end to end and compare the decision with its expectation."""
    own = gates is None
    cache = gates or _GateCache()
    started = time.perf_counter()
    try:
        fixture = load_fixture(path)  # a fixture that does not parse cannot run: FixtureError, exit 2
        try:
            gate = cache.gate(_config(fixture))
            from aigate.document import build_input_document

            document = build_input_document(**_sources(fixture))
            day = fixture.data.get("evaluated_on")
            if day is not None:  # pins the day exceptions expire against (YAML may read it as a date)
                document = document.model_copy(update={"evaluated_on": str(day)})
            decision = gate.evaluate(document).model_dump(mode="json")
        except AigateError as e:
            return FixtureResult(fixture.name, str(path), 1, "error", str(e), (), time.perf_counter() - started)
        mismatches = compare(fixture.data["expect"], decision)
        first = re.split(r"[.:\[]", mismatches[0].field)[0] if mismatches else ""
        line = fixture.line(f"expect.{first}") if first else fixture.line("expect")
        return FixtureResult(
            fixture.name, str(path), line, "fail" if mismatches else "pass",
            f"{len(mismatches)} field(s) differ from the decision" if mismatches else "",
            tuple(mismatches), time.perf_counter() - started,
        )
    finally:
        if own:
            cache.close()


def run_fixture_files(paths: Sequence[Path], *, select: re.Pattern[str] | None = None) -> list[FixtureResult]:
    gates = _GateCache()
    try:
        results = []
        for path in paths:
            if select is not None and not select.search(str(path)) and not select.search(path.stem):
                continue
            results.append(run_fixture(path, gates))
        return results
    finally:
        gates.close()


# --- comparison ------------------------------------------------------------------------------


def compare(expect: Mapping[str, Any], decision: Mapping[str, Any]) -> list[Mismatch]:
    """Each expected field against the decision: an empty list when the decision meets them all."""
    risk = decision.get("risk") or {}
    mismatches = [
        Mismatch(key, expect[key], decision.get(key))
        for key in ("outcome", "is_ai")
        if key in expect and expect[key] != decision.get(key)
    ]
    agent = decision.get("agent") or {}
    for key, actual in (
        ("agent", agent.get("name")),
        ("override", agent.get("override")),
        ("expired_exceptions", [e["exception"] for e in (decision.get("exceptions") or {}).get("expired", [])]),
        ("unused_exceptions", [e["exception"] for e in (decision.get("exceptions") or {}).get("unused", [])]),
        ("required_reviewers", sorted(r["reviewer"] for r in decision.get("required_reviewers") or [])),
        ("refused", sorted(r["item"] for r in (decision.get("custom") or {}).get("refused", []))),
    ):
        if key in expect and expect[key] != actual:
            mismatches.append(Mismatch(key, expect[key], actual))
    if "waived" in expect:
        waived = [v for v in decision.get("violations") or [] if v.get("waived")]
        mismatches.extend(_set_match("waived", expect["waived"], waived, "rule"))
    mismatches.extend(
        Mismatch(key, expect[key], risk.get(key))
        for key in ("tier", "approvals", "require_security_team")
        if key in expect and expect[key] != risk.get(key)
    )
    if "score" in expect:
        mismatches.extend(_score(expect["score"], risk.get("score")))
    if "violations" in expect:
        mismatches.extend(_set_match("violations", expect["violations"], decision.get("violations") or [], "rule"))
    if "signals" in expect:
        signals = (decision.get("detection") or {}).get("signals") or []
        mismatches.extend(_set_match("signals", expect["signals"], signals, "kind"))
    return mismatches


def _score(expected: Any, actual: Any) -> list[Mismatch]:
    if isinstance(expected, dict):
        low, high = expected.get("min", 0), expected.get("max", 100)
        if actual is None or not low <= actual <= high:
            return [Mismatch("score", {"min": low, "max": high}, actual)]
        return []
    return [] if expected == actual else [Mismatch("score", expected, actual)]


def _set_match(name: str, expected: Any, actual: Sequence[Mapping[str, Any]], key: str) -> list[Mismatch]:
    """Exactly the expected items: each matches an actual one on the keys it gives, and every actual
    item is matched by one expected item."""
    wanted = [item if isinstance(item, dict) else {key: item} for item in (expected or [])]

    def matches(want: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
        return all(have.get(k) == v for k, v in want.items())

    missing = [w for w in wanted if not any(matches(w, a) for a in actual)]
    unexpected = [a for a in actual if not any(matches(w, a) for w in wanted)]
    if not missing and not unexpected:
        return []
    # Shown by what identifies them: a violation's rule and path, a signal's kind and value.
    keys = sorted({k for w in wanted for k in w} | ({"rule", "path"} if key == "rule" else {"kind", "value"}))

    def shown(item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in keys if item.get(k) is not None}

    shown_actual = sorted((shown(a) for a in actual), key=lambda x: json.dumps(x, sort_keys=True))
    mismatches = [Mismatch(f"{name}: missing", m, shown_actual) for m in missing]
    mismatches.extend(Mismatch(f"{name}: unexpected", None, shown(u)) for u in unexpected)
    return mismatches


# --- recording -------------------------------------------------------------------------------


def expectation_of(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The expectation a fixture recorded from this decision holds: it passes on the same policies."""
    risk = decision.get("risk")
    expect: dict[str, Any] = {"outcome": decision["outcome"], "is_ai": decision["is_ai"]}
    if risk:
        expect["tier"] = risk["tier"]
        expect["score"] = risk["score"]
    expect["violations"] = sorted(
        ({"rule": v["rule"], **({"path": v["path"]} if v.get("path") else {})} for v in decision["violations"]),
        key=lambda v: (v["rule"], v.get("path") or ""),
    )
    expect["signals"] = sorted({s["kind"] for s in decision["detection"]["signals"]})
    return expect


def record_fixture(
    *,
    repo: Path,
    base: str,
    head: str,
    config_path: Path | None = None,
    pr: Path | None = None,
    scans: Iterable[Path] = (),
    name: str | None = None,
) -> str:
    """A fixture (YAML) of a real PR read from git: its commits, its diff, and the decision today."""
    from aigate.config import load_config
    from aigate.gate import Gate
    from aigate.sources.git_repo import read_repository

    config = load_config(config_path)
    snapshot = read_repository(repo, base, head)
    with Gate(config) as gate:
        document = gate.input_document(pr=pr, repo=repo, base=base, head=head, scans=list(scans))
        decision = gate.evaluate(document).model_dump(mode="json")
    data = document.model_dump(mode="json")
    fixture: dict[str, Any] = {
        "name": name or f"{snapshot.head_branch or head} into {snapshot.base_branch or base}",
        "description": f"recorded with: aigate record --repo {repo} --base {base} --head {head}",
    }
    if config_path is not None:
        # The file as the user wrote it (defaults stay defaults), inline so the fixture stands alone.
        fixture["config"] = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    fixture["pr"] = {k: v for k, v in data["pr"].items() if v not in ("", None, [], {})} or {}
    if not fixture["pr"].get("author"):
        fixture["pr"].pop("author", None)
    fixture["commits"] = data["commits"]
    fixture["diff"] = snapshot.patch()
    if data["findings"] or data["dependencies"]:
        fixture["scans"] = [
            {"report": {"findings": data["findings"], "dependencies": data["dependencies"]}, "format": "aigate"}
        ]
    fixture["expect"] = expectation_of(decision)
    return yaml.dump(fixture, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100)


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (the diff, commit messages) as readable `|` blocks."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not any(c in value for c in "\r\t") and not value.endswith((" ", "\n\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _str_presenter)
