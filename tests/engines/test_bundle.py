"""OPA bundles: contents OPA loads, OPA's signature format, verification, and archive safety."""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from opa_reference import ReferenceOpaEngine

from aigate import bundle as bundle_module
from aigate._cli_bundle import add_bundle_commands
from aigate.bundle import CONFIG_DATA_FILE, build_bundle, bundle_revision, read_bundle, verify_bundle
from aigate.config import GateConfig, config_from_mapping
from aigate.engines.embedded import EmbeddedEngine
from aigate.engines.interface import PolicySet
from aigate.errors import AigateError, PolicyError

from .conftest import config_data

RISK = "aigate/risk/risk.rego"


def _pem_private(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return data


def _pem_public(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Signing and verification key files by algorithm family: rsa, ec256, ec384, hmac."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    folder = tmp_path_factory.mktemp("keys")
    result = {}
    for name, key in {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa_other": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec256": ec.generate_private_key(ec.SECP256R1()),
        "ec384": ec.generate_private_key(ec.SECP384R1()),
    }.items():
        (folder / f"{name}.pem").write_bytes(_pem_private(key))
        (folder / f"{name}.pub").write_bytes(_pem_public(key))
        result[name] = (folder / f"{name}.pem", folder / f"{name}.pub")
    (folder / "hmac.secret").write_bytes(b"0123456789abcdef0123456789abcdef-shared")
    result["hmac"] = (folder / "hmac.secret", folder / "hmac.secret")
    return result


@pytest.fixture
def signed(tmp_path: Path, policies: PolicySet, default_config: GateConfig, keys: dict[str, tuple[Path, Path]]) -> Path:
    out = tmp_path / "bundle.tar.gz"
    build_bundle(default_config, out, policies=policies, signing_key=keys["rsa"][0])
    return out


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]


def _rewrite(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def _claims(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    token = json.loads(_members(path)[".signatures.json"])["signatures"][0]
    header, payload, _ = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return value

    return decode(header), decode(payload)


# -- building ------------------------------------------------------------------------------------


def test_bundle_holds_what_opa_loads(
    tmp_path: Path, policies_with_tests: PolicySet, policies: PolicySet, default_config: GateConfig
) -> None:
    info = build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies_with_tests)
    members = _members(info.path)
    modules = {name for name, _ in policies.modules}
    assert set(members) == {".manifest", CONFIG_DATA_FILE} | modules
    assert not any(name.endswith("_test.rego") for name in members)
    manifest = json.loads(members[".manifest"])
    assert manifest["revision"] == info.revision == bundle_revision(policies, default_config)
    assert info.revision == f"{policies.revision}+{default_config.digest}"
    assert manifest["roots"] == ["aigate"] and info.roots == ("aigate",)
    assert json.loads(members[CONFIG_DATA_FILE]) == default_config.data
    assert not info.signed
    contents = read_bundle(info.path)
    assert contents.data == {"aigate": {"config": default_config.data}}
    assert dict(contents.modules) == dict(policies.modules)


def test_bundle_is_reproducible(tmp_path: Path, policies: PolicySet, default_config: GateConfig) -> None:
    first = build_bundle(default_config, tmp_path / "a.tar.gz", policies=policies)
    second = build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies)
    assert first.path.read_bytes() == second.path.read_bytes()
    other = build_bundle(
        config_from_mapping({"policy": {"apply_to_human": True}}), tmp_path / "c.tar.gz", policies=policies
    )
    assert other.revision != first.revision


def test_real_opa_evaluates_the_bundle_like_embedded(
    opa_bindings: Any, tmp_path: Path, policies: PolicySet, default_config: GateConfig
) -> None:
    info = build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies)
    contents = read_bundle(info.path)
    reference = ReferenceOpaEngine(contents.policy_set(), contents.data)
    document = {
        "pr": {"labels": ["ai-generated"]},
        "commits": [],
        "findings": [],
        "dependencies": [],
        "files": [{"path": ".github/workflows/ci.yml", "status": "modified", "added": 1, "removed": 0}],
    }
    embedded = EmbeddedEngine(policies, config_data(default_config)).evaluate(document)
    assert reference.evaluate(document) == embedded
    assert embedded["outcome"] == "block"


