"""Master keys from settings, and the keys they protect (envelope encryption).

A master key (key-encryption key) lives only in settings (GOVFLOW_MASTER_KEYS), never in the database or
next to the files. Every key GovFlow keeps (an attachment's data key, an organisation's signing key) is
stored sealed under the current master key with the suite's cipher, bound to what it protects (the
``purpose`` is the associated data: a sealed key copied onto another row does not open there).

Rotation: add a new master key, make it current (GOVFLOW_MASTER_KEY_ID), run ``govflow rotate-keys``;
every sealed key is re-sealed under the new one (files and signatures are not touched); then the old
master key can be removed from settings.

A sealed key is text: ``v1:<master key id>:<cipher>:<base64 of nonce ‖ ciphertext ‖ tag>``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from app.crypto import algorithms

_VERSION = "v1"
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MIN_MASTER_BYTES = 32
# Development and test only (refused in production): a master key derived from the secret key.
DEV_KEY_ID = "dev"


class KeyringError(ValueError):
    """The settings' master keys are unusable, or a sealed key names one that is not configured."""


def decode_master(value: str) -> bytes:
    """Return the bytes of a master key given in settings (base64 or hex of at least 32 bytes)."""
    raw: bytes | None = None
    text = value.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2}){32,}", text):  # whole bytes only: 65 hex digits fall to the refusal
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text)
                                   else None, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) < MIN_MASTER_BYTES:
        raise KeyringError(f"主密钥须为至少 {MIN_MASTER_BYTES} 字节随机数的 base64 或十六进制"
                           f"（生成：python -c \"import secrets,base64; print(base64.b64encode("
                           f"secrets.token_bytes(32)).decode())\"）")
    return raw


@dataclass
class Keyring:
    """The master keys of settings, by id, and the id that seals new keys."""

    keys: dict[str, bytes]
    current: str
    cipher: str  # the cipher new keys are sealed with (the suite's)
    _derived: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError(f"当前主密钥“{self.current}”不在 GOVFLOW_MASTER_KEYS 中")

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keys)}, current={self.current!r}, cipher={self.cipher!r})"

    def _kek(self, key_id: str, cipher: str) -> bytes:
        cached = self._derived.get((key_id, cipher))
        if cached is None:
            try:
                master = self.keys[key_id]
            except KeyError:
                raise KeyringError(f"封装该密钥的主密钥“{key_id}”未配置（GOVFLOW_MASTER_KEYS）") from None
            cached = algorithms.derive_key(master, f"wrap {cipher}", algorithms.key_bytes(cipher))
            self._derived[(key_id, cipher)] = cached
        return cached

    def seal(self, secret: bytes, purpose: str) -> str:
        """Return a secret sealed under the current master key, bound to its purpose."""
        sealed = algorithms.seal(self.cipher, self._kek(self.current, self.cipher), secret, purpose.encode())
        return f"{_VERSION}:{self.current}:{self.cipher}:{base64.b64encode(sealed).decode('ascii')}"

    def open(self, sealed: str, purpose: str) -> bytes:
        """Return the secret of a sealed key, or raise KeyringError (unknown master key, wrong purpose,
        altered text)."""
        key_id, cipher, body = parse(sealed)
        try:
            return algorithms.open_sealed(cipher, self._kek(key_id, cipher), body, purpose.encode())
        except algorithms.DecryptionFailed:
            raise KeyringError("密钥无法解封：主密钥不对，或封装内容、用途被改动") from None

    def needs_rotation(self, sealed: str) -> bool:
        key_id, cipher, _ = parse(sealed)
        return key_id != self.current or cipher != self.cipher

    def reseal(self, sealed: str, purpose: str) -> str:
        """Return the key re-sealed under the current master key and cipher (the same text if it already is)."""
        if not self.needs_rotation(sealed):
            return sealed
        return self.seal(self.open(sealed, purpose), purpose)


def parse(sealed: str) -> tuple[str, str, bytes]:
    """Split a sealed key into (master key id, cipher, sealed bytes)."""
    parts = sealed.split(":")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise KeyringError("不是 GovFlow 封装的密钥")
    try:
        algorithms.key_bytes(parts[2])
        body = base64.b64decode(parts[3], validate=True)
    except (algorithms.UnknownAlgorithm, binascii.Error, ValueError):
        raise KeyringError("封装的密钥格式不对") from None
    return parts[1], parts[2], body


def keyring_from(master_keys: dict[str, str], current: str | None, cipher: str, *,
                 dev_secret: str | None = None) -> Keyring:
    """Build the keyring of settings; with no master key configured, a development key derived from
    ``dev_secret`` (None in production: then master keys are required)."""
    keys: dict[str, bytes] = {}
    for key_id, value in master_keys.items():
        if not KEY_ID.fullmatch(key_id):  # (match's $ would let a trailing newline through)
            raise KeyringError(f"主密钥编号“{key_id[:40]}”只能由字母、数字、点、下划线和连字符组成（最长32个字符）")
        keys[key_id] = decode_master(value)
    if not keys:
        if dev_secret is None:
            raise KeyringError("未配置主密钥（GOVFLOW_MASTER_KEYS）")
        keys[DEV_KEY_ID] = algorithms.derive_key(dev_secret.encode("utf-8"), "development master key")
    if current is None:
        if len(keys) != 1:
            raise KeyringError("配置了多个主密钥时须用 GOVFLOW_MASTER_KEY_ID 指明当前使用哪一个")
        current = next(iter(keys))
    return Keyring(keys, current, cipher)
