"""`run_sandbox`: check out a PR's head into a scratch worktree and run one command there, isolated.

The isolation is bubblewrap's: new user, PID, network, IPC, UTS and cgroup namespaces (no network,
not even the host's loopback), the system read-only, only the worktree and a private /tmp
writable, a cleared environment. strace watches every process for connects and writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aigate.errors import SandboxError
from aigate.sandbox._limits import count_descendants, make_preexec, pids_cgroup, rlimit_enforcement
from aigate.sandbox._monitor import TRACED_CALLS, read_monitor_logs
from aigate.sandbox.report import LimitName, SandboxArtifact, SandboxReport, SandboxTests
from aigate.sandbox.settings import SandboxSettings

__all__ = ["run_sandbox"]

WORKSPACE = "/workspace"
_REAPER_SCRIPT = Path(__file__).resolve().parent / "_reaper.py"
_REAPER_INSIDE = "/run/aigate/reaper.py"
_SYSTEM_DIRS = ("/usr", "/etc", "/opt")
_SYSTEM_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
_TAIL_BYTES = 16 * 1024
_MAX_ARTIFACT_BYTES = 64 << 20
_UNOBSERVED = (
    "connections made through already-open sockets inherited from outside (none are passed in)",
    "relative paths in file calls are reported only through the mounts' refusal, not by name",
    "what a process read (the worktree and the read-only system are readable by design)",
    "system calls other than connect, process creation, memory mapping and file writes",
)


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxError(f"sandbox: git {' '.join(args)} in {repo}: {e}") from e
    if result.returncode != 0:
        raise SandboxError(f"sandbox: git {' '.join(args)} in {repo}: {result.stderr.strip() or 'failed'}")
    return result.stdout.strip()


def _require_tool(name: str, package: str, why: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SandboxError(f"sandbox: {name} is not installed ({why}); install Debian's `{package}` package")
    return found


def _host_paths(environment: Mapping[str, str], extra: Sequence[str]) -> list[str]:
    """Read-only host folders the command needs beyond the system: its PATH's toolchains, and `extra`."""
    wanted: list[str] = []
    home = os.path.realpath(os.path.expanduser("~"))

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real in ("/", home) or not os.path.isdir(real):
            return
        if any(real == d or real.startswith(d + "/") for d in _SYSTEM_DIRS):
            return
        if real not in wanted:
            wanted.append(real)

    for entry in environment.get("PATH", "").split(os.pathsep):
        if not entry.startswith("/"):
            continue
        add(entry)
        # An interpreter's prefix holds its standard library: a Python installation or virtualenv
        # (and a virtualenv's base installation). Other prefixes (~/.cargo, ~/go) may hold
        # credentials, so only the PATH folder itself is shown for them.
        prefix = Path(entry).parent
        cfg = prefix / "pyvenv.cfg"
        if cfg.is_file():
            add(str(prefix))
            with contextlib.suppress(OSError):
                for line in cfg.read_text(encoding="utf-8").splitlines():
                    key, _, value = line.partition("=")
                    if key.strip() == "home":
                        add(str(PurePosixPath(value.strip()).parent))
        elif any(prefix.glob("lib/python3*")):
            add(str(prefix))
    for path in extra:
        add(path)
    # Nested binds after their parents, so a parent bind does not hide a child's.
    return sorted(wanted, key=len)


def _bwrap_argv(
    bwrap: str, worktree: Path, environment: Mapping[str, str], host_paths: Sequence[str], *, network: bool
) -> list[str]:
    # --cap-drop ALL: run by root, bwrap would otherwise keep every capability inside the namespace,
    # enough to remount the read-only system writable.
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-user", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL", "--hostname", "aigate-sandbox"]
    if not network:
        argv.append("--unshare-net")
    for directory in _SYSTEM_DIRS:
        if os.path.isdir(directory):
            argv += ["--ro-bind", directory, directory]
    for link, target in _SYSTEM_LINKS.items():
        if os.path.islink(link):
            argv += ["--symlink", target, link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
    # The private /tmp first: a toolchain that lives under the host's /tmp (a CI checkout's
    # virtualenv) is then bound on top of it instead of being hidden by it.
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in host_paths:
        argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(_REAPER_SCRIPT), _REAPER_INSIDE, "--bind", str(worktree), WORKSPACE,
             "--chdir", WORKSPACE, "--clearenv"]
    # Bytecode caches would be written beside read-only libraries: each a refused write, all noise.
    for name, value in sorted({"HOME": "/tmp", **environment, "PYTHONDONTWRITEBYTECODE": "1"}.items()):
        argv += ["--setenv", name, value]
    return argv


