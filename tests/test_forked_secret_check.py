"""The command line's second CPU: aigate's secret check shared with a forked copy of the process, and run beside
the engine. The helper only accelerates: the findings, the document and the decision are those of one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from aigate import Gate, _forked
from aigate._input_document import canonical_json
from aigate.errors import EngineError, RepositoryError
from aigate.scanning import PendingSecretCheck, builtin_secret_findings
from aigate.sources.git_repo import read_repository
from tests.gitrepo import GitRepo

KEY_ID = "AKIAZ3MSJV4WWNKWW5FG"
TOKEN = "ghp_R8x2Kq9ZmT4vLw7NcY3pBf6HjD1sGa5Ue0Xi"
# Files of 300 added lines each: 3,000 lines, past the size below which the check stays in one process.
FILES = 10
LINES = 300


def _pr_repository(root: Path, *, secrets: bool) -> GitRepo:
    """An AI PR adding FILES files; with `secrets`, keys in the first, a middle and the last file (both halves)."""
    repo = GitRepo(root)
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "claude/feature")
    files = {}
    for number in range(FILES):
        lines = [f"value_{number}_{line} = {line}" for line in range(LINES)]
        if secrets and number in (0, FILES // 2, FILES - 1):
            lines[7] = f'AWS_ACCESS_KEY_ID = "{KEY_ID}"'
            lines[LINES - 3] = f'GITHUB = "{TOKEN}"'
        files[f"app/module_{number:02}.py"] = "\n".join(lines) + "\n"
    repo.commit("Add modules\n\nCo-authored-by: Claude <noreply@anthropic.com>", files)
    return repo


# Both keys of each of the three files (detect-secrets may name a line twice: a key and a keyword).
EXPECTED = {
    (rule, line, f"app/module_{number:02}.py")
    for number in (0, FILES // 2, FILES - 1)
    for rule, line in (("AWS Access Key", 8), ("GitHub Token", LINES - 2))
}


def _found(findings: list) -> list[tuple[str, int | None, str | None]]:  # type: ignore[type-arg]
    return [(f.rule_id, f.line, f.path) for f in findings]


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> list[_forked.Shared]:  # type: ignore[type-arg]
    """Forking allowed, as the `aigate` command allows it; every helper started is recorded. A thread an earlier
    test left finishing is waited for: nothing forks beside another thread."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(timeout=10)
    assert threading.active_count() == 1, f"threads left running: {threading.enumerate()}"
    started: list[_forked.Shared] = []  # type: ignore[type-arg]

    class Recorded(_forked.Shared):  # type: ignore[type-arg]
        def __init__(self, work: object, parts: int) -> None:
            super().__init__(work, parts)  # type: ignore[arg-type]
            started.append(self)

    monkeypatch.setattr(_forked, "_allowed", True)
    monkeypatch.setattr(_forked, "Shared", Recorded)
    return started


def test_halves_in_two_processes_find_what_one_finds(tmp_path: Path, forking: list) -> None:  # type: ignore[type-arg]
    repo = _pr_repository(tmp_path / "repo", secrets=True)
    shared = builtin_secret_findings(read_repository(repo.root, "main", "claude/feature").lines)
    assert len(forking) == 1
    _forked._allowed = False
    alone = builtin_secret_findings(read_repository(repo.root, "main", "claude/feature").lines)
    assert len(forking) == 1
    assert shared == alone
    assert set(_found(alone[0])) >= EXPECTED
    assert {path for _, _, path in _found(alone[0])} == {path for _, _, path in EXPECTED}
    assert alone[1] == 0


