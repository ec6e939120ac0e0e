"""`aigate sandbox run` under the real bubblewrap: isolation, limits, the report, and the gate's verdict on it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.errors import SandboxError
from aigate.models import Commit, FileChange, InputDocument, PullRequest
from aigate.sandbox import SandboxLimits, SandboxSettings, run_sandbox
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux-only")

_TESTS = {
    "test_ok.py": """
        def test_one():
            assert 1 + 1 == 2

        def test_two():
            assert "a".upper() == "A"
    """,
    "test_fails.py": """
        def test_passes():
            assert True

        def test_fails():
            assert 1 == 2
    """,
    "net_probe.py": """
        import socket, sys
        results = {}
        for name, address in (("loopback", ("127.0.0.1", int(sys.argv[1]))), ("outside", ("192.0.2.1", 443))):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect(address)
                results[name] = "connected"
            except OSError as e:
                results[name] = type(e).__name__
        print(results)
        sys.exit(0 if set(results.values()) & {"connected"} else 3)
    """,
    "fork_bomb.py": """
        import os, time
        while True:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
    """,
    "memory_hog.py": """
        blocks = []
        while True:
            blocks.append(bytearray(64 * 1024 * 1024))
    """,
    "read_token.py": """
        import os, sys
        leaked = sorted(k for k in os.environ if "TOKEN" in k or k.startswith("AWS_"))
        print("leaked:", leaked)
        sys.exit(1 if leaked else 0)
    """,
    "calc.py": """
        def add(a, b):
            return a + b


        def divide(a, b):
            if b == 0:
                raise ZeroDivisionError("b")
            return a / b
    """,
    "test_calc.py": """
        from calc import add

        def test_add():
            assert add(2, 3) == 5
    """,
    "write_outside.py": """
        import os, sys
        refused = []
        for path in (sys.argv[1], "/etc/aigate-sandbox-probe", "/usr/aigate-sandbox-probe"):
            try:
                with open(path, "w") as handle:
                    handle.write("escaped")
            except OSError as e:
                refused.append(path)
        with open("written-in-worktree.txt", "w") as handle:
            handle.write("fine")
        print("refused", refused)
    """,
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandboxed-repo")
    _git(root, "init", "-q", "-b", "main")
    for name, text in _TESTS.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=Claude", "-c", "user.email=noreply@anthropic.com", "commit", "-qm", "tests")
    return root


@pytest.fixture
def host_server() -> Iterator[int]:
    """A real TCP server on the host's loopback: reachable from here, never from the sandbox."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


# (-p no:aigate: aigate's own pytest plugin is not the tested project's, and an editable install of aigate
# points outside the sandbox.)
_PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:aigate", "--junitxml=junit.xml"]
_SETTINGS = SandboxSettings(junit=("junit.xml",))


def test_passing_suite(repo: Path) -> None:
    report = run_sandbox(repo, "HEAD", [*_PYTEST, "test_ok.py"], settings=_SETTINGS)
    assert report.exit_code == 0
    assert (report.tests.tests, report.tests.failures, report.tests.errors) == (2, 0, 0)
    assert report.limit_hit is None
    assert not report.network_attempted
    assert report.writes_outside_worktree == ()
    assert report.head == _git(repo, "rev-parse", "HEAD")
    assert [a.path for a in report.artifacts] == ["junit.xml"]
    assert report.peak_memory_bytes > 1_000_000 and report.cpu_seconds > 0


def test_failing_suite(repo: Path) -> None:
    report = run_sandbox(repo, "HEAD", [*_PYTEST, "test_fails.py"], settings=_SETTINGS)
    assert report.exit_code == 1
    assert (report.tests.tests, report.tests.failures) == (2, 1)
    assert "1 failed, 1 passed" in report.output_tail


def test_no_network_not_even_host_loopback(repo: Path, host_server: int) -> None:
    with socket.create_connection(("127.0.0.1", host_server), timeout=2):
        pass  # the host reaches its own server
    report = run_sandbox(repo, "HEAD", [sys.executable, "net_probe.py", str(host_server)])
    assert report.exit_code == 3, report.output_tail
    assert "'loopback': 'ConnectionRefusedError'" in report.output_tail
    assert "'outside': 'OSError'" in report.output_tail  # ENETUNREACH: no route at all
    assert report.network_attempted
    attempts = {(a.address, a.port): a.result for a in report.network_attempts}
    assert attempts[("127.0.0.1", host_server)] in {"ECONNREFUSED", "EINPROGRESS"}
    assert attempts[("192.0.2.1", 443)] in {"ENETUNREACH", "EINPROGRESS"}


