"""aigate's own secret check of the added lines (detect-secrets as a library), on by default."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.document import build_input_document
from aigate.scanning import ScanningOptions

KEY_ID = "AKIAZ3MSJV4WWNKWW5FG"
TOKEN = "ghp_R8x2Kq9ZmT4vLw7NcY3pBf6HjD1sGa5Ue0Xi"
DIFF = (
    "diff --git a/app/settings.py b/app/settings.py\nindex 1111111..2222222 100644\n"
    "--- a/app/settings.py\n+++ b/app/settings.py\n@@ -1,2 +1,4 @@\n import os\n"
    f'+AWS_ACCESS_KEY_ID = "{KEY_ID}"\n+GITHUB = "{TOKEN}"\n DEBUG = False\n'
)
PR = {"labels": ["ai-generated"]}


def test_added_secrets_found_and_redacted() -> None:
    document = build_input_document(diff=DIFF)
    own = [f for f in document.findings if f.tool == "aigate"]
    assert {(f.rule_id, f.line) for f in own} >= {("AWS Access Key", 2), ("GitHub Token", 3)}
    assert all(f.category == "secret" and f.introduced and f.secret_hash for f in own)
    dumped = document.model_dump_json()
    assert KEY_ID not in dumped and TOKEN not in dumped
    assert [(r.tool, r.categories) for r in document.scans] == [("aigate", ("secret",))]


def test_removed_and_context_lines_are_not_scanned() -> None:
    removed = DIFF.replace("+AWS", "-AWS").replace("+GITHUB", " GITHUB").replace("@@ -1,2 +1,4 @@", "@@ -1,4 +1,3 @@")
    assert [f for f in build_input_document(diff=removed).findings if f.tool == "aigate"] == []


def test_an_ai_pr_adding_a_key_is_blocked_by_default() -> None:
    decision = Gate().evaluate(pr=PR, diff=DIFF)
    assert decision.outcome == "block"
    assert {v.rule for v in decision.violations} >= {"secret_detected"}
    assert KEY_ID not in decision.model_dump_json() and TOKEN not in decision.model_dump_json()


def test_switched_off() -> None:
    assert build_input_document(diff=DIFF, scanning=ScanningOptions(builtin_secrets=False)).findings == ()
    gate = Gate(config_from_mapping({"scanning": {"builtin_secrets": {"enabled": False}}}))
    assert gate.input_document(diff=DIFF).findings == ()
    assert json.loads(gate.input_document(diff=DIFF).model_dump_json())["scans"] == []


def _many_lines_diff(lines: int, secret_at: int) -> str:
    added = [f'+VALUE_{n} = "{KEY_ID}"' if n == secret_at else f"+value_{n} = {n}" for n in range(1, lines + 1)]
    return (
        "diff --git a/app/big.py b/app/big.py\nnew file mode 100644\nindex 0000000..2222222\n"
        f"--- /dev/null\n+++ b/app/big.py\n@@ -0,0 +1,{lines} @@\n" + "\n".join(added) + "\n"
    )


def test_budget_bounds_the_check_and_the_rest_is_never_clean() -> None:
    """Past scanning.builtin_secrets.max_added_lines nothing is read: the key on line 25 is not found, the
    report says 20 lines went unchecked, and the policy refuses to call that clean."""
    diff = _many_lines_diff(30, secret_at=25)
    gate = Gate(config_from_mapping({"scanning": {"builtin_secrets": {"max_added_lines": 10}}}))
    document = gate.input_document(pr=PR, diff=diff)
    assert [f for f in document.findings if f.tool == "aigate"] == []
    assert [(r.format, r.unchecked_lines) for r in document.scans] == [("builtin-secrets", 20)]
    decision = gate.evaluate(document)
    incomplete = [v for v in decision.violations if v.rule == "secret_check_incomplete"]
    assert [(v.layer, v.blocking) for v in incomplete] == [("scanning", True)]
    assert "20 added lines" in incomplete[0].message and decision.outcome == "block"


def test_within_the_budget_every_line_is_read_and_nothing_is_unchecked() -> None:
    diff = _many_lines_diff(30, secret_at=25)
    gate = Gate(config_from_mapping({"scanning": {"builtin_secrets": {"max_added_lines": 30}}}))
    document = gate.input_document(pr=PR, diff=diff)
    assert [(f.rule_id, f.line) for f in document.findings if f.tool == "aigate"] == [("AWS Access Key", 25)]
    assert "unchecked_lines" not in json.loads(document.model_dump_json())["scans"][0]  # left out while 0
    assert "secret_check_incomplete" not in {v.rule for v in gate.evaluate(document).violations}


def test_a_secret_scanners_report_covers_what_the_budget_left(tmp_path: Path) -> None:
    report = tmp_path / "gitleaks.json"
    report.write_text("[]")
    gate = Gate(config_from_mapping({"scanning": {"builtin_secrets": {"max_added_lines": 10}}}))
    decision = gate.evaluate(pr=PR, diff=_many_lines_diff(30, secret_at=25), scans=[f"gitleaks={report}"])
    assert "secret_check_incomplete" not in {v.rule for v in decision.violations}


# Lines that trip each kind of detect-secrets plugin and filter: keys and tokens, private keys, URLs with
# passwords, high-entropy strings, keyword assignments, allowlist pragmas, templates and indirect references.
_SECRET_SHAPED = [
    f'AWS_ACCESS_KEY_ID = "{KEY_ID}"', f"token: {TOKEN}", "-----BEGIN RSA PRIVATE KEY-----",
    "url = 'https://user:s3cr3tP4ss@example.com/x'", 'password = "hunter2hunter2"', "api_key = 'x' * 3",
    'secret = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4"',
    'x = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"',
    f'allowed = "{KEY_ID}"  # pragma: allowlist secret', "password = ${PASSWORD}", "password = get_password()",
    "# pragma: allowlist nextline secret", f'next_line = "{KEY_ID}"',
    f'whitelisted = "{KEY_ID}"  // pragma: whitelist secret', f'not_allowed = "{KEY_ID}"  # pragma allowlist',
    "xoxb-123456789012-1234567890123-abcdefghijABCDEFGHIJklmn", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    'jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"',
    "const apiKey = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI';", "password: abcdefgh12345678",
]


def test_the_faster_loop_finds_what_detect_secrets_own_loop_finds() -> None:
    """`_LineSecrets` against detect-secrets' `_process_line_based_plugins`, on the project's own code (real
    code, and tests full of fake keys) and secret-shaped lines, with sparse line numbers as a diff gives."""
    from detect_secrets.core.scan import _process_line_based_plugins

    from aigate.scanning import _LineSecrets, detect_secrets_settings

    root = Path(__file__).resolve().parent.parent
    files = {str(path.relative_to(root)): path.read_text().splitlines() for path in sorted(root.glob("[at]*/**/*.py"))}
    files["config/settings.env"] = _SECRET_SHAPED
    files["src/app.ts"] = [f"  {line}" for line in _SECRET_SHAPED]
    files["deploy/values.yaml"] = [f"key: {line}" for line in _SECRET_SHAPED] + _SECRET_SHAPED

    def secrets(scan: object, numbered: list[tuple[int, str]], path: str) -> list[tuple[str, int, str | None]]:
        found = scan(numbered, path)  # type: ignore[operator]
        return [(s.type, s.line_number, s.secret_value) for s in found]

    compared = found = 0
    with detect_secrets_settings():
        line_secrets = _LineSecrets()
        for path, lines in files.items():
            numbered = [(3 * n + 1, text) for n, text in enumerate(lines)]  # numbers of added lines: sparse
            expected = secrets(lambda n, p: _process_line_based_plugins(n, filename=p), numbered, path)
            assert secrets(line_secrets, numbered, path) == expected, path
            compared += len(numbered)
            found += len(expected)
    assert compared > 20_000 and found > 50  # the comparison covered real code and real findings


def test_the_allowlist_filter_runs_only_where_its_word_is() -> None:
    """Every regex of detect-secrets' allowlist filter needs "pragma" (checked when the check binds it): a line
    without it, and whose previous line is without it, is never allowlisted, and the filter is not run on it.
    Lines with it are still judged by the filter itself (the comparison above holds the results equal)."""
    from detect_secrets.filters.allowlist import _get_allowlist_regexes_for_file

    from aigate.scanning import _allowlist_word

    assert _allowlist_word() == "pragma"
    for filename in ("x.py", "x.yaml"):
        for regexes in _get_allowlist_regexes_for_file(filename):
            assert all(regex.search("key = 1  # allowlist secret") is None for regex in regexes)


# Lines rich in what the indirect-reference regex turns on: assignments and comparisons, brackets, words, dots
# and dashes, white space (a vertical tab is a line break to it), and lengths on both sides of the 1,000
# characters past which detect-secrets does not search.
_REFERENCE_ALPHABET = st.sampled_from([*"=!:([]){}.-_ \t\v\"'`,;aZ09é", "==", "!==", ":=", "get(", "x[0]", " = "])
_REFERENCE_LINES = st.one_of(
    st.lists(_REFERENCE_ALPHABET, max_size=40).map("".join),
    st.tuples(st.integers(990, 1010), _REFERENCE_ALPHABET).map(lambda n_s: (n_s[1] * n_s[0])[: n_s[0]]),
    st.tuples(st.integers(0, 1100), st.lists(_REFERENCE_ALPHABET, max_size=8).map("".join)).map(
        lambda n_s: "a" * n_s[0] + n_s[1] + " = f(x)"
    ),
)


@seed(20261204)
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(_REFERENCE_LINES)
def test_the_indirect_reference_check_answers_as_detect_secrets(line: str) -> None:
    """The faster indirect-reference filter (its regex without the two leading parts that may match nothing)
    gives detect-secrets' answer on generated lines, real code and secret-shaped lines."""
    from detect_secrets.filters.heuristic import is_indirect_reference

    from aigate.scanning import _indirect_reference_check

    check = _indirect_reference_check()
    assert check is not None  # detect-secrets 1.5's regex: the faster check is the one in use
    assert check(line) == is_indirect_reference(line)


