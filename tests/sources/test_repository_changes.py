"""`read_repository` reads the changed files from `git diff --raw --numstat -z`, not from the patch: for every
case of test_diff (renames, copies, binaries, modes, symlinks, submodules, quoted and odd paths) it must give
exactly what parse_diff gives from the patch git writes with the same options. The hunks it reads on demand
(`added_lines`) must be the lines the head commit has at those line numbers, as many as numstat counts."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from test_diff import CASES, Built, Repository

from aigate.errors import RepositoryError
from aigate.sources._git import _changes_arguments, _Git
from aigate.sources.added_lines import read_diff_lines
from aigate.sources.diff import parse_diff
from aigate.sources.git_repo import (
    _DIFF_OPTIONS,
    RepositorySnapshot,
    _PatchLines,
    _read_raw_numstat,
    _with_blob_details,
    read_repository,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Built]:
    """Each case's repository (as test_diff builds it), built once for the tests that read it."""
    cache: dict[str, Built] = {}

    def build(case: str) -> Built:
        if case not in cache:
            repository = Repository(tmp_path_factory.mktemp("changes") / case)
            base_tree, head_tree = CASES[case]
            cache[case] = Built(repository, repository.commit(base_tree), repository.commit(head_tree))
        return cache[case]

    return build


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))


def _patch(repository: Built) -> str:
    # As the repository source runs it (its options), so the two readings see the same diff.
    raw = repository.repository.git("diff", *_DIFF_OPTIONS, f"{repository.base}...{repository.head}")
    return raw.decode("utf-8", errors="replace")


@pytest.mark.parametrize("case", CASES)
def test_files_are_what_parse_diff_reads_from_the_patch(built: Callable[[str], Built], case: str) -> None:
    repository = built(case)
    snapshot = read_repository(repository.repository.root, repository.base, repository.head)
    # What neither reading has in a plain patch, a binary's size and a symlink's target (its content),
    # --repo reads from the head commit: the patch's reading gets the same from there.
    git = _Git(repository.repository.root)
    assert snapshot.files == _with_blob_details(git, snapshot.head_id, parse_diff(_patch(repository)))
    assert snapshot.patch() == _patch(repository)
    assert len(snapshot.blob_ids) == len(snapshot.files)


def _blob_lines(repository: Built, blob_id: str | None) -> list[bytes]:
    assert blob_id is not None
    return repository.repository.git("cat-file", "blob", blob_id).split(b"\n")


@pytest.mark.parametrize("case", CASES)
def test_added_lines_are_the_heads_lines(built: Callable[[str], Built], case: str) -> None:
    repository = built(case)
    snapshot = read_repository(repository.repository.root, repository.base, repository.head)
    lines = list(snapshot.added_lines())
    counted = Counter(line.path for line in lines)
    for change in snapshot.files:
        # numstat counts a type change with one binary side as binary: its text side's lines still come.
        if not change.binary:
            assert counted[change.path] == change.added, change
    new_blobs = {change.path: new for change, (_, new) in zip(snapshot.files, snapshot.blob_ids, strict=True)}
    for line in lines:
        change = next(change for change in snapshot.files if change.path == line.path)
        if change.new_mode == "160000":
            continue  # a submodule's "Subproject commit" line: no file in this repository
        head_line = _blob_lines(repository, new_blobs[line.path])[line.line - 1]
        assert line.text == head_line.removesuffix(b"\r").decode("utf-8", "replace") or line.text.endswith("\r")


def test_added_lines_of_some_paths_only(built: Callable[[str], Built]) -> None:
    repository = built("renamed-paths-with-b")
    snapshot = read_repository(repository.repository.root, repository.base, repository.head)
    wanted = {"Part b/new b/name.txt", "x b/y.txt"}
    (renamed,) = [change for change in snapshot.files if change.path == "Part b/new b/name.txt"]
    assert (renamed.status, renamed.added) == ("renamed", 1)
    lines = list(snapshot.added_lines(wanted))
    assert {line.path for line in lines} == wanted
    # Still a rename (its source is asked for too): only its changed lines are added, not all 21.
    assert sum(line.path == renamed.path for line in lines) == renamed.added
    assert list(snapshot.added_lines({"no/such/path"})) == []
    assert snapshot.patch({"no/such/path"}) == ""


def test_reading_stops_early_without_leaving_git_running(built: Callable[[str], Built]) -> None:
    repository = built("everything")
    # git's output as --repo streams it: a reader that stops early (a parse error, a size limit) ends git.
    arguments = ["diff", *_DIFF_OPTIONS, f"{repository.base}...{repository.head}"]
    chunks = _Git(repository.repository.root).stream(arguments, limit=1 << 30)
    first = next(chunks)
    assert first.startswith(b"diff --git ")
    chunks.close()  # the generator's cleanup kills and reaps git
    assert _git_processes_in(str(repository.repository.root)) == []