def test_package_outside_the_root_is_refused(tmp_path: Path, default_config: GateConfig) -> None:
    policies = PolicySet(modules=(("x.rego", "package other.rules\n\nallow := true\n"),), root=tmp_path)
    with pytest.raises(PolicyError, match="package other.rules is outside the bundle root data.aigate"):
        build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies)


def test_unwritable_output_is_an_error(tmp_path: Path, policies: PolicySet, default_config: GateConfig) -> None:
    with pytest.raises(AigateError, match="cannot write bundle"):
        build_bundle(default_config, tmp_path / "missing" / "b.tar.gz", policies=policies)


def test_rego_that_does_not_parse_is_refused(tmp_path: Path, default_config: GateConfig, real_opa: str) -> None:
    """The bundle was written, and real OPA refused it at load: the error belongs at build time."""
    import subprocess

    broken = "package aigate.x\n\nallow := \n"
    policies = PolicySet(modules=(("bad.rego", broken),), root=tmp_path / "pd")
    with pytest.raises(PolicyError, match=r"pd/bad\.rego:4:1: error: expecting expression"):
        build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies)
    assert not (tmp_path / "b.tar.gz").exists()
    (tmp_path / "pd").mkdir()
    (tmp_path / "pd" / "bad.rego").write_text(broken)
    opa = subprocess.run([real_opa, "check", str(tmp_path / "pd")], capture_output=True, text=True)
    assert opa.returncode != 0 and "rego_parse_error" in opa.stdout + opa.stderr


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_output_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, policies: PolicySet, default_config: GateConfig, kind: str
) -> None:
    """The archive replaces its output by rename: over a FIFO, a symlink or a device node (as root, /dev/full),
    that swapped the node itself for a regular file."""
    import os

    out = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "symlink":
        out.symlink_to(tmp_path / "elsewhere.tar.gz")
    else:
        out.mkdir()
    before = os.lstat(out).st_mode
    with pytest.raises(AigateError, match=r"out: not a regular file: cannot write bundle there$"):
        build_bundle(default_config, out, policies=policies)
    assert os.lstat(out).st_mode == before
    assert not (tmp_path / "elsewhere.tar.gz").exists()


# -- signing in OPA's format ------------------------------------------------------------------------


def test_signature_follows_opas_format(signed: Path) -> None:
    header, claims = _claims(signed)
    assert header["alg"] == "RS256" and header["kid"] == "aigate"
    assert claims["keyid"] == "aigate" and "scope" not in claims
    members = _members(signed)
    files = {entry["name"]: entry for entry in claims["files"]}
    assert set(files) == set(members) - {".signatures.json"}
    assert {entry["algorithm"] for entry in files.values()} == {"SHA-256"}
    # Policies are hashed as bytes; JSON files as OPA's canonical form (keys sorted, no spaces),
    # which is how aigate writes them.
    assert files[RISK]["hash"] == hashlib.sha256(members[RISK]).hexdigest()
    assert files[CONFIG_DATA_FILE]["hash"] == hashlib.sha256(members[CONFIG_DATA_FILE]).hexdigest()


def test_json_hash_matches_opas_own_test_vector() -> None:
    # From OPA's bundle tests: the MD5 of the .manifest `{"revision": "quickbrownfaux"}`.
    digest = hashlib.md5()
    bundle_module._hash_json(json.loads('{"revision": "quickbrownfaux"}'), digest.update)
    assert digest.hexdigest() == "a005c38a509dc2d5a7407b9494efb2ad"


def test_json_hash_keeps_numbers_as_written_and_escapes_like_go() -> None:
    content = b'{"b": 1.50, "a": ["<&>", "\\u2028", 1e3]}'
    expected = hashlib.sha256(b'{"a":["<&>","\\u2028",1e3],"b":1.50}').hexdigest()
    assert bundle_module._file_hash(Path("x"), "data.json", content, "SHA-256") == expected


