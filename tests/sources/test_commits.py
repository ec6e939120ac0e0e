"""`parse_trailers` gives git's own answers: every message of the table is also run through the real
`git interpret-trailers --no-divider` (`--parse`, and `--only-trailers` unfolded here): a commit
message is not a patch, so a `---` line does not end it; `load_commits` accepts
aigate's and GitHub's forms and names what is wrong, and where, in one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from aigate.errors import CommitsError
from aigate.models import Commit, Person, Trailer
from aigate.sources.commits import load_commits, load_commits_file, parse_trailers

CLAUDE = "Claude <noreply@anthropic.com>"

# (id, message, how many trailers git finds). The count only guards the harness: the trailers
# themselves are compared with git's output.
MESSAGES = [
    ("co-authored-by", f"Fix token refresh\n\nCo-authored-by: {CLAUDE}\n", 1),
    ("claude-code-capitalised", f"Fix token refresh\n\nBody.\n\nCo-Authored-By: {CLAUDE}\n", 1),
    (
        "co-authored-by-spaced-lowercase",
        "Fix\n\nco-authored-by :  Devin AI"
        " <158243242+devin-ai-integration[bot]@users.noreply.github.com>  \n",
        1,
    ),
    (
        "no-space-after-colon-and-empty-value",
        "Fix\n\nCo-authored-by:Copilot <c@github.com>\nReviewed-by:\n",
        2,
    ),
    (
        "multiple-trailers",
        "Add login rate limit\n\nLimits attempts per IP.\n\n"
        f"Signed-off-by: Alice <alice@example.com>\nCo-authored-by: {CLAUDE}\n"
        "Co-authored-by: Bob <bob@example.com>\nReviewed-by: Carol <carol@example.com>\n",
        4,
    ),
    (
        "continuation-lines",
        "Fix\n\nCo-authored-by: Claude\n <noreply@anthropic.com>\nNote: a long\n  value over\n\tthree lines\n"
        "Signed-off-by:\n\t\n",
        3,
    ),
    ("trailers-not-in-last-paragraph", f"Fix\n\nCo-authored-by: {CLAUDE}\n\nA closing remark.\n", 0),
    (
        "one-trailer-among-three-plain-lines",
        f"Fix\n\nplain one\nplain two\nplain three\nCo-authored-by: {CLAUDE}\n",
        0,
    ),
    (
        "signed-off-by-makes-25-percent-count",
        "Fix\n\nplain one\nplain two\nplain three\nSigned-off-by: Alice <alice@example.com>\n",
        1,
    ),
    (
        "signed-off-by-below-25-percent",
        "Fix\n\nplain one\nplain two\nplain three\nplain four\nSigned-off-by: Alice <alice@example.com>\n",
        0,
    ),
    (
        "lone-plain-line-in-block-with-signed-off-by",
        f"Fix\n\nCo-authored-by: {CLAUDE}\nnot a trailer at all\nSigned-off-by: Alice <alice@example.com>\n",
        2,
    ),
    (
        "cherry-picked-line-counts-but-is-not-printed",
        "Fix\n\nplain one\nplain two\nKey: v\n(cherry picked from commit 0123456789abcdef)\n",
        1,
    ),
    ("crlf", f"Fix\r\n\r\nBody.\r\n\r\nCo-authored-by: {CLAUDE}\r\nSigned-off-by: A <a@x>\r\n", 2),
    ("crlf-continuation-keeps-the-cr", "Fix\r\n\r\nNote: first\r\n  second\r\n", 1),
    (
        "dashes-line-inside-the-trailer-block",
        f"Fix\n\nCo-authored-by: {CLAUDE}\n---\n src/auth.py | 2 +-\n Key: not a trailer\n",
        0,
    ),
    ("trailer-after-a-markdown-rule", f"Fix\n\nBody.\n---\n\nCo-authored-by: {CLAUDE}\n", 1),
    (
        "squash-merge-with-rules-and-trailers",
        "Add hint (#14787)\n\nFixes #14730.\n\n---\n\nTips.\n\n---------\n\n"
        "Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>\n"
        "Co-authored-by: zanieb <2586601+zanieb@users.noreply.github.com>\n",
        2,
    ),
    ("dashes-without-whitespace-are-no-divider", f"Fix\n\n---x\n\nCo-authored-by: {CLAUDE}\n", 1),
    (
        "comment-lines",
        f"Fix\n\nA: 1\n# a comment: inside\nCo-authored-by: {CLAUDE}\n# Please enter the commit message\n",
        2,
    ),
    (
        "scissors-line",
        "Fix\n\nA: b\n# ------------------------ >8 ------------------------\ndiff --git a/x b/x\nB: c\n",
        1,
    ),
    ("old-conflicts-block-is-ignored", "Fix\n\nA: b\n\nConflicts:\n\tsrc/auth.py\n", 1),
    (
        "replit-agent",
        "Published your App\n\nReplit-Commit-Author: Agent\n"
        "Replit-Commit-Session-Id: 5f2c1e4a-8d4b-4f0e-9a51-3c7d2b1e0f6a\n",
        2,
    ),
    (
        "linux-assisted-by",
        "Fix\n\nAssisted-by: Claude:claude-3-opus\nAssisted-by: X:Y\nSigned-off-by: A <a@x>\n",
        3,
    ),
    ("whitespace-inside-key-is-not-a-trailer", f"Fix\n\nSee also: x\nCo-authored-by: {CLAUDE}\n", 0),
    ("non-ascii-value", "Fix\n\nCo-authored-by: José Müller <jose@example.com>\n", 1),
    ("non-ascii-key-is-not-a-trailer", "Fix\n\nClé: valeur\n", 0),
    ("title-only-looks-like-a-trailer", f"Co-authored-by: {CLAUDE}\n", 0),
    ("trailing-blank-lines", "Fix\n\nA: b\n\n\n   \n", 1),
    ("git-stops-at-nul", "Fix\n\nA: b\0\nB: c\n", 1),
    ("no-trailers", "Fix the login bug\n\nThe token was not refreshed.\n", 0),
    ("empty-message", "", 0),
]

GIT_SPACE = " \t\n\r"


def interpret_trailers(message: str, flag: str, cwd: Path) -> str:
    """The real `git interpret-trailers`, outside any repository and with no config at all."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(cwd),
        "LC_ALL": "C",
    }
    result = subprocess.run(
        ["git", "interpret-trailers", "--no-divider", flag],
        input=message.encode("utf-8"),
        capture_output=True,
        cwd=cwd,
        env=environment,
        check=True,
        timeout=30,
    )
    return result.stdout.decode("utf-8")


