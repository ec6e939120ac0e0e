"""parse_diff against real git: every case is a base and a head commit in a scratch repository, and
the parsed diff must say what `git diff --numstat -z` (counts) and `git diff --raw -z` (status, modes)
say about the same two commits."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from unidiff.errors import UnidiffParseError

from aigate.errors import DiffError
from aigate.models import FileChange
from aigate.sources.diff import parse_diff


@dataclass(frozen=True)
class Exec:
    """A file with mode 100755."""

    content: bytes


@dataclass(frozen=True)
class Link:
    """A symlink (mode 120000)."""

    target: str


@dataclass(frozen=True)
class Gitlink:
    """A submodule entry (mode 160000) pointing at a commit."""

    commit: str


Tree = dict[str | bytes, bytes | Exec | Link | Gitlink]  # bytes keys: paths that are not UTF-8

TEXT = b"".join(b"line %d\n" % number for number in range(1, 21))
LONG = b"".join(b"row %d\n" % number for number in range(1, 101))
BINARY = bytes(range(256)) * 4
SHA_1, SHA_2 = "1" * 40, "2" * 40

# Removed content lines that look like headers: "-- foo" is "--- foo" in the diff, "- " is "-- "
# (format-patch's signature line) and "++ bar" is "-++ bar"; added "++ x" is "+++ x".
HEADER_LOOKALIKES_BASE = b"keep\n--- a/x\n-- foo\n++ bar\n- \n-- \n+++ b/y\ndiff --git a/z b/z\nend\n"
HEADER_LOOKALIKES_HEAD = (
    b"keep\n++ x\n+++ b/x\n--- a/x\n@@ -1 +1 @@\n\\ No newline at end of file\ndiff --git a/q b/q\n"
    b"index 0000000..1111111 100644\nnew file mode 100644\nrename from x\nBinary files a/x and b/x differ\n"
    b"GIT binary patch\nend\n"
)


def _entry(name: str) -> bytes:
    return f'    "{name}": R(\n        s="x",\n        note="n",\n    ),\n'.encode()


# An entry added between two alike ones can be shown one line earlier or later. Without context lines git
# first trims the files' common tail in 1 KiB blocks (xdiff-interface's trim_common_tail), and with this tail
# that moves it: `git diff -U0` adds lines 3-6, a patch with context lines 6-9 (found on a real repository).
_SLIDER_TAIL = _entry("b") + b"#" * 826 + b"\n" + b"".join(_entry(f"t{i}") for i in range(40)) + b"}\n"
SLIDER_BASE = b"X = {\n" + _entry("a") + _SLIDER_TAIL
SLIDER_HEAD = b"X = {\n" + _entry("a") + _entry("new") + _SLIDER_TAIL

CASES: dict[str, tuple[Tree, Tree]] = {
    "modified": ({"f.txt": b"a\nb\nc\n"}, {"f.txt": b"a\nB\nc\nd\n"}),
    "several-hunks": (
        {"long.txt": LONG},
        {"long.txt": LONG.replace(b"row 3\n", b"").replace(b"row 90\n", b"x\ny\n")},
    ),
    "added": ({}, {"new.txt": b"1\n2\n"}),
    "deleted": ({"gone.txt": b"1\n2\n3\n"}, {}),
    "added-empty": ({}, {"empty.txt": b""}),
    "deleted-empty": ({"empty.txt": b""}, {}),
    "renamed-exact": ({"old.txt": TEXT}, {"new.txt": TEXT}),
    "renamed-changed": ({"old.txt": TEXT}, {"dir/new.txt": TEXT.replace(b"line 5\n", b"five\n") + b"tail\n"}),
    "renamed-paths-with-b": (
        {"old name.txt": TEXT, "x b/y.txt": b"y\n"},
        {"Part b/new b/name.txt": TEXT + b"more\n", "x b/y.txt": b"z\n", "a b/c b/d.txt": b"new\n"},
    ),
    "copied": ({"src.txt": TEXT}, {"src.txt": TEXT + b"changed\n", "copy.txt": TEXT}),
    # Only `-C -C` sees a copy of a file the commit does not change.
    "copied-from-unmodified": ({"src.txt": TEXT}, {"src.txt": TEXT, "copy.txt": TEXT + b"x\n"}),
    "binary-modified": ({"img.bin": BINARY}, {"img.bin": BINARY[::-1]}),
    "binary-added-and-deleted": ({"old.bin": BINARY}, {"new.bin": BINARY + b"\x00new"}),
    "binary-added-empty-text": ({}, {"bin": b"\x00", "empty": b""}),
    "binary-renamed": ({"a.bin": BINARY * 8}, {"b.bin": BINARY * 8 + b"\x00tail"}),
    "text-to-binary": ({"f": b"text\n"}, {"f": BINARY}),
    "binary-to-text": ({"f": BINARY}, {"f": b"text\nmore\n"}),
    "mode-only": ({"run.sh": b"echo\n"}, {"run.sh": Exec(b"echo\n")}),
    "mode-and-content": ({"run.sh": b"echo\n"}, {"run.sh": Exec(b"echo hi\n")}),
    "mode-and-binary-content": ({"b.bin": BINARY}, {"b.bin": Exec(BINARY[::-1])}),
    "mode-and-rename": ({"run.sh": TEXT}, {"bin/run": Exec(TEXT)}),
    "executable-added": ({}, {"run.sh": Exec(b"x\n")}),
    "symlink-added": ({}, {"link": Link("target/file")}),
    "symlink-retargeted": ({"link": Link("a")}, {"link": Link("b")}),
    "symlink-deleted": ({"link": Link("a")}, {}),
    "file-to-symlink": ({"f": b"one\ntwo\n"}, {"f": Link("elsewhere")}),
    "symlink-to-file": ({"f": Link("elsewhere")}, {"f": b"one\ntwo\n"}),
    "binary-to-symlink": ({"f": BINARY}, {"f": Link("x")}),
    "submodule-added": ({}, {"sub": Gitlink(SHA_1)}),
    "submodule-updated": ({"sub": Gitlink(SHA_1)}, {"sub": Gitlink(SHA_2)}),
    "submodule-deleted": ({"sub": Gitlink(SHA_1)}, {}),
    "file-to-submodule": ({"sub": b"file\n"}, {"sub": Gitlink(SHA_1)}),
    "quoted-non-ascii": ({"café.txt": b"a\n"}, {"café.txt": b"b\n", "日本/語 ファイル.txt": b"x\n"}),
    "quoted-specials": (
        {"plain.txt": b"p\n"},
        {
            "plain.txt": b"q\n",
            "tab\there.txt": b"t\n",
            'quote"d.txt': b"q\n",
            "back\\slash.txt": b"b\n",
            "new\nline.txt": b"n\n",
            "bell\x07.txt": b"c\n",
        },
    ),
    "quoted-renamed": ({"café.txt": TEXT}, {'naïve "x"\t.txt': TEXT + b"y\n"}),
    "spaces": ({" lead.txt": b"1\n"}, {" lead.txt": b"2\n", "with space.txt": b"s\n", "trail .txt": b"t\n"}),
    "not-utf8-path": ({}, {b"latin1-\xe9.txt": b"x\n"}),
    "no-newline-at-eof": (
        {"a": b"x\ny", "b": b"x", "c": b"x\ny\n", "d": b"same\nold"},
        {"a": b"x\nz", "b": b"x\n", "c": b"x\ny", "d": b"same\nold\nnew"},
    ),
    "crlf": ({"w.txt": b"a\r\nb\r\nc\r\n"}, {"w.txt": b"a\r\nB\r\nc\r\nd\r\n", "new.txt": b"\r\n\r\n"}),
    # Line breaks other than "\n" (bare CR, U+0085, U+2028, VT, FF, FS) stay inside their line.
    "other-line-breaks": (
        {"cr.txt": b"x\ry\nkeep\n"},
        {"cr.txt": b"x\rz\nkeep\nnel\xc2\x85 ls\xe2\x80\xa8 vt\x0b ff\x0c fs\x1c\nlast\r"},
    ),
    "header-lookalikes": (
        {"lookalike.txt": HEADER_LOOKALIKES_BASE, "z.txt": b"z\n"},
        {"lookalike.txt": HEADER_LOOKALIKES_HEAD, "z.txt": HEADER_LOOKALIKES_BASE},
    ),
    "empty-lines": ({"e.txt": b"\n\n\na\n\n"}, {"e.txt": b"\n\nb\n\n\n"}),
    "slider-by-a-long-common-tail": ({"r.py": SLIDER_BASE}, {"r.py": SLIDER_HEAD}),
}


def _everything() -> tuple[Tree, Tree]:
    """All cases at once, each under its own folder: many kinds of entries next to each other."""
    base: Tree = {}
    head: Tree = {}
    for name, (case_base, case_head) in CASES.items():
        for tree, case_tree in ((base, case_base), (head, case_head)):
            for path, spec in case_tree.items():
                key = name.encode() + b"/" + path if isinstance(path, bytes) else f"{name}/{path}"
                tree[key] = spec
    return base, head


CASES["everything"] = _everything()


class Repository:
    """A scratch git repository, isolated from the user's and the system's git config."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root.parent / f"{root.name}-home"
        home.mkdir()
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        self.env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(home), XDG_CONFIG_HOME=str(home))
        root.mkdir()
        self.git("init", "-q")

    def git(self, *args: str, config: tuple[str, ...] = ()) -> bytes:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false", *config]
        return subprocess.run(
            [*command, *args], cwd=self.root, env=self.env, check=True, capture_output=True
        ).stdout

    def commit(self, tree: Tree) -> str:
        """Commit exactly `tree`, replacing everything the previous commit had."""
        self.git("rm", "-r", "-q", "--cached", "--ignore-unmatch", ".")
        for entry in self.root.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        gitlinks = []
        for path, spec in tree.items():
            full = os.path.join(os.fsencode(self.root), path if isinstance(path, bytes) else path.encode())
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if isinstance(spec, Gitlink):
                gitlinks.append((path, spec.commit))
            elif isinstance(spec, Link):
                os.symlink(spec.target, full)
            else:
                with open(full, "wb") as file:
                    file.write(spec.content if isinstance(spec, Exec) else spec)
                os.chmod(full, 0o755 if isinstance(spec, Exec) else 0o644)
        self.git("add", "-A")
        for path, commit in gitlinks:
            assert isinstance(path, str)
            self.git("update-index", "--add", "--cacheinfo", f"160000,{commit},{path}")
        self.git("commit", "-q", "--allow-empty", "-m", "commit")
        return self.git("rev-parse", "HEAD").decode().strip()


