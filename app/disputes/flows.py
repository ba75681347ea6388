"""Share disputes (Art. 16 para 3, Art. 17): open, negotiate, escalate, coordinate, adjudicate,
comply (one commit each). The process hooks below keep the dispute and its file in step with the
BPMN instance whichever way a step was completed (these flows, the pages, the generic task form)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.attachments.models import Attachment
from app.attachments.service import register_owner
from app.audit import service as audit
from app.catalog.models import CatalogEntry, ShareType
from app.core.clock import SHANGHAI, clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.disputes import service
from app.disputes.models import (ESCALATION_ZH, OUTCOME_ZH, Dispute, DisputeKind, DisputeRecord,
                                 DisputeStatus, RecordKind)
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, actor_name
from app.notifications.service import notify
from app.org.models import Department, Role
from app.org.service import Actor
from app.sharing import service as sharing_service
from app.sharing.models import ShareGrant, ShareRequest, ShareRequestStatus
from app.signing import documents as signed_documents
from app.signing.models import DocType

if TYPE_CHECKING:
    from app.runtime import Runtime

PROCESS_KEY = "disputes_share_dispute"
NOTIFICATION_KIND = "dispute"
_CLOSED_TASKS = "disputes_closed_tasks"


def _strip(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip() or None
    return v


def _required(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        if not v:
            raise ValueError("不能为空")
    return v


# Text a person must write: surrounding blanks dropped, blank refused in Chinese.
Text = Annotated[str, BeforeValidator(_required)]
OptionalText = Annotated[str | None, BeforeValidator(_strip)]


# ---- request bodies (API and pages) ---------------------------------------------------------


class DisputeOpen(BaseModel):
    """What the using department states when it opens a dispute (Art. 16 para 3: 因履行职责确需使用)."""

    share_request_id: int = Field(ge=1)
    duties: Text = Field(max_length=2000, description="履行的法定职责及其依据")
    need: Text = Field(max_length=2000, description="确需使用该数据的理由")
    items: list[str] | None = Field(default=None, min_length=1, max_length=500,
                                    description="争议的数据项（默认为申请的全部数据项）")


class ProviderPosition(BaseModel):
    stance: Literal["share", "partial", "not_share"]
    offered_items: list[str] = Field(default_factory=list, max_length=500)
    terms: OptionalText = Field(default=None, max_length=2000)
    position: Text = Field(max_length=2000)
    basis: OptionalText = Field(default=None, max_length=1000)
    request_coordination: bool = False


class RequesterReply(BaseModel):
    response: Literal["accept", "continue", "escalate"]
    position: Text = Field(max_length=2000)


class StatementRequest(BaseModel):
    party: Literal["requester", "provider", "both"]
    question: Text = Field(max_length=2000)


class Statement(BaseModel):
    statement: Text = Field(max_length=5000)
    attachment_ids: list[int] = Field(default_factory=list, max_length=50)


class Meeting(BaseModel):
    held_on: date
    participants: Text = Field(max_length=1000)
    minutes: Text = Field(max_length=5000)


class Decision(BaseModel):
    decision: Literal["share", "not_share"]
    items: list[str] = Field(default_factory=list, max_length=500)
    terms: OptionalText = Field(default=None, max_length=2000)
    reasons: Text = Field(max_length=5000)
    basis: OptionalText = Field(default=None, max_length=1000)


class Compliance(BaseModel):
    note: Text = Field(max_length=2000)


# ---- opening --------------------------------------------------------------------------------


def open_dispute(session: Session, rt: Runtime, actor: Actor, data: DisputeOpen) -> Dispute:
    """Open a dispute over one's own refused share request and start its negotiation."""
    request = check_may_open(session, actor, data.share_request_id)
    items = _chosen_items(request, data.items)
    entry = session.get(CatalogEntry, request.entry_id)
    provider = session.get(Department, request.provider_department_id)
    requester = session.get(Department, request.requester_department_id)
    assert entry is not None and provider is not None and requester is not None  # foreign keys
    authority = service.choose_authority(session=session, provider=provider, requester=requester)
    now = clock.now()
    # Art. 16 para 3 sets no limit for the negotiation: a setting, counted in working days.
    deadline = rt.calendar.get(session).add_working_days(now, rt.settings.dispute_negotiation_working_days)
    dispute = Dispute(
        share_request_id=request.id or 0, entry_id=entry.id or 0, requester_department_id=requester.id or 0,
        provider_department_id=provider.id or 0, authority_department_id=authority.id or 0,
        opened_by_id=actor.id,
        kind=(DisputeKind.not_shared if entry.share_type == ShareType.not_shared
              else DisputeKind.refused).value,
        items=items, duties=data.duties, need=data.need, status=DisputeStatus.negotiating.value,
        negotiation_due_at=deadline.due_at, created_at=now, updated_at=now,
    )
    session.add(dispute)
    try:
        session.flush()
    except IntegrityError:
        # Two clerks opened one at the same moment: the partial unique index let one through.
        session.rollback()
        raise Conflict("该共享申请已有正在处理的争议", code="dispute_already_open") from None
    assert dispute.id is not None
    _record(session, dispute, RecordKind.opened, actor=actor.username, department_id=requester.id, at=now,
            detail={"duties": data.duties, "need": data.need, "items": items})
    opened = audit.append(session, at=now, actor=actor.username, action="dispute.opened",
                          entity_type="dispute", entity_id=dispute.id,
                          detail={"share_request_id": request.id, "entry": entry.code, "items": items,
                                  "requester": requester.code, "provider": provider.code,
                                  "authority": authority.code, "negotiation_due_at": deadline.due_at.isoformat(),
                                  "duties": data.duties, "need": data.need})
    instance = rt.runner.start(
        session, PROCESS_KEY, actor=actor, department_id=requester.id,
        subject=f"{requester.name}与{provider.name}关于“{entry.name}”的共享争议",
        business_ref=f"{service.BUSINESS_PREFIX}{dispute.id}",
        variables={
            "requester_department": requester.code, "provider_department": provider.code,
            "authority_department": authority.code, "items": items, "entry_name": entry.name,
            # The boundary timer reads an ISO instant computed here on the working-day calendar.
            "negotiation_due": deadline.due_at.isoformat(),
            "settled": False, "negotiation_failed": False, "request_coordination": False,
            "negotiation_rounds": 0, "escalation_reason": None, "stance": None, "action": None,
            "decision": None,
        },
    )
    dispute.instance_id = instance.id
    opened["instance_id"] = instance.id  # opening is the instance's first step
    session.add(dispute)
    _notify(session, dispute, "opened", department_id=provider.id, role=Role.reviewer.value,
            title=f"共享争议：{requester.name}请求协商“{entry.name}”",
            body=f"{requester.name}就被拒绝的共享申请提起争议，请于"
                 f"{_day(deadline.due_at)}前与其协商（第十六条第三款）。", at=now)
    session.commit()
    session.refresh(dispute)
    return dispute


