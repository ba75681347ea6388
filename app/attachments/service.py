"""Store, check and read attachments; who may touch them is decided by the owning area.

Encryption at rest (issue 15, Art. 26): with ``settings.encrypt_attachments`` a new file is written
encrypted with a data key of its own (app/attachments/storage.py has the format); rows of plaintext files
keep working when it is on, rows of encrypted files when it is off. The data keys are re-sealed under a new
master key by ``govflow rotate-keys`` (app/crypto/rotation.py) without rewriting any file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.attachments import storage
from app.attachments.models import Attachment
from app.audit import service as audit
from app.core.clock import clock
from app.core.config import Settings
from app.core.errors import Conflict, DomainError, InvalidInput
from app.crypto import algorithms, rotation
from app.crypto.keys import Keyring, KeyringError
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.org.scope import hidden, works_cases
from app.org.service import Actor

# owner_type -> (session, actor, owner_id) -> bool: may this person attach to / read the owner's files?
AccessRule = Callable[[Session, Actor, int], bool]
ACCESS: dict[str, AccessRule] = {}


def register_owner(owner_type: str) -> Callable[[AccessRule], AccessRule]:
    """Register the access rule of an owner type (the parties and the authority, typically)."""
    def deco(fn: AccessRule) -> AccessRule:
        ACCESS[owner_type] = fn
        return fn
    return deco


class TooLarge(DomainError):
    status_code = 413
    code = "attachment_too_large"
    message_zh = "附件过大"


# Allowed kinds, recognised by their first bytes, not by the name a client sends.
SIGNATURES: list[tuple[str, bytes, str, tuple[str, ...]]] = [
    ("pdf", b"%PDF-", "application/pdf", (".pdf",)),
    ("png", b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    ("jpeg", b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    # OOXML (docx/xlsx) and OFD (China's fixed-layout e-document standard) are zip containers.
    ("zip-office", b"PK\x03\x04", "application/octet-stream", (".docx", ".xlsx", ".ofd")),
]
ZIP_TYPES = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ".ofd": "application/ofd"}


def sniff(filename: str, head: bytes) -> str:
    """Return the content type of an allowed file, or raise InvalidInput naming what is allowed."""
    ext = Path(filename).suffix.lower()
    for _, magic, content_type, exts in SIGNATURES:
        if head.startswith(magic) and ext in exts:
            return ZIP_TYPES.get(ext, content_type)
    raise InvalidInput("附件类型不允许：只接受 PDF、OFD、JPG、PNG、DOCX、XLSX，且文件内容须与扩展名一致",
                       code="attachment_type_forbidden", extra={"filename": filename})


# Characters Windows refuses in a file name: a download saved under the shown name must keep it.
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def clean_filename(raw: str) -> str:
    """Return the name a file is shown and downloaded under: what the uploader sees, nothing hidden.

    The last part of any path (a client may send ``C:\\...\\a.pdf`` or ``../a.pdf``); no control or
    format characters (bidi overrides and isolates U+202A–202E, U+2066–2069, U+200E/F, U+061C, zero-width
    characters), which could make ``x\u202egnp.pdf`` read as another name; whitespace runs as one
    space; no leading or trailing dots and spaces. The extension checked against the content is the
    one of this name, so the name shown cannot claim another type.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[\\/]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zs", "Zl", "Zp"):
            kept.append(" ")
        elif category[0] != "C":  # Cc control, Cf format (bidi, zero-width), Cs, Co, Cn
            kept.append(ch)
    name = _WINDOWS_RESERVED.sub("_", " ".join("".join(kept).split()))
    return name.strip(" .")


def may_access(session: Session, actor: Actor, owner_type: str, owner_id: int) -> bool:
    """Tell whether the owner's area says this person is a party or the authority (a case role is needed:
    a designer of the authority reads no case file); an administrator reads every file, as every case."""
    rule = ACCESS.get(owner_type)
    if rule is None:
        raise InvalidInput(f"未知的附件归属类型“{owner_type}”", code="attachment_owner_unknown")
    return actor.has_role("admin") or (works_cases(actor) and rule(session, actor, owner_id))


