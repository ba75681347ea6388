"""Pages of electronic signatures (Art. 26): the public verification page (no login), the administrator's
signing keys, and the printable share reply (政务数据共享申请答复书)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.catalog.models import SHARE_METHOD_ZH
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.deps import RuntimeDep, SessionDep
from app.org.models import Department, KIND_ZH
from app.sharing import service as sharing_service
from app.sharing.models import ShareRequestStatus
from app.sharing.views import share_request_public
from app.signing import documents as signed_documents
from app.signing import flows, keys, verify
from app.signing.models import DocType, KeyStatus, SigningKey
from app.web import FormData, PageUser
from app.web.open_data import MaybeUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)
MAX_INPUT = 64


# ---- public verification (no login) -------------------------------------------------------------------


def _verify_page(request: Request, session: SessionDep, code: str, number: str) -> Response:
    # What the visitor typed is shown back only inside the form's fields and as "您输入的", never as the
    # system's own words; every sentence of the result comes from the stored document.
    typed = {"code": code[:MAX_INPUT], "number": number[:MAX_INPUT]}
    context: dict[str, Any] = {"typed": typed, "result": None, "error": None}
    if code.strip() or number.strip():
        try:
            normalized = verify.check_input(code)
        except DomainError as exc:
            context["error"] = exc.to_detail()
            return render(request, "signing/verify.html", context, status=422)
        context["result"] = verify.verify(session, normalized, number.strip()[:MAX_INPUT] or None)
    return render(request, "signing/verify.html", context)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, session: SessionDep, viewer: MaybeUser, code: str = "",
                number: str = "") -> Response:
    """Show the verification form; with a code (a link printed on a document), its result too."""
    return _verify_page(request, session, code, number)


@router.post("/verify", response_class=HTMLResponse)
def verify_submit(request: Request, session: SessionDep, viewer: MaybeUser, form: FormData) -> Response:
    """Verify the document whose code (and number) the visitor typed."""
    return _verify_page(request, session, str(form.get("code", "")), str(form.get("number", "")))


# ---- the administrator's signing keys ------------------------------------------------------------------


def _admin(actor: PageUser) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("只有系统管理员可以管理签名密钥", code="admin_required")


def _keys_context(session: SessionDep, rt: RuntimeDep) -> dict[str, Any]:
    rows = [keys.key_public(k, d) for k, d in keys.all_keys(session)]
    with_key = set(session.execute(select(SigningKey.department_id).where(
        SigningKey.status == KeyStatus.active.value)).scalars())
    departments = session.execute(select(Department).where(Department.is_active.is_(True))
                                  .order_by(Department.region_code, Department.code)).scalars().all()
    return {"keys": rows, "sign_documents": rt.settings.sign_documents, "suite": rt.settings.crypto_suite,
            "without_key": [(d.code, f"{d.name}（{KIND_ZH.get(d.kind, d.kind)}）") for d in departments
                            if d.id not in with_key]}


@router.get("/admin/signing-keys", response_class=HTMLResponse)
def keys_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """List every department's signing keys (algorithm, fingerprint, created, retired)."""
    _admin(actor)
    return render(request, "signing/keys.html", _keys_context(session, rt))


@router.post("/admin/signing-keys")
def create_key(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, form: FormData) -> Response:
    """Create a department's first signing key."""
    _admin(actor)
    try:
        key = flows.create_key(session, rt.settings, actor, str(form.get("department_code", ""))[:MAX_INPUT])
    except (NotFound, Conflict) as exc:
        session.rollback()
        return flash_redirect(request, "/admin/signing-keys", exc.message_zh)
    return flash_redirect(request, "/admin/signing-keys", "已生成签名密钥，指纹 {fingerprint}",
                          fingerprint=key.fingerprint)


@router.post("/admin/signing-keys/{department_code}/rotate")
def rotate_key(request: Request, department_code: str, session: SessionDep, rt: RuntimeDep, actor: PageUser,
               form: FormData) -> Response:
    """Rotate a department's signing key (the old one is retired and kept)."""
    _admin(actor)
    try:
        _, new = flows.rotate_key(session, rt.settings, actor, department_code)
    except (NotFound, Conflict) as exc:
        session.rollback()
        return flash_redirect(request, "/admin/signing-keys", exc.message_zh)
    return flash_redirect(request, "/admin/signing-keys", "已更换签名密钥，新密钥指纹 {fingerprint}",
                          fingerprint=new.fingerprint)


# ---- the printable share reply ---------------------------------------------------------------------------


@router.get("/share-requests/{share_request_id}/reply", response_class=HTMLResponse)
def reply_print(request: Request, share_request_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Show the provider's reply to a share request as a printable document (A4), with its signature."""
    req = sharing_service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    if req.status not in (ShareRequestStatus.granted.value, ShareRequestStatus.refused.value):
        raise Conflict("该共享申请尚未答复，没有可打印的答复书", code="share_request_not_answered")
    return render(request, "sharing/reply_print.html", {
        "r": share_request_public(session, req, with_history=False), "METHOD_ZH": SHARE_METHOD_ZH,
        "signature": signed_documents.block(session, DocType.share_reply, req.id or 0)})
