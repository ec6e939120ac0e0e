"""OPA bundles of aigate's policies and compiled config: build, sign, read and verify.

A bundle is the gzipped tar that `opa run --server --bundle FILE` (or OPA's bundle service
plugin) loads. aigate's holds the Rego modules (never the `_test.rego` files), the compiled
configuration at `aigate/config/data.json` (so that it becomes `data.aigate.config`) and a
`.manifest` whose revision names both (`<policy revision>+<config digest>`), with the single
root `aigate`.

Signing follows OPA's bundle signature format: `.signatures.json` holds one JWT whose payload
lists every other file with its hash (SHA-256), plus `keyid` and, when given, `scope`. JSON
files (`data.json`, `.manifest`) are hashed the way OPA hashes them, over their content with
object keys sorted, so OPA verifies what aigate signs and the other way round.

Archives are read in memory and never extracted; members must be regular files with relative,
`..`-free names and bounded sizes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from aigate._jws_algorithms import EC_ALGORITHMS, HMAC_ALGORITHMS, RSA_ALGORITHMS, SIGNING_ALGORITHMS
from aigate.config import GateConfig
from aigate.engines.interface import PolicySet
from aigate.errors import AigateError, PolicyError

__all__ = [
    "BUNDLE_ROOT",
    "CONFIG_DATA_FILE",
    "SIGNING_ALGORITHMS",
    "BundleContents",
    "BundleInfo",
    "build_bundle",
    "bundle_revision",
    "read_bundle",
    "verify_bundle",
]

BUNDLE_ROOT = "aigate"
CONFIG_DATA_FILE = "aigate/config/data.json"
MANIFEST_FILE = ".manifest"
SIGNATURES_FILE = ".signatures.json"

# Far above what aigate writes (policies are capped at 4 MiB), far below a decompression bomb.
_MAX_MEMBER_BYTES = 16 << 20
_MAX_BUNDLE_BYTES = 64 << 20
_MAX_MEMBERS = 10_000
_MAX_KEY_BYTES = 1 << 20
# A PAX or GNU long-name header holds a path and a few fields: capped before tarfile reads it (it
# reads the whole header into memory first: a 1 MB bundle claiming a 3 GB header took 3.1 GB).
_MAX_HEADER_BYTES = 1 << 16
# Every byte the archive may unpack to, headers and padding included: bounded work whatever it holds.
_MAX_ARCHIVE_BYTES = _MAX_BUNDLE_BYTES + _MAX_MEMBERS * 2 * (512 + _MAX_HEADER_BYTES)

# RFC 7518 section 3.2: an HMAC key at least as long as the hash output.
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_RSA_MIN_BITS = 2048
_SIGNING_HASH = "SHA-256"
# OPA also accepts MD5 and SHA-1; a verifier that did would accept forgeable file lists.
_FILE_HASHES: dict[str, Callable[[], Any]] = {
    "SHA-224": hashlib.sha224,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
    "SHA-512-224": lambda: hashlib.new("sha512_224"),
    "SHA-512-256": lambda: hashlib.new("sha512_256"),
}
# The files OPA parses as JSON before hashing (`IsStructuredDoc` in OPA's bundle package).
_STRUCTURED_FILES = frozenset({"data.json", "data.yaml", ".manifest", "signatures.json"})
_PACKAGE = re.compile(r"^package\s+([^\s#]+)", re.MULTILINE)


@dataclass(frozen=True)
class BundleInfo:
    """What a built or verified bundle is."""

    path: Path
    revision: str
    roots: tuple[str, ...]
    files: tuple[str, ...]
    """Every member but `.signatures.json`, in archive order."""
    signed: bool = False
    key_id: str | None = None
    algorithm: str | None = None


@dataclass(frozen=True)
class BundleContents:
    """A bundle read into memory: what OPA would load from it."""

    path: Path
    manifest: dict[str, Any]
    modules: tuple[tuple[str, str], ...]
    data: dict[str, Any]
    members: tuple[tuple[str, bytes], ...]

    @property
    def revision(self) -> str:
        revision: str = self.manifest.get("revision", "")
        return revision

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(self.manifest.get("roots", [""]))

    def policy_set(self) -> PolicySet:
        return PolicySet(modules=self.modules, root=self.path)


def bundle_revision(policies: PolicySet, config: GateConfig) -> str:
    """The manifest revision of a bundle of these policies and this config."""
    return f"{policies.revision}+{config.digest}"


def build_bundle(
    config: GateConfig,
    out: Path,
    *,
    policies: PolicySet | None = None,
    signing_key: Path | None = None,
    key_id: str = "aigate",
    algorithm: str = "RS256",
    scope: str | None = None,
) -> BundleInfo:
    """Write an OPA bundle of `policies` (default: the configured or built-in ones) and `config`.

    With `signing_key` (a PEM private key, or for HS* a file holding the shared secret), the
    bundle carries `.signatures.json` signed with `algorithm`; OPA verifies it with
    `--verification-key` and `--verification-key-id <key_id>` (and `--scope` when `scope` is set).
    The archive is reproducible: the same inputs give the same bytes.
    """
    if policies is None:
        from aigate.custom_policies import gate_policy_set  # custom_dir next to the built-in policies

        policies = gate_policy_set(config)
    modules = [(name, source) for name, source in policies.modules if not name.endswith("_test.rego")]
    if not modules:
        raise PolicyError(f"{policies.root}: no policy modules to bundle (only _test.rego files)")
    for name, source in modules:
        _check_member_name(policies.root, name)
        _check_package_in_root(policies.root / name, source)
    _check_parses(policies.root, modules)
    # Named by what is bundled: the same revision whether or not `policies` held the tests.
    bundled = PolicySet(modules=tuple(modules), root=policies.root)
    revision = bundle_revision(bundled, config)
    manifest = {
        "revision": revision,
        "roots": [BUNDLE_ROOT],
        "rego_version": 1,
        "metadata": {"aigate": {"policy_revision": bundled.revision, "config_digest": config.digest}},
    }
    files: list[tuple[str, bytes]] = [
        (MANIFEST_FILE, _json_bytes(manifest)),
        (CONFIG_DATA_FILE, _json_bytes(config.data)),
        *((name, source.encode("utf-8")) for name, source in modules),
    ]
    members = list(files)
    signed_by: tuple[str, str] | None = None
    if signing_key is not None:
        token = _sign(files, signing_key, key_id=key_id, algorithm=algorithm, scope=scope)
        members.insert(1, (SIGNATURES_FILE, json.dumps({"signatures": [token]}, indent=1).encode("utf-8")))
        signed_by = (key_id, algorithm)
    _write_archive(out, members)
    return BundleInfo(
        path=out,
        revision=revision,
        roots=(BUNDLE_ROOT,),
        files=tuple(name for name, _ in files),
        signed=signed_by is not None,
        key_id=signed_by[0] if signed_by else None,
        algorithm=signed_by[1] if signed_by else None,
    )


def read_bundle(path: Path) -> BundleContents:
    """Read a bundle into memory, as OPA would load it, without checking any signature."""
    return _parse_contents(path, _read_members(path))


def verify_bundle(
    path: Path,
    key: Path,
    *,
    key_id: str | None = None,
    scope: str | None = None,
) -> BundleInfo:
    """Check a bundle's signature with `key` and every file's hash against it.

    `key` is a PEM public key or certificate (RS*, PS*, ES*), or a file holding the HMAC secret
    (HS*). With `key_id`, the signature must name that key; the signed scope must equal `scope`
    (none when not given), as OPA requires. Raises PolicyError naming the first problem.
    """
    members = _read_members(path)
    signatures = dict(members).get(SIGNATURES_FILE)
    if signatures is None:
        raise PolicyError(f"{path}: not signed: no {SIGNATURES_FILE}")
    public_key, algorithms = _load_verification_key(key)
    token_key_id, algorithm, claims = _verify_token(path, signatures, public_key, algorithms, key)
    if key_id is not None and token_key_id != key_id:
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: signed with key id {token_key_id!r}, expected {key_id!r}")
    signed_scope = claims.get("scope", "")
    if signed_scope != (scope or ""):
        raise PolicyError(
            f"{path}: {SIGNATURES_FILE}: scope {signed_scope!r} does not match the expected scope {scope or ''!r}"
        )
    listed = _listed_files(path, claims)
    for name, content in members:
        if name == SIGNATURES_FILE:
            continue
        entry = listed.pop(name, None)
        if entry is None:
            raise PolicyError(f"{path}: file {name}: not listed in {SIGNATURES_FILE}")
        expected_hash, hash_algorithm = entry
        actual = _file_hash(path, name, content, hash_algorithm)
        if not hmac.compare_digest(actual, expected_hash.lower()):
            raise PolicyError(f"{path}: file {name}: hash does not match {SIGNATURES_FILE}")
    if listed:
        raise PolicyError(f"{path}: file {sorted(listed)[0]}: listed in {SIGNATURES_FILE} but not in the bundle")
    contents = _parse_contents(path, members)
    return BundleInfo(
        path=path,
        revision=contents.revision,
        roots=contents.roots,
        files=tuple(name for name, _ in members if name != SIGNATURES_FILE),
        signed=True,
        key_id=token_key_id,
        algorithm=algorithm,
    )


# -- writing -----------------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _check_package_in_root(path: Path, source: str) -> None:
    match = _PACKAGE.search(source)
    package = match.group(1) if match else ""
    if package != BUNDLE_ROOT and not package.startswith((BUNDLE_ROOT + ".", BUNDLE_ROOT + "[")):
        # OPA refuses the whole bundle otherwise ("manifest roots [aigate] do not permit ...").
        raise PolicyError(f"{path}: package {package or '(none)'} is outside the bundle root data.{BUNDLE_ROOT}")


def _check_parses(root: Path, modules: list[tuple[str, str]]) -> None:
    """Every module parses (regorus, the embedded engine): OPA would refuse the whole bundle at load."""
    import regorus

    from aigate.engines.embedded import engine_error_line

    engine = regorus.Engine()
    for name, source in modules:
        try:
            engine.add_policy(str(root / name), source)
        except Exception as e:  # regorus raises RuntimeError/ValueError with a source excerpt (path:line:column)
            raise PolicyError(engine_error_line(e)) from e


def _write_archive(out: Path, members: Iterable[tuple[str, bytes]]) -> None:
    # The archive replaces `out` by rename: over a symlink, a FIFO or a device node, that would swap the
    # node itself for a regular file (as root, /dev/full).
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(out).st_mode):
            raise AigateError(f"{out}: not a regular file: cannot write bundle there")
    directory = out.parent if str(out.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=directory)
    except OSError as e:
        raise AigateError(f"{out}: cannot write bundle: {e.strerror or e}") from e
    try:
        with os.fdopen(handle, "wb") as raw:
            # Fixed timestamps and owners: the same policies and config give the same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:
                with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
                    for name, content in members:
                        info = tarfile.TarInfo(name)
                        info.size = len(content)
                        info.mode = 0o644
                        info.mtime = 0
                        archive.addfile(info, io.BytesIO(content))
        os.replace(temporary, out)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise AigateError(f"{out}: cannot write bundle: {e.strerror or e}") from e


def _sign(files: list[tuple[str, bytes]], key_path: Path, *, key_id: str, algorithm: str, scope: str | None) -> str:
    import jwt

    if algorithm not in SIGNING_ALGORITHMS:
        raise PolicyError(f"signing algorithm {algorithm!r}: unsupported; use one of {', '.join(SIGNING_ALGORITHMS)}")
    if not key_id:
        raise PolicyError("bundle signing needs a key id")
    key = _load_signing_key(key_path, algorithm)
    claims: dict[str, Any] = {
        "files": [
            {"name": name, "hash": _file_hash(key_path, name, content, _SIGNING_HASH), "algorithm": _SIGNING_HASH}
            for name, content in files
        ],
        # Deprecated in OPA in favour of the `kid` header, which OPA reads first; kept for older OPAs.
        "keyid": key_id,
    }
    if scope:
        claims["scope"] = scope
    try:
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": key_id})
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise PolicyError(f"{key_path}: cannot sign with {algorithm}: {e}") from e


def _read_key_file(path: Path, purpose: str) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_KEY_BYTES + 1)
    except OSError as e:
        raise PolicyError(f"{path}: cannot read {purpose}: {e.strerror or e}") from e
    if len(raw) > _MAX_KEY_BYTES:
        raise PolicyError(f"{path}: {purpose} is larger than {_MAX_KEY_BYTES} bytes")
    if not raw:
        raise PolicyError(f"{path}: {purpose} is empty")
    return raw


def _load_signing_key(path: Path, algorithm: str) -> Any:
    raw = _read_key_file(path, "signing key")
    is_pem = raw.lstrip().startswith(b"-----BEGIN")
    if algorithm in HMAC_ALGORITHMS:
        if is_pem:
            raise PolicyError(f"{path}: a PEM key cannot be an {algorithm} secret; use RS256/ES256 or a secret file")
        if len(raw) < _HMAC_MIN_BYTES[algorithm]:
            raise PolicyError(f"{path}: an {algorithm} secret needs at least {_HMAC_MIN_BYTES[algorithm]} bytes")
        return raw
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if not is_pem:
        raise PolicyError(f"{path}: {algorithm} needs a PEM private key")
    try:
        key = load_pem_private_key(raw, password=None)
    except TypeError as e:
        raise PolicyError(f"{path}: encrypted private keys are not supported; decrypt it first") from e
    except (ValueError, UnsupportedAlgorithm) as e:
        raise PolicyError(f"{path}: not a PEM private key: {e}") from e
    _check_key_fits(path, key, algorithm)
    return key


def _check_key_fits(path: Path, key: Any, algorithm: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm in RSA_ALGORITHMS:
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise PolicyError(f"{path}: {algorithm} needs an RSA key, not {_key_kind(key)}")
        if key.key_size < _RSA_MIN_BITS:
            raise PolicyError(f"{path}: RSA key of {key.key_size} bits; at least {_RSA_MIN_BITS} are needed")
    elif algorithm in EC_ALGORITHMS:
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise PolicyError(f"{path}: {algorithm} needs an EC key, not {_key_kind(key)}")
        if key.curve.name != EC_ALGORITHMS[algorithm]:
            raise PolicyError(f"{path}: {algorithm} needs curve {EC_ALGORITHMS[algorithm]}, not {key.curve.name}")


def _key_kind(key: Any) -> str:
    return type(key).__name__.lstrip("_")


# -- reading and verifying -----------------------------------------------------------------------


def _check_member_name(source: Path, name: str) -> None:
    problem = None
    if not name or "\0" in name or "\\" in name:
        problem = "not a usable file name"
    elif name.startswith("/"):
        problem = "absolute paths are not allowed"
    elif any(segment in ("", ".", "..") for segment in name.split("/")):
        problem = "'.', '..' and empty path segments are not allowed"
    if problem:
        raise PolicyError(f"{source}: member {name!r}: {problem}")


def _read_members(path: Path) -> tuple[tuple[str, bytes], ...]:
    """Every regular file of the archive, checked for safety, in archive order."""
    members: dict[str, bytes] = {}
    total = 0
    try:
        with (
            path.open("rb") as compressed,
            gzip.GzipFile(fileobj=compressed, mode="rb") as unpacked,
            tarfile.open(
                fileobj=cast(IO[bytes], _CappedReader(unpacked, _MAX_ARCHIVE_BYTES, path)),
                mode="r:",
                tarinfo=_CappedTarInfo,
            ) as archive,
        ):
            for member in archive:
                if member.isdir():
                    continue  # directory entries carry nothing OPA loads
                # `opa build` writes "/data.json", "/.manifest"…: one leading slash names the bundle's
                # root, as OPA reads it; "//x" stays absolute and is refused below.
                name = member.name.removeprefix("./")
                if name.startswith("/") and not name.startswith("//"):
                    name = name[1:]
                if not member.isfile():
                    kind = "link" if member.issym() or member.islnk() else "special file"
                    raise PolicyError(f"{path}: member {name!r}: a {kind}; only regular files are allowed")
                _check_member_name(path, name)
                if name in members:
                    raise PolicyError(f"{path}: member {name!r}: appears twice")
                if len(members) >= _MAX_MEMBERS:
                    raise PolicyError(f"{path}: more than {_MAX_MEMBERS} files")
                if member.size > _MAX_MEMBER_BYTES:
                    raise PolicyError(f"{path}: member {name!r}: larger than {_MAX_MEMBER_BYTES} bytes")
                total += member.size
                if total > _MAX_BUNDLE_BYTES:
                    raise PolicyError(f"{path}: unpacks to more than {_MAX_BUNDLE_BYTES} bytes")
                handle = archive.extractfile(member)
                members[name] = handle.read() if handle is not None else b""
    except FileNotFoundError as e:
        raise PolicyError(f"{path}: bundle not found") from e
    except _OversizedHeader as e:
        raise PolicyError(f"{path}: {e}") from e
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise PolicyError(f"{path}: not a gzipped tar archive: {' '.join(str(e).split())}") from e
    except OSError as e:
        raise PolicyError(f"{path}: cannot read bundle: {e.strerror or e}") from e
    return tuple(members.items())


class _CappedTarInfo(tarfile.TarInfo):
    """tarfile's member header, refusing an extended header (PAX, GNU long name) larger than
    _MAX_HEADER_BYTES before tarfile reads it."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                         tarfile.GNUTYPE_LONGLINK) and self.size > _MAX_HEADER_BYTES:  # fmt: skip
            raise _OversizedHeader(f"an extended header of {self.size} bytes (the limit is {_MAX_HEADER_BYTES})")
        return super()._proc_member(tarfile_)  # type: ignore[misc, no-any-return]