def check_access(session: Session, actor: Actor, owner_type: str, owner_id: int) -> None:
    """Refuse unless the person may reach the owner's files; a hidden owner answers as a missing one (404)."""
    if not may_access(session, actor, owner_type, owner_id):
        raise hidden("附件所属的事项不存在", code="attachment_owner_not_found")


CHUNK = 64 * 1024


@dataclass
class StoredFile:
    """What writing a file produced: the values of its row."""

    size: int
    content_type: str
    sha256: str
    checksum_alg: str
    checksum: str
    cipher: str | None = None
    storage_name: str | None = None
    wrapped_key: str | None = None


KEY_UNAVAILABLE = "attachment_key_unavailable"


def _keyring(settings: Settings) -> Keyring:
    try:
        return settings.keyring()
    except KeyringError as exc:
        raise Conflict(f"附件加密所需的主密钥不可用：{exc}。请联系管理员", code=KEY_UNAVAILABLE) from None


def write_file(settings: Settings, filename: str, stream: Any) -> StoredFile:
    """Check and write a file under the attachments folder, streamed in chunks; return its row's values.

    With ``settings.encrypt_attachments`` the file is written encrypted (the suite's cipher, a fresh data
    key sealed by the master keyring, a random storage name): only ciphertext ever reaches the disk, the
    temporary file included. The checksum is the suite's digest of the plaintext (SM3 under "sm"); the
    SHA-256 of the plaintext is kept too (the ``sha256`` field; a plaintext file's name).
    """
    suite = algorithms.suite(settings.crypto_suite)
    root = Path(settings.attachments_dir)
    root.mkdir(parents=True, exist_ok=True)
    encryptor: algorithms.StreamEncryptor | None = None
    if settings.encrypt_attachments:
        keyring = _keyring(settings)
        storage_name = storage.new_storage_name()
        data_key = algorithms.new_key(suite.cipher)
        nonce = os.urandom(storage.NONCE_BYTES)
        head_bytes = storage.header(suite.cipher, nonce)
        encryptor = algorithms.StreamEncryptor(suite.cipher, data_key, nonce, aad=head_bytes)
    sha = hashlib.sha256()
    checksum = algorithms.new_digest(suite.digest) if suite.digest != "sha256" else sha
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            if encryptor is not None:
                out.write(head_bytes)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > settings.attachment_max_bytes:
                    raise TooLarge(f"附件不能超过 {settings.attachment_max_bytes // (1024 * 1024)} MB",
                                   extra={"max_bytes": settings.attachment_max_bytes})
                if len(head) < 16:
                    head += chunk[:16]
                sha.update(chunk)
                if checksum is not sha:
                    checksum.update(chunk)
                out.write(encryptor.update(chunk) if encryptor is not None else chunk)
            if encryptor is not None:
                out.write(encryptor.finalize())
        if size == 0:
            raise InvalidInput("附件为空", code="attachment_empty")
        content_type = sniff(filename, head)
        stored = StoredFile(size=size, content_type=content_type, sha256=sha.hexdigest(),
                            checksum_alg=suite.digest, checksum=checksum.hexdigest())
        if encryptor is not None:
            stored.cipher, stored.storage_name = suite.cipher, storage_name
            stored.wrapped_key = keyring.seal(data_key, storage.purpose(storage_name))
            final = storage.encrypted_path(root, storage_name)
        else:
            final = storage.plain_path(root, stored.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_name, final)  # plaintext: same bytes, same name (identical uploads share one file)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return stored


