"""Rectification notices (Art. 29–30): issue, rectify and report, verify, exemption, withdraw (one commit each).

The process (bpmn/rectification_notice.bpmn) runs rounds in a loop subprocess: the notified
department's clerk reports (or claims exemption under Art. 30), the issuing authority verifies
(or decides the claim); a return or a refused claim starts a new round with a new deadline. The
engine hooks below keep the notice in step with the process whichever way a task is completed
(these use cases, or the generic task inbox), and give each round's rectification task the
deadline the authority chose, so the escalate-overdue job reports it to the level government's
supervision queue (Art. 29: 督查督办) once it passes unfixed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from app.attachments.models import Attachment
from app.audit import service as audit
from app.core.clock import clock
from app.core.config import Settings, get_settings
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine.hooks import hooks
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, may_work
from app.notifications.service import notify
from app.org import service as org_service
from app.org.models import Department, DepartmentKind, Role, User
from app.org.service import Actor
from app.rectification import service
from app.rectification.models import (
    ART29_ITEMS,
    GROUND_ZH,
    OPEN_STATUSES,
    NoticeStatus,
    RectificationAuthority,
    RectificationNotice,
    RectificationSubmission,
    SubmissionDecision,
    SubmissionKind,
    item_label,
)
from app.rectification.views import date_zh
from app.signing import documents as signed_documents
from app.signing.models import DocType

PROCESS_KEY = "rectification_notice"
RECTIFY, VERIFY, DECIDE_EXEMPTION = "rectify", "verify", "decide_exemption"
# Art. 32 brings public enterprises in by reference; authorities and government offices are not notified.
NOTIFIABLE_KINDS = (DepartmentKind.department.value, DepartmentKind.public_enterprise.value)
MAX_TEXT = 5000


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class NoticeCreate(BaseModel):
    department_code: str = Field(default="", max_length=64)
    article_item: int | None = None
    facts: str = Field(default="", max_length=MAX_TEXT)
    requirements: str = Field(default="", max_length=MAX_TEXT)
    deadline_working_days: int | None = None


class ReportBody(BaseModel):
    report: str = Field(default="", max_length=MAX_TEXT)
    attachment_ids: list[int] = Field(default_factory=list, max_length=50)


class ExemptionClaimBody(BaseModel):
    ground: str = Field(default="", max_length=32)
    explanation: str = Field(default="", max_length=MAX_TEXT)
    attachment_ids: list[int] = Field(default_factory=list, max_length=50)


class VerificationBody(BaseModel):
    decision: str = Field(default="", max_length=16)  # accept | return
    reason: str = Field(default="", max_length=2000)
    deadline_working_days: int | None = None


class ExemptionDecisionBody(BaseModel):
    decision: str = Field(default="", max_length=16)  # grant | refuse
    reason: str = Field(default="", max_length=2000)
    deadline_working_days: int | None = None


class WithdrawBody(BaseModel):
    reason: str = Field(default="", max_length=1000)


class PrefixBody(BaseModel):
    number_prefix: str = Field(default="", max_length=32)


# ---- rules ---------------------------------------------------------------------------------------


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


def _raise(errors: list[dict[str, str]]) -> None:
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), code=errors[0]["code"], extra={"errors": errors})


def check_deadline(value: Any, settings: Settings, field: str = "deadline_working_days") -> list[dict[str, str]]:
    """Return the problem with a deadline in working days: a whole number from 1 to the configured maximum."""
    limit = settings.rectification_max_working_days
    if isinstance(value, bool) or not isinstance(value, int):
        return [_error(field, "deadline_invalid", "请填写整改期限（工作日数，整数）")]
    if value < 1:
        return [_error(field, "deadline_invalid", "整改期限至少为1个工作日")]
    if value > limit:
        return [_error(field, "deadline_invalid", f"整改期限不能超过{limit}个工作日")]
    return []


def check_notice(data: NoticeCreate, settings: Settings) -> list[dict[str, str]]:
    """Return every problem of a notice before anything is written."""
    errors: list[dict[str, str]] = []
    if not data.department_code.strip():
        errors.append(_error("department_code", "department_required", "请选择被通知整改的政务部门"))
    if data.article_item not in ART29_ITEMS:
        errors.append(_error("article_item", "article_item_unknown",
                             "违反情形必须是第二十九条第（一）至（六）项之一"))
    if not data.facts.strip():
        errors.append(_error("facts", "facts_required", "请写明违反规定的事实"))
    if not data.requirements.strip():
        errors.append(_error("requirements", "requirements_required", "请写明整改要求"))
    errors += check_deadline(data.deadline_working_days, settings)
    return errors


def _require_issuer(actor: Actor) -> None:
    if not actor.has_role(Role.authority_reviewer.value) or actor.department_kind != DepartmentKind.data_authority:
        raise Forbidden("只有政务数据主管部门的审核员可以发出整改通知（第二十九条）", code="authority_reviewer_required")


# ---- use cases -----------------------------------------------------------------------------------


def issue(session: Session, runner: Runner, settings: Settings, actor: Actor, data: NoticeCreate,
          also: Callable[[RectificationNotice], None] | None = None) -> RectificationNotice:
    """Issue a numbered notice to a department of the authority's level and start its process.

    `also` writes what the caller records with the notice (e.g. the usage flag it answers), in the same commit.
    """
    _require_issuer(actor)
    _raise(check_notice(data, settings))
    dept = org_service.get_department_by_code(session=session, code=data.department_code.strip())
    if dept is None or not dept.is_active:
        raise InvalidInput(f"政务部门“{data.department_code}”不存在", code="department_not_found")
    if dept.kind not in NOTIFIABLE_KINDS:
        raise InvalidInput(f"{dept.name}不是政务部门，不能作为整改对象", code="department_not_notifiable")
    if dept.region_code != actor.region_code:
        # Art. 29: the authority reports an unfixed case to the government of its own level, which
        # is also the one escalation reaches; so the notified department must be of the same level.
        raise InvalidInput(f"{dept.name}不属于本级，只能向本级政务部门发出整改通知", code="department_not_same_level")
    authority = session.get(Department, actor.department_id)
    assert authority is not None and dept.id is not None
    now = clock.now()
    prefix = service.number_prefix(session, authority, at=now, settings=settings)
    service.check_pattern(settings.rectification_number_pattern)
    year = service.number_year(now)
    seq = service.allocate_seq(session, authority_department_id=actor.department_id, year=year)
    number = service.format_number(settings.rectification_number_pattern, prefix=prefix, year=year, seq=seq)
    assert data.article_item is not None and data.deadline_working_days is not None
    notice = RectificationNotice(
        number=number, authority_department_id=actor.department_id, year=year, seq=seq,
        department_id=dept.id, article_item=data.article_item, facts=data.facts.strip(),
        requirements=data.requirements.strip(), deadline_working_days=data.deadline_working_days,
        round_working_days=data.deadline_working_days, status=NoticeStatus.rectifying.value, round=1,
        issued_by_id=actor.id, issued_at=now,
    )
    session.add(notice)
    session.flush()
    issued = audit.append(session, at=now, actor=actor.username, action="rectification.issued",
                          entity_type=service.OWNER_TYPE, entity_id=notice.id,
                          detail={"number": number, "department": dept.code,
                                  "article_item": data.article_item,
                                  "deadline_working_days": data.deadline_working_days})
    instance = runner.start(
        session, PROCESS_KEY, actor=actor, department_id=actor.department_id,
        subject=f"整改通知 {number}（{dept.name}）", business_ref=f"{service.BUSINESS_PREFIX}{notice.id}",
        variables={"notice_id": notice.id, "number": number, "notified_department": dept.code,
                   "authority_department": actor.department_code, "article_item": data.article_item,
                   "closed": False},
    )
    notice.instance_id = instance.id
    issued["instance_id"] = instance.id  # issuing is the instance's first step
    session.add(notice)
    # Art. 26: the notice as issued (its deadline date set by the process's first step) is signed in this commit.
    signed_documents.sign(session, DocType.rectification_notice, notice.id or 0, at=now, by=actor.username)
    notify(session, department_id=dept.id, role=Role.clerk.value, kind="task_assigned",
           title=f"收到整改通知 {number}",
           body=f"{authority.name}依据《河南省政务数据管理办法》{item_label(notice.article_item)}通知你单位整改，"
                f"请于{_day(notice.due_at)}前完成整改并报告。",
           link=f"/rectification-notices/{notice.id}", dedupe_key=f"rectification:{notice.id}:issued", at=now,
           settings=settings)
    if also is not None:
        also(notice)
    session.commit()
    return notice


def _turn(session: Session, notice: RectificationNotice, task_spec: str, actor: Actor) -> Task:
    if notice.status not in OPEN_STATUSES:
        raise Conflict("整改通知已办结", code="rectification_notice_closed")
    task = service.open_task(session, notice, task_spec)
    if task is None:
        messages = {RECTIFY: ("当前不在部门整改阶段，不能提交", "not_awaiting_rectification"),
                    VERIFY: ("当前没有待核验的整改报告", "not_awaiting_verification"),
                    DECIDE_EXEMPTION: ("当前没有待审查的免责申请", "not_awaiting_exemption_decision")}
        message, code = messages[task_spec]
        raise Conflict(message, code=code)
    if not may_work(task, actor):
        who = "被通知部门的经办人" if task_spec == RECTIFY else "发出通知的主管部门审核员"
        raise Forbidden(f"该环节只能由{who}办理", code="rectification_step_not_yours")
    return task


def report(session: Session, runner: Runner, actor: Actor, notice_id: int, body: ReportBody) -> RectificationNotice:
    """Report the rectification done (text and attachments) to the authority for verification."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    task = _turn(session, notice, RECTIFY, actor)
    data = check_rectification(session, notice, {"action": "report", "report": body.report,
                                                 "attachment_ids": body.attachment_ids})
    runner.complete_task(session, task.id or 0, data, actor)
    session.commit()
    return notice


