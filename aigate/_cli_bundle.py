"""`aigate bundle build` and `aigate bundle verify`: OPA bundles of the policies and config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aigate._jws_algorithms import SIGNING_ALGORITHMS
from aigate.config import CONFIG_FILE_NAME, load_config
from aigate.errors import AigateError

__all__ = ["add_bundle_commands"]

_EXIT_OK = 0
_EXIT_ERROR = 2


def add_bundle_commands(subparsers: Any) -> None:
    """Add `bundle build` and `bundle verify` to the `aigate` command's subparsers."""
    bundle = subparsers.add_parser("bundle", help="build or verify an OPA bundle of the policies and config")
    commands = bundle.add_subparsers(dest="bundle_command", required=True, parser_class=type(bundle))

    build = commands.add_parser(
        "build", help="write an OPA bundle (policies + compiled config) that `opa run --bundle` loads"
    )
    build.add_argument(
        "--config", type=Path, help=f"path to {CONFIG_FILE_NAME} (default: ./{CONFIG_FILE_NAME} if present)"
    )
    build.add_argument("--policy-dir", type=Path, help="policies to bundle (default: the configured or built-in ones)")
    build.add_argument("--out", type=Path, default=Path("bundle.tar.gz"), help="bundle file (default: bundle.tar.gz)")
    build.add_argument("--signing-key", type=Path, help="PEM private key, or for HS* a file holding the secret")
    build.add_argument("--signing-alg", default="RS256", choices=SIGNING_ALGORITHMS, help="default: RS256")
    build.add_argument("--key-id", default="aigate", help="key id the signature names (default: aigate)")
    build.add_argument("--scope", help="scope claim of the signature (OPA's --scope)")
    build.set_defaults(handler=_build)

    verify = commands.add_parser("verify", help="check a bundle's signature and every file's hash")
    verify.add_argument("bundle", type=Path)
    verify.add_argument(
        "--verification-key", type=Path, required=True, help="PEM public key or certificate, or the HS* secret file"
    )
    verify.add_argument("--key-id", help="require the signature to name this key id")
    verify.add_argument("--scope", help="require this scope claim (default: none)")
    verify.set_defaults(handler=_verify)


def _build(args: argparse.Namespace) -> int:
    from aigate.bundle import build_bundle  # tarfile, gzip: only for the bundle commands
    from aigate.engines.interface import load_policy_set

    try:
        config = load_config(_config_path(args.config))
        policies = load_policy_set(args.policy_dir) if args.policy_dir is not None else None
        info = build_bundle(
            config,
            args.out,
            policies=policies,
            signing_key=args.signing_key,
            key_id=args.key_id,
            algorithm=args.signing_alg,
            scope=args.scope,
        )
    except AigateError as e:
        print(e.diagnostics(), file=sys.stderr)
        return _EXIT_ERROR
    signed = f", signed with key {info.key_id} ({info.algorithm})" if info.signed else ", unsigned"
    print(f"{info.path}: revision {info.revision}, {len(info.files)} files{signed}")
    return _EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from aigate.bundle import verify_bundle

    try:
        info = verify_bundle(args.bundle, args.verification_key, key_id=args.key_id, scope=args.scope)
    except AigateError as e:
        print(e.diagnostics(), file=sys.stderr)
        return _EXIT_ERROR
    print(
        f"{info.path}: OK: revision {info.revision}, {len(info.files)} files signed with key {info.key_id} "
        f"({info.algorithm})"
    )
    return _EXIT_OK


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    default = Path(CONFIG_FILE_NAME)
    return default if default.is_file() else None