@dataclass(frozen=True)
class Built:
    repository: Repository
    base: str
    head: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Built]:
    """Each case's repository, built once for all the variants that read it."""
    cache: dict[str, Built] = {}

    def build(case: str) -> Built:
        if case not in cache:
            repository = Repository(tmp_path_factory.mktemp("diff") / case)
            base_tree, head_tree = CASES[case]
            cache[case] = Built(repository, repository.commit(base_tree), repository.commit(head_tree))
        return cache[case]

    return build


# How the diff text is produced: git config, then the options shared by the diff and by numstat/raw.
VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "diff": ((), ("-M", "-C")),
    "binary": ((), ("-M", "-C", "--binary")),
    "copies-harder": ((), ("-M", "-C", "-C")),
    "quotepath-off": (("-c", "core.quotepath=false"), ("-M", "-C")),
    "format-patch": ((), ("-M", "-C")),
}


def _decode(raw: bytes) -> str:
    # As the repository source decodes git's output.
    return raw.decode("utf-8", errors="replace")


def _diff_text(built: Built, variant: str) -> str:
    config, options = VARIANTS[variant]
    if variant == "format-patch":
        # An e-mail: headers, message and diffstat before the diff, the "-- " signature after it.
        return _decode(built.repository.git("format-patch", "--stdout", *options, "-1", built.head))
    command = ("diff", "--no-color", "--no-ext-diff", *options, built.base, built.head)
    return _decode(built.repository.git(*command, config=config))