def claim_exemption(session: Session, runner: Runner, actor: Actor, notice_id: int, body: ExemptionClaimBody
                    ) -> RectificationNotice:
    """Claim exemption from liability under Art. 30, with grounds, explanation and attachments."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    task = _turn(session, notice, RECTIFY, actor)
    data = check_rectification(session, notice, {"action": "claim_exemption", "ground": body.ground,
                                                 "explanation": body.explanation,
                                                 "attachment_ids": body.attachment_ids})
    runner.complete_task(session, task.id or 0, data, actor)
    session.commit()
    return notice


def verify(session: Session, runner: Runner, actor: Actor, notice_id: int, body: VerificationBody
           ) -> RectificationNotice:
    """Verify a report: accept (the case closes) or return it with reasons and a new deadline."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    task = _turn(session, notice, VERIFY, actor)
    data = check_verification(body.model_dump())
    runner.complete_task(session, task.id or 0, data, actor)
    session.commit()
    return notice


def decide_exemption(session: Session, runner: Runner, actor: Actor, notice_id: int, body: ExemptionDecisionBody
                     ) -> RectificationNotice:
    """Decide an Art. 30 claim with reasons: grant (closed as exempted) or refuse (a new round and deadline)."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    task = _turn(session, notice, DECIDE_EXEMPTION, actor)
    data = check_exemption_decision(body.model_dump())
    runner.complete_task(session, task.id or 0, data, actor)
    session.commit()
    return notice


def withdraw(session: Session, runner: Runner, settings: Settings, actor: Actor, notice_id: int,
             body: WithdrawBody) -> RectificationNotice:
    """Withdraw an open notice (e.g. issued in error); it keeps its number, which is never reused."""
    notice = service.get_visible(session=session, notice_id=notice_id, actor=actor)
    if actor.department_id != notice.authority_department_id or not actor.has_role(Role.authority_reviewer.value):
        raise Forbidden("只有发出通知的主管部门审核员可以撤回整改通知", code="withdraw_forbidden")
    if notice.status not in OPEN_STATUSES:
        raise Conflict("整改通知已办结，不能撤回", code="rectification_notice_closed")
    reason = body.reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请填写撤回理由", code="withdraw_reason_required")
    if notice.instance_id is not None:
        runner.cancel(session, notice.instance_id, actor=actor, reason=reason)
    now = clock.now()
    notice.status = NoticeStatus.withdrawn.value
    notice.closed_at = now
    notice.withdrawn_reason = reason
    session.add(notice)
    audit.append(session, at=now, actor=actor.username, action="rectification.withdrawn",
                 entity_type=service.OWNER_TYPE, entity_id=notice.id, instance_id=notice.instance_id,
                 detail={"number": notice.number, "reason": reason})
    notify(session, department_id=notice.department_id, role=Role.clerk.value, kind="task_assigned",
           title=f"整改通知 {notice.number} 已撤回", body=f"撤回理由：{reason}",
           link=f"/rectification-notices/{notice.id}", dedupe_key=f"rectification:{notice.id}:withdrawn", at=now,
           settings=settings)
    session.commit()
    return notice


def set_prefix(session: Session, actor: Actor, department_code: str, body: PrefixBody) -> RectificationAuthority:
    """Set the prefix of an authority's notice numbers (administrators); numbers already issued keep theirs."""
    if not actor.has_role(Role.admin.value):
        raise Forbidden("只有系统管理员可以设置整改通知文号前缀", code="admin_required")
    dept = org_service.get_department_by_code(session=session, code=department_code)
    if dept is None or dept.id is None:
        raise NotFound(f"部门“{department_code}”不存在", code="department_not_found")
    if dept.kind != DepartmentKind.data_authority.value:
        raise InvalidInput(f"{dept.name}不是政务数据主管部门", code="not_a_data_authority")
    prefix = body.number_prefix.strip()
    if not prefix or any(c.isspace() for c in prefix):
        raise InvalidInput("请填写文号前缀（如“豫数整改”），不含空格", code="number_prefix_invalid")
    now = clock.now()
    row = session.get(RectificationAuthority, dept.id)
    before = row.number_prefix if row else None
    if row is None:
        row = RectificationAuthority(department_id=dept.id, number_prefix=prefix, updated_at=now,
                                     updated_by=actor.username)
    row.number_prefix, row.updated_at, row.updated_by = prefix, now, actor.username
    session.add(row)
    audit.append(session, at=now, actor=actor.username, action="rectification.prefix_set",
                 entity_type="department", entity_id=dept.code, detail={"before": before, "after": prefix})
    session.commit()
    return row


