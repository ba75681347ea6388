"""Pages of rectification notices (整改通知, Art. 29–30): list, issue, the case, its actions, the printed notice."""

from __future__ import annotations

from collections import ChainMap
from urllib.parse import urlencode
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.attachments import service as attachments
from app.core.i18n import N_
from app.core.clock import clock
from app.core.errors import CsrfFailed, DomainError, Forbidden, InvalidInput
from app.core.security import csrf_matches
from app.deps import RuntimeDep, SessionDep
from app.org.models import Department
from app.org.service import Actor
from app.rectification import flows, service
from app.rectification.flows import NOTIFIABLE_KINDS
from app.rectification.views import (article_items, date_zh, exemption_grounds, history_page, notice_public,
                                     notices_public, submissions_public, supervision_of)
from app.runtime import Runtime
from app.supervision import flows as supervision_flows
from app.supervision.models import DECISION_ZH as SUPERVISION_DECISION_ZH
from app.supervision.models import SupervisionItem
from app.signing import documents as signed_documents
from app.signing.models import DocType
from app.web import FormData, PageUser
from app.audit.labels import ACTION_ZH as AUDIT_ACTION_ZH
from app.web.history import earlier_lines
from app.web.render import flash_redirect, render

PAGE_SIZE = 50

router = APIRouter(include_in_schema=False)

# A notice's history names escalation in the words of Art. 29; every other action as everywhere else.
ACTION_ZH = ChainMap({"task.escalated": "逾期未整改，上报本级人民政府督查督办"}, AUDIT_ACTION_ZH)

FIELD_ZH = {"department_code": "被通知部门", "article_item": "违反情形", "facts": "违反规定的事实",
            "requirements": "整改要求", "deadline_working_days": "整改期限", "report": "整改情况报告",
            "ground": "免责事由", "explanation": "免责理由", "reason": "理由", "decision": "结论",
            "attachment_ids": "附件", "number_prefix": "文号前缀"}


def _ints(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value] if value not in (None, "") else []
    try:
        return [int(v) for v in values]
    except ValueError:
        raise InvalidInput("附件编号无效", code="attachment_ids_invalid") from None


def _int_or_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        return int(value) if value.lstrip("-").isdigit() else value
    return value


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    from app.main import _zh_validation

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{FIELD_ZH.get(field.split('.')[0], field)}：{_zh_validation(dict(err))}")
        raise InvalidInput("；".join(parts), code="invalid_input") from None


def _context(session: Session, rt: Runtime, actor: Actor, notice_id: int) -> dict[str, Any]:
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    n = notice_public(session, notice, actor, calendar=rt.calendar.get(session), now=clock.now())
    pending = [attachments.public(a) for a in service.unsubmitted_attachments(session, notice)] \
        if n["may"]["report"] else []
    return {"n": n, "pending_attachments": pending, "grounds": exemption_grounds(), "ACTION_ZH": ACTION_ZH,
            "history": n["history"], "history_next_cursor": n["history_next_cursor"],
            "history_url": f"/rectification-notices/{notice_id}/history",
            "submissions_url": f"/rectification-notices/{notice_id}/submissions",
            "supervision_url": f"/rectification-notices/{notice_id}/supervision",
            "SUPERVISION_DECISION_ZH": {k.value: v for k, v in SUPERVISION_DECISION_ZH.items()}}


def _act(request: Request, session: Session, rt: Runtime, actor: Actor, notice_id: int, run: Any,
         flash: str, submitted: dict[str, Any]) -> Response:
    """Run one action; a refusal of the data re-shows the case with the message and what was typed."""
    try:
        run()
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _context(session, rt, actor, notice_id)
        ctx.update({"error": exc.to_detail(), "submitted": submitted})
        return render(request, "rectification/detail.html", ctx, status=422)
    return flash_redirect(request, f"/rectification-notices/{notice_id}", flash)


@router.get("/rectification-notices", response_class=HTMLResponse)
def notices(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
            status: str = "open", cursor: str = "") -> Response:
    """List one page of the notices my department issued or received (a supervisor: those escalated to my
    government); 下一页 carries the cursor."""
    status = status if status in ("open", "closed", "all") else "open"
    rows, next_cursor = service.get_all_for_actor(session=session, actor=actor,
                                                  status=None if status == "all" else status, limit=PAGE_SIZE,
                                                  cursor=cursor or None)
    calendar, now = rt.calendar.get(session), clock.now()
    items = notices_public(session, rows, actor, calendar=calendar, now=now)
    may_issue = actor.has_role("authority_reviewer") and actor.department_kind == "data_authority"
    filters = {"status": status} if status != "open" else {}
    return render(request, "rectification/list.html", {
        "rows": items, "status": status, "may_issue": may_issue,
        "next_url": "/rectification-notices?" + urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
        "first_url": ("/rectification-notices" + (f"?{urlencode(filters)}" if filters else "")) if cursor else None})


def _departments(session: Session, actor: Actor) -> list[Department]:
    return list(session.execute(
        select(Department).where(Department.region_code == actor.region_code, Department.kind.in_(NOTIFIABLE_KINDS),
                                 Department.is_active.is_(True)).order_by(Department.code)).scalars().all())