@pytest.mark.parametrize(
    ("family", "algorithm"),
    [
        ("rsa", "RS256"),
        ("rsa", "PS384"),
        ("ec256", "ES256"),
        ("ec384", "ES384"),
        ("hmac", "HS256"),
    ],
)
def test_sign_and_verify(
    tmp_path: Path,
    policies: PolicySet,
    default_config: GateConfig,
    keys: dict[str, tuple[Path, Path]],
    family: str,
    algorithm: str,
) -> None:
    private, public = keys[family]
    built = build_bundle(
        default_config, tmp_path / "b.tar.gz", policies=policies, signing_key=private, algorithm=algorithm, key_id="ci"
    )
    assert (built.signed, built.key_id, built.algorithm) == (True, "ci", algorithm)
    verified = verify_bundle(built.path, public, key_id="ci")
    assert (verified.revision, verified.files, verified.algorithm) == (built.revision, built.files, algorithm)


def test_reformatted_json_still_verifies_but_changed_values_do_not(
    signed: Path, keys: dict[str, tuple[Path, Path]]
) -> None:
    members = _members(signed)
    data = json.loads(members[CONFIG_DATA_FILE])
    members[CONFIG_DATA_FILE] = json.dumps(dict(reversed(list(data.items()))), indent=4).encode()
    _rewrite(signed, members)
    assert verify_bundle(signed, keys["rsa"][1]).signed  # OPA hashes JSON content, not its layout
    data["apply_to_human"] = True
    members[CONFIG_DATA_FILE] = json.dumps(data).encode()
    _rewrite(signed, members)
    with pytest.raises(PolicyError) as caught:
        verify_bundle(signed, keys["rsa"][1])
    assert str(caught.value) == f"{signed}: file {CONFIG_DATA_FILE}: hash does not match .signatures.json"


def test_tampered_policy_fails_verification(signed: Path, keys: dict[str, tuple[Path, Path]]) -> None:
    members = _members(signed)
    members[RISK] = members[RISK].replace(b"score := max", b"score := min")
    _rewrite(signed, members)
    with pytest.raises(PolicyError) as caught:
        verify_bundle(signed, keys["rsa"][1])
    assert str(caught.value) == f"{signed}: file {RISK}: hash does not match .signatures.json"


def test_added_and_removed_files_fail_verification(signed: Path, keys: dict[str, tuple[Path, Path]]) -> None:
    members = _members(signed)
    _rewrite(signed, {**members, "aigate/extra.rego": b"package aigate.extra\n"})
    with pytest.raises(PolicyError, match="file aigate/extra.rego: not listed in .signatures.json"):
        verify_bundle(signed, keys["rsa"][1])
    del members[RISK]
    _rewrite(signed, members)
    with pytest.raises(PolicyError, match=f"file {RISK}: listed in .signatures.json but not in the bundle"):
        verify_bundle(signed, keys["rsa"][1])


def test_wrong_key_fails_verification(signed: Path, keys: dict[str, tuple[Path, Path]]) -> None:
    other = keys["rsa_other"][1]
    with pytest.raises(PolicyError) as caught:
        verify_bundle(signed, other)
    assert str(caught.value) == f"{signed}: .signatures.json: the signature does not verify with {other}"
    with pytest.raises(PolicyError, match="signed with 'RS256', which the key .* cannot verify"):
        verify_bundle(signed, keys["ec256"][1])
    with pytest.raises(PolicyError, match="signed with 'RS256', which the key .* cannot verify"):
        verify_bundle(signed, keys["hmac"][1])  # an HMAC secret must not verify RSA (algorithm confusion)