def check_may_open(session: Session, actor: Actor, share_request_id: int) -> ShareRequest:
    """Return the share request if this person may open a dispute over it now, else raise why not."""
    if not actor.has_role(Role.clerk.value):
        raise Forbidden("只有经办人可以提起共享争议", code="clerk_required")
    request = sharing_service.get(session=session, share_request_id=share_request_id)
    if request is None:
        raise NotFound("共享申请不存在", code="share_request_not_found")
    if request.requester_department_id != actor.department_id:
        raise Forbidden("只能就本部门提出的共享申请提起争议", code="dispute_not_requester")
    check_disputable(session, request)
    return request


def check_disputable(session: Session, request: ShareRequest) -> None:
    """Refuse (409) unless a refused request has no grant, no open dispute and no binding decision."""
    if request.status != ShareRequestStatus.refused.value:
        raise Conflict("只有未获同意的共享申请才能提起争议", code="share_request_not_refused",
                       extra={"status": request.status})
    if sharing_service.get_grant(session=session, share_request_id=request.id or 0) is not None:
        raise Conflict("该共享申请已获授权，无需提起争议", code="share_request_already_granted")
    earlier = service.get_all_by_share_request(session=session, share_request_id=request.id or 0)
    still_open = [d for d in earlier if d.closed_at is None]
    if still_open:
        raise Conflict("该共享申请已有正在处理的争议", code="dispute_already_open",
                       extra={"dispute_id": still_open[0].id})
    # Art. 17: an adjudication binds both sides; only a negotiated outcome may be revisited.
    decided = [d for d in earlier if d.resolution == "adjudication"]
    if decided:
        raise Conflict("该共享申请的争议已由政务数据主管部门评判，评判结果对双方具有约束力",
                       code="dispute_already_decided", extra={"dispute_id": decided[0].id})


