"""Attachments of statements and reports: upload, list, download (parties and the authority only)."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from app.attachments import service
from app.deps import CurrentUser, RuntimeDep, SessionDep

router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.post("", status_code=201)
def upload(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, file: Annotated[UploadFile, File()],
           owner_type: Annotated[str, Form(max_length=32)], owner_id: Annotated[int, Form()],
           note: Annotated[str | None, Form(max_length=500)] = None) -> dict[str, Any]:
    """Upload a file (PDF, OFD, JPG, PNG, DOCX, XLSX; size limited) to a dispute or notice."""
    row = service.store(session, rt.settings, actor, owner_type=owner_type, owner_id=owner_id,
                        filename=file.filename or "", stream=file.file, note=note)
    session.commit()
    return service.public(row)


@router.get("")
def list_attachments(session: SessionDep, actor: CurrentUser, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
    """List an owner's attachments."""
    service.check_access(session, actor, owner_type, owner_id)
    return [service.public(r) for r in service.list_for(session, owner_type, owner_id)]


@router.get("/{attachment_id}")
def download(attachment_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> Response:
    """Download a file after the access check, decryption (an encrypted file) and checksum verification."""
    row, data = service.open_checked(session, rt.settings, actor, attachment_id)
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
               "X-Content-Type-Options": "nosniff", "X-Checksum-SHA256": row.sha256}
    if row.checksum_alg != "sha256":
        headers[f"X-Checksum-{row.checksum_alg.upper()}"] = row.checksum
    return Response(data, media_type=row.content_type, headers=headers)