def test_key_id_and_scope_must_match(
    tmp_path: Path, policies: PolicySet, default_config: GateConfig, keys: dict[str, tuple[Path, Path]]
) -> None:
    path = build_bundle(
        default_config,
        tmp_path / "b.tar.gz",
        policies=policies,
        signing_key=keys["ec256"][0],
        algorithm="ES256",
        scope="write",
    ).path
    assert verify_bundle(path, keys["ec256"][1], scope="write", key_id="aigate").signed
    with pytest.raises(PolicyError, match="signed with key id 'aigate', expected 'prod'"):
        verify_bundle(path, keys["ec256"][1], scope="write", key_id="prod")
    with pytest.raises(PolicyError, match="scope 'write' does not match the expected scope ''"):
        verify_bundle(path, keys["ec256"][1])


def test_unsigned_bundle_does_not_verify(
    tmp_path: Path, policies: PolicySet, default_config: GateConfig, keys: dict[str, tuple[Path, Path]]
) -> None:
    path = build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies).path
    with pytest.raises(PolicyError) as caught:
        verify_bundle(path, keys["rsa"][1])
    assert str(caught.value) == f"{path}: not signed: no .signatures.json"


@pytest.mark.parametrize(
    ("family", "algorithm", "problem"),
    [
        ("rsa", "ES256", "ES256 needs an EC key, not"),
        ("ec384", "ES256", "ES256 needs curve secp256r1, not secp384r1"),
        ("hmac", "RS256", "RS256 needs a PEM private key"),
        ("rsa", "HS256", "a PEM key cannot be an HS256 secret"),
        ("rsa", "none", "signing algorithm 'none': unsupported"),
    ],
)
def test_unusable_signing_keys(
    tmp_path: Path,
    policies: PolicySet,
    default_config: GateConfig,
    keys: dict[str, tuple[Path, Path]],
    family: str,
    algorithm: str,
    problem: str,
) -> None:
    with pytest.raises(PolicyError, match=problem):
        build_bundle(
            default_config, tmp_path / "b.tar.gz", policies=policies, signing_key=keys[family][0], algorithm=algorithm
        )
    assert not (tmp_path / "b.tar.gz").exists()


def test_weak_keys_are_refused(tmp_path: Path, policies: PolicySet, default_config: GateConfig) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    (tmp_path / "short.pem").write_bytes(_pem_private(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    with pytest.raises(PolicyError, match="RSA key of 1024 bits; at least 2048 are needed"):
        build_bundle(default_config, tmp_path / "b.tar.gz", policies=policies, signing_key=tmp_path / "short.pem")
    (tmp_path / "short.secret").write_bytes(b"secret")
    with pytest.raises(PolicyError, match="an HS256 secret needs at least 32 bytes"):
        build_bundle(
            default_config,
            tmp_path / "b.tar.gz",
            policies=policies,
            signing_key=tmp_path / "short.secret",
            algorithm="HS256",
        )


# -- archive safety ------------------------------------------------------------------------------


def _archive(path: Path, *members: tarfile.TarInfo, content: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            archive.addfile(info, io.BytesIO(content) if info.isfile() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size if kind == tarfile.REGTYPE else 0, link
    return info


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        # One leading slash names the bundle root, as in `opa build`'s archives; two are absolute.
        ([_info("//etc/passwd")], "member '//etc/passwd': absolute paths are not allowed"),
        ([_info("/../x.rego")], "member '../x.rego': '.', '..' and empty path segments are not allowed"),
        ([_info("/a.rego"), _info("a.rego")], "member 'a.rego': appears twice"),
        ([_info("../x.rego")], "member '../x.rego': '.', '..' and empty path segments are not allowed"),
        ([_info("aigate/../../x.rego")], "'.', '..' and empty path segments are not allowed"),
        ([_info("aigate/link.rego", tarfile.SYMTYPE, link="/etc/passwd")], "member 'aigate/link.rego': a link"),
        ([_info("a.rego"), _info("b.rego", tarfile.LNKTYPE, link="a.rego")], "member 'b.rego': a link"),
        ([_info("aigate/fifo", tarfile.FIFOTYPE)], "member 'aigate/fifo': a special file"),
        ([_info("a.rego"), _info("a.rego")], "member 'a.rego': appears twice"),
    ],
)
def test_unsafe_archives_are_refused(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], members: list[tarfile.TarInfo], problem: str
) -> None:
    path = _archive(tmp_path / "evil.tar.gz", *members)
    with pytest.raises(PolicyError, match=problem):
        read_bundle(path)
    with pytest.raises(PolicyError, match=problem):
        verify_bundle(path, keys["rsa"][1])


def test_oversize_member_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = bundle_module._MAX_MEMBER_BYTES + 1
    path = _archive(tmp_path / "big.tar.gz", _info("aigate/config/data.json", size=big), content=b" " * big)
    with pytest.raises(PolicyError, match=f"member 'aigate/config/data.json': larger than {big - 1} bytes"):
        read_bundle(path)


def test_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "plain.tar.gz").write_bytes(gzip.compress(b"not a tar archive at all" * 40))
    with pytest.raises(PolicyError, match="plain.tar.gz: not a gzipped tar archive"):
        read_bundle(tmp_path / "plain.tar.gz")
    with pytest.raises(PolicyError, match="missing.tar.gz: bundle not found"):
        read_bundle(tmp_path / "missing.tar.gz")