def _fields(built: Built, variant: str, kind: str) -> Iterator[str]:
    """The NUL-separated fields of `git diff --numstat -z` or `--raw -z` with the variant's options."""
    config, options = VARIANTS[variant]
    raw = built.repository.git("diff", kind, "-z", *options, built.base, built.head, config=config)
    yield from (_decode(field) for field in raw.split(b"\0"))


def _numstat(built: Built, variant: str) -> list[tuple[str, str | None, int, int, bool]]:
    """`git diff --numstat -z`: (path, old path, added, removed, binary) per change."""
    fields = _fields(built, variant, "--numstat")
    changes = []
    for record in fields:
        if not record:
            break
        added, removed, path = record.split("\t", 2)
        old_path = None
        if not path:  # a rename or copy: "added\tremoved\t\0old\0new\0"
            old_path, path = next(fields), next(fields)
        binary = (added, removed) == ("-", "-")
        changes.append((path, old_path, 0 if binary else int(added), 0 if binary else int(removed), binary))
    return changes


RAW_STATUS = {"A": "added", "D": "deleted", "M": "modified", "T": "modified", "R": "renamed", "C": "copied"}


def _raw(built: Built, variant: str) -> list[tuple[str, str, str | None, str | None]]:
    """`git diff --raw -z`: (path, status, old mode, new mode) per change, as parse_diff reports them."""
    fields = _fields(built, variant, "--raw")
    changes = []
    for record in fields:
        if not record:
            break
        old_mode, new_mode, old_id, new_id, letter = record[1:].split(" ")
        path = next(fields)
        if letter[0] in "RC":
            path = next(fields)
        status = RAW_STATUS[letter[0]]
        if status == "modified" and old_id == new_id:
            status = "mode_changed"
        modes: tuple[str | None, str | None] = (
            None if old_mode == "000000" else old_mode,
            None if new_mode == "000000" else new_mode,
        )
        if letter in ("R100", "C100") and old_mode == new_mode:
            modes = (None, None)  # git writes no index line, so the diff does not say the mode
        changes.append((path, status, *modes))
    return changes


