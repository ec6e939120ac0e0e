"""One run of a host adapter: trusted config from the base revision, input from the checkout."""

from __future__ import annotations

from collections.abc import Mapping

from aigate.gate import Gate
from aigate.hosts.interface import HostAdapter, HostOptions, HostRun
from aigate.models import Decision
from aigate.trust import resolve_config

__all__ = ["evaluate_run"]


def evaluate_run(adapter: HostAdapter, options: HostOptions, environ: Mapping[str, str]) -> tuple[HostRun, Decision]:
    run = adapter.plan(environ)
    # The config and policies come from the PR's base revision (or a --config outside the checkout).
    config = resolve_config(config=options.config, repo=run.repo, base=run.base, state_dir=options.state_dir)
    with Gate(config, engine=options.engine, opa_url=options.opa_url) as gate:  # type: ignore[arg-type]
        decision = gate.evaluate(
            pr=run.pr, repo=run.repo, base=run.base, head=run.head, scans=list(options.scans),
            sandbox=options.sandbox,
        )
    return run, decision
