"""Our own wrappers around the algorithms: the master keyring (sealed keys), `verify` on malformed input,
and the settings that hold keys (a bad one is refused in Chinese, and no error text carries a secret)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import ValidationError

from app.cli import main as cli
from app.core.config import Settings, get_settings
from app.crypto import algorithms as crypto
from app.crypto.keys import DEV_KEY_ID, Keyring, KeyringError, decode_master, keyring_from, parse

K1, K2 = base64.b64encode(b"\x01" * 32).decode(), base64.b64encode(b"\x02" * 32).decode()
SECRET = b"an organisation's SM2 private key, 32 bytes"
PURPOSE = "signing_key:department:12"


def ring(keys: dict[str, str], current: str | None = None, cipher: str = "sm4-gcm") -> Keyring:
    return keyring_from(keys, current, cipher)


# --- Keyring ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cipher", ["sm4-gcm", "aes-256-gcm"])
def test_seal_and_open_round_trip(cipher: str) -> None:
    keyring = ring({"k2026": K1}, cipher=cipher)
    sealed = keyring.seal(SECRET, PURPOSE)
    assert sealed.startswith(f"v1:k2026:{cipher}:") and SECRET not in base64.b64decode(sealed.split(":")[3])
    assert keyring.open(sealed, PURPOSE) == SECRET
    assert keyring.seal(SECRET, PURPOSE) != sealed  # a fresh nonce each time
    assert not keyring.needs_rotation(sealed)


def test_a_sealed_key_opens_only_for_its_purpose() -> None:
    keyring = ring({"k2026": K1})
    sealed = keyring.seal(SECRET, PURPOSE)
    with pytest.raises(KeyringError, match="密钥无法解封"):
        keyring.open(sealed, "signing_key:department:13")  # copied onto another row


def test_a_key_sealed_under_an_unknown_master_key_is_refused_by_name() -> None:
    sealed = ring({"old": K1}).seal(SECRET, PURPOSE)
    with pytest.raises(KeyringError, match="主密钥“old”未配置"):
        ring({"new": K2}).open(sealed, PURPOSE)


def test_the_same_id_with_another_key_does_not_open() -> None:
    sealed = ring({"k": K1}).seal(SECRET, PURPOSE)
    with pytest.raises(KeyringError, match="密钥无法解封"):
        ring({"k": K2}).open(sealed, PURPOSE)


@pytest.mark.parametrize("edit, message", [
    (lambda s: s[:-6] + ("A" if s[-6] != "A" else "B") + s[-5:], "密钥无法解封"),  # a changed byte of the tag
    (lambda s: "v2" + s[2:], "不是 GovFlow 封装的密钥"),
    (lambda s: s.rsplit(":", 1)[0], "不是 GovFlow 封装的密钥"),
    (lambda s: s.replace("sm4-gcm", "des-cbc"), "格式不对"),
    (lambda s: s + "*", "格式不对"),
    (lambda s: s.replace(":sm4-gcm:", ":aes-256-gcm:"), "密钥无法解封"),
    (lambda s: s.split(":")[0] + ":k:sm4-gcm:" + base64.b64encode(b"short").decode(), "密钥无法解封"),
])
def test_altered_text_is_refused(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    keyring = ring({"k": K1})
    sealed = keyring.seal(SECRET, PURPOSE)
    with pytest.raises(KeyringError, match=message):
        keyring.open(edit(sealed), PURPOSE)


def test_reseal_moves_a_key_to_the_current_master_key_and_cipher() -> None:
    old = ring({"k2025": K1}, cipher="aes-256-gcm").seal(SECRET, PURPOSE)
    rotated = ring({"k2025": K1, "k2026": K2}, current="k2026", cipher="sm4-gcm")
    assert rotated.needs_rotation(old)
    resealed = rotated.reseal(old, PURPOSE)
    assert resealed.startswith("v1:k2026:sm4-gcm:") and rotated.open(resealed, PURPOSE) == SECRET
    assert rotated.reseal(resealed, PURPOSE) == resealed  # already current: unchanged
    # Once every key is resealed the old master key can leave settings: the new text still opens, the old not.
    after = ring({"k2026": K2})
    assert after.open(resealed, PURPOSE) == SECRET
    with pytest.raises(KeyringError, match="k2025"):
        after.open(old, PURPOSE)
    # The cipher alone changing (suite intl -> sm) is a rotation too.
    assert ring({"k2025": K1}, cipher="sm4-gcm").needs_rotation(old)


def test_several_master_keys_need_the_current_one_named() -> None:
    with pytest.raises(KeyringError, match="GOVFLOW_MASTER_KEY_ID"):
        ring({"a": K1, "b": K2})
    with pytest.raises(KeyringError, match="当前主密钥“c”不在"):
        ring({"a": K1, "b": K2}, current="c")
    assert ring({"a": K1, "b": K2}, current="b").current == "b"


def test_master_keys_are_read_as_base64_or_hex_of_32_bytes_or_more() -> None:
    raw = secrets.token_bytes(32)
    assert decode_master(raw.hex()) == raw
    assert decode_master(base64.b64encode(raw).decode()) == raw
    assert decode_master(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    # "ab" * 32 + "c": 65 hex digits, a typo; bytes.fromhex raised a bare ValueError (English, from pydantic).
    for bad in ("", "not base64 at all!", base64.b64encode(b"x" * 31).decode(), "ab" * 20, "ab" * 32 + "c"):
        with pytest.raises(KeyringError, match="至少 32 字节"):
            decode_master(bad)
    for bad_id in ("bad id!", "k2026\n", "", "x" * 33):
        with pytest.raises(KeyringError, match="只能由字母"):
            keyring_from({bad_id: K1}, None, "sm4-gcm")


def test_development_derives_a_key_and_production_does_not() -> None:
    dev = keyring_from({}, None, "sm4-gcm", dev_secret="a development secret key")
    assert dev.current == DEV_KEY_ID and dev.open(dev.seal(SECRET, PURPOSE), PURPOSE) == SECRET
    with pytest.raises(KeyringError, match="未配置主密钥"):
        keyring_from({}, None, "sm4-gcm", dev_secret=None)


def test_no_key_material_in_repr_or_parse() -> None:
    keyring = ring({"k": K1})
    assert K1 not in repr(keyring) and "\\x01" not in repr(keyring) and "ids=['k']" in repr(keyring)
    key_id, cipher, body = parse(keyring.seal(SECRET, PURPOSE))
    assert (key_id, cipher, len(body)) == ("k", "sm4-gcm", 12 + len(SECRET) + 16)


# --- verify() on malformed input: False, never an exception -------------------------------------------------

@pytest.fixture(scope="module")
def pairs() -> dict[str, crypto.KeyPair]:
    return {alg: crypto.generate_keypair(alg) for alg in ("sm2-sm3", "ecdsa-p256-sha256")}


N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123  # SM2's order


@pytest.mark.parametrize("alg", ["sm2-sm3", "ecdsa-p256-sha256"])
@pytest.mark.parametrize("signature", [
    b"", b"\x30\x00", b"\x00" * 64, b"\x30\x06\x02\x01\x00\x02\x01\x01", bytes(range(71)),
    encode_dss_signature(0, 1), encode_dss_signature(1, 0), encode_dss_signature(N, 1), encode_dss_signature(1, N),
    encode_dss_signature(2 ** 256, 1), encode_dss_signature(2 ** 300, 2 ** 300), encode_dss_signature(1, 1),
])
def test_verify_is_false_for_a_malformed_signature(pairs, alg: str, signature: bytes) -> None:  # type: ignore[no-untyped-def]
    assert crypto.verify(alg, pairs[alg].public_pem, b"decision", signature) is False


@pytest.mark.parametrize("alg", ["sm2-sm3", "ecdsa-p256-sha256"])
def test_verify_is_false_for_a_signature_given_as_text(pairs, alg: str) -> None:  # type: ignore[no-untyped-def]
    """A caller that forgot to decode base64 gets a refusal, not an exception (a 500 on a public page)."""
    pair = pairs[alg]
    sig = crypto.sign(alg, pair.private, pair.public_pem, b"decision")
    assert crypto.verify(alg, pair.public_pem, b"decision", base64.b64encode(sig).decode()) is False  # type: ignore[arg-type]


def _spki(prefix_hex: str, point: bytes) -> str:
    return "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(bytes.fromhex(prefix_hex) + point).decode() + \
        "\n-----END PUBLIC KEY-----\n"


SM2_PREFIX = "3059301306072a8648ce3d020106082a811ccf5501822d034200"


@pytest.mark.parametrize("alg", ["sm2-sm3", "ecdsa-p256-sha256"])
@pytest.mark.parametrize("public_pem", [
    "", "garbage", "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n", "公钥",
    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    _spki(SM2_PREFIX, b"\x04" + b"\x01" * 64),  # not on the curve
    _spki(SM2_PREFIX, b"\x00" * 65),  # the point at infinity
    _spki(SM2_PREFIX, b"\x02" + b"\x01" * 64),  # a compressed form where the uncompressed is expected
    _spki(SM2_PREFIX, b"\x04" + b"\x01" * 32),  # short
])
def test_verify_is_false_for_a_malformed_public_key(pairs, alg: str, public_pem: str) -> None:  # type: ignore[no-untyped-def]
    pair = pairs[alg]
    sig = crypto.sign(alg, pair.private, pair.public_pem, b"decision")
    assert crypto.verify(alg, public_pem, b"decision", sig) is False


def test_a_key_of_the_other_algorithm_does_not_verify(pairs) -> None:  # type: ignore[no-untyped-def]
    sm2, ecdsa = pairs["sm2-sm3"], pairs["ecdsa-p256-sha256"]
    sm2_sig = crypto.sign("sm2-sm3", sm2.private, sm2.public_pem, b"decision")
    ecdsa_sig = crypto.sign("ecdsa-p256-sha256", ecdsa.private, ecdsa.public_pem, b"decision")
    assert crypto.verify("sm2-sm3", ecdsa.public_pem, b"decision", ecdsa_sig) is False
    assert crypto.verify("ecdsa-p256-sha256", sm2.public_pem, b"decision", sm2_sig) is False
    with pytest.raises(crypto.UnknownAlgorithm):
        crypto.verify("rsa-pss", sm2.public_pem, b"decision", sm2_sig)


# --- settings -----------------------------------------------------------------------------------------------

STRONG_SECRET = "q7Rk2-Vd9xWmZp4LsT0bYc8NfHe3JuGa6Q1iKoB5rMw"
AUDIT_KEY = "u8Kc2#RfN5pXq9LzW3mVb7TyH4sGd6Ja"
WEAK_MASTER = base64.b64encode(b"sixteen byte key").decode()  # 16 bytes: too short


def test_a_bad_master_key_is_refused_in_chinese_without_showing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        # Only these two settings: pydantic's shortened input, were it shown, would begin with the secret
        # key and end with the master key (it keeps the first and last 25 characters of the settings read).
        Settings(_env_file=None, secret_key=STRONG_SECRET, master_keys={"k2026": WEAK_MASTER})  # type: ignore[call-arg]
    text = str(caught.value)
    assert "GOVFLOW_MASTER_KEYS" in text and "至少 32 字节" in text
    # pydantic puts the input (every setting read) into the error's text unless told not to.
    assert "input_value" not in text
    for secret in (WEAK_MASTER[-12:], STRONG_SECRET[:9]):
        assert secret not in text


def test_production_refuses_signing_without_master_keys() -> None:
    with pytest.raises(ValidationError, match="未配置主密钥"):
        Settings(_env_file=None, environment="production", secret_key=STRONG_SECRET,  # type: ignore[call-arg]
                 audit_key=AUDIT_KEY, encrypt_attachments=True)


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = Settings(_env_file=None, secret_key=STRONG_SECRET, audit_key=AUDIT_KEY,  # type: ignore[call-arg]
                        master_keys={"k": K1}, metrics_token="metrics-token-value-0123456789")
    shown = repr(settings)
    for secret in (STRONG_SECRET, AUDIT_KEY, K1, "metrics-token-value"):
        assert secret not in shown


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[pytest.MonkeyPatch]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOVFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("GOVFLOW_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("master_keys, message", [
    ('{"k2026": "%s"}' % WEAK_MASTER, "主密钥须为至少 32 字节"),
    ('{"k2026": "%s", ' % K1, "GOVFLOW_MASTER_KEYS 的值不是有效的 JSON"),  # cut short: not JSON
    ('{"k2026": 12345678901234567890}', "master_keys.k2026"),
])
def test_the_cli_names_a_bad_master_key_setting_and_prints_no_secret(env, capsys, master_keys: str,
                                                                     message: str) -> None:
    env.setenv("GOVFLOW_MASTER_KEYS", master_keys)
    assert cli(["verify-audit"]) == 2
    captured = capsys.readouterr()
    shown = captured.err + captured.out
    assert message in shown and "配置无效" in shown and "Traceback" not in shown
    for secret in (WEAK_MASTER, K1, K1[:12], "1234567890123", STRONG_SECRET[:9], AUDIT_KEY[:9]):
        assert secret not in shown