def test_the_indirect_reference_check_answers_as_detect_secrets_on_real_code() -> None:
    from detect_secrets.filters.heuristic import is_indirect_reference

    from aigate.scanning import _indirect_reference_check

    check = _indirect_reference_check()
    assert check is not None
    root = Path(__file__).resolve().parent.parent
    lines = [line for path in sorted(root.glob("[at]*/**/*.py")) for line in path.read_text().splitlines()]
    lines += _SECRET_SHAPED
    answers = [(check(line), is_indirect_reference(line)) for line in lines]
    assert all(mine == theirs for mine, theirs in answers)
    assert len(answers) > 20_000 and 1_000 < sum(theirs for _, theirs in answers) < len(answers) - 1_000


def test_the_keyword_detector_is_asked_only_about_lines_with_a_keyword() -> None:
    """KeywordDetector runs only on lines holding one of its keywords in some case (every regex it can use has
    them as a part); on lines with them in odd cases, in every file type's regexes, it finds what it finds in
    detect-secrets' own loop, and a line without one is never asked."""
    from detect_secrets.core.scan import _process_line_based_plugins

    from aigate.scanning import _keyword_regex, _LineSecrets, detect_secrets_settings

    keywords = _keyword_regex()
    assert keywords is not None and keywords.search("no such word here") is None
    values = ["hunter2hunter2x", "Zq8#mK2$vL9pQ4wE", "s3cr3t-V4lu3"]
    shapes = ['{k} = "{v}"', "{k}: {v}", '{k} := "{v}"', '"{v}" == {k}', '{k} => "{v}";', '{k}("{v}");',
              'my_{k}_old != "{v}"', "{k}[] = @\"{v}\";", '{k} "{v}";']  # fmt: skip
    words = ["password", "PassWord", "API_KEY", "apikey", "Db_Pass", "CONTRASEÑA", "contrasena", "Secret",
             "private_key", "pwd", "clave", "pass_word"]  # fmt: skip
    lines = [shape.format(k=k, v=v) for shape in shapes for k in words for v in values]
    found = 0
    with detect_secrets_settings():
        line_secrets = _LineSecrets()
        for path in ("a.py", "a.go", "a.yaml", "a.c", "a.cpp", "A.java", "a.txt", "a.cls", "a.tf", "a.ini"):
            numbered = list(enumerate(lines, 1))
            expected = [(s.type, s.line_number, s.secret_value)
                        for s in _process_line_based_plugins(numbered, filename=path)]  # fmt: skip
            assert [(s.type, s.line_number, s.secret_value) for s in line_secrets(numbered, path)] == expected, path
            found += sum(kind == "Secret Keyword" for kind, _, _ in expected)
    assert found > 100  # the keyword regexes did find secrets in these lines