def test_fork_bomb_stopped_by_process_limit(repo: Path) -> None:
    settings = SandboxSettings(limits=SandboxLimits(processes=40, wall_seconds=60))
    report = run_sandbox(repo, "HEAD", [sys.executable, "fork_bomb.py"], settings=settings)
    assert report.limit_hit == "processes"
    assert report.exit_code != 0
    assert report.duration_seconds < 60


def test_memory_hog_stopped_by_memory_limit(repo: Path) -> None:
    settings = SandboxSettings(limits=SandboxLimits(memory_mb=400, wall_seconds=60))
    report = run_sandbox(repo, "HEAD", [sys.executable, "memory_hog.py"], settings=settings)
    assert report.limit_hit == "memory"
    assert report.exit_code != 0
    assert "MemoryError" in report.output_tail
    assert report.peak_memory_bytes <= 400 * 1024 * 1024


def test_wall_time_kills_the_whole_tree(repo: Path) -> None:
    settings = SandboxSettings(limits=SandboxLimits(wall_seconds=1.5))
    report = run_sandbox(repo, "HEAD", ["sh", "-c", "sleep 30 & sleep 30"], settings=settings)
    assert report.limit_hit == "wall_time"
    assert report.signal == "SIGKILL"
    assert report.duration_seconds < 10


def test_credentials_never_reach_the_code(repo: Path) -> None:
    environ = {**os.environ, "GITHUB_TOKEN": "ghp_planted", "AWS_SECRET_ACCESS_KEY": "planted", "CI_JOB_TOKEN": "x"}
    report = run_sandbox(repo, "HEAD", [sys.executable, "read_token.py"], environ=environ)
    assert report.exit_code == 0, report.output_tail
    assert "leaked: []" in report.output_tail
    # An allowlist that lets everything through still keeps credential-like names out.
    broad = SandboxSettings(env_allow=("*",))
    assert run_sandbox(repo, "HEAD", [sys.executable, "read_token.py"], settings=broad, environ=environ).exit_code == 0