class _OversizedHeader(Exception):
    pass


class _CappedReader:
    """The unpacked archive, read by tarfile: refuses to give more than `limit` bytes in all."""

    def __init__(self, stream: gzip.GzipFile, limit: int, path: Path) -> None:
        self._stream, self._limit, self._path, self._given = stream, limit, path, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(self._limit + 1 - self._given if size < 0 else size)
        self._given += len(chunk)
        if self._given > self._limit:
            raise PolicyError(f"{self._path}: unpacks to more than {self._limit} bytes")
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def _parse_contents(path: Path, members: tuple[tuple[str, bytes], ...]) -> BundleContents:
    manifest: dict[str, Any] = {"revision": "", "roots": [""]}
    modules: list[tuple[str, str]] = []
    data: dict[str, Any] = {}
    for name, content in members:
        base = name.rsplit("/", 1)[-1]
        if name == MANIFEST_FILE:
            manifest = _parse_manifest(path, content)
        elif name.endswith(".rego"):
            try:
                modules.append((name, content.decode("utf-8")))
            except UnicodeDecodeError as e:
                raise PolicyError(f"{path}: file {name}: not UTF-8 text") from e
        elif base == "data.json":
            value = _parse_json(path, name, content)
            directory = name.rsplit("/", 1)[0].split("/") if "/" in name else []
            _insert_data(path, name, data, directory, value)
        elif base in ("data.yaml", "data.yml"):
            raise PolicyError(f"{path}: file {name}: YAML data files are not supported; use data.json")
    return BundleContents(path=path, manifest=manifest, modules=tuple(modules), data=data, members=members)


