"""`aigate audit record|query|export|stats|verify|flush`: the audit trail from the command line."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aigate.config import CONFIG_FILE_NAME, load_config
from aigate.errors import AigateError, AuditError

__all__ = ["add_audit_commands"]

_EXIT_OK = 0
_EXIT_FAILED = 1


def add_audit_commands(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="record, query, export, verify the audit trail")
    commands = audit.add_subparsers(dest="audit_command", required=True, parser_class=type(audit))

    def config_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path,
                            help=f"path to {CONFIG_FILE_NAME} (default: ./{CONFIG_FILE_NAME} if present)")

    def store_option(parser: argparse.ArgumentParser) -> None:
        config_option(parser)
        parser.add_argument("--db", metavar="URL",
                            help="store to read: sqlite:///PATH, a .db file, postgresql://…, or a .jsonl file "
                                 "(default: the first sqlite, postgres or jsonl sink of the config)")

    def window_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--since", metavar="T", help="from T (RFC 3339, YYYY-MM-DD, or 24h / 7d ago)")
        parser.add_argument("--until", metavar="T", help="before T (same forms)")

    record = commands.add_parser("record", help="record a review or merge of a PR on every configured sink")
    config_option(record)
    record.add_argument("--correlation-id", required=True, help="the PR's correlation id (see `audit query`)")
    record.add_argument("--type", required=True, choices=["review", "merge"])
    record.add_argument("--actor", required=True, help="who reviewed or merged")
    record.add_argument("--override", metavar="REASON", help="the reviewer or merger overrode a block: why")
    record.add_argument("--state", default="approved",
                        choices=["approved", "changes_requested", "commented", "dismissed"], help="review only")
    record.add_argument("--comment", help="review only")
    record.add_argument("--commit-sha", help="merge only: the merge commit")
    record.add_argument("--decision-id", help="the decision this review or merge acts on")
    record.set_defaults(handler=_record)

    query = commands.add_parser("query", help="the events of a PR, an agent, an outcome, a window")
    store_option(query)
    query.add_argument("--pr", type=int, metavar="N", help="PR number")
    query.add_argument("--correlation-id", metavar="X")
    query.add_argument("--agent", metavar="NAME", help="e.g. 'Claude Code' (case-insensitive)")
    query.add_argument("--outcome", choices=["allow", "review", "block"])
    query.add_argument("--decision-id", metavar="ID")
    query.add_argument("--type", action="append", default=[], dest="types", help="event type (repeatable)")
    window_options(query)
    query.add_argument("--format", choices=["table", "json"], default="table")
    query.add_argument("--limit", type=int)
    query.set_defaults(handler=_query)

    export = commands.add_parser("export", help="every event of a window as JSON Lines, chain links included")
    store_option(export)
    window_options(export)
    export.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    export.set_defaults(handler=_export)

    stats = commands.add_parser("stats", help="decisions by outcome, agent, rule and tier over a window")
    store_option(stats)
    window_options(stats)
    stats.add_argument("--format", choices=["table", "json"], default="table")
    stats.set_defaults(handler=_stats)

    verify = commands.add_parser("verify", help="check the hash chain: exit 1 naming the first bad event")
    verify.add_argument("file", nargs="?", type=Path, help="a JSON Lines audit file")
    store_option(verify)
    verify.add_argument("--hmac-key-env", metavar="VAR", help="check HMAC-SHA256 signatures with the secret in VAR")
    verify.add_argument("--hmac-key-file", type=Path, metavar="FILE", help="... with the secret in FILE")
    verify.add_argument("--public-key", type=Path, metavar="PEM", help="check Ed25519 signatures with this key")
    verify.set_defaults(handler=_verify)

    flush = commands.add_parser("flush", help="deliver what the webhook sinks' spools hold")
    config_option(flush)
    flush.set_defaults(handler=_flush)


def _config(args: argparse.Namespace) -> Any:
    if args.config is not None:
        return load_config(args.config)
    default = Path(CONFIG_FILE_NAME)
    return load_config(default if default.is_file() else None)


def _trail(args: argparse.Namespace) -> Any:
    from aigate.audit import AuditTrail

    config = _config(args)
    if not config.settings["audit"]["enabled"]:
        raise AuditError(f"{config.source}: audit.enabled is false; nothing would be recorded")
    return AuditTrail.from_config(config)


def _store(args: argparse.Namespace) -> Any:
    from aigate.audit import open_store
    from aigate.audit.settings import audit_settings

    if args.db:
        return open_store(args.db)
    config = _config(args)
    for sink in audit_settings(config.settings["audit"], config.base_dir).sinks:
        if sink.type in ("sqlite", "jsonl") and sink.path is not None:
            return open_store(sink.path)
        if sink.type == "postgres" and sink.dsn:
            return open_store(sink.dsn)
    raise AuditError(f"{config.source}: no queryable audit sink (sqlite, postgres or jsonl); give --db")


def _moment(text: str | None, option: str) -> str | None:
    from aigate.audit.events import utc_timestamp

    if text is None:
        return None
    relative = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[relative.group(2)]
        return utc_timestamp(datetime.now(UTC) - timedelta(**{unit: int(relative.group(1))}))
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise AigateError(f"{option} {text!r}: not a time (RFC 3339, YYYY-MM-DD, or e.g. 24h, 7d)") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_timestamp(moment)


def _filter(args: argparse.Namespace) -> Any:
    from aigate.audit import EventFilter

    return EventFilter(
        correlation_id=getattr(args, "correlation_id", None), pr_number=getattr(args, "pr", None),
        agent=getattr(args, "agent", None), outcome=getattr(args, "outcome", None),
        decision_id=getattr(args, "decision_id", None), types=tuple(getattr(args, "types", ())),
        since=_moment(args.since, "--since"), until=_moment(args.until, "--until"),
    )


def _record(args: argparse.Namespace) -> int:
    trail = _trail(args)
    try:
        if args.type == "review":
            event = trail.record_review(args.correlation_id, actor=args.actor, state=args.state,
                                        override=args.override, comment=args.comment, decision_id=args.decision_id)
        else:
            event = trail.record_merge(args.correlation_id, actor=args.actor, commit_sha=args.commit_sha,
                                       override=args.override, decision_id=args.decision_id)
    finally:
        trail.close()
    sys.stdout.write(event.model_dump_json() + "\n")
    return _EXIT_OK


def _summary(event: dict[str, Any]) -> str:
    payload = event.get("payload") or {}
    kind = event.get("type")
    if kind == "generation":
        parts = [payload.get("agent") or "unknown agent"]
        if payload.get("model"):
            parts.append(str(payload["model"]))
        if payload.get("session_links"):
            parts.append(", ".join(payload["session_links"]))
        return " · ".join(parts)
    if kind == "diff":
        return f"{payload.get('file_count')} files +{payload.get('lines_added')} -{payload.get('lines_removed')}"
    if kind == "detection":
        signals = payload.get("signals") or []
        return ("AI: " if payload.get("is_ai") else "human: ") + ", ".join(
            f"{s['kind']}={s['value']}" for s in signals
        )
    if kind == "policy":
        violations = payload.get("violations") or []
        return f"{len(violations)} violations ({payload.get('blocking')} blocking)" + "".join(
            f"; {v['rule']}: {v['message']}" for v in violations[:3]
        )
    if kind == "scan":
        return f"{len(payload.get('findings') or [])} findings {json.dumps(payload.get('counts') or {})}"
    if kind == "risk":
        risk = payload.get("risk")
        return "no risk assessment" if risk is None else f"score {risk['score']} tier {risk['tier']}"
    if kind == "decision":
        decision = payload.get("decision") or {}
        return f"{decision.get('outcome')} (decision {decision.get('decision_id')})"
    if kind in ("review", "merge"):
        text = f"{payload.get('actor')}"
        if kind == "review":
            text += f" {payload.get('state')}"
        if payload.get("override"):
            text += f"; OVERRIDE: {payload['override']}"
        return text
    return ""


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines) + "\n"


def _query(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        events = store.query(_filter(args), limit=args.limit)
    finally:
        store.close()
    if args.format == "json":
        sys.stdout.write(json.dumps(events, indent=2, ensure_ascii=False) + "\n")
        return _EXIT_OK
    rows = [[str(e.get("timestamp")), str(e.get("type")), str(e.get("correlation_id")),
             str(e.get("outcome") or "-"), str(e.get("agent") or "-"), " ".join(_summary(e).split())[:160]]
            for e in events]
    sys.stdout.write(_table(rows, ["TIMESTAMP", "TYPE", "CORRELATION", "OUTCOME", "AGENT", "DETAIL"]))
    return _EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from aigate.audit.chain import canonical

    store = _store(args)
    try:
        events = store.query(_filter(args))
    finally:
        store.close()
    text = "".join(canonical(event) + "\n" for event in events)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as e:
            raise AigateError(f"--output {args.output}: cannot write: {e.strerror or e}") from e
    return _EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    from aigate.audit import EventFilter

    window = _filter(args)
    store = _store(args)
    try:
        events = store.query(EventFilter(types=("decision",), since=window.since, until=window.until))
    finally:
        store.close()
    outcome: Counter[str] = Counter()
    agent: Counter[str] = Counter()
    rule: Counter[str] = Counter()
    tier: Counter[str] = Counter()
    for event in events:
        decision = event["payload"]["decision"]
        outcome[decision["outcome"]] += 1
        agent[event.get("agent") or ("unknown agent" if decision["is_ai"] else "human")] += 1
        for name in sorted({v["rule"] for v in decision.get("violations") or []}):
            rule[name] += 1
        tier[(decision.get("risk") or {}).get("tier") or "none"] += 1
    result = {"since": window.since, "until": window.until, "decisions": len(events),
              "by_outcome": dict(outcome.most_common()), "by_agent": dict(agent.most_common()),
              "by_rule": dict(rule.most_common()), "by_tier": dict(tier.most_common())}
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return _EXIT_OK
    rows = [[group, key, str(count)] for group, counts in
            (("outcome", outcome), ("agent", agent), ("rule", rule), ("tier", tier))
            for key, count in counts.most_common()]
    sys.stdout.write(f"{len(events)} decisions from {window.since or 'the start'} to {window.until or 'now'}\n")
    sys.stdout.write(_table(rows, ["BY", "VALUE", "DECISIONS"]))
    return _EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from aigate.audit import ChainKey, open_store, verify_store

    if (args.file is None) == (args.db is None):
        raise AigateError("audit verify: give a FILE or --db URL (one of them)")
    keys = [k for k in (args.hmac_key_env, args.hmac_key_file, args.public_key) if k is not None]
    if len(keys) > 1:
        raise AigateError("audit verify: give at most one of --hmac-key-env, --hmac-key-file, --public-key")
    key = None
    if args.hmac_key_env:
        key = ChainKey.from_env("hmac-sha256", args.hmac_key_env)
    elif args.hmac_key_file:
        key = ChainKey.from_file("hmac-sha256", args.hmac_key_file)
    elif args.public_key:
        key = ChainKey.from_file("ed25519", args.public_key, public=True)
    source = str(args.file) if args.file is not None else args.db
    store = open_store(args.file if args.file is not None else args.db)
    try:
        report = verify_store(store, key)
    finally:
        store.close()
    if report.first_break is not None:
        print(f"aigate: audit verify: {source}: {report.first_break}", file=sys.stderr)
        return _EXIT_FAILED
    signed = " and signature" if key is not None else ""
    print(f"ok: {report.count} events, chain{signed} intact; head sequence {report.head.sequence} {report.head.hash}")
    return _EXIT_OK


def _flush(args: argparse.Namespace) -> int:
    from aigate.audit.sinks.webhook import WebhookSink

    trail = _trail(args)
    pending = 0
    for sink in trail.sinks:
        if isinstance(sink, WebhookSink):
            report = sink.deliver()
            pending += report.pending
            print(f"{sink.url}: {report.delivered} delivered, {report.pending} waiting"
                  + (f" ({report.error})" if report.error else ""))
    trail.close()
    return _EXIT_FAILED if pending else _EXIT_OK