def test_writes_outside_the_worktree_are_refused(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    report = run_sandbox(repo, "HEAD", [sys.executable, "write_outside.py", str(target)])
    assert report.exit_code == 0, report.output_tail
    assert not target.exists()
    assert not Path("/etc/aigate-sandbox-probe").exists()
    assert report.writes_outside_worktree == ()
    refused = {w.path: w.result for w in report.refused_writes}
    assert refused["/etc/aigate-sandbox-probe"] in {"EROFS", "EACCES", "ENOENT", "EPERM"}
    assert refused["/usr/aigate-sandbox-probe"] in {"EROFS", "EACCES", "ENOENT", "EPERM"}
    # The command ran in a scratch worktree: the user's tree is untouched.
    assert not (repo / "written-in-worktree.txt").exists()
    assert _git(repo, "status", "--porcelain") == ""


def test_no_capabilities_even_when_run_by_root(repo: Path) -> None:
    # Root running bwrap keeps every capability in the namespace unless they are dropped, and
    # CAP_SYS_ADMIN there is enough to remount the read-only system writable.
    command = ["sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status; mount -o remount,rw /etc; echo mount=$?"]
    report = run_sandbox(repo, "HEAD", command)
    capabilities = dict(line.split(":\t") for line in report.output_tail.splitlines() if line.startswith("Cap"))
    assert capabilities == {"CapPrm": "0000000000000000", "CapEff": "0000000000000000",
                            "CapBnd": "0000000000000000"}, report.output_tail
    assert "mount=0" not in report.output_tail


def test_the_checkouts_own_config_cannot_widen_its_sandbox(tmp_path: Path) -> None:
    # The PR's tree is what runs; a config in that tree must not choose what the run can see.
    secret = tmp_path / "runner-secrets"
    secret.mkdir()
    (secret / "key").write_text("planted")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    _git(checkout, "init", "-q", "-b", "main")
    (checkout / ".ai-code-gate.yml").write_text('sandbox:\n  env_allow: ["PATH", "BASE_CHOSEN"]\n')
    _git(checkout, "add", "-A")
    _git(checkout, "-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qm", "base")
    base = _git(checkout, "rev-parse", "HEAD")
    (checkout / ".ai-code-gate.yml").write_text(
        f'sandbox:\n  env_allow: ["*"]\n  read_only_paths: ["{secret}"]\n  limits: {{wall_seconds: 86400}}\n')
    _git(checkout, "-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-qam", "widen")
    probe = ["sh", "-c", f"echo base=$BASE_CHOSEN head=$HEAD_CHOSEN; cat {secret}/key || echo unseen"]
    env = {"BASE_CHOSEN": "b", "HEAD_CHOSEN": "h"}

    own = run_cli("sandbox", "run", "--head", "HEAD", "--", *probe, cwd=checkout, env=env)
    assert own.code == 0, own.stderr
    tail = json.loads(own.stdout)["output_tail"]
    assert "base= head=" in tail and "planted" not in tail and "unseen" in tail
    assert "sandbox.read_only_paths ignored" in own.stderr and "sandbox.limits ignored" in own.stderr

    from_base = run_cli("sandbox", "run", "--head", "HEAD", "--base", base, "--", *probe, cwd=checkout, env=env)
    assert from_base.code == 0, from_base.stderr
    assert "base=b head=" in json.loads(from_base.stdout)["output_tail"]


def test_git_works_inside_on_its_own_copy(repo: Path) -> None:
    # Tests often ask git (versions from tags, changed files): the scratch clone must be whole.
    report = run_sandbox(repo, "HEAD", ["git", "log", "-1", "--format=head=%H"])
    assert report.exit_code == 0, report.output_tail
    assert f"head={_git(repo, 'rev-parse', 'HEAD')}" in report.output_tail


def test_setup_runs_first_and_can_be_forbidden(repo: Path) -> None:
    report = run_sandbox(repo, "HEAD", ["cat", "prepared.txt"], setup="echo prepared > prepared.txt")
    assert report.exit_code == 0 and "prepared" in report.output_tail
    with pytest.raises(SandboxError, match="allow_setup"):
        run_sandbox(repo, "HEAD", ["true"], setup="true", settings=SandboxSettings(allow_setup=False))


def test_unknown_command_and_revision_fail_closed(repo: Path) -> None:
    with pytest.raises(SandboxError, match="command not found"):
        run_sandbox(repo, "HEAD", ["no-such-command-here"])
    with pytest.raises(SandboxError, match="no-such-ref"):
        run_sandbox(repo, "no-such-ref", ["true"])


def _document(repo: Path, report: object) -> InputDocument:
    return InputDocument(
        pr=PullRequest(labels=("ai-generated",)),
        commits=(Commit(sha=_git(repo, "rev-parse", "HEAD")),),
        files=(FileChange(path="test_ok.py", status="added", added=5),),
        sandbox=report,  # type: ignore[arg-type]
    )


def test_gate_blocks_failed_tests_and_passes_clean_runs(repo: Path) -> None:
    gate = Gate()
    clean = run_sandbox(repo, "HEAD", [*_PYTEST, "test_ok.py"], settings=_SETTINGS)
    assert [v.rule for v in gate.evaluate(_document(repo, clean)).violations if v.layer == "sandbox"] == []
    failed = run_sandbox(repo, "HEAD", [*_PYTEST, "test_fails.py"], settings=_SETTINGS)
    decision = gate.evaluate(_document(repo, failed))
    assert decision.outcome == "block"
    assert [v.rule for v in decision.violations if v.layer == "sandbox"] == ["sandbox_tests_failed"]


def test_required_sandbox_missing_is_never_an_allow(repo: Path) -> None:
    gate = Gate(config_from_mapping({"sandbox": {"required": True}}))
    decision = gate.evaluate(_document(repo, None))
    assert decision.outcome == "block"
    assert "sandbox_missing" in {v.rule for v in decision.violations}


def test_cli_loop_sandbox_then_evaluate(repo: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "sandbox.json"
    run = run_cli("sandbox", "run", "--repo", repo, "--head", "HEAD", "--report", report_path, "--",
                  *_PYTEST, "test_fails.py")
    assert run.code == 0, run.stderr
    report = json.loads(report_path.read_text())
    assert report["tests"]["failures"] == 1
    saved = [a["saved_as"] for a in report["artifacts"]]
    assert saved and all((report_path.parent / p).is_file() for p in saved)
    diff = tmp_path / "pr.diff"
    diff.write_text(subprocess.run(["git", "-C", str(repo), "show", "--format=", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout)
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"labels": ["ai-generated"]}))
    verdict = run_cli("evaluate", "--pr", pr, "--diff", diff, "--sandbox", report_path)
    assert verdict.code == 1, verdict.stderr
    assert "sandbox_tests_failed" in {v["rule"] for v in json.loads(verdict.stdout)["violations"]}


def test_cli_errors_are_one_line_exit_2(repo: Path, tmp_path: Path) -> None:
    unwritable = run_cli("sandbox", "run", "--repo", repo, "--head", "HEAD", "--report",
                         tmp_path / "missing-dir" / "r.json", "--", "true")
    assert unwritable.code == 2 and "cannot write" in unwritable.stderr
    no_command = run_cli("sandbox", "run", "--repo", repo, "--head", "HEAD")
    assert no_command.code == 2 and "no command given" in no_command.stderr
    # Without bubblewrap on the PATH, the sandbox refuses to run rather than running unisolated.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "strace"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [sys.executable, "-m", "aigate", "sandbox", "run", "--repo", str(repo), "--head", "HEAD", "--", "true"],
        capture_output=True, text=True, env={**os.environ, "PATH": str(bin_dir)}, cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bubblewrap" in result.stderr
    bad_report = tmp_path / "bad.json"
    bad_report.write_text('{"command": ["x"]}')
    diff = tmp_path / "pr.diff"
    diff.write_text(subprocess.run(["git", "-C", str(repo), "show", "--format=", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout)
    broken = run_cli("evaluate", "--diff", diff, "--sandbox", bad_report)
    assert broken.code == 2 and str(bad_report) in broken.stderr


def test_toolchain_under_the_hosts_tmp_stays_visible(repo: Path, tmp_path: Path) -> None:
    # A CI checkout under /tmp keeps its virtualenv there; the sandbox's private /tmp must not hide it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    report = run_sandbox(repo, "HEAD", [str(python), "-c", "import sys; print(sys.prefix)"],
                         environ={"PATH": f"{venv / 'bin'}:/usr/bin:/bin"})
    assert report.exit_code == 0, report.output_tail
    assert report.output_tail.strip() == str(venv)


def test_cli_loop_sandbox_coverage_feeds_changed_line_coverage(repo: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "out" / "sandbox.json"
    report_path.parent.mkdir()
    command = (f"{sys.executable} -m coverage run -m pytest -q -p no:cacheprovider -p no:aigate"
               f" --junitxml=junit.xml test_calc.py && {sys.executable} -m coverage json -q -o coverage.json")
    run = run_cli("sandbox", "run", "--repo", repo, "--head", "HEAD", "--report", report_path, "--", "sh", "-c",
                  command)
    assert run.code == 0, run.stderr
    report = json.loads(report_path.read_text())
    assert report["exit_code"] == 0, report["output_tail"]
    assert {a["kind"]: a["saved_as"] for a in report["artifacts"]} == {
        "junit": "sandbox-artifacts/junit/junit.xml", "coverage": "sandbox-artifacts/coverage/coverage.json"}
    diff = tmp_path / "pr.diff"
    diff.write_text(subprocess.run(["git", "-C", str(repo), "show", "--format=", "HEAD", "--", "calc.py"],
                                   check=True, capture_output=True, text=True).stdout)
    config = tmp_path / "gate.yml"
    config.write_text("scanning:\n  min_changed_line_coverage: 90\n")
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps({"labels": ["ai-generated"]}))
    verdict = run_cli("evaluate", "--config", config, "--pr", pr, "--diff", diff, "--sandbox", report_path)
    decision = json.loads(verdict.stdout)
    coverage = [v for v in decision["violations"] if v["rule"] == "changed_line_coverage"]
    assert len(coverage) == 1, verdict.stdout + verdict.stderr
    assert coverage[0]["message"] == "3 of 6 changed lines covered (50%); at least 90% required"
    # The saved evidence is checked against the report: an edited coverage file is refused.
    saved = report_path.parent / "sandbox-artifacts" / "coverage" / "coverage.json"
    saved.write_text(saved.read_text().replace('"covered_lines": 1', '"covered_lines": 5'))
    tampered = run_cli("evaluate", "--config", config, "--pr", pr, "--diff", diff, "--sandbox", report_path)
    assert tampered.code == 2 and "does not match its recorded hash" in tampered.stderr
