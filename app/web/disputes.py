"""Pages of share disputes (争议): open, negotiate, coordinate, adjudicate, comply, print the decision.
Every action is a plain form (no JavaScript); a refused form comes back with what was typed."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.attachments import service as attachments
from app.catalog.models import SHARE_METHOD_ZH
from app.core.i18n import N_
from app.core.clock import clock
from app.core.errors import Conflict, CsrfFailed, DomainError, InvalidInput
from app.core.security import csrf_matches
from app.deps import RuntimeDep, SessionDep
from app.disputes import flows, service
from app.disputes.models import RESPONSE_ZH, STANCE_ZH, Dispute
from app.disputes.views import (attachments_for, department_attachments, dispute_public, history_page,
                                 record_files, records_public, summaries)
from app.org.scope import case_department
from app.org.service import Actor
from app.runtime import Runtime
from app.sharing import service as sharing_service
from app.sharing.views import share_request_public, share_requests_public
from app.web import FormData, PageUser
from app.web.history import earlier_lines
from app.web.render import flash_redirect, render

PAGE_SIZE = 50

router = APIRouter(include_in_schema=False)

FIELD_ZH = {
    "share_request_id": "共享申请", "duties": "履行的职责及依据", "need": "确需使用的理由", "items": "数据项",
    "stance": "协商意见", "offered_items": "同意共享的数据项", "terms": "共享条件与使用要求", "position": "意见与理由",
    "basis": "依据", "response": "回应", "party": "陈述方", "question": "需陈述的问题", "statement": "陈述意见",
    "attachment_ids": "所附材料", "held_on": "协调会日期", "participants": "参会单位及人员", "minutes": "会议纪要",
    "decision": "评判结论", "reasons": "评判理由", "note": "落实情况",
}
LIST_FIELDS = {"items", "offered_items", "attachment_ids"}


def _values(form: dict[str, Any]) -> dict[str, Any]:
    """Turn a posted form into a body: checkbox groups are lists, empty strings are absent."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if key in LIST_FIELDS:
            out[key] = [v for v in ([value] if isinstance(value, str) else value) if v]
        elif isinstance(value, str) and value.strip() == "":
            continue
        else:
            out[key] = value
    return out


def _validation_message(exc: ValidationError) -> str:
    from app.main import _zh_validation

    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
        parts.append(f"{FIELD_ZH.get(field, field)}：{_zh_validation(dict(err))}" if field
                     else _zh_validation(dict(err)))
    return "；".join(parts)


def _error_detail(exc: ValidationError | DomainError) -> dict[str, Any]:
    if isinstance(exc, DomainError):
        return exc.to_detail()
    return {"code": "invalid_input", "message": _validation_message(exc)}


# ---- list and opening -----------------------------------------------------------------------


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(request: Request, session: SessionDep, actor: PageUser, cursor: str = "") -> Response:
    """List one page of my department's disputes (下一页 carries the cursor), and the refused requests it may
    still dispute (read in one query)."""
    found, next_cursor = service.get_all_for_department(session=session, department_id=case_department(actor),
                                                        limit=PAGE_SIZE, cursor=cursor or None)
    disputable = []
    if actor.has_role("clerk") and actor.department_id is not None and not cursor:
        disputable = share_requests_public(session, service.disputable_requests(
            session=session, department_id=actor.department_id))
    return render(request, "disputes/list.html", {
        "rows": summaries(session, found), "disputable": disputable,
        "next_url": "/disputes?" + urlencode({"cursor": next_cursor}) if next_cursor else None,
        "first_url": "/disputes" if cursor else None})


@router.get("/disputes/new", response_class=HTMLResponse)
def new_dispute(request: Request, session: SessionDep, actor: PageUser, share_request_id: int) -> Response:
    """Show the form that opens a dispute over a refused share request (or say why it cannot be opened)."""
    flows.check_may_open(session, actor, share_request_id)
    return _new_page(request, session, actor, share_request_id, {}, None)


def _new_page(request: Request, session: Session, actor: Actor, share_request_id: int,
              values: dict[str, Any], error: dict[str, Any] | None, status: int = 200) -> Response:
    share_request = sharing_service.get_visible(session=session, share_request_id=share_request_id,
                                                actor=actor)
    r = share_request_public(session, share_request, with_history=False)
    if "items" not in values:
        values = {**values, "items": r["items"]}
    return render(request, "disputes/new.html", {"r": r, "values": values, "error": error,
                                                 "METHOD_ZH": SHARE_METHOD_ZH}, status)