def store(session: Session, settings: Settings, actor: Actor, *, owner_type: str, owner_id: int, filename: str,
          stream: Any, note: str | None = None) -> Attachment:
    """Check and write a file, then record it (flushes; the caller commits)."""
    check_access(session, actor, owner_type, owner_id)
    if "\x00" in (filename or "") or "\x00" in (note or ""):
        # Refused before the file is written (the row's insert would refuse it too, leaving the file behind).
        raise InvalidInput("文件名和说明中不能包含空字符（U+0000）", code="nul_character")
    filename = clean_filename(filename or "")
    if not filename or len(filename) > 255:
        raise InvalidInput("请提供文件名（不超过255个字符，不能只有控制字符或路径）", code="attachment_filename_invalid")
    stored = write_file(settings, filename, stream)
    now = clock.now()
    row = Attachment(owner_type=owner_type, owner_id=owner_id, filename=filename, note=(note or None),
                     uploaded_by_id=actor.id, department_id=actor.department_id, uploaded_at=now,
                     **asdict(stored))
    session.add(row)
    session.flush()
    detail: dict[str, Any] = {"attachment_id": row.id, "filename": filename, "size": stored.size,
                              "sha256": stored.sha256}
    if stored.checksum_alg != "sha256":
        detail["checksum"] = {"alg": stored.checksum_alg, "value": stored.checksum}
    if stored.cipher is not None:
        detail["cipher"] = stored.cipher
    audit.append(session, at=now, actor=actor.username, action="attachment.uploaded", entity_type=owner_type,
                 entity_id=owner_id, detail=detail)
    return row


def _corrupted() -> Conflict:
    return Conflict("附件校验失败（内容与登记的校验值不符），请联系管理员", code="attachment_corrupted")


def _missing() -> Conflict:
    return Conflict("附件文件缺失，请联系管理员", code="attachment_missing")


def read_file(settings: Settings, row: Attachment) -> bytes | memoryview:
    """Return a file's plaintext once it is verified: for an encrypted file the GCM tag (the key, the header,
    every ciphertext byte) and then the checksum; for a plaintext one the checksum. Nothing is returned
    before both pass. Refusals: 409 attachment_missing, attachment_corrupted, attachment_key_unavailable."""
    root = Path(settings.attachments_dir)
    try:
        if row.cipher is None:
            data = storage.plain_path(root, row.sha256).read_bytes()
            if algorithms.digest_hex(row.checksum_alg, data) != row.checksum:
                raise _corrupted()
            return data
        path = storage.encrypted_path(root, row.storage_name or "")
    except FileNotFoundError:
        raise _missing() from None
    except (storage.BadFile, algorithms.UnknownAlgorithm):
        raise _corrupted() from None
    keyring = _keyring(settings)
    try:
        data_key = keyring.open(row.wrapped_key or "", storage.purpose(row.storage_name or ""))
    except KeyringError as exc:
        raise Conflict(f"附件无法解密：{exc}。请联系管理员", code=KEY_UNAVAILABLE) from None
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise _missing() from None
    with f:
        try:
            total = os.fstat(f.fileno()).st_size
            cipher, nonce, head_bytes = storage.read_header(f)
            body = total - len(head_bytes) - storage.TAG_BYTES
            if cipher != row.cipher or body != row.size:
                raise _corrupted()
            f.seek(total - storage.TAG_BYTES)
            tag = f.read(storage.TAG_BYTES)
            f.seek(len(head_bytes))
            decryptor = algorithms.StreamDecryptor(cipher, data_key, nonce, tag, aad=head_bytes)
            digest = algorithms.new_digest(row.checksum_alg)
            plain = bytearray(body)
            view = memoryview(plain)
            done = 0
            while done < body:
                chunk = f.read(min(CHUNK * 16, body - done))
                if not chunk:
                    raise _corrupted()  # cut short while being read
                out = decryptor.update(chunk)
                view[done:done + len(out)] = out
                digest.update(out)
                done += len(chunk)
            decryptor.finalize()
        except (storage.BadFile, algorithms.DecryptionFailed, algorithms.UnknownAlgorithm, ValueError):
            raise _corrupted() from None
    if digest.hexdigest() != row.checksum:
        raise _corrupted()
    return view


def open_checked(session: Session, settings: Settings, actor: Actor, attachment_id: int
                 ) -> tuple[Attachment, bytes | memoryview]:
    """Return an attachment's row and bytes after the access check, decryption and checksum verification."""
    row = session.get(Attachment, attachment_id)
    if row is None or not may_access(session, actor, row.owner_type, row.owner_id):
        raise hidden("附件不存在", code="attachment_not_found")
    return row, read_file(settings, row)