class _OutputPump(threading.Thread):
    """Reads the command's output, keeps its tail, and kills the run past the output cap."""

    def __init__(self, stream: object, cap: int, on_overflow: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.on_overflow = on_overflow
        self.total = 0
        self.tail = b""

    def run(self) -> None:
        read = self.stream.read1  # type: ignore[attr-defined]
        while chunk := read(65536):
            self.total += len(chunk)
            self.tail = (self.tail + chunk)[-_TAIL_BYTES:]
            if self.total > self.cap:
                self.on_overflow.set()


def _signal_name(code: int) -> str | None:
    number = -code if code < 0 else code - 128 if 128 < code <= 128 + 64 else 0
    if not number:
        return None
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return None


@dataclass(frozen=True)
class _Run:
    exit_code: int
    duration: float
    cpu_seconds: float
    peak_memory_bytes: int
    limit_hit: LimitName | None
    enforced_by: dict[str, str]
    output_bytes: int
    output_tail: bytes


def _interpreter() -> str:
    """This Python, by its real path: its prefix is bound read-only so the reaper can run."""
    return os.path.realpath(sys.executable)


def _run_isolated(
    bwrap_argv: Sequence[str], command: Sequence[str], settings: SandboxSettings, *, monitor_prefix: Path | None
) -> _Run:
    limits = settings.limits
    strace: list[str] = []
    if monitor_prefix is not None:
        strace = [_require_tool("strace", "strace", "the sandbox's network and write monitor"), "-f", "-ff", "-qq",
                  "-ttt", "--seccomp-bpf", "-e", "trace=" + ",".join(TRACED_CALLS), "-o", str(monitor_prefix)]
    overflow = threading.Event()
    limit_hit: LimitName | None = None
    status_read, status_write = os.pipe()
    argv = [*strace, *bwrap_argv, "--", _interpreter(), "-I", "-S", _REAPER_INSIDE, str(status_write), "--",
            *command]
    with pids_cgroup(limits.processes) as cgroup:
        started = time.monotonic()
        try:
            process = subprocess.Popen(  # argv is built here, never through a shell
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, start_new_session=True,
                preexec_fn=make_preexec(limits, cgroup), pass_fds=(status_write,),
            )
        except OSError as e:
            raise SandboxError(f"sandbox: cannot start {argv[0]}: {e.strerror or e}") from e
        finally:
            os.close(status_write)
        pump = _OutputPump(process.stdout, limits.output_kb * 1024, overflow)
        pump.start()
        done = threading.Event()
        reasons: list[LimitName] = []

        def kill(reason: LimitName) -> None:
            reasons.append(reason)
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            if cgroup is not None:
                cgroup.kill_all()

        def watchdog() -> None:
            deadline = started + limits.wall_seconds
            while not done.wait(0.02):
                if overflow.is_set():
                    return kill("output")
                if time.monotonic() >= deadline:
                    return kill("wall_time")
                # +3: strace, bwrap and its init are not the command's processes.
                if cgroup is None and os.geteuid() == 0 and count_descendants(process.pid) > limits.processes + 3:
                    return kill("processes")
            return None

        guard = threading.Thread(target=watchdog, daemon=True)
        guard.start()
        _, wait_status, usage = os.wait4(process.pid, 0)
        done.set()
        duration = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        guard.join()
        pump.join(timeout=5)
        with os.fdopen(status_read, "rb") as status_pipe:
            status_line = status_pipe.read(4096)
        if reasons:
            limit_hit = reasons[0]
        elif cgroup is not None and cgroup.hit_limit():
            limit_hit = "processes"
    # The reaper's account covers the whole tree; without it (killed by the watchdog) use what the
    # kernel gave us for the tree we could wait for.
    reaped: dict[str, float] = {}
    with contextlib.suppress(ValueError):
        reaped = json.loads(status_line or b"{}")
    exit_code = process.returncode
    if reaped.get("exit_code") is not None and not reasons:
        exit_code = int(reaped["exit_code"])
    return _Run(
        exit_code=exit_code,
        duration=duration,
        cpu_seconds=float(reaped.get("cpu_seconds", usage.ru_utime + usage.ru_stime)),
        peak_memory_bytes=int(reaped.get("peak_memory_bytes", usage.ru_maxrss * 1024)),
        limit_hit=limit_hit,
        enforced_by=rlimit_enforcement(cgroup),
        output_bytes=pump.total,
        output_tail=pump.tail,
    )


def _preflight(bwrap: str) -> None:
    """Fail before the real run when this machine refuses the namespaces bubblewrap needs."""
    probe = subprocess.run(
        [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"],
        capture_output=True, text=True, timeout=60,
    )
    if probe.returncode != 0:
        reason = " ".join(probe.stderr.split())[:300] or f"exit {probe.returncode}"
        raise SandboxError(f"sandbox: bubblewrap cannot create namespaces here: {reason}")


def _collect_artifacts(
    worktree: Path, settings: SandboxSettings, saved_dir: Path | None
) -> tuple[tuple[SandboxArtifact, ...], SandboxTests]:
    """The JUnit and coverage files the command wrote, copied out; test counts from the JUnit ones.

    Only regular files that really lie inside the worktree are taken: the sandboxed code could
    plant a symlink (a file's or a folder's) pointing at a host file for this step to read.
    """
    from aigate.errors import ScanError
    from aigate.sources.scan_junit import parse_junit_xml

    root = worktree.resolve()
    artifacts: list[SandboxArtifact] = []
    counts = [0, 0, 0, 0]
    for kind, patterns in (("junit", settings.junit), ("coverage", settings.coverage)):
        matched: set[Path] = set()
        for pattern in patterns:
            matched.update(p for p in worktree.glob(pattern)
                           if not p.is_symlink() and p.is_file() and p.resolve().is_relative_to(root))
        for path in sorted(matched):
            relative = path.relative_to(worktree).as_posix()
            if path.stat().st_size > _MAX_ARTIFACT_BYTES:
                raise SandboxError(f"sandbox: {relative}: larger than the {_MAX_ARTIFACT_BYTES}-byte artifact limit")
            data = path.read_bytes()
            saved_as = None
            if saved_dir is not None:
                target = saved_dir / kind / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                # Relative to the report's folder (the parent of saved_dir), so the pair can be moved.
                saved_as = target.relative_to(saved_dir.parent).as_posix()
            artifacts.append(SandboxArtifact(kind=kind, path=relative, saved_as=saved_as,
                                             sha256=hashlib.sha256(data).hexdigest(), size=len(data)))
            if kind == "junit":
                try:
                    results = parse_junit_xml(data.decode("utf-8", "replace"), source=relative).results
                except ScanError as e:
                    raise SandboxError(f"sandbox: the command's {e}") from e
                for i, n in enumerate((results.tests, results.failures, results.errors, results.skipped)):
                    counts[i] += n
    tests = SandboxTests(tests=counts[0], failures=counts[1], errors=counts[2], skipped=counts[3])
    return tuple(artifacts), tests


def run_sandbox(
    repo: Path,
    head: str,
    command: Sequence[str],
    *,
    settings: SandboxSettings | None = None,
    setup: str | None = None,
    artifacts_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SandboxReport:
    """Run `command` on `head` of `repo` in a scratch worktree under bubblewrap; never in `repo` itself."""
    settings = settings or SandboxSettings()
    if not command:
        raise SandboxError("sandbox: no command given (put it after `--`)")
    if setup is not None and not settings.allow_setup:
        raise SandboxError("sandbox: --setup is forbidden by the config (sandbox.allow_setup: false)")
    bwrap = _require_tool("bwrap", "bubblewrap", "the sandbox runs every command under it")
    _require_tool("strace", "strace", "the sandbox's network and write monitor")
    _preflight(bwrap)
    environment = settings.environment(os.environ if environ is None else environ)
    if shutil.which(command[0], path=environment.get("PATH", "")) is None and "/" not in command[0]:
        raise SandboxError(f"sandbox: command not found on the sandbox's PATH: {command[0]}")
    sha = _git(repo, "rev-parse", "--verify", "--quiet", f"{head}^{{commit}}")
    host_paths = _host_paths(environment, [*settings.read_only_paths, sys.base_prefix])
    with tempfile.TemporaryDirectory(prefix="aigate-sandbox-") as scratch_name:
        scratch = Path(scratch_name)
        worktree = scratch / "worktree"
        # --no-local: a copy of the objects. --shared would point at the user's object store, which
        # is not mounted inside (git there fails), and hard links would let the run rewrite it.
        _git(repo, "clone", "--quiet", "--no-local", "--no-checkout", "--", str(repo.resolve()), str(worktree))
        _git(worktree, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha)
        if setup is not None:
            argv = _bwrap_argv(bwrap, worktree, environment, host_paths, network=True)
            prepared = _run_isolated(argv, ["/bin/sh", "-c", setup], settings, monitor_prefix=None)
            if prepared.exit_code != 0 or prepared.limit_hit is not None:
                last = " ".join(prepared.output_tail.decode("utf-8", "replace").split())[-300:]
                why = f"hit its {prepared.limit_hit} limit" if prepared.limit_hit else f"exit {prepared.exit_code}"
                raise SandboxError(f"sandbox: setup command failed ({why}): {last}")
        monitor_dir = scratch / "monitor"
        monitor_dir.mkdir()
        argv = _bwrap_argv(bwrap, worktree, environment, host_paths, network=False)
        run = _run_isolated(argv, command, settings, monitor_prefix=monitor_dir / "trace")
        log = read_monitor_logs(monitor_dir.glob("trace.*"), started_by=_interpreter())
        if run.exit_code == 127 and "aigate sandbox: cannot run" in run.output_tail.decode("utf-8", "replace"):
            raise SandboxError(f"sandbox: cannot run {command[0]} inside the sandbox (not found or not executable)")
        limit_hit = run.limit_hit
        if limit_hit is None:
            if log.fork_refused:
                limit_hit = "processes"
            elif log.memory_refused:
                limit_hit = "memory"
            elif _signal_name(run.exit_code) == "SIGXCPU" or (
                run.exit_code != 0 and run.cpu_seconds >= settings.limits.cpu_seconds - 0.05
            ):
                limit_hit = "cpu_time"
        artifacts, tests = _collect_artifacts(worktree, settings, artifacts_dir)
    network = [a for a in log.network if not (settings.allow_loopback and _is_loopback(a.address))]
    return SandboxReport(
        command=tuple(command),
        setup_command=setup,
        head=sha,
        exit_code=run.exit_code,
        signal=_signal_name(run.exit_code),
        duration_seconds=round(run.duration, 3),
        cpu_seconds=round(run.cpu_seconds, 3),
        peak_memory_bytes=run.peak_memory_bytes,
        limit_hit=limit_hit,
        limits=settings.limits.as_report(),
        enforced_by=run.enforced_by,
        network_attempted=bool(network),
        network_attempts=tuple(network[:100]),
        writes_outside_worktree=tuple(log.writes_outside[:100]),
        refused_writes=tuple(log.refused_writes[:100]),
        refused_write_count=len(log.refused_writes),
        observed_by="strace (every process of the run, at the system-call boundary)",
        unobserved=_UNOBSERVED,
        tests=tests,
        artifacts=artifacts,
        output_tail=run.output_tail.decode("utf-8", "replace"),
        output_bytes=run.output_bytes,
    )


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")