# ---- engine hooks: the same rules whichever way a task is completed ------------------------------


def _attachment_ids(session: Session, notice: RectificationNotice | None, raw: Any,
                    errors: list[dict[str, str]]) -> list[int]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        errors.append(_error("attachment_ids", "attachment_ids_invalid", "附件必须是附件编号的列表"))
        return []
    ids = list(dict.fromkeys(raw))
    if notice is None or not ids:
        return ids
    rows = session.execute(select(Attachment).where(Attachment.id.in_(ids))).scalars().all()
    ok = {a.id for a in rows if a.owner_type == service.OWNER_TYPE and a.owner_id == notice.id
          and a.department_id == notice.department_id}
    bad = [i for i in ids if i not in ok]
    if bad:
        errors.append(_error("attachment_ids", "attachment_not_of_notice",
                             f"附件 {'、'.join(map(str, bad))} 不是本部门为该整改通知上传的附件"))
    return ids


def check_rectification(session: Session, notice: RectificationNotice | None, data: dict[str, Any]
                        ) -> dict[str, Any]:
    """Check the department's answer: a report states what was done; a claim names its Art. 30 ground."""
    errors: list[dict[str, str]] = []
    ids = _attachment_ids(session, notice, data.get("attachment_ids"), errors)
    action = data.get("action")
    if action == "claim_exemption":
        ground, explanation = _text(data.get("ground")), _text(data.get("explanation"))
        if ground not in GROUND_ZH:
            errors.append(_error("ground", "exemption_ground_required",
                                 "请选择免责事由：已履行监督管理职责、已履行合理注意义务或存在不可抗力（第三十条）"))
        if len(explanation) < 2:
            errors.append(_error("explanation", "exemption_explanation_required", "请说明申请免责的理由"))
        _raise(errors)
        return {"action": "claim_exemption", "ground": ground, "explanation": explanation, "attachment_ids": ids}
    if action != "report":
        errors.append(_error("action", "rectification_action_invalid", "请选择“报告整改情况”或“申请免责”"))
    text = _text(data.get("report"))
    if len(text) < 2:
        errors.append(_error("report", "report_required", "请填写整改情况报告"))
    _raise(errors)
    return {"action": "report", "report": text, "attachment_ids": ids}