@router.post("/disputes")
def create_dispute(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                   form: FormData) -> Response:
    """Open a dispute from the form."""
    values = _values(form)
    raw_id = str(form.get("share_request_id", ""))
    if not raw_id.isdigit():
        raise InvalidInput("请从共享申请页面提起争议", code="share_request_id_invalid")
    try:
        dispute = flows.open_dispute(session, rt, actor, flows.DisputeOpen.model_validate(values))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code != 422:
            raise
        return _new_page(request, session, actor, int(raw_id), values, _error_detail(exc), 422)
    return flash_redirect(request, f"/disputes/{dispute.id}", "争议已提起，已通知提供部门协商")


# ---- one dispute ----------------------------------------------------------------------------


def _detail_context(session: Session, rt: Runtime, actor: Actor, dispute: Dispute) -> dict[str, Any]:
    d = dispute_public(session, dispute, actor=actor, calendar=rt.calendar.get(session), now=clock.now())
    mine = {s["task_spec"]: s for s in d["open_steps"] if s["may_work"]}
    party = service.is_party(dispute, actor)
    my_attachments = department_attachments(session, dispute, actor.department_id) if party else []
    return {"d": d, "mine": mine, "my_attachments": my_attachments,
            "files": record_files(session, dispute, d["records"]) if party else {},
            "attachments_url": f"/disputes/{dispute.id}/attachments",
            "is_party": party,
            "STANCE_ZH": STANCE_ZH, "RESPONSE_ZH": RESPONSE_ZH,
            "history": d["history"], "history_next_cursor": d["history_next_cursor"],
            "history_url": f"/disputes/{dispute.id}/history", "records_url": f"/disputes/{dispute.id}/records",
            "values": {}, "error": None, "error_form": None}


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                 actor: PageUser) -> Response:
    """Show a dispute: parties, need, file, outcome, the forms of my open steps, attachments, history."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    return render(request, "disputes/detail.html", _detail_context(session, rt, actor, dispute))


@router.get("/disputes/{dispute_id}/history", response_class=HTMLResponse)
def dispute_history(request: Request, dispute_id: int, session: SessionDep, actor: PageUser,
                    cursor: str | None = None) -> Response:
    """Show the earlier lines of a dispute's 流转记录 (「更早的记录」)."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    lines, next_cursor = history_page(session, dispute, cursor)
    return earlier_lines(request, lines="_history_lines.html", case=N_("共享争议"), case_id=dispute_id,
                         part=N_("流转记录"),
                         back_url=f"/disputes/{dispute_id}#history",
                         context={"history": lines, "history_next_cursor": next_cursor,
                                  "history_url": f"/disputes/{dispute_id}/history"})


@router.get("/disputes/{dispute_id}/records", response_class=HTMLResponse)
def dispute_records(request: Request, dispute_id: int, session: SessionDep, actor: PageUser,
                    cursor: str | None = None) -> Response:
    """Show the earlier entries of a dispute's file (「更早的记录」)."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    page = records_public(session, dispute, cursor)
    files = record_files(session, dispute, page["records"]) if service.is_party(dispute, actor) else {}
    return earlier_lines(request, lines="disputes/_record_lines.html", case=N_("共享争议"), case_id=dispute_id,
                         part=N_("争议卷宗"),
                         back_url=f"/disputes/{dispute_id}#records",
                         context={**page, "files": files, "records_url": f"/disputes/{dispute_id}/records"})


@router.get("/disputes/{dispute_id}/attachments", response_class=HTMLResponse)
def dispute_attachments(request: Request, dispute_id: int, session: SessionDep, actor: PageUser,
                        cursor: str | None = None) -> Response:
    """Show the earlier attachments of a dispute (「更早的记录」; the parties only, as on the dispute)."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    page = attachments_for(session, dispute, actor, cursor)
    return earlier_lines(request, lines="disputes/_attachment_rows.html", case=N_("共享争议"), case_id=dispute_id,
                         part=N_("附件"), back_url=f"/disputes/{dispute_id}#attachments",
                         context={**page, "attachments_url": f"/disputes/{dispute_id}/attachments",
                                  "table_head": [N_("文件"), N_("说明"), N_("上传部门"), N_("上传人"), N_("时间")]})


def _act(request: Request, session: Session, rt: Runtime, actor: Actor, dispute_id: int, name: str,
         model: type[BaseModel], form: dict[str, Any], run: Callable[[Any], Dispute], flash: str) -> Response:
    """Run one step from its form; a 422 re-shows the page with the error beside that form."""
    values = _values(form)
    try:
        run(model.model_validate(values))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code != 422:
            raise
        dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
        ctx = _detail_context(session, rt, actor, dispute)
        ctx.update(values=values, error=_error_detail(exc), error_form=name)
        return render(request, "disputes/detail.html", ctx, 422)
    return flash_redirect(request, f"/disputes/{dispute_id}", flash)