def _counts(changes: tuple[FileChange, ...]) -> list[tuple[str, str | None, int, int, bool]]:
    return [(change.path, change.old_path, change.added, change.removed, change.binary) for change in changes]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES)
def test_counts_match_numstat(built: Callable[[str], Built], case: str, variant: str) -> None:
    repository = built(case)
    expected = _numstat(repository, variant)
    assert expected, "the case must change something"
    assert _counts(parse_diff(_diff_text(repository, variant))) == expected


@pytest.mark.parametrize("variant", ["diff", "copies-harder", "binary"])
@pytest.mark.parametrize("case", CASES)
def test_status_and_modes_match_raw(built: Callable[[str], Built], case: str, variant: str) -> None:
    repository = built(case)
    changes = parse_diff(_diff_text(repository, variant))
    parsed = [(change.path, change.status, change.old_mode, change.new_mode) for change in changes]
    assert parsed == _raw(repository, variant)


# What the raw comparison above implies, spelled out for the cases where it matters most.
EXPECTED = [
    # case, path, status, old_mode, new_mode, added, removed
    ("mode-only", "run.sh", "mode_changed", "100644", "100755", 0, 0),
    ("mode-and-content", "run.sh", "modified", "100644", "100755", 1, 1),
    ("symlink-added", "link", "added", None, "120000", 1, 0),
    ("symlink-retargeted", "link", "modified", "120000", "120000", 1, 1),
    ("file-to-symlink", "f", "modified", "100644", "120000", 1, 2),
    ("symlink-to-file", "f", "modified", "120000", "100644", 2, 1),
    ("submodule-added", "sub", "added", None, "160000", 1, 0),
    ("submodule-updated", "sub", "modified", "160000", "160000", 1, 1),
    ("submodule-deleted", "sub", "deleted", "160000", None, 0, 1),
    ("file-to-submodule", "sub", "modified", "100644", "160000", 1, 1),
    ("added-empty", "empty.txt", "added", None, "100644", 0, 0),
    ("deleted-empty", "empty.txt", "deleted", "100644", None, 0, 0),
]


