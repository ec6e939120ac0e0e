"""Compiled path patterns give git's own answers: the table is checked against `git check-ignore`
and `git ls-files ':(glob)…'`, and the compiled regexes are run through Python's `re` (the same
expressions the engines run, checked on both engines by the policy and parity tests)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from aigate.patterns import (
    CompiledPattern,
    PathGlob,
    combined_regex,
    compile_path_pattern,
    lines_regex,
    path_regex,
    text_regex,
)

PATTERNS = [
    "*.env*",
    "**/auth/**",
    "docker-compose*.yml",
    ".github/workflows/**",
    "src/**/*.ts",
    "src/**/*.tsx",
    "tests/**",
    "*.py",
    "/root.txt",
    "docs/*.md",
    "a?c.txt",
    "[ab]x.txt",
    "**/secrets",
    "build/",
    "a/**/b",
    "**",
    "foo bar.txt",
    "café/*.txt",
    "*.py[co]",
    "**/*secret*",
]

PATHS = [
    ".env",
    "config/.env.local",
    "app.env.example",
    "src/environment.ts",
    "auth/x.ts",
    "src/auth/login.ts",
    "src/author.ts",
    "src/oauth/x.ts",
    "a/b/auth/c/d.txt",
    "docker-compose.yml",
    "deploy/docker-compose.prod.yml",
    ".github/workflows/ci.yml",
    ".github/dependabot.yml",
    "src/app.ts",
    "src/ui/button.ts",
    "src/ui/button.tsx",
    "src/a/b/c/d.ts",
    "src.ts",
    "lib/src/app.ts",
    "tests/test_app.py",
    "tests/deep/x/y.js",
    "src/tests/x.py",
    "root.txt",
    "sub/root.txt",
    "docs/readme.md",
    "docs/api/readme.md",
    "abc.txt",
    "a/c.txt",
    "ac.txt",
    "ax.txt",
    "cx.txt",
    "secrets",
    "x/secrets",
    "secrets/key.pem",
    "build/out.js",
    "src/build/out.js",
    "build",
    "a/b",
    "a/x/y/b",
    "a/b/c",
    "ab",
    "foo bar.txt",
    "café/menu.txt",
    "x.pyc",
    "x.pyd",
    "my_secret_file.txt",
    "README.md",
]


@pytest.fixture(scope="module")
def git_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """For each pattern, the set of PATHS git ignores when .gitignore holds that pattern alone."""
    repo = tmp_path_factory.mktemp("wildmatch")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), "LC_ALL": "C"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    answers = {}
    for pattern in PATTERNS:
        (repo / ".gitignore").write_text(pattern + "\n", encoding="utf-8")
        # Command: printf '%s\0' PATHS | git check-ignore --no-index -z --stdin
        result = subprocess.run(
            ["git", "-c", "core.quotepath=false", "check-ignore", "--no-index", "-z", "--stdin"],
            cwd=repo,
            env=env,
            input="\0".join(PATHS).encode("utf-8") + b"\0",
            capture_output=True,
        )
        assert result.returncode in (0, 1), result.stderr
        answers[pattern] = {p for p in result.stdout.decode("utf-8").split("\0") if p}
    return answers


@pytest.mark.parametrize("pattern", PATTERNS)
def test_path_regex_matches_git_check_ignore(pattern: str, git_answers: dict[str, set[str]]) -> None:
    regex = re.compile(path_regex(pattern))
    ours = {path for path in PATHS if regex.match(path)}
    assert ours == git_answers[pattern]


def test_issue_examples() -> None:
    def matches(pattern: str, path: str) -> bool:
        return re.match(path_regex(pattern), path) is not None

    assert matches("**/auth/**", "auth/x.ts")
    assert matches("*.env*", "config/.env.local")
    assert matches("src/**/*.ts", "src/app.ts")
    assert not matches("src/**/*.ts", "lib/src/app.ts")
    assert matches("tests/**", "tests/a/b.py")
    assert not matches("*.py", "src/app.pyi")


@pytest.mark.parametrize("pattern", ["src/**/*.ts", "tests/**", "*.env*", "**/auth/**"])
def test_path_regex_matches_git_ls_files_glob_pathspec(pattern: str, tmp_path: Path) -> None:
    """The same answers from git's pathspec matcher, on files that exist in the index."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "LC_ALL": "C"}
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    files = [p for p in PATHS if p not in {"build", "secrets", "a/b", "ab"} and not p.endswith("/")]
    for path in files:
        target = repo / path
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x", encoding="utf-8")
    subprocess.run(["git", "add", "-A", "-f"], cwd=repo, check=True, env=env)
    # A pattern without a slash matches at any depth in gitignore; as a pathspec it needs "**/".
    pathspec = pattern if "/" in pattern.rstrip("/") else f"**/{pattern}"
    listed = subprocess.run(
        ["git", "-c", "core.quotepath=false", "ls-files", "-z", "--", f":(glob){pathspec}"],
        cwd=repo,
        env=env,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    tracked = subprocess.run(
        ["git", "-c", "core.quotepath=false", "ls-files", "-z"], cwd=repo, env=env, capture_output=True, check=True
    ).stdout.decode("utf-8")
    regex = re.compile(path_regex(pattern))
    assert {p for p in tracked.split("\0") if p and regex.match(p)} == {p for p in listed.split("\0") if p}


def test_combined_and_lines_regex_agree_with_single_patterns() -> None:
    compiled = [compile_path_pattern(p) for p in PATTERNS[:8]]
    combined = re.compile(combined_regex(compiled))
    expected = {p for p in PATHS if any(re.match(c.regex, p) for c in compiled)}
    assert {p for p in PATHS if combined.match(p)} == expected
    batch = re.findall(lines_regex(compiled), "\n".join(PATHS))
    assert set(batch) == expected


def test_factored_combined_regex_agrees_with_single_patterns() -> None:
    # Every pattern list aigate ships, and the table above: the shared parts (any depth, a
    # leading "*" in the last name) are factored out of the combined forms.
    from aigate.config import load_config

    policy = load_config(None).settings["policy"]
    lists = [
        PATTERNS,
        [p for p in PATTERNS if p != "**"],
        policy["sensitive_patterns"],
        policy["blocked_patterns"],
        policy["require_tests"]["source_patterns"],
        policy["require_tests"]["test_patterns"],
        ["***", "*?", "*a*", "?*", "*.{a,b}", "[*]x", "*\\*", "**/*?", "**/a**", "\\*", "*\\\\", "x/*"],
    ]
    paths = [
        *PATHS,
        "a/b/x.secret.txt", "k8s/a.yml", "x/k8s", "infra/main.tf", "main.tf", "x.tf/y", "Dockerfile.dev",
        "web/Dockerfile", "CODEOWNERS", "docs/CODEOWNERS", "k.key", "a/b.pem", "a/password.txt",
        "src/a_test.go", "src/a.test.ts", "x/__tests__/y.js", "pkg/test_x.py", "FooTest.java", "a_spec.rb",
        "x.c", "x.cc", "y.h", "z.swift", "w.scala", "v.php", "pkg/x.kt", "a/b/c.rs", "q.ts/r", "r.cpp",
        ".gitlab-ci.yml", ".circleci/config.yml", "Jenkinsfile", "Jenkinsfile.bak", "a\\b.py", "*", "a*b", "x/y*",
        "q.{a,b}", "*x", "x/yz", "b\\", "ab\\", "dir/ba",
    ]  # fmt: skip
    for patterns in lists:
        compiled = [compile_path_pattern(p) for p in patterns]
        expected = {p for p in paths if any(re.match(c.regex, p) for c in compiled)}
        assert {p for p in paths if re.match(combined_regex(compiled), p)} == expected, patterns
        assert set(re.findall(lines_regex(compiled), "\n".join(paths))) == expected, patterns


def test_lines_regex_does_not_run_across_lines() -> None:
    compiled = [compile_path_pattern("*.env*")]
    assert re.findall(lines_regex(compiled), "config/.env\nREADME.md\nsrc/x.ts") == ["config/.env"]


def test_empty_list_matches_nothing() -> None:
    assert re.match(combined_regex([]), "anything") is None
    assert re.findall(lines_regex([]), "a\nb") == []


@pytest.mark.parametrize("pattern", ["", "   ", "# comment", "!negated"])
def test_unusable_path_patterns_rejected(pattern: str) -> None:
    with pytest.raises(ValueError):
        path_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "text", "anchored", "prefix", "expected"),
    [
        ("*[bot]@*", "123+devin-ai-integration[bot]@users.noreply.github.com", True, False, True),
        ("*[bot]@*", "devin-ai-integrationb@x", True, False, False),
        ("*noreply@anthropic.com", "Claude <noreply@anthropic.com>", True, False, False),
        ("*noreply@anthropic.com", "noreply@anthropic.com", True, False, True),
        ("ai-generated", "AI-Generated", True, False, True),
        ("ai-generated", "ai-generated-later", True, False, False),
        ("a?c", "abc", True, False, True),
        ("a?c", "a/c", True, False, True),
        ("a.c", "abc", True, False, False),
        ("claude/", "Claude/fix", False, True, True),
        ("claude/", "fix/claude/x", False, True, False),
        ("Generated with [Claude Code]", "x\n🤖 generated with [claude code](link)", False, False, True),
        ("(aider)", "Alice (aider)", False, False, True),
        ("$^+{}|", "x$^+{}|y", False, False, True),
    ],
)
def test_text_regex(pattern: str, text: str, anchored: bool, prefix: bool, expected: bool) -> None:
    regex = text_regex(pattern, anchored=anchored, prefix=prefix)
    assert (re.search(regex, text) is not None) is expected


def test_a_list_whose_regex_does_not_compile_is_refused_at_load() -> None:
    # Each pattern's regex is checked as part of its list's combined regexes: a broken part (here built by
    # hand, as only a translation bug could) fails the list (the config then checks each pattern alone).
    good = compile_path_pattern("*.py")
    broken = CompiledPattern("x", "^(", PathGlob(False, False, "(", "("))
    with pytest.raises(ValueError, match="cannot be compiled to a regular expression"):
        combined_regex([good, broken])
    with pytest.raises(ValueError, match="cannot be compiled to a regular expression"):
        lines_regex([good, broken])
    assert re.compile(combined_regex([good])).match("src/a.py")