def printed_pairs(output: str) -> list[tuple[str, str]]:
    """git prints each trailer as `Key: value`; a line starting with whitespace continues a value.
    Split at "\\n" only: a value may hold a "\\r"."""
    entries: list[str] = []
    for line in output.split("\n")[:-1]:
        if entries and line[:1] in tuple(GIT_SPACE):
            entries[-1] += "\n" + line
        else:
            entries.append(line)
    pairs = []
    for entry in entries:
        key, separator, value = entry.partition(": ")
        assert separator, f"unexpected git output line {entry!r}"
        pairs.append((key, value))
    return pairs


def unfolded(value: str) -> str:
    """What `--unfold` does: a newline and the whitespace after it become one space."""
    return re.sub(r"\n[ \t\n\r]*", " ", value).strip(GIT_SPACE)


@pytest.mark.parametrize(
    ("message", "count"), [case[1:] for case in MESSAGES], ids=[case[0] for case in MESSAGES]
)
def test_parse_trailers_matches_git(message: str, count: int, tmp_path: Path) -> None:
    ours = [(trailer.key, trailer.value) for trailer in parse_trailers(message)]

    parsed = printed_pairs(interpret_trailers(message, "--parse", tmp_path))
    assert ours == parsed
    only_trailers = printed_pairs(interpret_trailers(message, "--only-trailers", tmp_path))
    assert ours == [(key, unfolded(value)) for key, value in only_trailers]
    assert len(ours) == count


def test_claude_code_trailer_keeps_its_written_case() -> None:
    message = f"Fix token refresh\n\nCo-Authored-By: {CLAUDE}\n"
    assert parse_trailers(message) == (Trailer(key="Co-Authored-By", value=CLAUDE),)


