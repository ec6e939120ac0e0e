"""Bundles written by the real `opa build`: OPA names members with a leading slash ("/data.json"),
which `aigate bundle verify` reads as OPA does, and nothing more lenient than that."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import run_cli

from aigate.bundle import read_bundle, verify_bundle
from aigate.errors import PolicyError


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = tmp_path / "key.pem", tmp_path / "pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def _opa_build(real_opa: str, tmp_path: Path, signing_key: Path) -> Path:
    source = tmp_path / "src"
    (source / "aigate" / "x").mkdir(parents=True)
    (source / "aigate" / "x" / "x.rego").write_text("package aigate.x\n\nimport rego.v1\n\ny := 1\n", encoding="utf-8")
    (source / "data.json").write_text('{"aigate": {"config": {"a": 1}}}', encoding="utf-8")
    (source / ".manifest").write_text('{"revision": "r1", "roots": ["aigate"]}', encoding="utf-8")
    out = tmp_path / "opa-built.tar.gz"
    completed = subprocess.run(
        [
            real_opa,
            "build",
            "--bundle",
            ".",
            "--output",
            str(out),
            "--signing-key",
            str(signing_key),
            "--verification-key-id",
            "aigate",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out


def test_a_bundle_from_opa_build_verifies(real_opa: str, tmp_path: Path, key_pair: tuple[Path, Path]) -> None:
    private, public = key_pair
    bundle = _opa_build(real_opa, tmp_path, private)
    with tarfile.open(bundle) as archive:
        assert {member.name for member in archive} == {
            "/.manifest",
            "/.signatures.json",
            "/data.json",
            "/aigate/x/x.rego",
        }
    info = verify_bundle(bundle, public, key_id="aigate")
    assert (info.revision, sorted(info.files)) == ("r1", [".manifest", "aigate/x/x.rego", "data.json"])
    assert read_bundle(bundle).data == {"aigate": {"config": {"a": 1}}}
    verified = run_cli("bundle", "verify", bundle, "--verification-key", public, "--key-id", "aigate")
    assert verified.code == 0, verified.stderr


def _rewrapped(bundle: Path, out: Path, rename: dict[str, str], extra: tuple[str, bytes] | None = None) -> Path:
    with tarfile.open(bundle) as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()  # type: ignore[union-attr]
            member.name = rename.get(member.name, member.name)
            target.addfile(member, io.BytesIO(content))
        if extra is not None:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            target.addfile(info, io.BytesIO(extra[1]))
    return out


@pytest.mark.parametrize(
    ("rename", "extra", "problem"),
    [
        ({"/data.json": "//data.json"}, None, "member '//data.json': absolute paths are not allowed"),
        ({}, ("data.json", b"{}"), "member 'data.json': appears twice"),
        ({"/aigate/x/x.rego": "/../x.rego"}, None, "'.', '..' and empty path segments are not allowed"),
    ],
    ids=["two-slashes", "slash-and-no-slash", "dot-dot-after-slash"],
)
def test_only_one_leading_slash_is_read_as_the_root(
    real_opa: str,
    tmp_path: Path,
    key_pair: tuple[Path, Path],
    rename: dict[str, str],
    extra: tuple[str, bytes] | None,
    problem: str,
) -> None:
    private, public = key_pair
    bundle = _rewrapped(_opa_build(real_opa, tmp_path, private), tmp_path / "changed.tar.gz", rename, extra)
    with pytest.raises(PolicyError, match=problem.replace("(", r"\(").replace(".", r"\.")):
        verify_bundle(bundle, public, key_id="aigate")
