"""Path patterns give git's own answers, for every pattern git accepts: a table of every bracket, `**`,
slash and space class, then a property-based test (hypothesis) over patterns and paths drawn from an
alphabet rich in `* ? [ ] ! ^ - \\ /`, spaces and dots. The referee is `git check-ignore --no-index`
(tests/gitignore_referee.py), case-sensitive, and with `core.ignoreCase=true` for the case-insensitive
form. The emitted regexes are then run on regorus and on real OPA too, which must agree with Python.

CI runs a fixed budget with a fixed seed (AIGATE_WILDMATCH_EXAMPLES, default 150 batches of 24
patterns x 24 paths, seed 20260803); search longer with e.g. AIGATE_WILDMATCH_EXAMPLES=5000 and
another AIGATE_WILDMATCH_SEED.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from gitignore_referee import fold_for_git, git_ignored
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from aigate.patterns import (
    CompiledPattern,
    combined_regex,
    compile_path_pattern,
    escape_pattern,
    lines_regex,
    path_regex,
)

# Every class the issue names, and the neighbours git treats specially.
TABLE = [
    # bracket expressions
    "[ab]x", "[!a]x", "[^a]x", "[]]x", "[]a]x", "[!]]x", "[^]a]x", "[!]a]x", "[\\]]x", "[a\\]]x",
    "[\\!]x", "[\\\\]x", "[\\-]x", "[a-c]x", "[!a-c]x", "[--0]x", "[!--0]x", "[+--]x", "[]-a]x",
    "[!-]x", "[a-]x", "[-a]x", "[a-c-e]x", "[z-a]x", "[\\a-\\c]x", "[a-\\]]x", "[%-/]x", "[.-0]x",
    "[[:digit:]]x", "[![:digit:]]x", "[[:alpha:][:digit:]]x", "[[:upper:]]x", "[[:lower:]]x",
    "[[:space:]]x", "[[:punct:]]x", "[[:xdigit:]]x", "[[:alnum:]_]x", "[[:blank:]]x", "[[:print:]]x",
    "[[:graph:]]x", "[[:cntrl:]]x", "[[:foo:]]x", "[[:]]x", "[[:a]x", "[[:]x", "[[]x", "[a[]x", "[[:digit:]",
    "[/]x", "a[/]b", "a[!b]c", "[!/]x", "ab[", "a[]b", "a[", "[", "[]", "[!]", "a[!]b]c", "[a-[:digit:]]x",
    "[\\", "x[\\", "[A-Z]x", "[S]ecrets", "[!S]x", "\\Secrets", "[a-Z]x", "[Z-a]x",
    # escapes
    "\\*x", "\\?x", "\\[x", "a\\", "\\\\x", "\\#x", "\\!x", "\\ax", "a\\/b",
    # ** next to other characters
    "**", "***", "**/b", "***/b", "a**/b", "a**b", "**b", "b**", "a/**", "a/***", "a/**b", "a/b**",
    "a/**/b", "a/***/b", "a/**/**/b", "**/a/**", "a**/", "a/**/", "**/", "a/**\\/b", "**\\/b", "x/a**/b",
    "x*/a**/b", "/**/b", "/a**/b", "a/\\**/b", "a/*\\*/b",
    # slashes
    "*/", "**/", "*/b", "a/", "/a", "/a/", "a/b/", "/a/b", "a/*", "a/*/", "*/*", "/", "//", "a//", "a//b",
    "/*", "/*.py", "a/b/c",
    # spaces
    " a", "a ", "a  ", "a\\ ", "a\\  ", "a \\ ", "\\ ", "a b", " a/ ", "a\\\\ ", "a\t", "\\  ",
    # dots and ordinary patterns
    ".", "..", ".*", "*.py", "*.env*", ".env", "**/.env", "?", "??", "a?b", "*?", "?*",
]  # fmt: skip

TABLE_PATHS = [
    "x", "ax", "bx", "cx", "!x", "^x", "]x", "\\x", "-x", "+x", ",x", ".x", "0x", "5x", "Ax", "Zx",
    " x", "\tx", "_x", "[x", ":x", "%x", "#x", "*x", "?x", "ab[", "a[]b", "a[", "[", "[]", "ab", "a", "b",
    "a/b", "a/x/b", "a/x/y/b", "ab/b", "abc/b", "a/bb", "ab/c/b", "b/b", "x/a/b", "x/ab/b", "x/abc/d/b",
    "xy/ab/b", "a b", " a", "a ", "a  ", "a\\", "a\\ ", ".env", "x/.env", ".envrc", "x.py", "d/x.py",
    "a/b/c", "a/b/c/d", "Secrets", "secrets", "SECRETS", "x/Secrets", "a/*/b", "a/**/b", "a*/b", "b/x",
    "c/x", "a\tb", "a\t", " ", "  ", "\\", "x/ ", "a/ ", "zx", "Ax", "z", "Z", "a/b/ ", "a,b", ".a", "a.",
]  # fmt: skip


def _ours(pattern: str, paths: list[str], *, ignore_case: bool = False) -> set[str]:
    regex = re.compile(path_regex(pattern, ignore_case=ignore_case))
    return {path for path in paths if regex.match(path)}


@pytest.fixture(scope="module")
def table_answers() -> dict[bool, list[set[str]]]:
    return {
        False: git_ignored(TABLE, TABLE_PATHS),
        True: git_ignored([fold_for_git(p) for p in TABLE], TABLE_PATHS, ignore_case=True),
    }


@pytest.mark.parametrize("ignore_case", [False, True], ids=["case-sensitive", "ignore-case"])
@pytest.mark.parametrize("index", range(len(TABLE)), ids=TABLE)
def test_table_matches_git(index: int, ignore_case: bool, table_answers: dict[bool, list[set[str]]]) -> None:
    assert _ours(TABLE[index], TABLE_PATHS, ignore_case=ignore_case) == table_answers[ignore_case][index]


@pytest.mark.parametrize(
    ("pattern", "matched", "unmatched"),
    [
        ("[!]a]x", ["bx", "!x"], ["]x", "ax"]),
        ("[\\]]x", ["]x"], ["\\x"]),
        ("[%-/]x", ["%x", ".x", "-x"], ["/x", "ax"]),
        ("[[:digit:]]x", ["5x"], ["ax"]),
        ("a**/b", ["ab", "ax/b", "a/b", "ax/y/b"], ["x/ab"]),
        ("***/b", ["b", "x/b", "x/y/b"], ["xb"]),
        ("*/", ["a/b"], ["a"]),
        ("a/", ["a/b", "x/a/b"], ["a"]),
        ("a\\ ", ["a "], ["a"]),
        ("a ", ["a"], ["a "]),
        (" a", [" a"], ["a"]),
        ("ab[", [], ["ab[", "ab"]),
        ("a[]b", [], ["a[]b", "a]b"]),
    ],
)
def test_issue_classes(pattern: str, matched: list[str], unmatched: list[str]) -> None:
    """The issue's examples, readable without git (the table above checks them against git)."""
    assert _ours(pattern, matched + unmatched) == set(matched)