def _check_decision(data: dict[str, Any], yes: str, no: str, *, reason_required_for_yes: bool,
                    messages: dict[str, str]) -> dict[str, Any]:
    decision = data.get("decision")
    reason = _text(data.get("reason"))
    errors: list[dict[str, str]] = []
    if decision not in (yes, no):
        errors.append(_error("decision", "decision_invalid", messages["decision"]))
    elif len(reason) < 2 and (decision == no or reason_required_for_yes):
        errors.append(_error("reason", "decision_reason_required", messages["reason"]))
    deadline = data.get("deadline_working_days")
    if decision == no:
        errors += check_deadline(deadline, get_settings())
    _raise(errors)
    return {"decision": decision, "reason": reason, "deadline_working_days": deadline if decision == no else None}


def check_verification(data: dict[str, Any]) -> dict[str, Any]:
    """Check the authority's verification: a return states its reasons and a new deadline."""
    return _check_decision(data, "accept", "return", reason_required_for_yes=False, messages={
        "decision": "核验结论必须是“通过”（accept）或“不通过，退回整改”（return）",
        "reason": "退回整改时必须说明理由"})


def check_exemption_decision(data: dict[str, Any]) -> dict[str, Any]:
    """Check the authority's decision on a claim: reasons either way; a refusal sets a new deadline."""
    return _check_decision(data, "grant", "refuse", reason_required_for_yes=True, messages={
        "decision": "免责审查结论必须是“准予免责”（grant）或“不予免责”（refuse）",
        "reason": "请说明准予或不予免责的理由（第三十条）"})