def _git_processes_in(root: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                arguments = handle.read().split(b"\0")
        except OSError:
            continue
        if arguments[:1] == [b"git"] and root.encode() in arguments:
            found.append(pid)
    return found


def _plain(side: Mapping[str, Mapping[int, str]]) -> dict[str, dict[int, str]]:
    return {path: dict(lines.items()) for path, lines in side.items()}


# How the lines are read: file by file as each is first used; some files asked for first (a patch of their paths,
# the rest file by file); every file asked for first (the whole patch).
ROUTES = ("file by file", "half named", "whole")


def _prepare(snapshot: RepositorySnapshot, route: str) -> None:
    paths = sorted({p for change in snapshot.files for p in (change.path, change.old_path) if p})
    if route == "half named":
        snapshot.lines.prepare(paths[::2])
    elif route == "whole":
        snapshot.lines.prepare()


def _lines_agree(snapshot: RepositorySnapshot, route: str = "file by file") -> None:
    """The changed lines --repo reads (from a patch with one line of context) are what read_diff_lines reads from
    the patch with 3, number by number, by every way a Mapping is read; by each route."""
    _prepare(snapshot, route)
    expected = read_diff_lines(snapshot.patch())
    for side, wanted in ((snapshot.lines.added, expected.added), (snapshot.lines.removed, expected.removed)):
        assert _plain(side) == _plain(wanted)
        for path, lines in wanted.items():
            read = side[path]
            assert len(read) == len(lines) and list(read) == list(lines)
            for number, text in lines.items():
                assert number in read and read[number] == text
            for number in {0, -1, max(lines) + 1, *(n + 1 for n in lines), *(n - 1 for n in lines)} - set(lines):
                assert number not in read and read.get(number) is None


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_changed_lines_are_what_the_patch_with_context_says(
    built: Callable[[str], Built], case: str, route: str
) -> None:
    repository = built(case)
    _lines_agree(read_repository(repository.repository.root, repository.base, repository.head), route)


def test_only_the_files_asked_for_are_read(built: Callable[[str], Built]) -> None:
    """Asked for a few files, --repo reads a patch of those paths: under a limit that the whole patch passes, it
    reads them; the whole patch is then refused, naming the limit."""
    repository = built("everything")
    root, base, head = repository.repository.root, repository.base, repository.head
    snapshot = read_repository(root, base, head)
    wanted = [change.path for change in snapshot.files if change.added][:2]
    named = len(repository.repository.git(
        "diff", "--full-index", "--unified=1", "-M", "-C", f"{base}...{head}", "--", *wanted
    ))  # fmt: skip
    whole = len(repository.repository.git("diff", "--full-index", "--unified=1", "-M", "-C", f"{base}...{head}"))
    # (The limit holds for the --raw and --numstat records too.)
    limit = max(named, len(repository.repository.git("diff", *_changes_arguments(base, head)[1:])))
    assert limit < whole
    limited = read_repository(root, base, head, max_diff_bytes=limit)
    limited.lines.prepare(wanted)
    for path in wanted:
        assert dict(limited.lines.added[path]) == dict(snapshot.lines.added[path])
    with pytest.raises(RepositoryError, match=f"larger than the {limit}-byte limit"):
        limited.lines.prepare()


def test_a_section_that_is_not_the_change_is_not_taken(built: Callable[[str], Built]) -> None:
    """A section of the patch of some paths is a change's only if its blob ids are the change's: here they are not
    (the record says another blob), so the lines come from the whole patch, read in step with the records."""
    repository = built("everything")
    snapshot = read_repository(repository.repository.root, repository.base, repository.head)
    git = _Git(repository.repository.root)
    output = git.run(_changes_arguments(snapshot.base_id, snapshot.head_id), limit=1 << 30)
    records, _ = _read_raw_numstat([output], git.source)
    index = next(i for i, change in enumerate(snapshot.files) if change.status == "modified" and change.added)
    records[index] = records[index]._replace(new_id="f" * len(records[index].new_id))
    reader = _PatchLines(git, snapshot.base_id, snapshot.head_id, records, snapshot.files, limit=1 << 30)
    lines = reader.lines()
    path = snapshot.files[index].path
    lines.prepare([path])
    expected = read_diff_lines(snapshot.patch())
    assert dict(lines.added[path]) == expected.added[path]


# Files of a few short lines, edited by hypothesis: lines removed, replaced, inserted and appended, near each
# other and far apart, so that the hunks of the two patches are cut differently (with context, neighbouring
# changes share one hunk; without, each is its own).
_LINE = st.sampled_from(["a", "b", "c", "", " x", "+y", "-z", "@@ -1 +1 @@", "\\ q", "diff --git a/f b/f", "é"])
_FILE = st.lists(_LINE, max_size=30)


@seed(20261204)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.dictionaries(st.sampled_from(["f", "g", "d/h"]), _FILE, min_size=1),
    head=st.dictionaries(st.sampled_from(["f", "g", "d/h", "new"]), _FILE, min_size=1),
    newline_at_end=st.booleans(),
    route=st.sampled_from(ROUTES),
)
def test_changed_lines_of_random_edits(
    tmp_path_factory: pytest.TempPathFactory, base: dict[str, list[str]], head: dict[str, list[str]],
    newline_at_end: bool, route: str,
) -> None:
    end = "\n" if newline_at_end else ""
    repository = Repository(tmp_path_factory.mktemp("edits") / "repo")
    trees = [{path: ("\n".join(lines) + end).encode() for path, lines in tree.items()} for tree in (base, head)]
    base_id, head_id = (repository.commit(tree) for tree in trees)  # type: ignore[arg-type]
    snapshot = read_repository(repository.root, base_id, head_id)
    _lines_agree(snapshot, route)
    # And the counts are numstat's.
    numstat = repository.git("diff", "--numstat", "-z", "-M", "-C", f"{base_id}...{head_id}").split(b"\0")
    counted = []
    while numstat and numstat[0]:
        added, removed, path = numstat.pop(0).decode().split("\t")
        if not path:  # a rename or copy: its two paths follow
            path = (numstat.pop(0), numstat.pop(0))[1].decode()
        counted.append((path, int(added), int(removed)))
    assert [(change.path, change.added, change.removed) for change in snapshot.files] == counted