def test_case_folding_is_git_ignore_case_and_never_narrows_a_blocked_pattern() -> None:
    assert _ours(".env", [".ENV", "x/.Env", ".env"], ignore_case=True) == {".ENV", "x/.Env", ".env"}
    assert _ours("*.pem", ["KEY.PEM"], ignore_case=True) == {"KEY.PEM"}
    assert _ours("src/auth/**", ["src/Auth/x.ts"], ignore_case=True) == {"src/Auth/x.ts"}
    # git's quirk (an upper-case bracket member or escaped letter matches nothing with ignoreCase) is not kept.
    assert _ours("[S]ecrets", ["Secrets", "secrets"], ignore_case=True) == {"Secrets", "secrets"}
    assert git_ignored(["[S]ecrets"], ["Secrets", "secrets"], ignore_case=True) == [set()]
    # ASCII only, as git folds case: the Kelvin sign is not a "k".
    assert _ours("k", ["K", "\u212a"], ignore_case=True) == {"K"}
    assert _ours(".env", [".ENV"]) == set()


# -- property-based test ---------------------------------------------------------------------------

_PATTERN_TOKENS = [
    *"*?[]!^-\\/ .ab", "aB", "**", "**/", "/**", "[!", "[^", "[]", "[:alpha:]", "[[:digit:]]", "[[:upper:]]",
    "[[:nope:]]", "[:", ":]", "\\ ", "\\\\", "\\]", "a-c", "]-a", "--", "  ", "\t", "A", "Z",
]  # fmt: skip
_PATH_CHARS = "ab.-!^[]\\*? AZ:5_\t"


