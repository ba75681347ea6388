"""Electronic signatures (Art. 26): administrators' signing keys, and the public verification of a signed
document (no login)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.deps import AdminUser, RuntimeDep, SessionDep
from app.signing import flows, keys, verify

router = APIRouter(tags=["signing"])


class KeyCreate(BaseModel):
    department_code: str = Field(min_length=1, max_length=64)


@router.get("/admin/signing-keys")
def list_keys(session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """List every department's signing keys, current and retired (public keys and fingerprints only)."""
    return {"keys": [keys.key_public(k, d) for k, d in keys.all_keys(session)]}


@router.post("/admin/signing-keys", status_code=201)
def create_key(body: KeyCreate, session: SessionDep, rt: RuntimeDep, actor: AdminUser) -> dict[str, Any]:
    """Create a department's first signing key (otherwise made on its first signed document)."""
    key = flows.create_key(session, rt.settings, actor, body.department_code)
    return keys.key_public(key)


@router.post("/admin/signing-keys/{department_code}/rotate")
def rotate_key(department_code: str, session: SessionDep, rt: RuntimeDep, actor: AdminUser) -> dict[str, Any]:
    """Rotate a department's signing key; the old one is retired and kept, so earlier documents still verify."""
    old, new = flows.rotate_key(session, rt.settings, actor, department_code)
    return {"retired": keys.key_public(old), "active": keys.key_public(new)}


@router.get("/verify")
def verify_document(session: SessionDep, code: str = Query("", max_length=64),
                    number: str = Query("", max_length=64)) -> Any:
    """Verify a signed document by its verification code (文书核验码) and, optionally, its number (文号):
    valid or invalid with the reasons, who signed what and when, the algorithm and the key (no login).
    A code that names no document (or not with that number) answers 404 in the same shape."""
    result = verify.verify(session, verify.check_input(code), number.strip() or None)
    if result["status"] == "not_found":
        return JSONResponse({**result, "detail": {"code": result["code"], "message": result["message"]}},
                            status_code=404)
    return result