def _parse_json(path: Path, name: str, content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise PolicyError(f"{path}: file {name}: not valid JSON: {e}") from e


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_manifest(path: Path, content: bytes) -> dict[str, Any]:
    manifest = _parse_json(path, MANIFEST_FILE, content)
    if not isinstance(manifest, dict):
        raise PolicyError(f"{path}: {MANIFEST_FILE}: not a JSON object")
    if not isinstance(manifest.get("revision", ""), str):
        raise PolicyError(f"{path}: {MANIFEST_FILE}: revision is not a string")
    roots = manifest.setdefault("roots", [""])
    if not isinstance(roots, list) or not all(isinstance(root, str) for root in roots):
        raise PolicyError(f"{path}: {MANIFEST_FILE}: roots is not a list of strings")
    return manifest


def _insert_data(path: Path, name: str, data: dict[str, Any], keys: list[str], value: Any) -> None:
    if not keys:
        if not isinstance(value, dict):
            raise PolicyError(f"{path}: file {name}: a root data.json must hold an object")
        for key, item in value.items():
            _insert_data(path, name, data, [key], item)
        return
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise PolicyError(f"{path}: file {name}: conflicts with data already at {'/'.join(keys)}")
        node = child
    last = keys[-1]
    if last in node:
        if not (isinstance(node[last], dict) and isinstance(value, dict)):
            raise PolicyError(f"{path}: file {name}: conflicts with data already at {'/'.join(keys)}")
        for key, item in value.items():
            _insert_data(path, name, node[last], [key], item)
    else:
        node[last] = value


def _load_verification_key(path: Path) -> tuple[Any, tuple[str, ...]]:
    raw = _read_key_file(path, "verification key")
    if not raw.lstrip().startswith(b"-----BEGIN"):
        return raw, HMAC_ALGORITHMS
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key: Any = (
            x509.load_pem_x509_certificate(raw).public_key() if b"CERTIFICATE-----" in raw else load_pem_public_key(raw)
        )
    except (ValueError, UnsupportedAlgorithm) as e:
        raise PolicyError(f"{path}: not a PEM public key or certificate: {e}") from e
    if isinstance(key, rsa.RSAPublicKey):
        return key, RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key, tuple(alg for alg, curve in EC_ALGORITHMS.items() if curve == key.curve.name)
    raise PolicyError(f"{path}: {_key_kind(key)} keys are not supported; use RSA or EC")


def _verify_token(
    path: Path, signatures: bytes, key: Any, algorithms: tuple[str, ...], key_path: Path
) -> tuple[str, str, dict[str, Any]]:
    """The signing key id, the algorithm and the verified claims of the one JWT in `.signatures.json`."""
    import jwt

    document = _parse_json(path, SIGNATURES_FILE, signatures)
    tokens = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(tokens, list) or len(tokens) != 1 or not isinstance(tokens[0], str):
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: expected exactly one JWT in \"signatures\"")
    token = tokens[0]
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: not a JWT: {e}") from e
    algorithm = header.get("alg")
    if algorithm not in algorithms:
        raise PolicyError(
            f"{path}: {SIGNATURES_FILE}: signed with {algorithm!r}, which the key {key_path} cannot verify "
            f"(it verifies {', '.join(algorithms) or 'nothing'})"
        )
    try:
        # PyJWS, not PyJWT: OPA gives the claims no JWT meaning (no exp/nbf checks), only the signature.
        payload = jwt.PyJWS().decode(token, key, algorithms=[algorithm])
    except jwt.InvalidSignatureError as e:
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: the signature does not verify with {key_path}") from e
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: cannot verify: {e}") from e
    try:
        claims = json.loads(payload)
    except ValueError as e:
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: the signed payload is not JSON") from e
    if not isinstance(claims, dict):
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: the signed payload is not a JSON object")
    key_id = header.get("kid") or claims.get("keyid") or ""
    return str(key_id), algorithm, claims