def test_continuation_lines_are_folded_into_one_value() -> None:
    message = "Fix\n\nNote: a long\n  value over\n\tthree lines\nSigned-off-by: A <a@x>\n"
    assert parse_trailers(message) == (
        Trailer(key="Note", value="a long value over three lines"),
        Trailer(key="Signed-off-by", value="A <a@x>"),
    )


def test_table_covers_git_behaviour_worth_pinning() -> None:
    """Guards the table itself: the cases are distinct and enough of them do find trailers."""
    assert len({case[1] for case in MESSAGES}) == len(MESSAGES) >= 15
    assert sum(1 for case in MESSAGES if case[2]) >= 10


# --- load_commits ---------------------------------------------------------------------------------

GENERIC_COMMIT = {
    "sha": "a" * 40,
    "author": {"name": "Alice", "email": "alice@example.com"},
    "committer": {"name": "GitHub", "email": "noreply@github.com"},
    "message": f"Fix token refresh\n\nCo-authored-by: {CLAUDE}\n",
}


def github_commit(sha: str, message: str, author: dict[str, str] | None = None) -> dict[str, object]:
    """One item of GitHub's "list commits on a pull request" response, trimmed but with its extras."""
    return {
        "sha": sha,
        "node_id": "C_kwDOAJy2KNoAKGE",
        "commit": {
            "author": author
            or {"name": "Claude", "email": "noreply@anthropic.com", "date": "2025-05-01T10:00:00Z"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": "2025-05-01T10:00:01Z"},
            "message": message,
            "tree": {"sha": "b" * 40, "url": "https://api.github.com/repos/o/r/git/trees/" + "b" * 40},
            "url": "https://api.github.com/repos/o/r/git/commits/" + sha,
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "url": "https://api.github.com/repos/o/r/commits/" + sha,
        "html_url": "https://github.com/o/r/commit/" + sha,
        "comments_url": "https://api.github.com/repos/o/r/commits/" + sha + "/comments",
        "author": None,
        "committer": {"login": "web-flow", "id": 19864447, "type": "User"},
        "parents": [{"sha": "c" * 40, "url": "https://api.github.com/repos/o/r/commits/" + "c" * 40}],
    }


def test_generic_form_parses_trailers_from_the_message() -> None:
    assert load_commits([GENERIC_COMMIT]) == (
        Commit(
            sha="a" * 40,
            author=Person(name="Alice", email="alice@example.com"),
            committer=Person(name="GitHub", email="noreply@github.com"),
            message=GENERIC_COMMIT["message"],
            trailers=(Trailer(key="Co-authored-by", value=CLAUDE),),
        ),
    )


def test_generic_form_keeps_given_trailers() -> None:
    given = {**GENERIC_COMMIT, "message": "Fix\n", "trailers": [{"key": "Assisted-by", "value": "X:Y"}]}
    (commit,) = load_commits([given])
    assert commit.trailers == (Trailer(key="Assisted-by", value="X:Y"),)


def test_given_trailers_add_to_the_message_and_cannot_hide_it() -> None:
    """An explicit empty list does not hide the message's trailers; a given one is added after them."""
    (hidden,) = load_commits([{**GENERIC_COMMIT, "trailers": []}])
    assert hidden.trailers == (Trailer(key="Co-authored-by", value=CLAUDE),)
    extra = {"key": "Assisted-by", "value": "Claude:claude-opus-4-5"}
    (added,) = load_commits([{**GENERIC_COMMIT, "trailers": [extra]}])
    assert added.trailers == (Trailer(key="Co-authored-by", value=CLAUDE), Trailer(**extra))
    # The same holds for a commit inside a ready input document.
    from aigate.document import load_input_document

    document = load_input_document({"files": [], "commits": [{**GENERIC_COMMIT, "trailers": []}]})
    assert document.commits[0].trailers == (Trailer(key="Co-authored-by", value=CLAUDE),)


def test_github_form_ignores_github_fields() -> None:
    commits = load_commits(
        [
            github_commit("1" * 40, f"First\n\nCo-Authored-By: {CLAUDE}\n"),
            github_commit("2" * 40, "Second\n\nReplit-Commit-Author: Agent\n"),
        ],
        source="commits.json",
    )
    assert [commit.sha for commit in commits] == ["1" * 40, "2" * 40]
    assert commits[0].author == Person(name="Claude", email="noreply@anthropic.com")
    assert commits[0].committer == Person(name="GitHub", email="noreply@github.com")
    assert commits[0].trailers == (Trailer(key="Co-Authored-By", value=CLAUDE),)
    assert commits[1].trailers == (Trailer(key="Replit-Commit-Author", value="Agent"),)


def test_empty_list_is_no_commits() -> None:
    assert load_commits([]) == ()


def _with(**changes: object) -> dict[str, object]:
    return {**GENERIC_COMMIT, **changes}


def _without(key: str) -> dict[str, object]:
    return {name: value for name, value in GENERIC_COMMIT.items() if name != key}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"commits": []}, "expected a JSON list of commits, got object"),
        ("not a list", "expected a JSON list of commits, got string"),
        ([GENERIC_COMMIT, ["x"]], "item 2: expected a commit object, got list"),
        (
            [GENERIC_COMMIT, GENERIC_COMMIT, _with(message=None)],
            'item 3: "message" must be a string, got null',
        ),
        ([_without("message")], 'item 1: "message" is missing'),
        ([_without("committer")], 'item 1: "committer" is missing'),
        ([_with(sha=12)], 'item 1: "sha" must be a string, got number'),
        ([_with(mesage="typo")], 'item 1: unknown field "mesage"'),
        ([_with(author="Alice")], 'item 1: "author" must be an object, got string'),
        (
            [_with(author={"name": "Alice", "email": True})],
            'item 1: "author.email" must be a string, got boolean',
        ),
        ([_with(author={"name": "A", "email": "a@x", "login": "a"})], 'item 1: unknown field "author.login"'),
        ([_with(trailers={"key": "v"})], 'item 1: "trailers" must be a list, got object'),
        ([_with(trailers=[{"key": "", "value": "v"}])], 'item 1: "trailers[0].key" must not be empty'),
        ([_with(trailers=[{"key": "K"}])], 'item 1: "trailers[0].value" is missing'),
        ([_with(trailers=[{"key": "K", "value": "v", "x": 1}])], 'item 1: unknown field "trailers[0].x"'),
        ([{**github_commit("1" * 40, "m"), "commit": None}], 'item 1: "commit" must be an object, got null'),
        (
            [{**github_commit("1" * 40, "m"), "commit": {"message": "m"}}],
            'item 1: "commit.author" is missing',
        ),
        ([{**github_commit("1" * 40, "m"), "sha": None}], 'item 1: "sha" must be a string, got null'),
    ],
)
def test_malformed_commits_name_the_problem_and_where(data: object, problem: str) -> None:
    with pytest.raises(CommitsError) as error:
        load_commits(data, source="commits.json")
    assert str(error.value) == f"commits.json: {problem}"