def list_for(session: Session, owner_type: str, owner_id: int) -> list[Attachment]:
    """List an owner's attachments, oldest first."""
    return list(session.execute(
        select(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
        .order_by(Attachment.id)).scalars().all())


PAGE_CURSOR = "attachments"


def page_for(session: Session, owner_type: str, owner_id: int, cursor: str | None = None, limit: int = PAGE_SIZE
             ) -> tuple[list[Attachment], str | None]:
    """Return an owner's latest `limit` attachments before the cursor, oldest first, and the cursor to the
    earlier ones (None when these are the first); read from the owner index (its rows in id order)."""
    before = decode_cursor(cursor, PAGE_CURSOR)
    stmt = select(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
    if before is not None:
        stmt = stmt.where(Attachment.id < before)
    rows = session.execute(stmt.order_by(Attachment.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(rows, kind=PAGE_CURSOR, limit=limit, key=lambda r: r.id)


def of_owner(session: Session, owner_type: str, owner_id: int, *, ids: set[int] | None = None,
             department_id: int | None = None) -> list[Attachment]:
    """Return an owner's attachments among `ids` and/or uploaded by a department, oldest first."""
    stmt = select(Attachment).where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
    if ids is not None:
        stmt = stmt.where(Attachment.id.in_(ids))
    if department_id is not None:
        stmt = stmt.where(Attachment.department_id == department_id)
    return list(session.execute(stmt.order_by(Attachment.id)).scalars().all())


def public(row: Attachment) -> dict[str, Any]:
    """Return an attachment's metadata as the API shows it.

    ``sha256`` is the SHA-256 of the file's bytes (as downloaded) for every row; ``checksum`` the digest a
    download is verified against, under its algorithm ("sm3" for files uploaded under the SM suite);
    ``encrypted`` and ``cipher`` say how the file is kept at rest.
    """
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256, "checksum": {"alg": row.checksum_alg, "value": row.checksum},
            "encrypted": row.cipher is not None, "cipher": row.cipher,
            "note": row.note, "uploaded_at": row.uploaded_at.isoformat(), "url": f"/api/attachments/{row.id}"}


# ------------------------------------------------------------------------------- master-key rotation

ROTATION_BATCH = 500


@rotation.register("attachments", label_zh="附件数据密钥")
def reseal_attachment_keys(session: Session, keyring: Keyring, *, batch: int = ROTATION_BATCH) -> int:
    """Re-seal the data keys of encrypted attachments not yet under the keyring's current master key and
    cipher, in batches (each committed with its audit event); return how many. Files are not touched."""
    current = f"v1:{keyring.current}:{keyring.cipher}:"
    done = last = 0
    while True:
        rows = session.execute(
            select(Attachment).where(Attachment.wrapped_key.is_not(None), Attachment.id > last,
                                     ~Attachment.wrapped_key.startswith(current, autoescape=True))
            .order_by(Attachment.id).limit(batch).with_for_update()).scalars().all()
        if not rows:
            return done
        for row in rows:
            try:
                row.wrapped_key = keyring.reseal(row.wrapped_key or "", storage.purpose(row.storage_name or ""))
            except KeyringError as exc:
                raise KeyringError(f"附件 #{row.id} 的数据密钥：{exc}") from None
        last = rows[-1].id or last
        done += len(rows)
        rotation.batch_done(session, keyring, "attachments", len(rows))


# ------------------------------------------------- encrypting the files uploaded before encryption was on

def _encrypt_plain_file(settings: Settings, keyring: Keyring, row: Attachment) -> StoredFile:
    """Write an encrypted copy of a plaintext row's file (its checksum verified on the way); return the row's
    new values. The plaintext file is left in place."""
    suite = algorithms.suite(settings.crypto_suite)
    root = Path(settings.attachments_dir)
    try:
        src = storage.plain_path(root, row.sha256).open("rb")
    except FileNotFoundError:
        raise _missing() from None
    except storage.BadFile:
        raise _corrupted() from None
    name = storage.new_storage_name()
    data_key = algorithms.new_key(suite.cipher)
    nonce = os.urandom(storage.NONCE_BYTES)
    head_bytes = storage.header(suite.cipher, nonce)
    encryptor = algorithms.StreamEncryptor(suite.cipher, data_key, nonce, aad=head_bytes)
    old = algorithms.new_digest(row.checksum_alg)
    new = algorithms.new_digest(suite.digest)
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with src, os.fdopen(fd, "wb") as out:
            out.write(head_bytes)
            while chunk := src.read(CHUNK * 16):
                size += len(chunk)
                old.update(chunk)
                new.update(chunk)
                out.write(encryptor.update(chunk))
            out.write(encryptor.finalize())
        if old.hexdigest() != row.checksum or size != row.size:
            raise _corrupted()
        final = storage.encrypted_path(root, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_name, final)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredFile(size=size, content_type=row.content_type, sha256=row.sha256, checksum_alg=suite.digest,
                      checksum=new.hexdigest(), cipher=suite.cipher, storage_name=name,
                      wrapped_key=keyring.seal(data_key, storage.purpose(name)))


def encrypt_existing(session: Session, settings: Settings, *, batch: int = 100) -> dict[str, Any]:
    """Encrypt every plaintext attachment file (``govflow encrypt-attachments``); safe to re-run.

    Per batch: write each file's encrypted copy, switch the rows, commit them with one audit event; then
    remove the plaintext files no plaintext row names any more (also those a run stopped before removing).
    A file that is missing or fails its checksum is left as it is and named in ``problems``.
    """
    keyring = _keyring(settings)
    encrypted, problems, last = 0, [], 0
    while True:
        rows = session.execute(select(Attachment).where(Attachment.cipher.is_(None), Attachment.id > last)
                               .order_by(Attachment.id).limit(batch)).scalars().all()
        if not rows:
            break
        ids = []
        for row in rows:
            last = row.id or last
            try:
                stored = _encrypt_plain_file(settings, keyring, row)
            except Conflict as exc:
                problems.append(f"附件 #{row.id}（{row.filename}）未加密：{exc.message_zh}")
                continue
            for key, value in asdict(stored).items():
                setattr(row, key, value)
            ids.append(row.id)
        if ids:
            audit.append(session, at=clock.now(), actor="system", action="attachments.encrypted_at_rest",
                         entity_type="attachment", entity_id=ids[0],
                         detail={"attachment_ids": ids, "count": len(ids),
                                 "cipher": algorithms.suite(settings.crypto_suite).cipher})
        session.commit()
        encrypted += len(ids)
    return {"encrypted": encrypted, "removed": remove_replaced_plain_files(session, settings),
            "skipped": len(problems), "problems": problems}


def remove_replaced_plain_files(session: Session, settings: Settings) -> int:
    """Delete the plaintext files whose content is kept encrypted now and that no plaintext row names."""
    root = Path(settings.attachments_dir)
    if not root.is_dir():
        return 0
    candidates = [p for d in sorted(root.iterdir()) if d.is_dir() and re.fullmatch(r"[0-9a-f]{2}", d.name)
                  for p in sorted(d.iterdir()) if re.fullmatch(r"[0-9a-f]{64}", p.name) and p.name[:2] == d.name]
    removed = 0
    for i in range(0, len(candidates), 500):
        chunk = {p.name: p for p in candidates[i:i + 500]}
        kept: dict[str, bool] = {}
        for sha, cipher in session.execute(select(Attachment.sha256, Attachment.cipher)
                                           .where(Attachment.sha256.in_(chunk))).all():
            kept[sha] = kept.get(sha, False) or cipher is None
        for sha, plain_needed in kept.items():
            if not plain_needed:  # every row of this content is encrypted now
                chunk[sha].unlink(missing_ok=True)
                removed += 1
    return removed