def _new_context(session: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    return {"departments": _departments(session, actor), "items": article_items(), "values": values}


@router.get("/rectification-notices/new", response_class=HTMLResponse)
def new_notice(request: Request, session: SessionDep, actor: PageUser, department_code: str = "") -> Response:
    """Show the form of a new notice: department, Art. 29 item, facts, requirements, deadline."""
    if not (actor.has_role("authority_reviewer") and actor.department_kind == "data_authority"):
        raise Forbidden("只有政务数据主管部门的审核员可以发出整改通知（第二十九条）", code="authority_reviewer_required")
    return render(request, "rectification/new.html",
                  _new_context(session, actor, {"department_code": department_code, "deadline_working_days": 10}))


@router.post("/rectification-notices")
def create_notice(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                  form: FormData) -> Response:
    """Issue a notice from the form."""
    values = {**form, "article_item": _int_or_none(form.get("article_item")),
              "deadline_working_days": _int_or_none(form.get("deadline_working_days"))}
    try:
        body = _parse(flows.NoticeCreate, values)
        notice = flows.issue(session, rt.runner, rt.settings, actor, body)
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _new_context(session, actor, form)
        ctx["error"] = exc.to_detail()
        return render(request, "rectification/new.html", ctx, status=422)
    return flash_redirect(request, f"/rectification-notices/{notice.id}", '整改通知 {number} 已发出', number=notice.number)


@router.get("/rectification-notices/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep,
                actor: PageUser) -> Response:
    """Show the case: the notice, reports and decisions, supervision, attachments, actions and history."""
    return render(request, "rectification/detail.html", _context(session, rt, actor, notice_id))


@router.get("/rectification-notices/{notice_id}/history", response_class=HTMLResponse)
def notice_history(request: Request, notice_id: int, session: SessionDep, actor: PageUser,
                   cursor: str | None = None) -> Response:
    """Show the earlier lines of a notice's 流转记录 (「更早的记录」)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    lines, next_cursor = history_page(session, notice, cursor)
    return earlier_lines(request, lines="rectification/_history_lines.html", case=N_("整改通知"),
                         case_id=notice_id, part=N_("流转记录"),
                         back_url=f"/rectification-notices/{notice_id}#history",
                         context={"history": lines, "history_next_cursor": next_cursor, "ACTION_ZH": ACTION_ZH,
                                  "history_url": f"/rectification-notices/{notice_id}/history"})


@router.get("/rectification-notices/{notice_id}/submissions", response_class=HTMLResponse)
def notice_submissions(request: Request, notice_id: int, session: SessionDep, actor: PageUser,
                       cursor: str | None = None) -> Response:
    """Show the earlier reports and exemption claims of a notice (「更早的记录」)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    page = submissions_public(session, notice, cursor, actor=actor)
    party = service.is_party(actor, notice) or actor.has_role("admin")
    return earlier_lines(request, lines="rectification/_submission_rows.html", case=N_("整改通知"),
                         case_id=notice_id, part=N_("整改报告与免责申请"),
                         back_url=f"/rectification-notices/{notice_id}#submissions",
                         context={**page, "attachments_visible": party,
                                  "submissions_url": f"/rectification-notices/{notice_id}/submissions",
            "supervision_url": f"/rectification-notices/{notice_id}/supervision",
                                  "table_head": [N_("轮次"), N_("类型"), N_("内容"), N_("附件"),
                                                 N_("主管部门结论")]})


@router.get("/rectification-notices/{notice_id}/supervision", response_class=HTMLResponse)
def notice_supervision(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                       cursor: str | None = None) -> Response:
    """Show the earlier supervision items of a notice with their decisions (「更早的记录」)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    page = supervision_of(session, notice, cursor, calendar=rt.calendar.get(session), now=clock.now())
    return earlier_lines(request, lines="rectification/_supervision_rows.html", case=N_("整改通知"),
                         case_id=notice_id, part=N_("督查督办"),
                         back_url=f"/rectification-notices/{notice_id}#supervision",
                         context={**page, "notice_id": notice_id,
                                  "supervision_url": f"/rectification-notices/{notice_id}/supervision",
                                  "SUPERVISION_DECISION_ZH": {k.value: v for k, v in SUPERVISION_DECISION_ZH.items()},
                                  "table_head": [N_("督办机关"), N_("移交时间"), N_("逾期"), N_("状态"),
                                                 N_("督办决定")]})


@router.get("/rectification-notices/{notice_id}/print", response_class=HTMLResponse)
def print_notice(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep,
                 actor: PageUser) -> Response:
    """Show the notice as a printable document (A4)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    n = notice_public(session, notice, None, calendar=rt.calendar.get(session), now=clock.now(), full=False)
    return render(request, "rectification/print.html", {
        "n": n, "issued_on": date_zh(notice.issued_at), "due_on": date_zh(notice.issued_due_at),
        "signature": signed_documents.block(session, DocType.rectification_notice, notice.id or 0)})


@router.post("/rectification-notices/{notice_id}/report")
def report(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Report the rectification with the attachments ticked."""
    def run() -> None:
        body = _parse(flows.ReportBody, {"report": form.get("report", ""),
                                         "attachment_ids": _ints(form.get("attachment_ids"))})
        flows.report(session, rt.runner, actor, notice_id, body)
    return _act(request, session, rt, actor, notice_id, run, N_("整改情况已报告，等待主管部门核验"), form)


@router.post("/rectification-notices/{notice_id}/exemption-claim")
def claim_exemption(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                    form: FormData) -> Response:
    """Claim exemption under Art. 30."""
    def run() -> None:
        body = _parse(flows.ExemptionClaimBody, {"ground": form.get("ground", ""),
                                                 "explanation": form.get("explanation", ""),
                                                 "attachment_ids": _ints(form.get("attachment_ids"))})
        flows.claim_exemption(session, rt.runner, actor, notice_id, body)
    return _act(request, session, rt, actor, notice_id, run, N_("免责申请已提交，等待主管部门审查"), form)


@router.post("/rectification-notices/{notice_id}/verification")
def verify(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Verify the report: accept, or return with reasons and a new deadline."""
    def run() -> None:
        body = _parse(flows.VerificationBody, {**form, "deadline_working_days":
                                               _int_or_none(form.get("deadline_working_days"))})
        flows.verify(session, rt.runner, actor, notice_id, body)
    return _act(request, session, rt, actor, notice_id, run, N_("核验结论已记录"), form)


@router.post("/rectification-notices/{notice_id}/exemption-decision")
def decide_exemption(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                     form: FormData) -> Response:
    """Decide an exemption claim with reasons."""
    def run() -> None:
        body = _parse(flows.ExemptionDecisionBody, {**form, "deadline_working_days":
                                                    _int_or_none(form.get("deadline_working_days"))})
        flows.decide_exemption(session, rt.runner, actor, notice_id, body)
    return _act(request, session, rt, actor, notice_id, run, N_("免责审查结论已记录"), form)


@router.post("/rectification-notices/{notice_id}/withdraw")
def withdraw(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
             form: FormData) -> Response:
    """Withdraw an open notice with a reason."""
    def run() -> None:
        flows.withdraw(session, rt.runner, rt.settings, actor, notice_id,
                       _parse(flows.WithdrawBody, {"reason": form.get("reason", "")}))
    return _act(request, session, rt, actor, notice_id, run, N_("整改通知已撤回，文号不再使用"), form)


@router.post("/rectification-notices/{notice_id}/supervision/{item_id}/decide")
def supervision_decide(request: Request, notice_id: int, item_id: int, session: SessionDep, rt: RuntimeDep,
                       actor: PageUser, form: FormData) -> Response:
    """Record the supervisor's decision (督办决定) on the case's supervision item."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)

    def run() -> None:
        item = session.get(SupervisionItem, item_id)
        if item is None or item.instance_id != notice.instance_id:
            raise InvalidInput("该督办事项不属于此整改通知", code="supervision_item_not_of_notice")
        supervision_flows.decide(session, actor, item_id, str(form.get("decision", "")), str(form.get("note", "")),
                                 rt.settings)
    return _act(request, session, rt, actor, notice_id, run, N_("督办决定已记录，已通知被督办部门"), form)


@router.post("/attachments/rectification-notices/{notice_id}")
async def upload(request: Request, notice_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """Upload files to the case (before reporting them); the path shares the attachments' size limit."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token") or "")):
        raise CsrfFailed()
    files = [f for f in form.getlist("file") if not isinstance(f, str) and f.filename]

    def run() -> None:
        if not files:
            raise InvalidInput("请选择要上传的文件", code="attachment_missing_file")
        service.get_visible(session=session, notice_id=notice_id, actor=actor)
        for f in files:
            attachments.store(session, rt.settings, actor, owner_type=service.OWNER_TYPE, owner_id=notice_id,
                              filename=f.filename or "", stream=f.file, note=str(form.get("note") or "") or None)
        session.commit()
    return await run_in_threadpool(_act, request, session, rt, actor, notice_id, run, f"已上传 {len(files)} 个附件", {})


@router.get("/rectification/authorities", response_class=HTMLResponse)
def authorities(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """Show the prefixes of the authorities' notice numbers (administrators set them)."""
    if not actor.has_role("admin", "authority_reviewer"):
        raise Forbidden("只有系统管理员和主管部门审核员可以查看文号设置", code="admin_required")
    rows = service.all_authorities(session, rt.settings)
    return render(request, "rectification/authorities.html", {"rows": rows})


@router.post("/rectification/authorities/{department_code}")
def set_prefix(request: Request, department_code: str, session: SessionDep, actor: PageUser,
               form: FormData) -> Response:
    """Set an authority's prefix from the form."""
    flows.set_prefix(session, actor, department_code, _parse(flows.PrefixBody, {"number_prefix":
                                                                               form.get("number_prefix", "")}))
    return flash_redirect(request, "/rectification/authorities", "文号前缀已保存")