def _path_like(pattern: str, rng: random.Random) -> str:
    """A path shaped by the pattern: wildcards filled in, so that a good share of paths match."""
    out = []
    for char in pattern:
        if char == "*":
            out.append(rng.choice(["", "a", "b/", "x.y", "/", "a/b"]))
        elif char == "?":
            out.append(rng.choice("ab.-]"))
        elif char == "\\":
            continue
        else:
            out.append(char)
    return _clean_path("".join(out))


def _clean_path(path: str) -> str:
    """A path git could write: no empty, "." or ".." folder, no leading or trailing slash."""
    parts = [part for part in path.split("/") if part not in ("", ".", "..")]
    return "/".join(parts) or "a"


_patterns = (
    st.lists(st.sampled_from(_PATTERN_TOKENS), min_size=1, max_size=7)
    .map("".join)
    .filter(lambda p: p.strip(" ") and not p.startswith(("#", "!")) and p.strip(" ") != "\\")
)
_paths = st.lists(st.text(alphabet=_PATH_CHARS, min_size=1, max_size=4), min_size=1, max_size=4).map(
    lambda parts: _clean_path("/".join(parts))
)

_EXAMPLES = int(os.environ.get("AIGATE_WILDMATCH_EXAMPLES", "150"))
_SEED = int(os.environ.get("AIGATE_WILDMATCH_SEED", "20260803"))
STATS = {"batches": 0, "patterns": 0, "pairs": 0, "matches": 0}


@seed(_SEED)
@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    patterns=st.lists(_patterns, min_size=24, max_size=24),
    paths=st.lists(_paths, min_size=12, max_size=12),
    salt=st.integers(0, 2**32),
)
def test_property_matches_git(patterns: list[str], paths: list[str], salt: int) -> None:
    rng = random.Random(salt)
    # Half the paths are shaped by the batch's own patterns, seeded from the table too.
    patterns = [*patterns[:-2], rng.choice(TABLE), rng.choice(TABLE)]
    paths = list(dict.fromkeys([*paths, *(_path_like(rng.choice(patterns), rng) for _ in range(8))]))
    for ignore_case in (False, True):
        referee = git_ignored([fold_for_git(p) if ignore_case else p for p in patterns], paths, ignore_case=ignore_case)
        for pattern, expected in zip(patterns, referee, strict=True):
            assert _ours(pattern, paths, ignore_case=ignore_case) == expected, (pattern, ignore_case)
            STATS["matches"] += len(expected)
        compiled = [compile_path_pattern(p, ignore_case=ignore_case) for p in patterns]
        union = set().union(*referee)
        assert {p for p in paths if re.match(combined_regex(compiled), p)} == union
        single_line = [p for p in paths if "\n" not in p]
        assert set(re.findall(lines_regex(compiled), "\n".join(single_line))) == union & set(single_line)
    STATS["batches"] += 1
    STATS["patterns"] += len(patterns)
    STATS["pairs"] += 2 * len(patterns) * len(paths)


def test_property_report() -> None:
    """Prints the size of the search (run with -s): the numbers quoted in the README."""
    print(f"\nwildmatch property test: {STATS}")


# -- the same regexes on regorus and real OPA -------------------------------------------------------


