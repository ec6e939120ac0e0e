"""What the sandboxed processes tried, read from strace's per-process logs.

strace is the monitor because it sees every process of the run, whatever its language, at the
system-call boundary; the kernel's answers (EROFS, ENETUNREACH) are what the report records.
Read with a small line matcher: strace's output is a fixed format, one call a line with `-ff`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aigate.sandbox.report import NetworkAttempt, WriteAttempt

__all__ = ["MonitorLog", "TRACED_CALLS", "read_monitor_logs"]

_FILE_CALLS = (
    "open", "openat", "creat", "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "truncate", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmodat", "chown", "fchownat",
)
TRACED_CALLS = ("execve", "connect", "clone", "clone3", "fork", "vfork", "mmap", "brk", "mremap", *_FILE_CALLS)

_CALL = re.compile(r"^(?P<time>\d+\.\d+) (?P<call>[a-z0-9_]+)\((?P<args>.*)\) += (?P<ret>.*)$")
_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<addr>[^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((?P<port>\d+)\),.*?inet_pton\(AF_INET6, "(?P<addr>[^"]+)"')
_FIRST_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND")
_ERRNO = re.compile(r"^-1 (?P<errno>E[A-Z0-9]+)")
# Answers that mean nothing was (or could have been) written: the folder already exists, say.
_NOT_A_WRITE = frozenset({"EEXIST", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "ELOOP", "EBADF", "EINVAL"})
# Where the sandboxed command may write: its worktree, its private /tmp, and device files.
_WRITABLE = ("/workspace", "/tmp", "/dev", "/proc/self", "/proc/thread-self")


@dataclass
class MonitorLog:
    network: list[NetworkAttempt] = field(default_factory=list)
    writes_outside: list[WriteAttempt] = field(default_factory=list)
    refused_writes: list[WriteAttempt] = field(default_factory=list)
    fork_refused: int = 0
    memory_refused: int = 0


def _result(ret: str) -> str:
    match = _ERRNO.match(ret)
    return match["errno"] if match else "ok"


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")


def _is_outside(path: str) -> bool:
    # A relative path is relative to a directory the process opened; the mounts decide, and the
    # report does not guess (documented in the README).
    if not path.startswith("/"):
        return False
    return not any(path == root or path.startswith(root + "/") for root in _WRITABLE)


def _read_line(match: re.Match[str], log: MonitorLog) -> None:
    call, args, ret = match["call"], match["args"], match["ret"]
    result = _result(ret)
    if call == "connect":
        inet = _INET.search(args)
        if inet is not None:
            log.network.append(NetworkAttempt(family="inet", address=inet["addr"], port=int(inet["port"]),
                                              result=result))
            return
        inet6 = _INET6.search(args)
        if inet6 is not None:
            log.network.append(NetworkAttempt(family="inet6", address=inet6["addr"], port=int(inet6["port"]),
                                              result=result))
    elif call in ("clone", "clone3", "fork", "vfork"):
        if result == "EAGAIN":
            log.fork_refused += 1
    elif call in ("mmap", "brk", "mremap"):
        if result == "ENOMEM":
            log.memory_refused += 1
    elif call in _FILE_CALLS:
        if call in ("open", "openat") and not _WRITE_FLAGS.search(args):
            return
        path = _FIRST_STRING.search(args)
        if path is None or not _is_outside(_unescape(path[1])) or result in _NOT_A_WRITE:
            return
        attempt = WriteAttempt(path=_unescape(path[1]), call=call, result=result)
        (log.writes_outside if result == "ok" else log.refused_writes).append(attempt)


def read_monitor_logs(paths: Iterable[Path], *, started_by: str) -> MonitorLog:
    """Merge the per-process logs (`strace -ff -ttt -o PREFIX` writes PREFIX.PID).

    bubblewrap's own set-up (mounting the new root) happens before the command's parent starts,
    so every call timestamped before the first successful execve of `started_by` is skipped.
    """
    calls: list[re.Match[str]] = []
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            calls.extend(m for line in handle if (m := _CALL.match(line.rstrip("\n"))) is not None)
    calls.sort(key=lambda m: float(m["time"]))
    started = False
    log = MonitorLog()
    for match in calls:
        if not started:
            target = _FIRST_STRING.search(match["args"])
            started = (match["call"] == "execve" and _result(match["ret"]) == "ok" and target is not None
                       and _unescape(target[1]) == started_by)
            continue
        _read_line(match, log)
    return log
