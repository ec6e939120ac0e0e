"""A process that records N merge events through the configured audit sinks (tests of concurrent writers).

    python tests/audit/writer.py CONFIG WORKER_NAME N
"""

from __future__ import annotations

import sys

from aigate.audit import AuditTrail
from aigate.config import load_config


def main(config_path: str, worker: str, count: int) -> None:
    trail = AuditTrail.from_config(load_config(config_path))
    try:
        for index in range(count):
            trail.record_merge(f"github.com/acme/payments#{index % 50}", actor=worker, commit_sha=f"{worker}-{index}")
    finally:
        trail.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