def _chosen_items(request: ShareRequest, chosen: list[str] | None) -> list[str]:
    if chosen is None:
        return list(request.items)
    names = [c.strip() for c in chosen]
    unknown = [n for n in names if n not in request.items]
    if unknown:
        raise InvalidInput(f"数据项不在原共享申请中：{'、'.join(unknown)}", code="dispute_items_not_in_request",
                           extra={"items": unknown})
    if len(set(names)) != len(names):
        raise InvalidInput("争议的数据项有重复", code="items_duplicated")
    return [i for i in request.items if i in names]


# ---- the steps ------------------------------------------------------------------------------


def state_position(session: Session, runner: Runner, actor: Actor, dispute_id: int,
                   data: ProviderPosition) -> Dispute:
    """Record the providing department's position in the current negotiation round."""
    return _complete(session, runner, actor, dispute_id, "provider_position", "提供部门协商意见",
                     data.model_dump())


def reply(session: Session, runner: Runner, actor: Actor, dispute_id: int, data: RequesterReply) -> Dispute:
    """Record the using department's answer: accept (settled), go on, or declare the negotiation failed."""
    return _complete(session, runner, actor, dispute_id, "requester_position", "使用部门回应",
                     data.model_dump())


def request_statement(session: Session, runner: Runner, actor: Actor, dispute_id: int,
                      data: StatementRequest) -> Dispute:
    """Ask the using department, the providing department or both for a statement (with a deadline)."""
    return _complete(session, runner, actor, dispute_id, "coordinate", "协调评判",
                     {"action": f"ask_{data.party}", "question": data.question})


def record_meeting(session: Session, runner: Runner, actor: Actor, dispute_id: int, data: Meeting) -> Dispute:
    """Record a coordination meeting held by the authority."""
    return _complete(session, runner, actor, dispute_id, "coordinate", "协调评判",
                     {"action": "meeting", "meeting_date": data.held_on.isoformat(),
                      "meeting_participants": data.participants, "meeting_minutes": data.minutes})


def decide(session: Session, runner: Runner, actor: Actor, dispute_id: int, data: Decision) -> Dispute:
    """Adjudicate (评判) the dispute: share (items and terms) or not share, with reasons (Art. 17)."""
    form: dict[str, Any] = {"action": "decide", "decision": data.decision, "reasons": data.reasons,
                            "decided_items": data.items, "terms": data.terms, "basis": data.basis}
    return _complete(session, runner, actor, dispute_id, "coordinate", "协调评判",
                     {k: v for k, v in form.items() if v not in (None, [])})


def submit_statement(session: Session, runner: Runner, actor: Actor, dispute_id: int,
                     data: Statement) -> Dispute:
    """Give the statement the authority asked one's department for."""
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    return _complete(session, runner, actor, dispute_id, _statement_step(dispute, actor), "陈述意见",
                     {"statement": data.statement, "attachment_ids": [str(i) for i in data.attachment_ids]})


def comply(session: Session, runner: Runner, actor: Actor, dispute_id: int, data: Compliance) -> Dispute:
    """Report that the decision to share has been put into effect."""
    return _complete(session, runner, actor, dispute_id, "compliance", "落实评判", {"note": data.note})


def _statement_step(dispute: Dispute, actor: Actor) -> str:
    if actor.department_id == dispute.requester_department_id:
        return "requester_statement"
    if actor.department_id == dispute.provider_department_id:
        return "provider_statement"
    raise Forbidden("只有争议双方可以陈述意见", code="dispute_not_party")