def test_plugins_that_only_look_for_their_regexes_are_asked_only_where_one_is_found() -> None:
    """detect-secrets' plain regex plugins (RegexBasedDetector as is, fixed regexes) yield what `findall` finds:
    on a line where none of their regexes is found only the others are asked. A plugin that changes how it
    reads a line is always asked. (The loops' comparison above holds what they find equal.)"""
    from collections.abc import Iterator

    from detect_secrets.plugins.aws import AWSKeyDetector

    from aigate.scanning import _LineSecrets, _only_regexes, detect_secrets_settings

    class Reworded(AWSKeyDetector):
        def analyze_string(self, string: str) -> Iterator[str]:
            yield from super().analyze_string(string.upper())

    with detect_secrets_settings():
        line_secrets = _LineSecrets()
        asked_always = sorted(type(plugin).__name__ for plugin, _, _ in line_secrets._not_plain)
        assert asked_always == [
            "Base64HighEntropyString", "HexHighEntropyString", "JwtTokenDetector", "KeywordDetector"
        ]  # fmt: skip
        assert len(line_secrets._plain_regexes) > 30
        assert _only_regexes(AWSKeyDetector()) and not _only_regexes(Reworded())
        found = [s.type for s in line_secrets([(1, f"aws = {KEY_ID}"), (2, "nothing = here")], "a.py")]
        assert found == ["AWS Access Key"]