@hooks.task_validator(PROCESS_KEY, RECTIFY)
def validate_rectification(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                           actor: Actor) -> dict[str, Any]:
    """Apply the department's rules to a rectification task completed from any page or API."""
    return check_rectification(session, service.of_instance(session, instance), data)


@hooks.task_validator(PROCESS_KEY, VERIFY)
def validate_verification(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                          actor: Actor) -> dict[str, Any]:
    """Apply the verification rules to a task completed from any page or API."""
    return check_verification(data)


@hooks.task_validator(PROCESS_KEY, DECIDE_EXEMPTION)
def validate_exemption_decision(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                                actor: Actor) -> dict[str, Any]:
    """Apply the exemption-decision rules to a task completed from any page or API."""
    return check_exemption_decision(data)


@hooks.on_task_closed
def record_step(*, session: Session, task: Task, at: datetime) -> None:
    """Record a completed step of a notice's process on the notice, with its audit event."""
    if task.process_key != PROCESS_KEY or task.status != TaskStatus.completed.value:
        return
    instance = session.get(ProcessInstance, task.instance_id)
    notice = service.of_instance(session, instance) if instance else None
    if notice is None:
        return
    data = task.data or {}
    user = session.get(User, task.completed_by_id) if task.completed_by_id else None
    who = user.username if user else "system"
    if task.task_spec == RECTIFY:
        _record_submission(session, notice, task, data, at, who)
    elif task.task_spec in (VERIFY, DECIDE_EXEMPTION):
        _record_decision(session, notice, task, data, at, who)


def _record_submission(session: Session, notice: RectificationNotice, task: Task, data: dict[str, Any],
                       at: datetime, who: str) -> None:
    claim = data.get("action") == "claim_exemption"
    submission = RectificationSubmission(
        notice_id=notice.id or 0, round=notice.round,
        kind=(SubmissionKind.exemption_claim if claim else SubmissionKind.report).value,
        text=_text(data.get("explanation") if claim else data.get("report")),
        ground=data.get("ground") if claim else None, attachment_ids=list(data.get("attachment_ids") or []),
        task_id=task.id or 0, submitted_by_id=task.completed_by_id or 0, submitted_at=at)
    session.add(submission)
    notice.status = (NoticeStatus.exemption_claimed if claim else NoticeStatus.reported).value
    session.add(notice)
    session.flush()
    audit.append(session, at=at, actor=who,
                 action="rectification.exemption_claimed" if claim else "rectification.reported",
                 entity_type=service.OWNER_TYPE, entity_id=notice.id, instance_id=notice.instance_id,
                 detail={"round": notice.round, "submission_id": submission.id, "ground": submission.ground,
                         "text": submission.text, "attachment_ids": submission.attachment_ids})