def _complete(session: Session, runner: Runner, actor: Actor, dispute_id: int, task_spec: str, what: str,
              form: dict[str, Any]) -> Dispute:
    dispute = service.get_visible(session=session, dispute_id=dispute_id, actor=actor)
    task = service.require_open_task(session=session, dispute=dispute, task_spec=task_spec, what=what)
    runner.complete_task(session, task.id or 0, form, actor)
    session.commit()
    session.refresh(dispute)
    return dispute


# ---- task validators: the rules, whichever form the data came through ------------------------

# Every field is written each time: a field left out would otherwise keep the previous round's value.


def _fail(errors: list[dict[str, str]], code: str) -> None:
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), code=code, extra={"errors": errors})


def _requested_items(session: Session, instance: ProcessInstance, task: Task) -> list[str]:
    dispute = service.by_instance(session=session, instance=instance)
    if dispute is not None:
        return list(dispute.items)
    # A designer's trial instance: the options offered on the form stand in.
    return [o[0] for f in task.form if f.get("id") in ("offered_items", "decided_items")
            for o in f.get("options") or []]


@hooks.task_validator(PROCESS_KEY, "provider_position")
def validate_position(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                      actor: Actor) -> dict[str, Any]:
    """Check the provider's position: an offer names items and terms; a refusal its reason and basis."""
    requested = _requested_items(session, instance, task)
    stance = data["stance"]
    chosen = data.get("offered_items") or []
    errors: list[dict[str, str]] = []
    code = "dispute_position_invalid"
    unknown = [i for i in chosen if i not in requested]
    if unknown:
        errors.append({"field": "offered_items", "message": f"数据项不在争议范围内：{'、'.join(unknown)}"})
    if stance == "not_share":
        if not data.get("basis"):
            # Art. 16: a provider that does not share states its reason and provides the basis.
            errors.append({"field": "basis", "message": "仍不同意共享时必须提供依据（第十六条）"})
            code = "refusal_basis_required"
        items: list[str] = []
    else:
        if not data.get("terms"):
            errors.append({"field": "terms", "message": "同意共享时必须写明共享条件与使用要求"})
        if data.get("request_coordination"):
            errors.append({"field": "request_coordination", "message": "已同意共享的，无需提请主管部门协调"})
        if stance == "partial":
            if not chosen:
                errors.append({"field": "offered_items", "message": "部分共享时必须选择同意共享的数据项"})
            elif set(chosen) >= set(requested):
                errors.append({"field": "offered_items",
                               "message": "已选择全部数据项，请选择“同意共享”而不是“部分共享”"})
        items = [i for i in requested if i in chosen] if stance == "partial" else list(requested)
    _fail(errors, code)
    return {"stance": stance, "offered_items": items, "terms": data.get("terms") if stance != "not_share"
            else data.get("terms") or None, "position": data["position"],
            "basis": data.get("basis") if stance == "not_share" else None,
            "request_coordination": bool(data.get("request_coordination"))}


@hooks.task_validator(PROCESS_KEY, "requester_position")
def validate_reply(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                   actor: Actor) -> dict[str, Any]:
    """Normalise the using department's answer."""
    return {"response": data["response"], "position": data["position"]}