@pytest.mark.parametrize(("case", "path", "status", "old_mode", "new_mode", "added", "removed"), EXPECTED)
def test_modes_symlinks_submodules(
    built: Callable[[str], Built],
    case: str,
    path: str,
    status: str,
    old_mode: str | None,
    new_mode: str | None,
    added: int,
    removed: int,
) -> None:
    (change,) = parse_diff(_diff_text(built(case), "diff"))
    assert (change.path, change.status) == (path, status)
    assert (change.old_mode, change.new_mode) == (old_mode, new_mode)
    assert (change.added, change.removed, change.binary) == (added, removed, False)


def test_renames_and_copies_name_both_paths(built: Callable[[str], Built]) -> None:
    changes = parse_diff(_diff_text(built("renamed-paths-with-b"), "diff"))
    assert [(c.status, c.old_path, c.path) for c in changes] == [
        ("renamed", "old name.txt", "Part b/new b/name.txt"),
        ("added", None, "a b/c b/d.txt"),
        ("modified", None, "x b/y.txt"),
    ]
    (copy, source) = parse_diff(_diff_text(built("copied"), "diff"))
    assert (copy.status, copy.old_path, copy.path) == ("copied", "src.txt", "copy.txt")
    assert (source.status, source.old_path, source.path) == ("modified", None, "src.txt")


@pytest.mark.parametrize("text", ["", "\n", "  \n\n"])
def test_empty_diff_is_no_change(text: str) -> None:
    assert parse_diff(text) == ()


ENTRY = "diff --git a/f.txt b/f.txt\nindex 1111111..2222222 100644\n--- a/f.txt\n+++ b/f.txt\n"
NEXT_ENTRY = (
    "diff --git a/g.txt b/g.txt\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/g.txt\n"
)
NOT_A_GIT_DIFF = "pr.diff: not a git diff: no 'diff --git' line"