def _record_decision(session: Session, notice: RectificationNotice, task: Task, data: dict[str, Any],
                     at: datetime, who: str) -> None:
    submission = service.undecided_submission(session, notice.id or 0)
    decision = {"accept": SubmissionDecision.accepted, "return": SubmissionDecision.returned,
                "grant": SubmissionDecision.granted, "refuse": SubmissionDecision.refused}[data["decision"]]
    if submission is not None:
        submission.decision = decision.value
        submission.decision_reason = data.get("reason") or None
        submission.decided_by_id = task.completed_by_id
        submission.decided_at = at
        session.add(submission)
    closes = decision in (SubmissionDecision.accepted, SubmissionDecision.granted)
    detail: dict[str, Any] = {"round": notice.round, "decision": decision.value, "reason": data.get("reason"),
                              "submission_id": submission.id if submission else None}
    if closes:
        notice.status = (NoticeStatus.accepted if decision == SubmissionDecision.accepted
                         else NoticeStatus.exempted).value
        notice.closed_at = at
    else:
        # A new round: the department gets the new deadline from the moment it receives the case back.
        days = int(data["deadline_working_days"])
        if submission is not None:
            submission.new_deadline_working_days = days
        notice.status = NoticeStatus.rectifying.value
        notice.round += 1
        notice.round_working_days = days
        notice.due_at = None
        detail["new_deadline_working_days"] = days
        label = "核验未通过，已退回重新整改" if decision == SubmissionDecision.returned else "免责申请未获准予，请继续整改"
        notify(session, department_id=notice.department_id, role=Role.clerk.value, kind="task_assigned",
               title=f"整改通知 {notice.number}：{label}", body=f"理由：{data.get('reason')}；新的整改期限：{days}个工作日。",
               link=f"/rectification-notices/{notice.id}",
               dedupe_key=f"rectification:{notice.id}:round:{notice.round}", at=at)
    session.add(notice)
    action = {SubmissionDecision.accepted: "rectification.accepted", SubmissionDecision.returned: "rectification.returned",
              SubmissionDecision.granted: "rectification.exemption_granted",
              SubmissionDecision.refused: "rectification.exemption_refused"}[decision]
    audit.append(session, at=at, actor=who, action=action, entity_type=service.OWNER_TYPE, entity_id=notice.id,
                 instance_id=notice.instance_id, detail=detail)


@hooks.after_step(PROCESS_KEY)
def set_round_deadline(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
                       actor: Actor | str) -> None:
    """Give a new rectification task the deadline the authority chose, counted from its arrival."""
    notice = service.of_instance(session, instance)
    if notice is None:
        return
    rows = session.execute(
        select(Task).where(Task.instance_id == instance.id, Task.status == TaskStatus.open.value,
                           Task.task_spec == RECTIFY, Task.due_rule.is_(None))
    ).scalars().all()
    if not rows:
        return
    calendar = service.calendar(session)
    days = notice.round_working_days
    for row in rows:
        deadline = calendar.add_working_days(row.created_at, days)
        row.due_at, row.due_provisional = deadline.due_at, deadline.provisional
        row.due_working_days, row.due_rule = days, f"{days}WD（整改期限）"
        session.add(row)
        notice.due_at, notice.due_provisional = deadline.due_at, deadline.provisional
        if notice.round == 1:
            notice.issued_due_at = deadline.due_at
        audit.append(session, at=row.created_at, actor="system", action="rectification.deadline_set",
                     entity_type=service.OWNER_TYPE, entity_id=notice.id, instance_id=instance.id,
                     detail={"round": notice.round, "task_id": row.id, "working_days": days,
                             "due_at": deadline.due_at.isoformat(), "provisional": deadline.provisional})
    session.add(notice)
    session.flush()


def _day(at: datetime | None) -> str:
    return date_zh(at) or "期限内"