def test_github_author_without_email_is_an_error() -> None:
    item = github_commit("1" * 40, "m", author={"name": "A", "date": "2025-05-01T10:00:00Z"})
    with pytest.raises(CommitsError, match=r'^commits: item 1: "commit\.author\.email" is missing$'):
        load_commits([item])


def test_load_commits_file_reads_either_form(tmp_path: Path) -> None:
    path = tmp_path / "commits.json"
    path.write_text(json.dumps([GENERIC_COMMIT, github_commit("1" * 40, "Second\n")]), encoding="utf-8")
    commits = load_commits_file(path)
    assert [commit.sha for commit in commits] == ["a" * 40, "1" * 40]


def test_load_commits_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "commits.json"
    path.write_text(json.dumps([_without("author")]), encoding="utf-8")
    with pytest.raises(CommitsError) as error:
        load_commits_file(path)
    assert str(error.value) == f'{path}: item 1: "author" is missing'


def test_invalid_json_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "commits.json"
    path.write_text('[\n  {"sha": "a",\n  }\n]\n', encoding="utf-8")
    with pytest.raises(CommitsError) as error:
        load_commits_file(path)
    message = str(error.value)
    assert message.startswith(f"{path}: invalid JSON at line 3, column 3: ")
    assert "\n" not in message
    assert isinstance(error.value.__cause__, json.JSONDecodeError)
