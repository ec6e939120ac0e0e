"""Resource limits for a sandboxed run: rlimits, a pids cgroup where the machine lets us make one.

RLIMIT_NPROC does not bind root (the kernel exempts uid 0), so as root the process limit comes from
a pids cgroup, and without one from the watchdog's count of the run's processes.
"""

from __future__ import annotations

import contextlib
import os
import resource
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aigate.sandbox.settings import SandboxLimits

__all__ = ["PidsCgroup", "count_descendants", "make_preexec", "pids_cgroup"]

_CGROUP_V1_PIDS = Path("/sys/fs/cgroup/pids")
_CGROUP_V2 = Path("/sys/fs/cgroup")


@dataclass
class PidsCgroup:
    path: Path
    version: int

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def hit_limit(self) -> bool:
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                name, _, count = line.partition(" ")
                if name == "max" and int(count) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def kill_all(self) -> None:
        import signal

        with contextlib.suppress(OSError):
            for pid in self.procs.read_text().split():
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)


def _v2_root_with_pids() -> Path | None:
    controllers = _CGROUP_V2 / "cgroup.controllers"
    try:
        if "pids" not in controllers.read_text().split():
            return None
        if "pids" not in (_CGROUP_V2 / "cgroup.subtree_control").read_text().split():
            (_CGROUP_V2 / "cgroup.subtree_control").write_text("+pids")
    except OSError:
        return None
    return _CGROUP_V2


@contextlib.contextmanager
def pids_cgroup(limit: int) -> Iterator[PidsCgroup | None]:
    """A fresh pids cgroup capped at `limit` tasks, or None where cgroups cannot be written here."""
    parent: Path | None
    version = 1
    if (_CGROUP_V1_PIDS / "cgroup.procs").exists():
        parent = _CGROUP_V1_PIDS
    else:
        parent, version = _v2_root_with_pids(), 2
    group: PidsCgroup | None = None
    if parent is not None:
        path = parent / f"aigate-sandbox-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
            group = PidsCgroup(path, version)
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
    try:
        yield group
    finally:
        if group is not None:
            group.kill_all()
            for _ in range(50):
                try:
                    group.path.rmdir()
                    break
                except OSError:
                    import time

                    time.sleep(0.02)


def make_preexec(limits: SandboxLimits, cgroup: PidsCgroup | None) -> Callable[[], None]:
    """Runs in the child between fork and exec: join the cgroup, set the rlimits every descendant inherits."""
    memory = limits.memory_mb * 1024 * 1024
    procs = str(cgroup.procs) if cgroup is not None else None

    def preexec() -> None:
        if procs is not None:
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return preexec


def count_descendants(pid: int) -> int:
    """How many processes descend from `pid`, from /proc's children lists (the watchdog's count)."""
    seen = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    children = [int(c) for c in handle.read().split()]
            except (OSError, ValueError):
                continue
            seen += len(children)
            stack.extend(children)
    return seen


def rlimit_enforcement(cgroup: PidsCgroup | None) -> dict[str, str]:
    processes = (
        f"pids cgroup v{cgroup.version}" if cgroup is not None
        else "RLIMIT_NPROC" if os.geteuid() != 0
        else "watchdog (process count polled every 20 ms)"
    )
    return {
        "wall_seconds": "watchdog (kills the whole sandbox)",
        "cpu_seconds": "RLIMIT_CPU (per process)",
        "memory_bytes": "RLIMIT_AS (per process)",
        "processes": processes,
        "output_bytes": "pipe cap (kills the whole sandbox)",
    }