@router.post("/disputes/{dispute_id}/provider-position")
def provider_position(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                      actor: PageUser, form: FormData) -> Response:
    """The providing department's position for this round."""
    return _act(request, session, rt, actor, dispute_id, "provider_position", flows.ProviderPosition, form,
                lambda body: flows.state_position(session, rt.runner, actor, dispute_id, body), N_("协商意见已提交"))


@router.post("/disputes/{dispute_id}/requester-reply")
def requester_reply(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                    actor: PageUser, form: FormData) -> Response:
    """The using department's answer."""
    return _act(request, session, rt, actor, dispute_id, "requester_position", flows.RequesterReply, form,
                lambda body: flows.reply(session, rt.runner, actor, dispute_id, body), N_("回应已提交"))


@router.post("/disputes/{dispute_id}/statement-requests")
def statement_request(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                      actor: PageUser, form: FormData) -> Response:
    """The authority asks for statements."""
    return _act(request, session, rt, actor, dispute_id, "ask", flows.StatementRequest, form,
                lambda body: flows.request_statement(session, rt.runner, actor, dispute_id, body),
                N_("已要求陈述意见，相关部门已收到通知"))


@router.post("/disputes/{dispute_id}/meetings")
def meeting(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
            actor: PageUser, form: FormData) -> Response:
    """The authority records a coordination meeting."""
    return _act(request, session, rt, actor, dispute_id, "meeting", flows.Meeting, form,
                lambda body: flows.record_meeting(session, rt.runner, actor, dispute_id, body), N_("协调会已记录"))


@router.post("/disputes/{dispute_id}/decision")
def decision(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
             actor: PageUser, form: FormData) -> Response:
    """The authority adjudicates."""
    return _act(request, session, rt, actor, dispute_id, "decide", flows.Decision, form,
                lambda body: flows.decide(session, rt.runner, actor, dispute_id, body),
                N_("评判已作出，双方已收到通知"))


@router.post("/disputes/{dispute_id}/statements")
def statement(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
              actor: PageUser, form: FormData) -> Response:
    """A party's statement, citing the materials its department uploaded."""
    return _act(request, session, rt, actor, dispute_id, "statement", flows.Statement, form,
                lambda body: flows.submit_statement(session, rt.runner, actor, dispute_id, body), N_("陈述意见已提交"))


@router.post("/disputes/{dispute_id}/compliance")
def compliance(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
               actor: PageUser, form: FormData) -> Response:
    """The providing department reports the decision in effect."""
    return _act(request, session, rt, actor, dispute_id, "compliance", flows.Compliance, form,
                lambda body: flows.comply(session, rt.runner, actor, dispute_id, body), N_("落实情况已报告"))


# Under /attachments: uploads there may be as large as the attachment limit, not the JSON body limit.
@router.post("/attachments/disputes/{dispute_id}")
async def upload(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                 actor: PageUser) -> Response:
    """Upload a material (statement evidence, meeting minutes...) to the dispute."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token") or "")):
        raise CsrfFailed()
    file = form.get("file")
    if file is None or isinstance(file, str) or not file.filename:
        raise InvalidInput("请选择要上传的文件", code="attachment_file_missing")
    note = str(form.get("note") or "").strip()[:500] or None

    def store() -> None:  # database and file work: in the thread pool, not on the event loop
        service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
        attachments.store(session, rt.settings, actor, owner_type="dispute", owner_id=dispute_id,
                          filename=file.filename, stream=file.file, note=note)
        session.commit()
    try:
        await run_in_threadpool(store)
    finally:
        await file.close()
    return flash_redirect(request, f"/disputes/{dispute_id}#attachments", "附件已上传")


@router.get("/disputes/{dispute_id}/decision", response_class=HTMLResponse)
def decision_print(request: Request, dispute_id: int, session: SessionDep, rt: RuntimeDep,
                   actor: PageUser) -> Response:
    """Printable (A4) record of the outcome: the authority's decision, or the negotiated settlement."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    if dispute.resolution is None:
        raise Conflict("该争议尚未协商一致或作出评判，没有可打印的决定", code="dispute_not_resolved")
    # The printed decision is a document: it counts every request for statements and every meeting.
    d = dispute_public(session, dispute, actor=actor, calendar=rt.calendar.get(session), now=clock.now(),
                       with_history=False, whole_records=True)
    return render(request, "disputes/decision_print.html", {"d": d, "METHOD_ZH": SHARE_METHOD_ZH})
