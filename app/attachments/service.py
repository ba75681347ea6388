"""Store, check and read attachments; who may touch them is decided by the owning area."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.attachments.models import Attachment
from app.audit import service as audit
from app.core.clock import clock
from app.core.config import Settings
from app.core.errors import Conflict, DomainError, InvalidInput
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
    root = Path(settings.attachments_dir)
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > settings.attachment_max_bytes:
                    raise TooLarge(f"附件不能超过 {settings.attachment_max_bytes // (1024 * 1024)} MB",
                                   extra={"max_bytes": settings.attachment_max_bytes})
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput("附件为空", code="attachment_empty")
        content_type = sniff(filename, head)
        sha = digest.hexdigest()
        final = _path(root, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_name, final)  # same bytes, same name: identical uploads share one file
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    now = clock.now()
    row = Attachment(owner_type=owner_type, owner_id=owner_id, filename=filename, content_type=content_type,
                     size=size, sha256=sha, note=(note or None), uploaded_by_id=actor.id,
                     department_id=actor.department_id, uploaded_at=now)
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="attachment.uploaded", entity_type=owner_type,
                 entity_id=owner_id, detail={"attachment_id": row.id, "filename": filename, "size": size,
                                             "sha256": sha})
    return row


def open_checked(session: Session, settings: Settings, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """Return an attachment's row and bytes after the access check and a checksum verification."""
    row = session.get(Attachment, attachment_id)
    if row is None or not may_access(session, actor, row.owner_type, row.owner_id):
        raise hidden("附件不存在", code="attachment_not_found")
    path = _path(Path(settings.attachments_dir), row.sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Conflict("附件文件缺失，请联系管理员", code="attachment_missing") from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise Conflict("附件校验失败（内容与登记的校验值不符），请联系管理员", code="attachment_corrupted")
    return row, data


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
    """Return an attachment's metadata as the API shows it."""
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256, "note": row.note, "uploaded_at": row.uploaded_at.isoformat(),
            "url": f"/api/attachments/{row.id}"}


def _path(root: Path, sha: str) -> Path:
    return root / sha[:2] / sha