def test_the_deferred_check_gives_the_whole_documents_decision(tmp_path: Path, forking: list) -> None:  # type: ignore[type-arg]
    repo = _pr_repository(tmp_path / "repo", secrets=True)
    sources = {"repo": repo.root, "base": "main", "head": "claude/feature", "pr": {"labels": ["ai-generated"]}}
    gate = Gate()
    pending: list[PendingSecretCheck] = []
    guess = gate.input_document(**sources, defer_secret_check=pending.append)
    assert len(pending) == 1 and forking == []  # the helper is forked when the engine starts
    assert [f for f in guess.findings if f.tool == "aigate"] == []  # the guess: nothing found yet
    pending[0].start()
    pending[0].start()  # once
    assert len(forking) == 1
    whole = pending[0].completed(guess)
    _forked._allowed = False
    alone = gate.input_document(**sources)
    assert len(forking) == 1
    assert canonical_json(whole) == canonical_json(alone)
    assert set(_found([f for f in alone.findings if f.tool == "aigate"])) >= EXPECTED
    # Gate.evaluate from sources decides while the check runs, and again on the whole document when it finds some.
    # The helper is forked once the document's JSON is written (the pages this process writes after a fork are
    # copied first), before the engine reads it.
    _forked._allowed = True
    evaluations: list[int] = []
    evaluate_json = gate.engine.evaluate_json

    def counted(input_json: str) -> dict[str, object]:
        evaluations.append(len(forking))
        return evaluate_json(input_json)

    gate.engine.evaluate_json = counted  # type: ignore[method-assign]
    deferred = gate.evaluate(**sources)
    assert evaluations == [2, 2]  # the early decision beside the helper, then the whole document's
    assert len(forking) == 2
    expected = gate.evaluate(alone)
    assert deferred.input_digest == expected.input_digest
    assert deferred.outcome == expected.outcome == "block"
    assert [v.model_dump() for v in deferred.violations] == [v.model_dump() for v in expected.violations]


def test_an_engine_error_stops_the_helper(tmp_path: Path, forking: list, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    repo = _pr_repository(tmp_path / "repo", secrets=True)
    gate = Gate()
    children: list[int] = []

    def fails(input_json: str) -> None:
        children.append(forking[0]._pid)
        raise EngineError("embedded engine: boom")

    monkeypatch.setattr(gate.engine, "evaluate_json", fails)
    with pytest.raises(EngineError, match="boom"):
        gate.evaluate(repo=repo.root, base="main", head="claude/feature")
    assert len(children) == 1 and children[0] > 0 and forking[0]._pid == -1
    with pytest.raises(ChildProcessError):  # stopped and reaped
        os.waitpid(children[0], os.WNOHANG)


def test_a_clean_pr_keeps_the_document_decided_on(tmp_path: Path, forking: list) -> None:  # type: ignore[type-arg]
    repo = _pr_repository(tmp_path / "repo", secrets=False)
    pending: list[PendingSecretCheck] = []
    guess = Gate().input_document(repo=repo.root, base="main", head="claude/feature",
                                  defer_secret_check=pending.append)
    assert len(pending) == 1 and pending[0].completed(guess) is guess
    assert [(r.format, r.findings, r.unchecked_lines) for r in guess.scans] == [("builtin-secrets", 0, 0)]


def test_a_small_pr_or_other_threads_keep_the_check_here(tmp_path: Path, forking: list) -> None:  # type: ignore[type-arg]
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "-b", "claude/small")
    repo.commit("key", {"app/settings.py": f'AWS_ACCESS_KEY_ID = "{KEY_ID}"\n'})
    pending: list[PendingSecretCheck] = []
    document = Gate().input_document(repo=repo.root, base="main", head="claude/small",
                                     defer_secret_check=pending.append)
    assert pending == [] and forking == []
    assert [(f.rule_id, f.path) for f in document.findings] == [("AWS Access Key", "app/settings.py")]
    # Forking beside another thread could copy a lock that thread holds: then nothing forks.
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not _forked.available()
        big = _pr_repository(tmp_path / "big", secrets=True)
        found, _ = builtin_secret_findings(read_repository(big.root, "main", "claude/feature").lines)
        assert set(_found(found)) >= EXPECTED and forking == []
    finally:
        release.set()
        other.join()
    assert _forked.available()


