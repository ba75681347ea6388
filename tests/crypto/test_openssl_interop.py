"""An independent implementation agrees with ours (issue 15, "done when"): the OpenSSL command line.

A signature GovFlow makes verifies with `openssl pkeyutl` (SM2 with the default signer ID
1234567812345678, ECDSA P-256 with `openssl dgst`), and one OpenSSL makes verifies with ours; a changed
byte fails on both sides. HMAC-SM3 and HMAC-SHA256 agree with `openssl mac`. gmalg (SM2) is pure Python
and shares no code with OpenSSL.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from app.crypto import algorithms as crypto

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is not installed: "
                                "the independent check of signatures and HMACs needs it")
SM2_ID = "distid:1234567812345678"
MESSAGE = "整改通知书 豫数整改〔2026〕12号：请于 10 个工作日内整改。".encode()


def openssl(*args: str | Path, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True, timeout=60)


def ok(*args: str | Path, input: bytes | None = None) -> bytes:
    done = openssl(*args, input=input)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "tampered").write_bytes(MESSAGE[:-1] + bytes([MESSAGE[-1] ^ 1]))
    return tmp_path


def test_a_govflow_sm2_signature_verifies_with_openssl(files: Path) -> None:
    pair = crypto.generate_keypair("sm2-sm3")
    (files / "pub.pem").write_text(pair.public_pem)
    (files / "sig.der").write_bytes(crypto.sign("sm2-sm3", pair.private, pair.public_pem, MESSAGE))

    def verify(message: str) -> subprocess.CompletedProcess[bytes]:
        return openssl("pkeyutl", "-verify", "-pubin", "-inkey", files / "pub.pem", "-rawin", "-in", files / message,
                       "-sigfile", files / "sig.der", "-digest", "sm3", "-pkeyopt", SM2_ID)

    accepted = verify("msg")
    assert accepted.returncode == 0 and b"Signature Verified Successfully" in accepted.stdout, accepted.stderr
    refused = verify("tampered")
    assert refused.returncode != 0 and b"Signature Verified Successfully" not in refused.stdout


def test_an_openssl_sm2_signature_verifies_with_govflow(files: Path) -> None:
    ok("genpkey", "-algorithm", "SM2", "-out", files / "key.pem")
    ok("pkey", "-in", files / "key.pem", "-pubout", "-out", files / "pub.pem")
    ok("pkeyutl", "-sign", "-inkey", files / "key.pem", "-rawin", "-in", files / "msg", "-out", files / "sig.der",
       "-digest", "sm3", "-pkeyopt", SM2_ID)
    public_pem, sig = (files / "pub.pem").read_text(), (files / "sig.der").read_bytes()
    assert crypto.verify("sm2-sm3", public_pem, MESSAGE, sig) is True
    assert crypto.verify("sm2-sm3", public_pem, (files / "tampered").read_bytes(), sig) is False
    # Another signer ID gives another Z_A: OpenSSL's signature under it does not verify as ours.
    ok("pkeyutl", "-sign", "-inkey", files / "key.pem", "-rawin", "-in", files / "msg", "-out", files / "other.der",
       "-digest", "sm3", "-pkeyopt", "distid:ALICE123@YAHOO.COM")
    assert crypto.verify("sm2-sm3", public_pem, MESSAGE, (files / "other.der").read_bytes()) is False


def test_the_gbt_32918_5_example_key_is_the_same_key_for_openssl(files: Path) -> None:
    """OpenSSL reads our PEM of the standard's example public key, and verifies the standard's signature."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from tests.crypto.test_known_answers import PART5, sm2_pem

    (files / "pub.pem").write_text(sm2_pem(PART5["point"]))
    (files / "example").write_bytes(b"message digest")
    (files / "sig.der").write_bytes(encode_dss_signature(PART5["r"], PART5["s"]))
    ok("pkeyutl", "-verify", "-pubin", "-inkey", files / "pub.pem", "-rawin", "-in", files / "example",
       "-sigfile", files / "sig.der", "-digest", "sm3", "-pkeyopt", SM2_ID)


def test_ecdsa_p256_both_ways(files: Path) -> None:
    pair = crypto.generate_keypair("ecdsa-p256-sha256")
    (files / "ours.pem").write_text(pair.public_pem)
    (files / "ours.der").write_bytes(crypto.sign("ecdsa-p256-sha256", pair.private, pair.public_pem, MESSAGE))
    ok("dgst", "-sha256", "-verify", files / "ours.pem", "-signature", files / "ours.der", files / "msg")
    assert openssl("dgst", "-sha256", "-verify", files / "ours.pem", "-signature", files / "ours.der",
                   files / "tampered").returncode != 0

    ok("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", files / "key.pem")
    ok("pkey", "-in", files / "key.pem", "-pubout", "-out", files / "theirs.pem")
    ok("dgst", "-sha256", "-sign", files / "key.pem", "-out", files / "theirs.der", files / "msg")
    theirs, sig = (files / "theirs.pem").read_text(), (files / "theirs.der").read_bytes()
    assert crypto.verify("ecdsa-p256-sha256", theirs, MESSAGE, sig) is True
    assert crypto.verify("ecdsa-p256-sha256", theirs, (files / "tampered").read_bytes(), sig) is False
    # An SM2 key is not a P-256 key, nor the reverse.
    assert crypto.verify("sm2-sm3", theirs, MESSAGE, sig) is False


@pytest.mark.parametrize("alg, digest", [("hmac-sm3", "SM3"), ("hmac-sha256", "SHA256")])
def test_hmac_agrees_with_openssl_mac(files: Path, alg: str, digest: str) -> None:
    key = secrets.token_bytes(32)
    out = ok("mac", "-digest", digest, "-macopt", f"hexkey:{key.hex()}", "-in", files / "msg", "HMAC")
    assert out.decode().strip().lower() == crypto.hmac_hex(alg, key, MESSAGE)


def test_sm3_agrees_with_openssl_dgst(files: Path) -> None:
    # (hashlib runs on OpenSSL too: this checks the wiring, the known answers check the algorithm.)
    out = ok("dgst", "-sm3", "-r", files / "msg")
    assert out.decode().split()[0] == crypto.digest_hex("sm3", MESSAGE)
