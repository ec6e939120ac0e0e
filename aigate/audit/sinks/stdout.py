"""Standard output sink: one JSON line per event, for a host that collects a job's output.

The chain runs within this process (each process starts a stream). `aigate evaluate` prints its
decision to stdout too: give it `-o FILE` to keep the two apart."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from aigate.audit.chain import ChainKey, ChainState, canonical, link_event
from aigate.audit.sinks.interface import AuditSink, StoredEvent

__all__ = ["StdoutSink"]


class StdoutSink(AuditSink):
    name = "stdout"

    def __init__(self, stream: str, key: ChainKey | None, output: TextIO | None = None) -> None:
        super().__init__(stream, key)
        self.output = output
        self._state = ChainState()
        self._lock = threading.Lock()

    def write(self, events: Sequence[StoredEvent]) -> None:
        target = self.output or sys.stdout
        with self._lock:  # one chain, whichever thread evaluates
            lines = []
            for event in events:
                self._state = link_event(event, self.stream, self._state, self.key)
                lines.append(canonical(event))
            target.write("\n".join(lines) + "\n")
            target.flush()