def _plain_regexes() -> list[re.Pattern[str]]:
    from aigate.scanning import _LineSecrets, detect_secrets_settings

    with detect_secrets_settings():
        return list(_LineSecrets()._plain_regexes)


def test_each_plain_regex_is_searched_only_where_its_required_text_is() -> None:
    """`_required_text`: every string holding a match of the regex holds the text (hypothesis writes strings
    that match each regex, with text around them); the regexes that ignore case have none."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from aigate.scanning import _required_text

    regexes = _plain_regexes()
    texts = {regex.pattern: _required_text(regex) for regex in regexes}
    assert sum(text is not None and len(text) >= 3 for text in texts.values()) >= 20
    assert all(texts[regex.pattern] is None for regex in regexes if regex.flags & re.IGNORECASE)
    assert _required_text(re.compile("(?:x|y)ab[0-9]+cde")) == "cde"
    assert _required_text(re.compile("a|bc")) is None and _required_text(re.compile("a?b")) == "b"
    with_text = [(regex, text) for regex in regexes if (text := texts[regex.pattern]) is not None]
    assert len(with_text) >= 20

    @settings(max_examples=3000, derandomize=True, suppress_health_check=list(HealthCheck), deadline=None)
    @given(st.sampled_from(with_text).flatmap(lambda pair: st.tuples(st.just(pair), st.from_regex(pair[0]))))
    def holds(generated: tuple[tuple[re.Pattern[str], str], str]) -> None:
        (regex, text), string = generated
        assert regex.search(string)
        assert text in string

    holds()


def test_the_searches_answer_as_every_regex_on_real_code() -> None:
    """`_found_by_regex` (the lowered texts on a line of ASCII, the texts as written on any other) answers as
    searching every plain regex does, on real code and secret-shaped lines, as written, in upper case and with a
    character outside ASCII that changes case (the Kelvin sign, which ignoring case takes for a k)."""
    from aigate.scanning import _LineSecrets, detect_secrets_settings

    root = Path(__file__).resolve().parent.parent
    lines = [line for path in sorted(root.glob("[at]*/**/*.py")) for line in path.read_text().splitlines()]
    lines += _SECRET_SHAPED + [f"  {line}  " for line in _SECRET_SHAPED]
    lines += [line.upper() for line in _SECRET_SHAPED] + [f"{line} \u212a" for line in _SECRET_SHAPED]
    lines += ["secret_\u212aey = 1", "aws_\u212aey = 'AKIAZ3MSJV4WWNKWW5FG'", "slac\u212a xoxb-1-x"]
    with detect_secrets_settings():
        line_secrets = _LineSecrets()
    found = 0
    for line in lines:
        expected = any(regex.search(line) for regex in line_secrets._plain_regexes)
        assert line_secrets._found_by_regex(line, line.lower() if line.isascii() else None) == expected, line
        found += expected
    assert found >= 10


def test_a_lowered_match_holds_one_of_the_necessary_texts() -> None:
    """`_necessary_texts`: a string of ASCII that holds a match of the regex (hypothesis writes them, in every case
    the regex allows, with text around them) holds one of its texts once lowered, for regexes that ignore case,
    that put their texts in groups, repeats and alternations too."""
    from aigate.scanning import _necessary_texts

    regexes = _plain_regexes()
    with_texts = [(regex, texts) for regex in regexes if (texts := _necessary_texts(regex)) is not None]
    assert sum(bool(regex.flags & re.IGNORECASE) for regex, _ in with_texts) >= 8
    assert len(with_texts) == len(regexes)
    assert _necessary_texts(re.compile("(?i)x[0-9]ABC")) == ("abc",) and _necessary_texts(re.compile("é")) is None
    assert _necessary_texts(re.compile("(ghp|gho)_x")) == ("gh",)
    assert _necessary_texts(re.compile("ab(?:key|pass|)c")) == ("ab",)
    assert _necessary_texts(re.compile("x(?:keys|token)+y")) == ("keys", "token")
    assert _necessary_texts(re.compile("(?:abc)?d")) == ("d",) and _necessary_texts(re.compile("(?:abc)*")) is None

    @settings(max_examples=3000, derandomize=True, suppress_health_check=list(HealthCheck), deadline=None)
    @given(st.sampled_from(with_texts).flatmap(lambda pair: st.tuples(st.just(pair), st.from_regex(pair[0]))))
    def holds(generated: tuple[tuple[re.Pattern[str], tuple[str, ...]], str]) -> None:
        (regex, texts), string = generated
        assert regex.search(string)
        if string.isascii():
            assert any(text in string.lower() for text in texts)

    holds()


@seed(20261206)
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.sets(st.text("ab.-'_", min_size=1, max_size=4), min_size=1, max_size=12), st.text("ab.-'_ x", max_size=20))
def test_the_trie_of_texts_matches_where_one_of_them_is(texts: set[str], line: str) -> None:
    from aigate.scanning import _trie_regex

    assert (re.search(_trie_regex(texts), line) is not None) == any(text in line for text in texts)


def test_a_line_that_holds_no_plugin_text_is_skipped_whole() -> None:
    """With detect-secrets 1.5 every plugin has texts one of which a line it finds anything in holds: a line of
    ASCII without any (lowered) is skipped before its filters; lines with one are read as before (the comparison
    with detect-secrets' own loop above holds what they find equal)."""
    from aigate.scanning import _LineSecrets, detect_secrets_settings

    with detect_secrets_settings():
        line_secrets = _LineSecrets()
        may_hold = line_secrets._may_hold_a_finding
        assert may_hold is not None
        seen: list[str] = []
        line_secrets._line_filters = [lambda values: bool(seen.append(str(values["line"])))]  # type: ignore[list-item]
        lines = ["total = count + 1", "x = compute(0, 1)", f"KEY = {KEY_ID}", 'name = "x"', "PASSWORD: 1", "é = 1"]
        found = [s.type for s in line_secrets(list(enumerate(lines, 1)), "a.py")]
    assert seen == lines[2:]
    assert found == ["AWS Access Key"]


_KEYWORD_PIECES = st.sampled_from(
    ["pass", "PASS", "Word", "wd", "api", "_", "KEY", "key", "secret", "SeCrEt", "ecret", "db", "contrase", "ña", "ÑA",
     "sena", "\u212a", "\u017f", "ı", "İ", " ", "=", "x", "priv", "ate", "auth", "serv", "ice", "acc", "ount", "client"]
)  # fmt: skip


@seed(20261205)
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(_KEYWORD_PIECES, max_size=8).map("".join))
def test_the_keyword_gate_answers_as_the_keywords_ignoring_case(line: str) -> None:
    """The keyword gate (a lowered search of a line of ASCII) answers as KeywordDetector's words ignoring case,
    on lines of pieces of them in odd cases, and letters outside ASCII that ignoring case takes for ASCII ones."""
    keywords, gate = _keywords_and_gate()
    assert gate(line) == (keywords.search(line) is not None)