def _portability_corpus() -> list[tuple[str, list[str]]]:
    """Every table pattern, both cases, with a combined and a lines form, and the table's paths
    (plus paths holding newlines, which a single-path regex must treat as ordinary characters)."""
    paths = [*TABLE_PATHS, "cfg\nprod/.env", "a\nb", "x/a\n", "\n.env", "a/b\n/c"]
    corpus = []
    for ignore_case in (False, True):
        compiled = [compile_path_pattern(p, ignore_case=ignore_case) for p in TABLE]
        corpus += [(c.regex, paths) for c in compiled]
        corpus.append((combined_regex(compiled), paths))
    return corpus


def _python_answers(corpus: list[tuple[str, list[str]]]) -> list[list[bool]]:
    # Python's "$" also matches before a final newline, where RE2's and Rust's do not: Python is
    # asked only about paths that do not end in one.
    return [
        [re.match(regex, p) is not None if not p.endswith("\n") else None for p in paths] for regex, paths in corpus
    ]


def test_regexes_agree_on_python_and_regorus() -> None:
    import regorus

    corpus = _portability_corpus()
    engine = regorus.Engine()
    engine.add_data_json(json.dumps({"cases": [{"regex": r, "paths": p} for r, p in corpus]}))
    engine.add_policy(
        "wildmatch.rego",
        "package wildmatch\nimport rego.v1\n"
        "answers := [[regex.match(c.regex, p) | some p in c.paths] | some c in data.cases]\n",
    )
    answers = json.loads(engine.eval_rule_as_json("data.wildmatch.answers"))
    python = _python_answers(corpus)
    for (regex, paths), ours, theirs in zip(corpus, python, answers, strict=True):
        for path, mine, engine_answer in zip(paths, ours, theirs, strict=True):
            if mine is not None:
                assert mine == engine_answer, (regex, path)
    _check_lines_forms(lambda regex, text: json.loads(_regorus_find_n(regorus, regex, text)))


def _regorus_find_n(regorus_module: object, regex: str, text: str) -> str:
    engine = regorus_module.Engine()  # type: ignore[attr-defined]
    engine.add_data_json(json.dumps({"regex": regex, "text": text}))
    engine.add_policy("f.rego", "package f\nimport rego.v1\nfound := regex.find_n(data.regex, data.text, -1)\n")
    return str(engine.eval_rule_as_json("data.f.found"))


def _check_lines_forms(find_n: object) -> None:
    paths = [p for p in TABLE_PATHS if "\n" not in p]
    for ignore_case in (False, True):
        compiled = [compile_path_pattern(p, ignore_case=ignore_case) for p in TABLE]
        regex = lines_regex(compiled)
        expected = [p for p in paths if re.match(combined_regex(compiled), p)]
        assert find_n(regex, "\n".join(paths)) == expected  # type: ignore[operator]


def _opa_binary() -> str:
    found = shutil.which("opa") or str(Path.home() / ".cache/aigate-tools/bin/opa")
    assert Path(found).exists(), "the real opa binary is installed by .ci/run"
    return found


