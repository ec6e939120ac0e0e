"""Runs inside the sandbox as the command's parent: reaps every descendant and reports their usage.

As a child subreaper it inherits the command's orphans, so the CPU time and peak memory it
reports cover the whole process tree. It is run by path with `python -I -S`, importing nothing
of aigate, and writes one JSON line to the status descriptor, which the command does not inherit.
"""

import ctypes
import json
import os
import sys

_PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    status_fd = int(sys.argv[1])
    command = sys.argv[3:]  # argv[2] is "--"
    os.set_inheritable(status_fd, False)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        child = os.fork()
    except OSError as e:
        os.write(status_fd, json.dumps({"error": f"fork: {e.strerror}"}).encode() + b"\n")
        return 127
    if child == 0:
        try:
            os.execvp(command[0], command)
        except OSError as e:
            os.write(2, f"aigate sandbox: cannot run {command[0]}: {e.strerror}\n".encode())
            os._exit(127)
    code = None
    cpu = 0.0
    peak_kb = 0
    while True:
        try:
            pid, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        cpu += usage.ru_utime + usage.ru_stime
        peak_kb = max(peak_kb, usage.ru_maxrss)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            # The command is done: what it left running dies with it (kill -1 reaches only this
            # PID namespace, and spares this process and the namespace's init).
            try:
                os.kill(-1, 9)
            except OSError:
                pass
    report = {"exit_code": code, "cpu_seconds": cpu, "peak_memory_bytes": peak_kb * 1024}
    os.write(status_fd, json.dumps(report).encode() + b"\n")
    if code is None:
        return 127
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