def test_the_keyword_gate_searches_as_written_only_words_no_other_case_can_reach() -> None:
    """Words with a letter that ignoring case takes for an ASCII one (the long s for an s) are searched as they
    are, ignoring case, on every line."""
    from aigate.scanning import _keyword_gate

    gate = _keyword_gate(re.compile("\u017fecret|pass", re.IGNORECASE))
    assert gate("SECRET = 1") and gate("x = Pass") and not gate("nothing here")


@functools.cache
def _keywords_and_gate() -> tuple[re.Pattern[str], Callable[[str], bool]]:
    from aigate.scanning import _keyword_gate, _keyword_regex

    keywords = _keyword_regex()
    assert keywords is not None
    return keywords, _keyword_gate(keywords)


def test_a_plugin_is_asked_only_about_lines_its_gate_passes() -> None:
    """Every plugin other than the plain regex ones has a gate (what a line must hold for it to find anything): the
    high-entropy ones a quote, JwtTokenDetector `eyJ`, KeywordDetector a keyword; the plain ones are asked only
    where one of their regexes is. A line that passes none is asked of no plugin."""
    from aigate.scanning import _LineSecrets, _starts_with_a_quote, detect_secrets_settings

    asked: dict[str, set[str]] = {}

    def recording(name: str, analyze: Callable[[dict[str, object]], object]) -> Callable[[dict[str, object]], object]:
        def call(values: dict[str, object]) -> object:
            asked.setdefault(str(values["line"]), set()).add(name)
            return analyze(values)

        return call

    with detect_secrets_settings():
        line_secrets = _LineSecrets()
        others = {id(plugin) for plugin, _, _ in line_secrets._not_plain}
        assert all(gate is not None for _, _, gate in line_secrets._not_plain)
        assert all(_starts_with_a_quote(plugin.regex) for plugin, _, _ in line_secrets._not_plain
                   if "HighEntropy" in type(plugin).__name__)  # fmt: skip
        line_secrets._gated = [(plugin, recording(type(plugin).__name__, analyze), gate)  # type: ignore[arg-type]
                               for plugin, analyze, gate in line_secrets._gated]  # fmt: skip
        line_secrets._not_plain = [entry for entry in line_secrets._gated if id(entry[0]) in others]
        lines = ["total = count + 1", 'name = "x"', 'password = "Zq8#mK2$vL9pQ4wE"', "t = eyJhbGciOi.x.y",
                 f"key = {KEY_ID}"]  # fmt: skip
        found = [s.type for s in line_secrets(list(enumerate(lines, 1)), "a.py")]
    entropy = {"Base64HighEntropyString", "HexHighEntropyString"}
    assert asked.keys() == set(lines[1:])
    assert asked['name = "x"'] == entropy
    assert asked['password = "Zq8#mK2$vL9pQ4wE"'] == entropy | {"KeywordDetector"}
    assert asked["t = eyJhbGciOi.x.y"] == {"JwtTokenDetector"}
    key_line = asked[f"key = {KEY_ID}"]
    assert "AWSKeyDetector" in key_line and not key_line & (entropy | {"KeywordDetector"})
    assert found == ["Secret Keyword", "AWS Access Key"]


def test_checks_in_many_threads_each_find_what_one_finds_alone() -> None:
    """detect-secrets' settings are the process's: checks in several threads at once (a bot's pool) each find the
    key, with none failing. Threads are switched as often as the interpreter allows, so that any check's settings
    would be changed under another's."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from aigate.scanning import builtin_secret_findings
    from aigate.sources.added_lines import read_diff_lines

    diff = (
        "diff --git a/a.py b/a.py\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/a.py\n"
        f"@@ -0,0 +1,2 @@\n+x = 1\n+key = '{KEY_ID}'\n"
    )

    def found(_: int) -> list[str]:
        return [f.rule_id for f in builtin_secret_findings(read_diff_lines(diff))[0]]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(found, range(400)))
    finally:
        sys.setswitchinterval(interval)
    assert results == [["AWS Access Key"]] * 400