def _listed_files(path: Path, claims: dict[str, Any]) -> dict[str, tuple[str, str]]:
    files = claims.get("files")
    if not isinstance(files, list):
        raise PolicyError(f"{path}: {SIGNATURES_FILE}: the signed payload has no \"files\" list")
    listed: dict[str, tuple[str, str]] = {}
    for entry in files:
        name = entry.get("name") if isinstance(entry, dict) else None
        digest = entry.get("hash") if isinstance(entry, dict) else None
        algorithm = entry.get("algorithm") if isinstance(entry, dict) else None
        if not (isinstance(name, str) and isinstance(digest, str) and isinstance(algorithm, str)):
            raise PolicyError(f"{path}: {SIGNATURES_FILE}: a \"files\" entry lacks name, hash or algorithm")
        name = name.removeprefix("/")
        if name in listed:
            raise PolicyError(f"{path}: {SIGNATURES_FILE}: file {name} is listed twice")
        listed[name] = (digest, algorithm)
    return listed


def _file_hash(source: Path, name: str, content: bytes, algorithm: str) -> str:
    """The hex digest OPA computes for a bundle file: raw bytes, or canonical JSON for JSON files."""
    factory = _FILE_HASHES.get(algorithm)
    if factory is None:
        raise PolicyError(f"{source}: file {name}: hash algorithm {algorithm!r} is not accepted")
    digest = factory()
    if name.rsplit("/", 1)[-1] in _STRUCTURED_FILES:
        if name.endswith(".yaml"):
            raise PolicyError(f"{source}: file {name}: YAML data files are not supported; use data.json")
        try:
            value = json.loads(
                content.decode("utf-8"),
                parse_int=_JsonNumber,
                parse_float=_JsonNumber,
                parse_constant=_reject_constant,
            )
        except (UnicodeDecodeError, ValueError) as e:
            raise PolicyError(f"{source}: file {name}: not valid JSON: {e}") from e
        _hash_json(value, digest.update)
    else:
        digest.update(content)
    hexdigest: str = digest.hexdigest()
    return hexdigest