def test_regexes_agree_on_python_and_real_opa(tmp_path: Path) -> None:
    corpus = _portability_corpus()
    lines_cases = []
    paths = [p for p in TABLE_PATHS if "\n" not in p]
    for ignore_case in (False, True):
        compiled = [compile_path_pattern(p, ignore_case=ignore_case) for p in TABLE]
        lines_cases.append(
            {
                "regex": lines_regex(compiled),
                "text": "\n".join(paths),
                "expected": [p for p in paths if re.match(combined_regex(compiled), p)],
            }
        )
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"cases": [{"regex": r, "paths": p} for r, p in corpus], "lines": lines_cases}))
    policy = tmp_path / "wildmatch.rego"
    policy.write_text(
        "package wildmatch\nimport rego.v1\n"
        "answers := [[regex.match(c.regex, p) | some p in c.paths] | some c in data.cases]\n"
        "found := [regex.find_n(c.regex, c.text, -1) | some c in data.lines]\n"
    )
    # Command: opa eval --format json -d wildmatch.rego -d data.json data.wildmatch
    result = subprocess.run(
        [_opa_binary(), "eval", "--format", "json", "-d", str(policy), "-d", str(data), "data.wildmatch"],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    value = json.loads(result.stdout)["result"][0]["expressions"][0]["value"]
    for (regex, case_paths), ours, theirs in zip(corpus, _python_answers(corpus), value["answers"], strict=True):
        for path, mine, opa_answer in zip(case_paths, ours, theirs, strict=True):
            if mine is not None:
                assert mine == opa_answer, (regex, path)
    assert value["found"] == [case["expected"] for case in lines_cases]


def test_single_path_regex_reads_newlines_as_characters() -> None:
    """`cfg\\nprod/.env` is one path whose last name is `.env`; `**` and `*` cross nothing but `/`."""
    assert re.match(path_regex(".env"), "cfg\nprod/.env")
    assert re.match(path_regex("cfg*/.env"), "cfg\nprod/.env")
    assert re.match(path_regex("**/.env"), "a\nb/c/.env")
    assert not re.match(path_regex("a"), "a\nb")


def test_patterns_that_are_not_patterns_are_refused() -> None:
    for pattern in ["", "   ", "# comment", "!negated", "a\nb", "a\rb", "a\0b"]:
        with pytest.raises(ValueError):
            path_regex(pattern)


def test_compiled_pattern_keeps_the_translation() -> None:
    compiled = compile_path_pattern("*.py")
    assert isinstance(compiled, CompiledPattern) and compiled.glob is not None
    assert compiled.as_data() == {"pattern": "*.py", "regex": compiled.regex}


def test_patterns_git_accepts_load_and_evaluate(tmp_path: Path) -> None:
    """POSIX classes, `ab[`, `a[]b` and friends load, and a PR touching other files is judged normally."""

    config = tmp_path / ".ai-code-gate.yml"
    patterns = "['[[:digit:]]x', 'ab[', 'a[]b', '[[:nope:]]', 'a\\\\', '[!]]x']"
    config.write_text(f"policy:\n  apply_to_human: true\n  blocked_patterns: {patterns}\n")
    diff = tmp_path / "pr.diff"
    diff.write_text("diff --git a/README.md b/README.md\nindex 1111111..2222222 100644\n--- a/README.md\n"
                    "+++ b/README.md\n@@ -1 +1 @@\n-a\n+b\n")  # fmt: skip
    result = run_cli("evaluate", "--config", config, "--diff", diff)
    assert (result.code, result.stderr) == (0, "")
    blocked = tmp_path / "blocked.diff"
    blocked.write_text(diff.read_text().replace("README.md", "7x"))
    result = run_cli("evaluate", "--config", config, "--diff", blocked)
    assert result.code == 1 and json.loads(result.stdout)["violations"][0]["message"] == (
        "7x matches blocked pattern [[:digit:]]x, [!]]x"
    )


_AWKWARD_NAMES = [
    "a b", "trailing ", " leading", "!bang", "#hash", "x#y", "[odd]", "ab[", "a]b", "back\\slash", "st*r", "q?",
    "tab\there", "  ", "dé.yml", "x/!y", "x/#y", "dir /f", "a\\ b",
]


@pytest.mark.parametrize("ignore_case", [False, True], ids=["case-sensitive", "ignore-case"])
def test_escaped_names_match_themselves_alone(ignore_case: bool) -> None:
    # A literal path written as a pattern (gate protection's CI definitions and config-named files): git matches
    # it, and nothing else of the awkward names, and so does aigate's translation.
    patterns = ["/" + escape_pattern(name) for name in _AWKWARD_NAMES]
    answers = git_ignored(patterns, _AWKWARD_NAMES, ignore_case=ignore_case)
    for name, pattern, by_git in zip(_AWKWARD_NAMES, patterns, answers, strict=True):
        assert name in by_git and len(by_git) == 1, pattern
        regex = compile_path_pattern(pattern, ignore_case=ignore_case).regex
        assert {n for n in _AWKWARD_NAMES if re.search(regex, n)} == by_git, pattern
