"""The JWS algorithms an OPA bundle may be signed with (RFC 7518), apart from the signing code: the
`aigate` command lists them for every run, and importing `aigate.bundle` (tarfile, gzip) costs ~10 ms."""

from __future__ import annotations

__all__ = ["EC_ALGORITHMS", "HMAC_ALGORITHMS", "RSA_ALGORITHMS", "SIGNING_ALGORITHMS"]

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# Each EC algorithm's curve.
EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
SIGNING_ALGORITHMS = (*RSA_ALGORITHMS, *EC_ALGORITHMS, *HMAC_ALGORITHMS)
