"""`read_repository` on a real repository built with git: commits of base..head in order with their
trailers, the three-dot diff's changes (and, on demand, its text exactly as `git diff base...head`
prints it), branch names, and git's own reason, on one line, when something is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigate.errors import RepositoryError
from aigate.models import FileChange, Person, Trailer
from aigate.sources.diff import parse_diff
from aigate.sources.git_repo import AddedLine, read_repository

CLAUDE = Person(name="Claude", email="noreply@anthropic.com")
ALICE = Person(name="Alice Liddell", email="alice@example.com")
BOB = Person(name="Bob Müller", email="bob@example.com")

FIX_MESSAGE = "Fix token refresh\n\nThe refresh token was not rotated.\n"
RENAME_MESSAGE = "Rename session module\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
# Stored verbatim: CRLF, format placeholders and a record separator must come back untouched.
LIMIT_MESSAGE = (
    "Add login rate limit\r\n\r\nLiteral %H %B %x00 and \x1e stay text.\r\n\r\n"
    "Co-Authored-By: Claude <noreply@anthropic.com>\r\n"
    "Signed-off-by: Alice Liddell <alice@example.com>\r\n\n\n"
)


class Repo:
    """A git repository in a temporary folder, driven by the git binary with no user or system config."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.home = home
        self.clock = 1_700_000_000

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CEILING_DIRECTORIES": str(self.path.parent),
            "LC_ALL": "C",
            **extra,
        }

    def git(self, *args: str, **extra_env: str) -> bytes:
        result = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, env=self.environment(**extra_env), timeout=60
        )
        assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
        return result.stdout

    def text(self, *args: str) -> str:
        return self.git(*args).decode("utf-8", "replace")

    def write(self, relative: str, content: str | bytes) -> None:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)

    def commit(self, message: str, author: Person, committer: Person | None = None) -> str:
        """Commit everything with `message` stored byte for byte; returns the new commit's id."""
        self.clock += 60
        committer = committer or author
        message_file = self.home / "message.txt"
        message_file.write_bytes(message.encode("utf-8"))
        self.git("add", "-A")
        self.git(
            "-c", f"user.name={author.name}", "-c", f"user.email={author.email}",
            "commit", "-q", "--cleanup=verbatim", "-F", str(message_file),
            GIT_AUTHOR_DATE=f"@{self.clock} +0000",
            GIT_COMMITTER_DATE=f"@{self.clock} +0000",
            GIT_COMMITTER_NAME=committer.name,
            GIT_COMMITTER_EMAIL=committer.email,
        )  # fmt: skip
        return self.text("rev-parse", "HEAD").strip()


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """read_repository runs git with this process's environment: keep the user's config out of it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    return home


@pytest.fixture
def repo(tmp_path: Path, isolated_home: Path) -> Repo:
    """main, then `claude/fix-auth` with three commits by different authors, then main moves on."""
    path = tmp_path / "repo"
    path.mkdir()
    repository = Repo(path, isolated_home)
    repository.git("init", "-q", "-b", "main")
    repository.write("README.md", "# Service\n")
    repository.write("src/auth.py", "def refresh(token):\n    return token\n")
    repository.write("src/session.py", "".join(f"line {n}\n" for n in range(20)))
    repository.commit("Initial commit\n", ALICE)

    repository.git("checkout", "-q", "-b", "claude/fix-auth")
    repository.write("src/auth.py", "def refresh(token):\n    return rotate(token)\n")
    repository.commit(FIX_MESSAGE, ALICE)
    (path / "src/session.py").rename(path / "src/sessions.py")
    repository.commit(RENAME_MESSAGE, BOB)
    repository.write("docs/café.md", "Limits\n")
    repository.write("src/legacy.txt", b"caf\xe9 latin-1\n")
    repository.commit(LIMIT_MESSAGE, CLAUDE, committer=ALICE)

    repository.git("checkout", "-q", "main")
    repository.write("README.md", "# Service\n\nChanged on main after the branch.\n")
    repository.commit("Unrelated main change\n", ALICE)
    repository.git("checkout", "-q", "claude/fix-auth")
    return repository


def test_commits_are_base_to_head_oldest_first(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "main", "claude/fix-auth")

    expected_ids = repo.text("rev-list", "--reverse", "main..claude/fix-auth").split()
    assert [commit.sha for commit in snapshot.commits] == expected_ids
    assert [commit.message for commit in snapshot.commits] == [FIX_MESSAGE, RENAME_MESSAGE, LIMIT_MESSAGE]
    assert [commit.author for commit in snapshot.commits] == [ALICE, BOB, CLAUDE]
    assert [commit.committer for commit in snapshot.commits] == [ALICE, BOB, ALICE]
    assert [commit.trailers for commit in snapshot.commits] == [
        (),
        (Trailer(key="Co-authored-by", value="Claude <noreply@anthropic.com>"),),
        (
            Trailer(key="Co-Authored-By", value="Claude <noreply@anthropic.com>"),
            Trailer(key="Signed-off-by", value="Alice Liddell <alice@example.com>"),
        ),
    ]


def test_diff_text_is_the_three_dot_diff(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "main", "claude/fix-auth")
    diff_text = snapshot.patch()

    assert diff_text == repo.text("diff", "main...claude/fix-auth")
    # Three dots: the change main made after the branch point is not the PR's.
    assert "README.md" not in diff_text
    assert "rename from src/session.py\nrename to src/sessions.py\n" in diff_text
    # core.quotepath: a non-ASCII path arrives as git's octal escapes; non-UTF-8 content as U+FFFD.
    assert 'diff --git "a/docs/caf\\303\\251.md" "b/docs/caf\\303\\251.md"\n' in diff_text
    assert "+caf\ufffd latin-1\n" in diff_text


def test_files_are_the_three_dot_changes(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "main", "claude/fix-auth")
    assert snapshot.files == (
        FileChange(path="docs/café.md", status="added", added=1, new_mode="100644"),
        FileChange(path="src/auth.py", status="modified", added=1, removed=1, old_mode="100644", new_mode="100644"),
        FileChange(path="src/legacy.txt", status="added", added=1, new_mode="100644"),
        FileChange(path="src/sessions.py", old_path="src/session.py", status="renamed"),
    )
    assert snapshot.files == parse_diff(snapshot.patch())
    assert list(snapshot.added_lines()) == [
        AddedLine("docs/café.md", 1, "Limits"),
        AddedLine("src/auth.py", 2, "    return rotate(token)"),
        AddedLine("src/legacy.txt", 1, "caf\ufffd latin-1"),
    ]
    assert list(snapshot.added_lines({"src/auth.py"})) == [AddedLine("src/auth.py", 2, "    return rotate(token)")]


def test_branch_names(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "main", "claude/fix-auth")
    assert (snapshot.base_branch, snapshot.head_branch) == ("main", "claude/fix-auth")


def test_head_on_a_branch_names_that_branch(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "refs/heads/main", "HEAD")
    assert (snapshot.base_branch, snapshot.head_branch) == ("main", "claude/fix-auth")
    assert len(snapshot.commits) == 3


def test_remote_tracking_branch_is_named_without_its_remote(repo: Repo) -> None:
    repo.git("remote", "add", "upstream/mirror", "https://example.invalid/repo.git")
    repo.git("update-ref", "refs/remotes/upstream/mirror/claude/fix-auth", "claude/fix-auth")
    repo.git("update-ref", "refs/remotes/upstream/mirror/main", "main")
    snapshot = read_repository(repo.path, "upstream/mirror/main", "upstream/mirror/claude/fix-auth")
    assert (snapshot.base_branch, snapshot.head_branch) == ("main", "claude/fix-auth")


@pytest.mark.parametrize("head", ["sha", "tag", "detached HEAD", "branch~0"])
def test_revisions_that_are_not_branches_have_no_branch_name(repo: Repo, head: str) -> None:
    head_id = repo.text("rev-parse", "claude/fix-auth").strip()
    repo.git(
        "-c",
        "user.name=Alice",
        "-c",
        "user.email=alice@example.com",
        "tag",
        "-a",
        "-m",
        "release",
        "v1.0",
        head_id,
    )
    if head == "detached HEAD":
        repo.git("checkout", "-q", "--detach", head_id)
    revision = {"sha": head_id, "tag": "v1.0", "detached HEAD": "HEAD", "branch~0": "claude/fix-auth~0"}[head]

    snapshot = read_repository(repo.path, "main", revision)

    assert snapshot.head_branch == ""
    assert snapshot.base_branch == "main"
    assert [commit.sha for commit in snapshot.commits][-1] == head_id


def test_empty_range_has_no_commits_and_no_diff(repo: Repo) -> None:
    snapshot = read_repository(repo.path, "claude/fix-auth", "claude/fix-auth")
    assert (snapshot.commits, snapshot.files, snapshot.head_branch, snapshot.base_branch) == (
        (), (), "claude/fix-auth", "claude/fix-auth"
    )
    assert snapshot.patch() == ""
    assert list(snapshot.added_lines()) == []


def test_user_and_repository_config_cannot_change_the_output(repo: Repo) -> None:
    clean = read_repository(repo.path, "main", "claude/fix-auth")
    hostile = (
        "[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\tcontext = 1\n\tinterHunkContext = 9\n"
        "\trenames = false\n\talgorithm = histogram\n\texternal = false\n\tsubmodule = log\n"
        "[color]\n\tui = always\n\tdiff = always\n[core]\n\tquotepath = false\n"
        "[i18n]\n\tlogOutputEncoding = ISO-8859-1\n[format]\n\tpretty = oneline\n"
    )
    (repo.home / ".gitconfig").write_text(hostile, encoding="utf-8")
    with (repo.path / ".git" / "config").open("a", encoding="utf-8") as config:
        config.write("[diff]\n\tsrcPrefix = x/\n\tdstPrefix = y/\n")

    assert read_repository(repo.path, "main", "claude/fix-auth") == clean


def test_git_environment_cannot_point_at_another_repository(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = read_repository(repo.path, "main", "claude/fix-auth")
    other = tmp_path / "other"
    other.mkdir()
    Repo(other, repo.home).git("init", "-q", "-b", "main")
    # What a git hook or a CI step may leave behind.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'diff.noprefix'='true'")
    monkeypatch.setenv("GIT_DIFF_OPTS", "--unified=0")

    assert read_repository(repo.path, "main", "claude/fix-auth") == clean


def error_of(repo_path: Path, base: str, head: str, **options: int) -> str:
    with pytest.raises(RepositoryError) as error:
        read_repository(repo_path, base, head, **options)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_not_a_repository(tmp_path: Path, isolated_home: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert error_of(plain, "main", "HEAD") == (
        f"--repo {plain}: not a git repository (or any of the parent directories): .git"
    )


def test_missing_folder(tmp_path: Path, isolated_home: Path) -> None:
    missing = tmp_path / "missing"
    assert error_of(missing, "main", "HEAD") == (
        f"--repo {missing}: cannot change to '{missing}': No such file or directory"
    )


@pytest.mark.parametrize(("base", "head"), [("nope", "claude/fix-auth"), ("main", "nope")])
def test_unknown_revision(repo: Repo, base: str, head: str) -> None:
    assert error_of(repo.path, base, head) == (
        f"--repo {repo.path}: bad revision 'nope'; "
        "fetch the missing revision first (git fetch origin nope, or check out with fetch-depth: 0)"
    )


def test_revision_that_looks_like_an_option_never_reaches_git(repo: Repo) -> None:
    output = repo.path / "written-by-git.txt"
    assert error_of(repo.path, "main", f"--output={output}") == (
        f"--repo {repo.path}: --head '--output={output}' is not a revision"
    )
    assert not output.exists()


def test_a_range_is_not_one_revision(repo: Repo) -> None:
    assert error_of(repo.path, "main..claude/fix-auth", "claude/fix-auth") == (
        f"--repo {repo.path}: --base 'main..claude/fix-auth' and --head 'claude/fix-auth'"
        " must each name a single revision"
    )


def test_diff_larger_than_the_limit(repo: Repo) -> None:
    # What read_repository reads: git's --raw and --numstat records, no hunk text.
    changes = len(repo.git("diff", "--raw", "--numstat", "-z", "--no-abbrev", "-M", "-C", "main...claude/fix-auth"))
    assert read_repository(repo.path, "main", "claude/fix-auth", max_diff_bytes=changes).files
    assert error_of(repo.path, "main", "claude/fix-auth", max_diff_bytes=changes - 1) == (
        f"--repo {repo.path}: git diff output is larger than the {changes - 1}-byte limit"
    )
    # The changed lines, when read, come from a patch with one line of context, under the same limit.
    lines = len(repo.git("diff", "--full-index", "--unified=1", "-M", "-C", "main...claude/fix-auth"))
    assert changes < lines
    read_repository(repo.path, "main", "claude/fix-auth", max_diff_bytes=lines).lines.prepare()
    short = read_repository(repo.path, "main", "claude/fix-auth", max_diff_bytes=lines - 1)
    with pytest.raises(RepositoryError) as error:
        short.lines.prepare()
    assert str(error.value) == f"--repo {repo.path}: git diff output is larger than the {lines - 1}-byte limit"
    snapshot = read_repository(repo.path, "main", "claude/fix-auth")
    patch_size = len(repo.git("diff", "main...claude/fix-auth"))
    assert snapshot.patch(max_bytes=patch_size)
    with pytest.raises(RepositoryError) as error:
        snapshot.patch(max_bytes=patch_size - 1)
    assert str(error.value) == f"--repo {repo.path}: git diff output is larger than the {patch_size - 1}-byte limit"


def test_git_missing(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert (
        error_of(repo.path, "main", "claude/fix-auth")
        == f"--repo {repo.path}: git is not installed or not on PATH"
    )


def test_prefetched_diff_is_taken_once_and_reads_the_same(repo: Repo) -> None:
    from aigate.sources import _git

    clean = read_repository(repo.path, "main", "claude/fix-auth")
    # The command line's text for the folder (`_entry` has no pathlib yet), not the Path the CLI makes of it.
    _git.prefetch(f"{repo.path}//", "main", "claude/fix-auth")
    _git.prefetch(str(repo.path), "main", "HEAD~1")  # a guess nobody asks for: never used
    assert read_repository(repo.path, "main", "claude/fix-auth") == clean
    assert list(_git._PREFETCHED) == [(os.path.realpath(repo.path), "main", "HEAD~1", _git.MAX_DIFF_BYTES)]
    _git._PREFETCHED.clear()


@pytest.mark.parametrize("name", ["odd\nname", "ends--\n--end-of-options", "--"])
def test_a_repository_folder_with_a_newline_or_dashes_in_its_name(repo: Repo, tmp_path: Path, name: str) -> None:
    # The git folder and both ids come from one `git rev-parse`: a folder's name may hold what separates them.
    from aigate.sources import _git

    clean = read_repository(repo.path, "main", "claude/fix-auth")
    moved = tmp_path / name / "repo"
    moved.parent.mkdir()
    repo.path.rename(moved)
    _git.prefetch(moved, "main", "claude/fix-auth")
    snapshot = read_repository(moved, "main", "claude/fix-auth")
    assert _git._PREFETCHED == {}
    assert (snapshot.files, snapshot.commits, snapshot.base_id) == (clean.files, clean.commits, clean.base_id)
    assert _git._resolve(_git._Git(moved), "main", "claude/fix-auth") == (
        str(moved / ".git"), clean.base_id, clean.head_id
    )


@pytest.mark.parametrize("prefetched", [False, True])
def test_a_revision_of_two_commits_is_refused_with_or_without_a_prefetch(repo: Repo, prefetched: bool) -> None:
    # `merged^@` names both parents of a merge: with the git folder on the same rev-parse's output, the extra id
    # must not pass for part of the folder's name.
    from aigate.sources import _git

    repo.git("checkout", "-q", "-b", "merged", "claude/fix-auth")
    repo.git("-c", "user.name=A", "-c", "user.email=a@example.com", "merge", "-q", "--no-ff", "-m", "merge", "main")
    if prefetched:
        _git.prefetch(str(repo.path), "main", "merged^@")
    assert error_of(repo.path, "main", "merged^@") == (
        f"--repo {repo.path}: --base 'main' and --head 'merged^@' must each name a single revision"
    )
    assert _git._PREFETCHED == {}


@given(st.text(alphabet="/.a", max_size=12))
def test_the_prefetch_names_the_repository_as_pathlib_does(text: str) -> None:
    from aigate.sources._git import display_path

    assert display_path(text) == str(PurePosixPath(text))


def test_an_error_met_by_the_prefetch_names_the_repository_as_read_repository_does(repo: Repo) -> None:
    # The command line's text (`REPO/./`) is the CLI's Path (`REPO`) in every message, whichever step fails.
    from aigate.sources import _git

    repo.git("checkout", "-q", "--orphan", "unrelated")
    repo.commit("Unrelated history\n", ALICE)
    _git.prefetch(f"{repo.path}/./", "main", "unrelated")
    message = error_of(repo.path, "main", "unrelated")
    assert message.startswith(f"--repo {repo.path}: ") and "merge base" in message
    assert _git._PREFETCHED == {}


def test_prefetch_that_failed_leaves_the_error_to_read_repository(repo: Repo) -> None:
    from aigate.sources import _git

    _git.prefetch(f"{repo.path}/./", "main", "nope")  # as typed: named as the CLI's Path names it
    assert error_of(repo.path, "main", "nope").startswith(f"--repo {repo.path}: bad revision 'nope'; fetch")
    assert _git._PREFETCHED == {}


def test_cli_reads_the_repository_as_the_library_does(repo: Repo) -> None:
    from aigate.document import build_input_document, document_data

    result = subprocess.run(
        [sys.executable, "-m", "aigate", "input", "--repo", str(repo.path), "--base", "main", "--head=claude/fix-auth"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = build_input_document(repo=repo.path, base="main", head="claude/fix-auth")
    assert json.loads(result.stdout) == document_data(document)  # `aigate input` prints document_data