# -- the `aigate bundle` commands ------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aigate")
    add_bundle_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_cli_build_and_verify(
    tmp_path: Path,
    keys: dict[str, tuple[Path, Path]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".ai-code-gate.yml").write_text("policy:\n  apply_to_human: true\n", encoding="utf-8")
    out = tmp_path / "out.tar.gz"
    assert (
        _run(["bundle", "build", "--out", str(out), "--signing-key", str(keys["ec256"][0]), "--signing-alg", "ES256"])
        == 0
    )
    built = capsys.readouterr().out
    assert built.startswith(f"{out}: revision sha256:") and built.endswith("files, signed with key aigate (ES256)\n")
    assert json.loads(_members(out)[CONFIG_DATA_FILE])["apply_to_human"] is True  # ./.ai-code-gate.yml was used
    assert _run(["bundle", "verify", str(out), "--verification-key", str(keys["ec256"][1])]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: OK: revision sha256:")

    members = _members(out)
    members[RISK] += b"\n# changed\n"
    _rewrite(out, members)
    assert _run(["bundle", "verify", str(out), "--verification-key", str(keys["ec256"][1])]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"aigate: error: {out}: file {RISK}: hash does not match .signatures.json\n"
    assert captured.out == ""


def test_cli_build_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("policy: [\n", encoding="utf-8")
    assert _run(["bundle", "build", "--config", str(bad), "--out", str(tmp_path / "b.tar.gz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aigate: error: {bad}: ") and err.count("\n") == 1


def _tar_header(name: str, size: int, kind: bytes) -> bytes:
    """One ustar header block, as `tarfile` writes it, claiming `size` bytes of content."""
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME])
def test_oversized_extended_header_is_refused_before_it_is_read(tmp_path: Path, kind: bytes) -> None:
    # A bundle of a few hundred KB whose extended header claims 200 MB (zeros compress 1000:1):
    # refused from the header's size, without reading it (tarfile would read it all into memory).
    import tracemalloc

    claimed = 200 << 20
    path = tmp_path / "bomb.tar.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(_tar_header("././@PaxHeader", claimed, kind))
        zeros = bytes(1 << 20)
        for _ in range(claimed >> 20):
            out.write(zeros)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(PolicyError, match=rf"^{path}: an extended header of {claimed} bytes \(the limit is 65536\)$"):
        read_bundle(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20


def test_archive_unpacking_to_too_much_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Headers and padding count too: many small members past the archive's byte budget.
    monkeypatch.setattr(bundle_module, "_MAX_ARCHIVE_BYTES", 64 << 10)
    path = tmp_path / "many.tar.gz"
    with gzip.open(path, "wb") as out:
        for index in range(200):
            out.write(_tar_header(f"aigate/f{index}.json", 512, tarfile.REGTYPE) + b"{}".ljust(512, b" "))
        out.write(bytes(1024))
    with pytest.raises(PolicyError, match=r"unpacks to more than 65536 bytes"):
        read_bundle(path)