class _JsonNumber(str):
    """A JSON number as written: OPA decodes numbers as json.Number and hashes their text."""


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_json_string(text: str) -> bytes:
    # Go's encoding/json (HTML escaping off), which OPA uses: like Python's with ensure_ascii off,
    # except that U+2028 and U+2029 are escaped and invalid UTF-16 becomes U+FFFD.
    encoded = json.dumps(_LONE_SURROGATE.sub("\ufffd", text), ensure_ascii=False)
    return encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def _hash_json(value: Any, write: Callable[[bytes], None]) -> None:
    """Feed `value` to the hash in OPA's canonical form: sorted keys, no whitespace."""
    if isinstance(value, dict):
        write(b"{")
        for index, key in enumerate(sorted(value)):
            if index:
                write(b",")
            write(_go_json_string(key))
            write(b":")
            _hash_json(value[key], write)
        write(b"}")
    elif isinstance(value, list):
        write(b"[")
        for index, item in enumerate(value):
            if index:
                write(b",")
            _hash_json(item, write)
        write(b"]")
    elif isinstance(value, _JsonNumber):
        write(str(value).encode("ascii"))
    elif isinstance(value, str):
        write(_go_json_string(value))
    elif value is True:
        write(b"true")
    elif value is False:
        write(b"false")
    elif value is None:
        write(b"null")
    else:  # only reachable with values not parsed from JSON text
        raise TypeError(f"cannot hash {type(value).__name__} as JSON")