def test_the_child_does_the_first_parts_and_this_process_the_rest() -> None:
    parent = os.getpid()

    def pids(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        for index in parts:
            if os.getpid() != parent:
                time.sleep(0.2)  # the child is slower than this process's call for the results
            yield index, os.getpid()

    done = _forked.Shared(pids, 6).results()
    child = done[0]
    from_child = [index for index, pid in enumerate(done) if pid == child]
    assert child != parent and from_child == list(range(len(from_child)))
    assert done[len(from_child):] == [parent] * (6 - len(from_child)) and done[-1] == parent


def test_when_the_child_did_every_part_this_process_starts_no_work() -> None:
    # Not even the job's setup, which can cost more than a part (detect-secrets' settings: 25 ms).
    parent = os.getpid()
    calls: list[list[int]] = []

    def quick(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        if os.getpid() == parent:
            calls.append(list(parts))
        for index in parts:
            yield index, os.getpid()

    helper = _forked.Shared(quick, 4)
    time.sleep(0.5)  # the child is done
    done = helper.results()
    assert parent not in done and len(set(done)) == 1 and calls == []


def test_the_child_stops_where_this_process_starts() -> None:
    def slow(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        for index in parts:
            time.sleep(0.05)
            yield index, os.getpid()

    helper = _forked.Shared(slow, 40)
    time.sleep(0.6)  # the child has done some parts
    done = helper.results()
    child = done[0]
    from_child = [index for index, pid in enumerate(done) if pid == child]
    assert child != os.getpid() and from_child == list(range(len(from_child)))
    assert 0 < len(from_child) < 40 and done[-1] == os.getpid()


def test_what_a_failed_child_did_is_done_again_here() -> None:
    parent = os.getpid()
    calls: list[int] = []

    def fails_there_at_2(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        for index in parts:
            if os.getpid() != parent and index == 2:
                raise RuntimeError("the child fails")
            calls.append(index)
            yield index, os.getpid()

    done = _forked.Shared(fails_there_at_2, 8).results()
    assert done == [parent] * 8  # the child failed: all of it is done here, as without it
    assert calls[-8:] == list(range(8))

    def crashes_there(parts: Sequence[int]) -> Iterator[tuple[int, str]]:
        for index in parts:
            if os.getpid() != parent:
                os._exit(3)
            yield index, "here"

    assert _forked.Shared(crashes_there, 5).results() == ["here"] * 5


def test_a_child_that_fails_on_the_whole_fails_here_too(tmp_path: Path) -> None:
    """All of it is done again here, as without the helper: parts done alone could succeed where the whole
    fails (git's whole patch over its size limit, where the patches of fewer paths are not)."""

    def fails_on_the_whole(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        if len(parts) == 6:
            raise RepositoryError(str(tmp_path), "git diff output is larger than the 100-byte limit")
        yield from ((index, index) for index in parts)

    with pytest.raises(RepositoryError, match="larger than"):
        _forked.Shared(fails_on_the_whole, 6).results()


def test_no_helper_while_sigchld_is_ignored() -> None:
    """The kernel would reap the child itself, and its exit status is what says its parts can be trusted."""
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        _forked.allow()
        assert not _forked.available()
        # Forked anyway, its status lost: all is done here.
        parent = os.getpid()
        assert _forked.Shared(_pids_slow_child(parent), 4).results() == [parent] * 4
    finally:
        signal.signal(signal.SIGCHLD, previous)
        _forked._allowed = False
    assert not _forked.available()


def _pids_slow_child(parent: int) -> Callable[[Sequence[int]], Iterator[tuple[int, int]]]:
    def pids(parts: Sequence[int]) -> Iterator[tuple[int, int]]:
        for index in parts:
            if os.getpid() != parent:
                time.sleep(0.2)
            yield index, os.getpid()

    return pids


def test_the_callers_error_is_raised_as_without_the_helper(tmp_path: Path) -> None:
    def fails(parts: Sequence[int]) -> Iterator[tuple[int, None]]:
        raise RepositoryError(str(tmp_path), "git diff printed fewer counts than changes")
        yield  # a generator

    with pytest.raises(RepositoryError, match="fewer counts"):
        _forked.Shared(fails, 4).results()


def test_cancel_leaves_no_child() -> None:
    def sleeps(parts: Sequence[int]) -> Iterator[tuple[int, None]]:
        time.sleep(60)
        yield from ((index, None) for index in parts)

    helper = _forked.Shared(sleeps, 2)
    pid = helper._pid
    assert pid > 0
    started = time.monotonic()
    helper.cancel()
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    helper.cancel()  # twice: nothing left to stop


def test_the_command_decides_as_the_library(tmp_path: Path) -> None:
    """`aigate evaluate --repo` (its process allows forking) against Gate.evaluate in this process."""
    repo = _pr_repository(tmp_path / "repo", secrets=True)
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"labels": ["ai-generated"]}))
    completed = subprocess.run(
        [sys.executable, "-m", "aigate", "evaluate", "--repo", str(repo.root), "--base", "main", "--head",
         "claude/feature", "--pr", str(pr)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    printed = json.loads(completed.stdout)
    expected = Gate().evaluate(repo=repo.root, base="main", head="claude/feature", pr=pr)
    assert printed["input_digest"] == expected.input_digest
    assert printed["violations"] == json.loads(expected.model_dump_json())["violations"]
    assert sum(v["rule"] == "secret_detected" for v in printed["violations"]) >= 1
