"""The on-disk format of an encrypted attachment, and where attachment files live.

An encrypted file says what it is, then holds the ciphertext, then the GCM tag::

    magic "GFAE" | version (1 byte, 1) | n (1 byte) | cipher name (n ASCII bytes, "sm4-gcm")
    | nonce (12 bytes) | ciphertext (as long as the plaintext) | tag (16 bytes)

The header (everything before the ciphertext) is the GCM associated data: a changed version, cipher name
or nonce fails the tag like a changed ciphertext byte. The data key is not in the file: it is on the
attachment's row, sealed by the master keyring for the purpose ``attachment:<storage name>``.

Plaintext files are content-addressed, ``<root>/<sha256[:2]>/<sha256>``; encrypted ones have a random
storage name, ``<root>/enc/<name[:2]>/<name>`` (an encrypted file named by its plaintext's hash would tell
equal files apart and could not have a key of its own).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import BinaryIO

from app.crypto import algorithms

MAGIC = b"GFAE"
VERSION = 1
NONCE_BYTES = algorithms.NONCE_BYTES
TAG_BYTES = algorithms.TAG_BYTES
ENCRYPTED_DIR = "enc"
_NAME = re.compile(r"^[0-9a-f]{32}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BadFile(ValueError):
    """The file is not an encrypted attachment of a known format (or is cut short)."""


def new_storage_name() -> str:
    """Return a fresh random storage name (128 bits, hex)."""
    return secrets.token_hex(16)


def purpose(storage_name: str) -> str:
    """What an encrypted file's data key is sealed for: this file and no other."""
    return f"attachment:{storage_name}"


def plain_path(root: Path, sha256: str) -> Path:
    if not _SHA.match(sha256):
        raise BadFile("not a SHA-256 hex digest")
    return root / sha256[:2] / sha256


def encrypted_path(root: Path, storage_name: str) -> Path:
    if not _NAME.match(storage_name or ""):
        raise BadFile("not a storage name")
    return root / ENCRYPTED_DIR / storage_name[:2] / storage_name


def header(cipher: str, nonce: bytes) -> bytes:
    """Return the header of a file encrypted with a cipher under a nonce."""
    name = cipher.encode("ascii")
    algorithms.key_bytes(cipher)  # a known cipher, or UnknownAlgorithm
    if len(nonce) != NONCE_BYTES:
        raise ValueError("nonce length")
    return MAGIC + bytes([VERSION, len(name)]) + name + nonce


def read_header(f: BinaryIO) -> tuple[str, bytes, bytes]:
    """Read a header from the start of a file: return (cipher, nonce, the header's bytes), or raise BadFile."""
    fixed = f.read(len(MAGIC) + 2)
    if len(fixed) != len(MAGIC) + 2 or not fixed.startswith(MAGIC):
        raise BadFile("no GovFlow attachment header")
    if fixed[len(MAGIC)] != VERSION:
        raise BadFile(f"unknown format version {fixed[len(MAGIC)]}")
    n = fixed[len(MAGIC) + 1]
    rest = f.read(n + NONCE_BYTES)
    if len(rest) != n + NONCE_BYTES:
        raise BadFile("header cut short")
    try:
        cipher = rest[:n].decode("ascii")
        algorithms.key_bytes(cipher)
    except (UnicodeDecodeError, algorithms.UnknownAlgorithm):
        raise BadFile("unknown cipher") from None
    return cipher, rest[n:], fixed + rest


def overhead(cipher: str) -> int:
    """How many bytes an encrypted file holds besides the ciphertext (header and tag)."""
    return len(MAGIC) + 2 + len(cipher.encode("ascii")) + NONCE_BYTES + TAG_BYTES
