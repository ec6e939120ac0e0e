"""The hash chain that makes an audit stream tamper-evident, and the optional key that signs it.

Each stored event carries `chain = {stream, sequence, prev_hash, hash, signature}`. `hash` is the
SHA-256 of the event's canonical JSON (keys sorted, no whitespace, UTF-8) with `chain.hash` and
`chain.signature` left out, so it covers the payload, the position and the previous hash: an
edited, dropped, inserted or reordered event breaks the chain at that event. With a key, each
event's hash is signed too, so that a whole rewritten stream cannot be passed off as the original.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aigate.errors import AuditError, ConfigError

__all__ = [
    "GENESIS_HASH",
    "ChainBreak",
    "ChainKey",
    "ChainState",
    "VerifyReport",
    "canonical",
    "event_hash",
    "link_event",
    "verify_events",
]

GENESIS_HASH = "sha256:" + "0" * 64
SigningAlgorithm = Literal["hmac-sha256", "ed25519"]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: Mapping[str, Any]) -> str:
    """The hash an event's `chain.hash` must hold, from the event as stored (a JSON object)."""
    body = dict(event)
    chain = body.get("chain")
    if not isinstance(chain, Mapping):
        raise ValueError("event has no chain")
    body["chain"] = {key: value for key, value in chain.items() if key not in ("hash", "signature")}
    return "sha256:" + hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