MALFORMED = [
    # id, diff text, DiffError message
    ("garbage", "hello\nworld\n", NOT_A_GIT_DIFF),
    ("plain-unified-diff", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n", NOT_A_GIT_DIFF),
    ("binary-data", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "pr.diff: contains NUL bytes: binary data, not a diff"),
    (
        "truncated-hunk",
        ENTRY + "@@ -1,3 +1,4 @@\n a\n-b\n+B\n",
        "pr.diff: line 5: hunk header '@@ -1,3 +1,4 @@'"
        " says 3 old and 4 new lines but 2 old and 2 new follow",
    ),
    (
        "truncated-at-hunk-header",
        ENTRY + "@@ -1 +1 @@\n",
        "pr.diff: line 5: hunk header '@@ -1 +1 @@' says 1 old and 1 new lines but 0 old and 0 new follow",
    ),
    (
        "header-counts-too-many-before-next-entry",
        ENTRY + "@@ -1,2 +1,3 @@\n a\n+b\n" + NEXT_ENTRY + "@@ -0,0 +1 @@\n+g\n",
        "pr.diff: line 5: hunk header '@@ -1,2 +1,3 @@'"
        " says 2 old and 3 new lines but 1 old and 2 new follow",
    ),
    (
        "header-counts-too-many-before-next-hunk",
        ENTRY + "@@ -1,2 +1,2 @@\n-a\n+b\n@@ -9 +9 @@\n-c\n+d\n",
        "pr.diff: line 5: hunk header '@@ -1,2 +1,2 @@'"
        " says 2 old and 2 new lines but 1 old and 1 new follow",
    ),
    (
        "header-counts-too-few-at-end",
        ENTRY + "@@ -1 +1 @@\n-a\n+b\n+c\n",
        "pr.diff: line 5: hunk header '@@ -1 +1 @@' says 1 old and 1 new lines but more follow (line 8)",
    ),
    (
        "header-counts-too-few-before-next-entry",
        ENTRY + "@@ -1 +1 @@\n-a\n+b\n-- c\n" + NEXT_ENTRY + "@@ -0,0 +1 @@\n+g\n",
        "pr.diff: line 5: hunk header '@@ -1 +1 @@' says 1 old and 1 new lines but more follow (line 8)",
    ),
    (
        "header-counts-too-few-before-next-hunk",
        ENTRY + "@@ -1 +1 @@\n-a\n+b\n c\n@@ -9 +9 @@\n-c\n+d\n",
        "pr.diff: line 5: hunk header '@@ -1 +1 @@' says 1 old and 1 new lines but more follow (line 8)",
    ),
    (
        "removed-lines-overflow",
        ENTRY + "@@ -1 +1,2 @@\n-a\n-b\n+c\n+d\n",
        "pr.diff: line 5: hunk header '@@ -1 +1,2 @@' says 1 old and 2 new lines but more follow (line 7)",
    ),
    (
        "hunk-line-without-hunk",
        "diff --git a/e b/e\nnew file mode 100644\nindex 0000000..e69de29\n+sneaked in\n",
        "pr.diff: line 4: hunk line '+sneaked in' outside any hunk",
    ),
    (
        "no-newline-marker-without-hunk",
        "diff --git a/e b/e\nnew file mode 100644\nindex 0000000..e69de29\n\\ No newline at end of file\n",
        "pr.diff: line 4: Unexpected marker: No newline at end of file",
    ),
    (
        "binary-line-after-hunk",
        ENTRY + "@@ -1 +1 @@\n-a\n+b\nBinary files a/x and b/x differ\n",
        "pr.diff: line 8: file header outside any 'diff --git' entry",
    ),
    (
        "diff-git-line-with-one-path",
        "diff --git f.txt\n" + ENTRY + "@@ -1 +1 @@\n-a\n+b\n",
        "pr.diff: line 1: cannot read this 'diff --git' line",
    ),
    (
        "unterminated-quoted-path",
        'diff --git "a/f.txt b/f.txt\nold mode 100644\nnew mode 100755\n',
        "pr.diff: line 1: cannot read the paths of this entry (unterminated quoted path)",
    ),
    (
        "paths-differ",
        "diff --git a/f.txt b/g.txt\nold mode 100644\nnew mode 100755\n",
        "pr.diff: line 1: cannot read the paths of this entry"
        " (the two paths of the 'diff --git' line differ)",
    ),
    (
        "rename-without-rename-to",
        "diff --git a/x b/y\nsimilarity index 100%\nrename from x\n",
        "pr.diff: line 1: cannot read the paths of this entry ('rename from' without 'rename to')",
    ),
    (
        "bad-escape-in-quoted-path",
        'diff --git "a/x\\q" "b/x\\q"\nold mode 100644\nnew mode 100755\n',
        "pr.diff: line 1: cannot read the paths of this entry (unknown escape '\\q' in a quoted path)",
    ),
    (
        # An empty line is a context line whose space was stripped (e-mail clients do that).
        "truncated-hunk-with-stripped-context",
        ENTRY + "@@ -1,4 +1,4 @@\n a\n\n-b\n",
        "pr.diff: line 5: hunk header '@@ -1,4 +1,4 @@' says 4 old and 4 new lines but 3 old and 2 new follow",
    ),
    (
        "crlf-converted",
        (ENTRY + "@@ -1 +1 @@\n-a\n+b\n").replace("\n", "\r\n"),
        "pr.diff: line 1: header ends in CR: the line endings were converted",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_diff_is_one_line_error(text: str, message: str) -> None:
    with pytest.raises(DiffError) as raised:
        parse_diff(text, source="pr.diff")
    assert str(raised.value) == message
    assert raised.value.source == "pr.diff"


def test_unidiff_error_is_the_cause() -> None:
    with pytest.raises(DiffError) as raised:
        parse_diff(ENTRY + "@@ -1,3 +1,4 @@\n a\n")
    assert isinstance(raised.value.__cause__, UnidiffParseError)
    assert str(raised.value).startswith("diff: line 5: ")


def test_last_line_without_newline_still_counts() -> None:
    (change,) = parse_diff(ENTRY + "@@ -1 +1,2 @@\n-a\n+b\n+c")
    assert (change.path, change.added, change.removed) == ("f.txt", 2, 1)


def test_format_patch_signature_after_a_removed_dash_space_line() -> None:
    # The removed line "- " reads "-- ", like the signature; the hunk counts tell them apart.
    email = "From 1 Mon Sep 17 00:00:00 2001\nSubject: x\n\n---\n"
    text = email + ENTRY + "@@ -1,2 +1 @@\n-- \n-a\n+b\n-- \n2.39.5\n\n"
    (change,) = parse_diff(text)
    assert (change.added, change.removed) == (1, 2)


def _parse_outcome(text: str) -> tuple[str, object]:
    try:
        return "changes", parse_diff(text, source="pr.diff")
    except DiffError as e:
        return "error", str(e)


MUTATION_LINES = [
    "+x", "-y", " z", "", "\r", "\\ No newline at end of file", "@@ -1 +1 @@", "@@ -1,2 +1 @@ f", "-- ",
    "old mode 100755", "index 1234567..89abcde 100755", "new file mode 120000", "Binary files a/x and b/x differ",
    "GIT binary patch", "literal 0", "+++ b/x", "--- a/x", "diff --git a/q b/q", "diff --git q",
]  # fmt: skip


@pytest.mark.parametrize("variant", ["diff", "binary", "format-patch"])
def test_fast_path_reads_as_unidiff_does(
    built: Callable[[str], Built], variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most entries are read by counting lines by kind instead of through unidiff; on every diff, and on
    diffs with lines removed, repeated, swapped or replaced, both readings give the same changes or the
    same error."""
    import random

    from aigate.sources import diff as diff_module

    rng = random.Random(variant)
    texts = []
    for case in CASES:
        lines = _diff_text(built(case), variant).split("\n")
        texts.append("\n".join(lines))
        for _ in range(12):
            mutated = lines[:]
            for _ in range(rng.randrange(1, 3)):
                at = rng.randrange(len(mutated))
                action = rng.randrange(4)
                if action == 0:
                    del mutated[at]
                elif action == 1:
                    mutated.insert(at, mutated[rng.randrange(len(mutated))])
                elif action == 2:
                    other = rng.randrange(len(mutated))
                    mutated[at], mutated[other] = mutated[other], mutated[at]
                else:
                    mutated[at] = rng.choice(MUTATION_LINES)
            texts.append("\n".join(mutated))
    fast = [_parse_outcome(text) for text in texts]
    monkeypatch.setattr(diff_module, "_read_all", lambda text, entries: None)  # unidiff reads every entry
    assert [_parse_outcome(text) for text in texts] == fast