@hooks.task_validator(PROCESS_KEY, "coordinate")
def validate_coordination(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                          actor: Actor) -> dict[str, Any]:
    """Check the authority's step: a question to answer, a complete meeting record, or a reasoned decision."""
    action = data["action"]
    clean: dict[str, Any] = {k: None for k in ("question", "meeting_date", "meeting_participants",
                                                "meeting_minutes", "decision", "terms", "reasons", "basis")}
    clean.update(action=action, decided_items=[])
    errors: list[dict[str, str]] = []
    code = "coordination_invalid"
    if action.startswith("ask_"):
        if not data.get("question"):
            errors.append({"field": "question", "message": "要求陈述意见时必须写明需陈述的问题"})
            code = "statement_question_required"
        clean["question"] = data.get("question")
    elif action == "meeting":
        for field, label in (("meeting_date", "协调会日期"), ("meeting_participants", "参会单位及人员"),
                             ("meeting_minutes", "会议纪要")):
            if not data.get(field):
                errors.append({"field": field, "message": f"记录协调会时必须填写{label}"})
                code = "meeting_record_incomplete"
            clean[field] = data.get(field)
        held = data.get("meeting_date")
        if held and date.fromisoformat(held) > clock.now().astimezone(SHANGHAI).date():
            errors.append({"field": "meeting_date", "message": "协调会日期不能晚于今天：请在会后记录"})
            code = "meeting_date_in_future"
    else:
        decision = data.get("decision")
        requested = _requested_items(session, instance, task)
        chosen = data.get("decided_items") or []
        if decision not in ("share", "not_share"):
            errors.append({"field": "decision", "message": "作出评判时必须选择评判结论"})
            code = "decision_required"
        if not data.get("reasons"):
            # Art. 17: an adjudication (评判) states its reasons.
            errors.append({"field": "reasons", "message": "作出评判时必须写明评判理由（第十七条）"})
            code = "decision_reasons_required"
        if decision == "share":
            unknown = [i for i in chosen if i not in requested]
            if unknown:
                errors.append({"field": "decided_items", "message": f"数据项不在争议范围内：{'、'.join(unknown)}"})
            elif not chosen:
                errors.append({"field": "decided_items", "message": "予以共享时必须选择共享的数据项"})
                code = "decision_items_required"
            if not data.get("terms"):
                errors.append({"field": "terms", "message": "予以共享时必须写明共享条件与使用要求"})
                code = "decision_terms_required"
            clean.update(decided_items=[i for i in requested if i in chosen], terms=data.get("terms"))
        clean.update(decision=decision, reasons=data.get("reasons"), basis=data.get("basis"))
    _fail(errors, code)
    return clean


def _validate_statement(session: Session, instance: ProcessInstance, data: dict[str, Any],
                        actor: Actor) -> dict[str, Any]:
    dispute = service.by_instance(session=session, instance=instance)
    raw = data.get("attachment_ids") or []
    ids: list[int] = []
    for value in raw:
        if not str(value).isdigit():
            raise InvalidInput(f"附件编号“{value}”无效", code="statement_attachment_invalid")
        ids.append(int(value))
    if ids and dispute is not None:
        found = session.execute(
            select(Attachment.id).where(Attachment.id.in_(ids), Attachment.owner_type == "dispute",
                                        Attachment.owner_id == dispute.id,
                                        Attachment.department_id == actor.department_id)
        ).scalars().all()
        missing = sorted(set(ids) - set(found))
        if missing:
            raise InvalidInput(f"附件不属于本争议或不是本部门上传的：{'、'.join(map(str, missing))}",
                               code="statement_attachment_invalid", extra={"attachment_ids": missing})
    return {"statement": data["statement"], "attachment_ids": [str(i) for i in dict.fromkeys(ids)]}