class ChainKey:
    """A key that signs (and checks) chain hashes: an HMAC-SHA256 secret, or an Ed25519 key pair.

    For verification alone an Ed25519 public key is enough."""

    def __init__(self, algorithm: SigningAlgorithm, *, secret: bytes | None = None,
                 private_pem: bytes | None = None, public_pem: bytes | None = None) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self.algorithm = algorithm
        self._secret = secret
        self._private: ed25519.Ed25519PrivateKey | None = None
        self._public: ed25519.Ed25519PublicKey | None = None
        if algorithm == "hmac-sha256":
            if not secret:
                raise ConfigError("audit signing: an hmac-sha256 key needs a non-empty secret")
        elif algorithm == "ed25519":
            try:
                if private_pem is not None:
                    key = serialization.load_pem_private_key(private_pem, password=None)
                    if not isinstance(key, ed25519.Ed25519PrivateKey):
                        raise ConfigError("audit signing: the private key is not an Ed25519 key")
                    self._private = key
                    self._public = key.public_key()
                elif public_pem is not None:
                    public = serialization.load_pem_public_key(public_pem)
                    if not isinstance(public, ed25519.Ed25519PublicKey):
                        raise ConfigError("audit signing: the public key is not an Ed25519 key")
                    self._public = public
                else:
                    raise ConfigError("audit signing: an ed25519 key needs a PEM private or public key")
            except ValueError as e:
                raise ConfigError(f"audit signing: cannot load the Ed25519 key: {e}") from e
        else:
            raise ConfigError(f"audit signing: unknown algorithm {algorithm!r}; expected hmac-sha256 or ed25519")

    @classmethod
    def from_env(cls, algorithm: SigningAlgorithm, variable: str) -> ChainKey:
        """The key from an environment variable: the HMAC secret, or the Ed25519 private key PEM."""
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"audit signing: environment variable {variable} is not set")
        if algorithm == "hmac-sha256":
            return cls(algorithm, secret=value.encode("utf-8"))
        return cls(algorithm, private_pem=value.encode("utf-8"))

    @classmethod
    def from_file(cls, algorithm: SigningAlgorithm, path: Path, *, public: bool = False) -> ChainKey:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"audit signing: {path}: cannot read: {e.strerror or e}") from e
        if algorithm == "hmac-sha256":
            return cls(algorithm, secret=data.strip())
        return cls(algorithm, public_pem=data) if public else cls(algorithm, private_pem=data)

    @staticmethod
    def _message(stream: str, sequence: int, hash_: str) -> bytes:
        return f"{stream}\n{sequence}\n{hash_}".encode()

    def sign(self, stream: str, sequence: int, hash_: str) -> str:
        message = self._message(stream, sequence, hash_)
        if self.algorithm == "hmac-sha256":
            assert self._secret is not None
            return "hmac-sha256:" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        if self._private is None:
            raise ConfigError("audit signing: an Ed25519 public key cannot sign")
        return "ed25519:" + base64.b64encode(self._private.sign(message)).decode("ascii")

    def check(self, stream: str, sequence: int, hash_: str, signature: str | None) -> bool:
        if not signature:
            return False
        message = self._message(stream, sequence, hash_)
        if self.algorithm == "hmac-sha256":
            assert self._secret is not None
            expected = "hmac-sha256:" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature)
        from cryptography.exceptions import InvalidSignature

        prefix = "ed25519:"
        if not signature.startswith(prefix) or self._public is None:
            return False
        try:
            self._public.verify(base64.b64decode(signature[len(prefix):], validate=True), message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class ChainState:
    """The head of a stream: the last event's sequence and hash (0 and the genesis hash when empty)."""

    sequence: int = 0
    hash: str = GENESIS_HASH


def link_event(event: dict[str, Any], stream: str, state: ChainState, key: ChainKey | None) -> ChainState:
    """Fill in `event["chain"]` (a JSON-ready event dict) after `state`; the new head."""
    sequence = state.sequence + 1
    event["chain"] = {"stream": stream, "sequence": sequence, "prev_hash": state.hash}
    digest = event_hash(event)
    event["chain"]["hash"] = digest
    event["chain"]["signature"] = key.sign(stream, sequence, digest) if key is not None else None
    return ChainState(sequence, digest)


@dataclass(frozen=True)
class ChainBreak:
    position: int
    """1-based position of the first bad event in the stream as read (line or row)."""
    event_id: str
    problem: str

    def __str__(self) -> str:
        return f"event {self.position} ({self.event_id or 'no event_id'}): {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    count: int
    head: ChainState
    streams: tuple[str, ...]
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_events(events: Iterable[tuple[Mapping[str, Any] | None, str]], key: ChainKey | None = None,
                  *, expected_head: Mapping[str, ChainState] | None = None) -> VerifyReport:
    """Check a stored stream, in stored order. Each item is (event, problem): the event as a JSON object,
    or None with the reason it could not be read (e.g. a line that is not JSON).

    Several streams may be interleaved (each is checked on its own); `expected_head` is the head each
    stream's store recorded separately, which catches events dropped from the end."""
    heads: dict[str, ChainState] = {}
    seen_ids: set[str] = set()
    count = 0
    for position, (event, unreadable) in enumerate(events, start=1):
        count = position
        if event is None:
            return VerifyReport(count, ChainState(), tuple(heads), ChainBreak(position, "", unreadable))
        event_id = str(event.get("event_id") or "")
        problem = _problem(event, heads, seen_ids, key)
        if problem is not None:
            return VerifyReport(count, ChainState(), tuple(heads), ChainBreak(position, event_id, problem))
        seen_ids.add(event_id)
    for stream, recorded in (expected_head or {}).items():
        actual = heads.get(stream, ChainState())
        if actual != recorded:
            return VerifyReport(count, actual, tuple(heads), ChainBreak(
                count, "", f"stream {stream!r} ends at sequence {actual.sequence} but its recorded head is "
                f"sequence {recorded.sequence} ({recorded.hash}): events were dropped from the end or the head "
                "was altered",
            ))
    last = next(reversed(heads.values()), ChainState()) if heads else ChainState()
    return VerifyReport(count, last, tuple(heads), None)


def _problem(event: Mapping[str, Any], heads: dict[str, ChainState], seen_ids: set[str],
             key: ChainKey | None) -> str | None:
    chain = event.get("chain")
    if not isinstance(chain, Mapping):
        return "has no chain link"
    stream = chain.get("stream")
    sequence = chain.get("sequence")
    if not isinstance(stream, str) or not isinstance(sequence, int):
        return "chain link without a stream or sequence"
    head = heads.get(stream, ChainState())
    if event_hash(event) != chain.get("hash"):
        return "content does not match its hash (the event was edited)"
    if sequence != head.sequence + 1:
        if sequence <= head.sequence:
            return f"sequence {sequence} follows {head.sequence} (an event was inserted, replayed or moved)"
        missing = f"{head.sequence + 1}" if sequence == head.sequence + 2 else f"{head.sequence + 1}..{sequence - 1}"
        return f"sequence {sequence} follows {head.sequence} (event {missing} was dropped or moved)"
    if chain.get("prev_hash") != head.hash:
        return "prev_hash is not the hash of the event before it (an event was inserted, dropped or reordered)"
    if event.get("event_id") in seen_ids:
        return "event_id repeats an earlier event"
    if key is not None and not key.check(stream, sequence, str(chain["hash"]), chain.get("signature")):
        return "signature does not match the key (the stream was rewritten or signed with another key)"
    heads[stream] = ChainState(sequence, str(chain["hash"]))
    return None


def raise_for(report: VerifyReport, source: str) -> None:
    if report.first_break is not None:
        raise AuditError(f"{source}: {report.first_break}")