@hooks.task_validator(PROCESS_KEY, "requester_statement")
def validate_requester_statement(*, session: Session, instance: ProcessInstance, task: Task,
                                 data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the attachments a statement cites belong to this dispute and the stating department."""
    return _validate_statement(session, instance, data, actor)


@hooks.task_validator(PROCESS_KEY, "provider_statement")
def validate_provider_statement(*, session: Session, instance: ProcessInstance, task: Task,
                                data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the attachments a statement cites belong to this dispute and the stating department."""
    return _validate_statement(session, instance, data, actor)


# ---- process hooks: keep the dispute and its file in step with the instance -------------------


@hooks.on_task_closed
def note_completed(*, session: Session, task: Task, at: datetime) -> None:
    """Remember this step's finished dispute task for the after-step hook (no query: stays O(1))."""
    if task.process_key == PROCESS_KEY and task.status == TaskStatus.completed.value:
        session.info.setdefault(_CLOSED_TASKS, []).append(task)


@event.listens_for(Session, "after_rollback")
def _forget_completed(session: Session) -> None:
    session.info.pop(_CLOSED_TASKS, None)


@hooks.after_step(PROCESS_KEY)
def record_progress(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
                    actor: Actor | str) -> None:
    """File each finished step and apply what it decides: settlement, escalation, decision, compliance."""
    closed = [t for t in session.info.pop(_CLOSED_TASKS, []) if t.instance_id == instance.id]
    dispute = service.by_instance(session=session, instance=instance)
    if dispute is None:
        return
    now = clock.now()
    for task in closed:
        _file_task(session, dispute, instance, task, variables, actor, now)
    # Escalated: the negotiation failed, or its deadline passed (the boundary timer, actor "system").
    if dispute.status == DisputeStatus.negotiating.value and variables.get("escalation_reason"):
        _escalate(session, dispute, instance, str(variables["escalation_reason"]), actor, now)
    if instance.status == InstanceStatus.completed.value and dispute.closed_at is None:
        dispute.closed_at = now
    dispute.updated_at = now
    session.add(dispute)
    session.flush()


def _file_task(session: Session, dispute: Dispute, instance: ProcessInstance, task: Task,
               variables: dict[str, Any], actor: Actor | str, now: datetime) -> None:
    data = dict(task.data or {})
    who = actor_name(actor)
    spec = task.task_spec
    if spec == "provider_position":
        record = _record(session, dispute, RecordKind.provider_position, actor=who, task=task, at=now,
                         round=dispute.negotiation_rounds + 1, detail=data)
        _notify(session, dispute, f"position:{record.id}", department_id=dispute.requester_department_id,
                role=Role.clerk.value, title="共享争议：提供部门已提出协商意见",
                body="请查看提供部门的协商意见并回应。" if not data.get("request_coordination")
                else "提供部门认为协商未果，已提请政务数据主管部门协调。", at=now)
    elif spec == "requester_position":
        dispute.negotiation_rounds += 1
        record = _record(session, dispute, RecordKind.requester_position, actor=who, task=task, at=now,
                         round=dispute.negotiation_rounds, detail=data)
        if data.get("response") == "accept":
            _settle(session, dispute, instance, variables, who, now)
        elif data.get("response") == "continue":
            _notify(session, dispute, f"position:{record.id}", department_id=dispute.provider_department_id,
                    role=Role.reviewer.value, title="共享争议：使用部门不接受协商意见",
                    body="使用部门已回应并要求继续协商，请提出新一轮协商意见。", at=now)
    elif spec == "coordinate":
        _file_coordination(session, dispute, instance, task, data, who, now)
    elif spec in ("requester_statement", "provider_statement"):
        kind = RecordKind(spec)
        _record(session, dispute, kind, actor=who, task=task, at=now,
                detail={**data, "question": variables.get("question")})
    elif spec == "compliance":
        _record(session, dispute, RecordKind.complied, actor=who, task=task, at=now, detail=data)
        dispute.status = DisputeStatus.complied.value
        dispute.compliance_note = data.get("note")
        dispute.complied_at = now
        audit.append(session, at=now, actor=who, action="dispute.complied", entity_type="dispute",
                     entity_id=dispute.id or 0, instance_id=instance.id, detail={"note": data.get("note")})
        _notify(session, dispute, "complied", department_id=dispute.requester_department_id,
                title="共享争议：提供部门已落实评判", body=f"落实情况：{data.get('note')}", at=now)


def _file_coordination(session: Session, dispute: Dispute, instance: ProcessInstance, task: Task,
                       data: dict[str, Any], who: str, now: datetime) -> None:
    action = data.get("action")
    if action in ("ask_requester", "ask_provider", "ask_both"):
        record = _record(session, dispute, RecordKind.statement_requested, actor=who, task=task, at=now,
                         detail={"action": action, "question": data.get("question")})
        asked = {"ask_requester": [(dispute.requester_department_id, Role.clerk.value)],
                 "ask_provider": [(dispute.provider_department_id, Role.reviewer.value)],
                 "ask_both": [(dispute.requester_department_id, Role.clerk.value),
                              (dispute.provider_department_id, Role.reviewer.value)]}[action]
        for department_id, role in asked:
            _notify(session, dispute, f"ask:{record.id}", department_id=department_id, role=role,
                    title="共享争议：政务数据主管部门要求陈述意见", body=f"需陈述的问题：{data.get('question')}",
                    at=now)
    elif action == "meeting":
        _record(session, dispute, RecordKind.meeting, actor=who, task=task, at=now,
                detail={"held_on": data.get("meeting_date"), "participants": data.get("meeting_participants"),
                        "minutes": data.get("meeting_minutes")})
    elif action == "decide":
        _record(session, dispute, RecordKind.decided, actor=who, task=task, at=now,
                detail={k: data.get(k) for k in ("decision", "decided_items", "terms", "reasons", "basis")})
        _decide(session, dispute, instance, data, who, now)


def _settle(session: Session, dispute: Dispute, instance: ProcessInstance, variables: dict[str, Any],
            who: str, now: datetime) -> None:
    """Record the agreed outcome; an agreement to share creates the grant."""
    share = variables.get("stance") in ("share", "partial")
    dispute.status = DisputeStatus.settled.value
    dispute.resolution = "settlement"
    dispute.outcome = "share" if share else "not_share"
    dispute.outcome_items = list(variables.get("offered_items") or []) if share else []
    dispute.terms = variables.get("terms")
    dispute.basis = None if share else variables.get("basis")
    dispute.resolved_by = who
    dispute.resolved_at = now
    grant = _grant(session, dispute, instance, "dispute_settlement", who, now) if share else None
    _record(session, dispute, RecordKind.settled, actor=who, at=now,
            detail={"outcome": dispute.outcome, "items": dispute.outcome_items, "terms": dispute.terms,
                    "grant_id": grant.id if grant else None})
    audit.append(session, at=now, actor=who, action="dispute.settled", entity_type="dispute",
                 entity_id=dispute.id or 0, instance_id=instance.id,
                 detail={"outcome": dispute.outcome, "items": dispute.outcome_items, "terms": dispute.terms,
                         "rounds": dispute.negotiation_rounds, "grant_id": grant.id if grant else None})
    for department_id in (dispute.requester_department_id, dispute.provider_department_id):
        _notify(session, dispute, "settled", department_id=department_id, title="共享争议已协商一致",
                body=f"协商结果：{OUTCOME_ZH[dispute.outcome]}"
                     + (f"；条件：{dispute.terms}" if dispute.terms else ""),
                at=now)


def _escalate(session: Session, dispute: Dispute, instance: ProcessInstance, reason: str,
              actor: Actor | str, now: datetime) -> None:
    """Hand the dispute to the data authority chosen when it was opened (Art. 16 para 3: 协商未果)."""
    who = actor_name(actor)
    # A round ends with the using department's answer, or earlier when negotiation stops: the provider
    # declares it failed, or the deadline passes after the provider stated its position. That round
    # took place and counts (第1轮 shown while it ran must not become 共协商0轮).
    current = dispute.negotiation_rounds + 1
    if session.execute(select(DisputeRecord.id).where(
            DisputeRecord.dispute_id == dispute.id, DisputeRecord.kind == RecordKind.provider_position.value,
            DisputeRecord.round == current)).first() is not None:
        dispute.negotiation_rounds = current
    dispute.status = DisputeStatus.coordinating.value
    dispute.escalation_reason = reason
    dispute.escalated_at = now
    authority = session.get(Department, dispute.authority_department_id)
    _record(session, dispute, RecordKind.escalated, actor=who, at=now,
            detail={"reason": reason, "rounds": dispute.negotiation_rounds,
                    "authority": authority.name if authority else None})
    audit.append(session, at=now, actor=who, action="dispute.escalated", entity_type="dispute",
                 entity_id=dispute.id or 0, instance_id=instance.id,
                 detail={"reason": ESCALATION_ZH.get(reason, reason), "reason_code": reason,
                         "rounds": dispute.negotiation_rounds, "authority": authority.code if authority else None})
    label = ESCALATION_ZH.get(reason, reason)
    _notify(session, dispute, "escalated", department_id=dispute.authority_department_id,
            role=Role.authority_reviewer.value, title=f"共享争议提请协调（{label}）",
            body="使用部门与提供部门协商未果，请协调并作出评判（第十六条第三款、第十七条）。", at=now)
    for department_id in (dispute.requester_department_id, dispute.provider_department_id):
        _notify(session, dispute, "escalated", department_id=department_id, title=f"共享争议已提请协调（{label}）",
                body=f"争议已提交{authority.name if authority else '政务数据主管部门'}协调评判。", at=now)


def _decide(session: Session, dispute: Dispute, instance: ProcessInstance, data: dict[str, Any], who: str,
            now: datetime) -> None:
    """Apply an adjudication: it binds both sides; a grant is created, or the refusal stands (Art. 17)."""
    share = data.get("decision") == "share"
    dispute.status = DisputeStatus.decided.value
    dispute.resolution = "adjudication"
    dispute.outcome = "share" if share else "not_share"
    dispute.outcome_items = list(data.get("decided_items") or []) if share else []
    dispute.terms = data.get("terms") if share else None
    dispute.reasons = data.get("reasons")
    dispute.basis = data.get("basis")
    dispute.resolved_by = who
    dispute.resolved_at = now
    grant = _grant(session, dispute, instance, "dispute_adjudication", who, now) if share else None
    audit.append(session, at=now, actor=who, action="dispute.decided", entity_type="dispute",
                 entity_id=dispute.id or 0, instance_id=instance.id,
                 detail={"decision": dispute.outcome, "items": dispute.outcome_items, "terms": dispute.terms,
                         "reasons": dispute.reasons, "basis": dispute.basis,
                         "grant_id": grant.id if grant else None})
    # Art. 26: the 评判决定书 is signed by the deciding authority in the decision's commit.
    signed_documents.sign(session, DocType.adjudication, dispute.id or 0, at=now, by=who)
    outcome = OUTCOME_ZH[dispute.outcome]
    body = (f"评判结论：{outcome}。" + ("已授权共享，提供部门应落实评判。" if share else "原不予共享决定维持。")
            + f"理由：{dispute.reasons}")
    for department_id in (dispute.requester_department_id, dispute.provider_department_id):
        _notify(session, dispute, "decided", department_id=department_id,
                title=f"共享争议已评判：{outcome}", body=body, at=now)


def _grant(session: Session, dispute: Dispute, instance: ProcessInstance, basis: str, who: str,
           now: datetime) -> ShareGrant:
    request = session.get(ShareRequest, dispute.share_request_id)
    assert request is not None
    grant = ShareGrant(
        share_request_id=request.id or 0, entry_id=request.entry_id,
        consumer_department_id=request.requester_department_id,
        provider_department_id=request.provider_department_id, items=list(dispute.outcome_items or []),
        terms=dispute.terms, method=request.method, valid_from=request.period_from,
        valid_to=request.period_to,
        basis=basis, created_at=now,
    )
    session.add(grant)
    session.flush()
    dispute.grant_id = grant.id
    # On the share request's own trail too, so its page shows where the grant came from.
    audit.append(session, at=now, actor=who, action="share_grant.created", entity_type="share_request",
                 entity_id=request.id or 0, instance_id=instance.id,
                 detail={"grant_id": grant.id, "items": grant.items, "terms": grant.terms, "basis": basis,
                         "dispute_id": dispute.id, "valid": [str(grant.valid_from), str(grant.valid_to)]})
    return grant


def _record(session: Session, dispute: Dispute, kind: RecordKind, *, actor: str, at: datetime,
            detail: dict[str, Any], task: Task | None = None, round: int | None = None,
            department_id: int | None = None) -> DisputeRecord:
    record = DisputeRecord(dispute_id=dispute.id or 0, kind=kind.value, round=round,
                           task_id=task.id if task else None,
                           department_id=department_id if department_id is not None else
                           (task.department_id if task else None),
                           actor=actor, detail=detail, at=at)
    session.add(record)
    session.flush()
    return record


def _notify(session: Session, dispute: Dispute, event_key: str, *, department_id: int, title: str, body: str,
            at: datetime, role: str | None = None) -> None:
    notify(session, department_id=department_id, role=role, kind=NOTIFICATION_KIND, title=title[:200],
           body=body[:2000], link=f"/disputes/{dispute.id}", dedupe_key=f"dispute:{dispute.id}:{event_key}",
           at=at)


def _day(at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


# ---- attachments: the two parties and the deciding authority --------------------------------


@register_owner("dispute")
def attachment_access(session: Session, actor: Actor, owner_id: int) -> bool:
    """Let the two departments and the deciding authority attach to and read a dispute's files."""
    dispute = session.get(Dispute, owner_id)
    return dispute is not None and service.is_party(dispute, actor)

