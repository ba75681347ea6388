"""Share requests (Art. 15–16): submit, review, and record the outcome with its grant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.audit import service as audit
from app.catalog.models import SHARE_METHOD_ZH, CatalogEntry, ShareType
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.engine.hooks import hooks
from app.engine.models import ProcessInstance, Task
from app.engine.runner import Runner, actor_name
from app.notifications.service import notify
from app.org.models import Department, Role
from app.org.service import Actor
from app.sharing import service
from app.sharing.models import DECISION_ZH, STATUS_ZH, ShareGrant, ShareRequest, ShareRequestStatus
from app.signing import documents as signed_documents
from app.signing.models import DocType

PROCESS_KEY = "sharing_share_request"
# The share requests this transaction's hooks read, held so that a second read is an identity-map hit.
_READ = "sharing_requests_read"
# The hot path's reads, built once (a prebuilt statement's cache key is memoized).
_ENTRY_WITH_PROVIDER = (select(CatalogEntry, Department).join(Department, Department.id == CatalogEntry.department_id)
                        .where(CatalogEntry.code == bindparam("code")))
_REQUEST_WITH_NAMES = (select(ShareRequest, CatalogEntry.name, Department.name)
                       .join(CatalogEntry, CatalogEntry.id == ShareRequest.entry_id)
                       .join(Department, Department.id == ShareRequest.provider_department_id)
                       .where(ShareRequest.id == bindparam("request_id")))
_REQUEST = ShareRequest.__table__  # type: ignore[attr-defined]
_GRANT = ShareGrant.__table__  # type: ignore[attr-defined]
_INSERT_GRANT = insert(_GRANT).returning(_GRANT.c.id)
_GRANT_COLUMNS = tuple(c.key for c in _GRANT.columns if c.key != "id")
_UPDATE_REQUEST = update(_REQUEST).where(_REQUEST.c.id == bindparam("request_id"))


def _write_request(session: Session, request: ShareRequest, changes: dict[str, Any]) -> None:
    """Write changes of a loaded share request in one Core UPDATE, and tell the object they are its values.

    The flows that call this hold the request's instance lock (submit: the row is this transaction's own).
    """
    with session.no_autoflush:
        session.execute(_UPDATE_REQUEST.values(**changes), {"request_id": request.id})
    for key, value in changes.items():
        set_committed_value(request, key, value)


class ShareRequestCreate(BaseModel):
    entry_code: str = Field(min_length=1, max_length=64)
    items: list[str] = Field(min_length=1, max_length=500)
    purpose: str = Field(min_length=2, max_length=2000)
    scope: str = Field(min_length=2, max_length=2000)
    period_from: date
    period_to: date
    method: Literal["api", "table", "file"]
    legal_basis: str = Field(min_length=2, max_length=1000)
    contact_phone: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _period(self) -> "ShareRequestCreate":
        if self.period_to < self.period_from:
            raise ValueError("使用期限的结束日期不能早于开始日期")
        return self


@dataclass(frozen=True)
class Filed:
    """A committed share request with what was read to file it (enough to show it without a query)."""

    request: ShareRequest
    entry: CatalogEntry
    provider: Department
    grant: ShareGrant | None


def submit(session: Session, runner: Runner, actor: Actor, data: ShareRequestCreate) -> ShareRequest:
    """File a share request and run it: granted at once, refused at once, or sent for review."""
    return file_request(session, runner, actor, data).request


def file_request(session: Session, runner: Runner, actor: Actor, data: ShareRequestCreate) -> Filed:
    """Submit, returning the request with its entry, provider and grant (if granted at once)."""
    if not actor.has_role("clerk"):
        raise Forbidden("只有经办人可以提交共享申请", code="clerk_required")
    # The entry with its providing department, in one read.
    found = session.execute(_ENTRY_WITH_PROVIDER, {"code": data.entry_code}).one_or_none()
    if found is None:
        raise InvalidInput(f"目录条目“{data.entry_code}”不存在", code="entry_not_found")
    entry, provider = found
    if entry.status != "published":
        raise InvalidInput(f"目录条目“{entry.name}”尚未发布，不能申请共享", code="entry_not_published")
    if entry.department_id == actor.department_id:
        raise InvalidInput("不能向本部门申请本部门的数据", code="own_entry")
    names = [i["name"] for i in entry.items]
    unknown = [i for i in data.items if i not in names]
    if unknown:
        raise InvalidInput(f"数据项不属于该目录条目：{'、'.join(unknown)}", code="items_not_in_entry",
                           extra={"items": unknown})
    if len(set(data.items)) != len(data.items):
        raise InvalidInput("申请的数据项有重复", code="items_duplicated")
    if entry.share_type != ShareType.not_shared and entry.share_methods and data.method not in entry.share_methods:
        offered = "、".join(SHARE_METHOD_ZH[m] for m in entry.share_methods)
        raise InvalidInput(f"该条目只提供以下共享方式：{offered}", code="method_not_offered")
    now = clock.now()
    # Keep the catalog's order of items: the form and the grant read better that way.
    items = [n for n in names if n in data.items]
    request = ShareRequest(
        entry_id=entry.id, requester_department_id=actor.department_id, provider_department_id=provider.id,
        requested_by_id=actor.id, items=items, purpose=data.purpose, scope=data.scope,
        period_from=data.period_from, period_to=data.period_to, method=data.method,
        legal_basis=data.legal_basis, contact_phone=data.contact_phone,
        status=ShareRequestStatus.under_review.value, created_at=now,
    )
    session.add(request)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="share_request.submitted",
                 entity_type="share_request", entity_id=request.id,
                 detail={"entry": entry.code, "items": items, "method": data.method,
                         "requester": actor.department_code, "provider": provider.code})
    instance = runner.start(
        session, PROCESS_KEY, actor=actor, department_id=actor.department_id,
        subject=f"{actor.department_name}申请共享“{entry.name}”",
        business_ref=f"{service.BUSINESS_PREFIX}{request.id}",
        variables={"share_type": entry.share_type, "provider_department": provider.code,
                   "requester_department": actor.department_code, "items": items,
                   "entry_code": entry.code, "entry_name": entry.name},
    )
    _write_request(session, request, {"instance_id": instance.id})
    # A new request has a grant only if the process granted it at once (record_outcome, just now).
    grant = service.get_grant(session=session, share_request_id=request.id) \
        if request.status == ShareRequestStatus.granted.value else None
    session.commit()
    return Filed(request=request, entry=entry, provider=provider, grant=grant)


def withdraw(session: Session, runner: Runner, actor: Actor, share_request_id: int, reason: str) -> ShareRequest:
    """撤销: the applicant withdraws a request still under review; its review task is withdrawn, the provider told."""
    request = service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    if actor.department_id != request.requester_department_id or not actor.has_role("clerk"):
        raise Forbidden("只有申请部门的经办人可以撤销共享申请", code="share_request_withdraw_forbidden")
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请填写撤销原因", code="withdraw_reason_required")
    if request.instance_id is not None:
        # The instance's lock first, then the status read under it: a reply completed meanwhile (its grant is
        # recorded at the decision, while the instance runs on to the exchange platform) makes this a 409,
        # never both.
        runner.lock_instance(session, request.instance_id)
        session.refresh(request)
    if request.status != ShareRequestStatus.under_review.value or request.instance_id is None:
        raise Conflict(f"该申请{STATUS_ZH[ShareRequestStatus(request.status)]}，只有审批中的申请可以撤销",
                       code="share_request_not_under_review")
    runner.cancel(session, request.instance_id, actor=actor, reason=reason)
    now = clock.now()
    request.status = ShareRequestStatus.withdrawn.value
    session.add(request)
    audit.append(session, at=now, actor=actor.username, action="share_request.withdrawn",
                 entity_type="share_request", entity_id=request.id, instance_id=request.instance_id,
                 detail={"reason": reason})
    notify(session, department_id=request.provider_department_id, role=Role.reviewer.value, kind="info",
           title=f"共享申请 #{request.id} 已由申请部门撤销", body=f"撤销原因：{reason}",
           link=f"/share-requests/{request.id}", dedupe_key=f"share_request:{request.id}:withdrawn", at=now)
    session.commit()
    return request


@hooks.task_validator(PROCESS_KEY, "review")
def validate_reply(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                   actor: Actor) -> dict[str, Any]:
    """Check the provider's reply: a refusal states reason and basis; a partial grant names its items."""
    request = _request_of(session, instance)
    # A designer's trial instance has no share request: the items offered on the form stand in.
    requested = list(request.items) if request else [o[0] for f in task.form if f["id"] == "approved_items"
                                                      for o in f.get("options") or []]
    decision = data.get("decision")
    errors: list[dict[str, str]] = []
    if decision == "refuse":
        # Art. 16: a provider that refuses must state its reason and provide the basis.
        if not data.get("reason"):
            errors.append({"field": "reason", "message": "不同意共享时必须说明理由（第十六条）"})
        if not data.get("legal_basis"):
            errors.append({"field": "legal_basis", "message": "不同意共享时必须提供依据（第十六条）"})
        data["approved_items"] = []
    else:
        # Art. 16: the user must follow the reply, so an approval states the terms of use.
        if not data.get("terms"):
            errors.append({"field": "terms", "message": "同意共享时必须写明使用要求"})
        chosen = data.get("approved_items") or []
        if decision == "partial":
            if not chosen:
                errors.append({"field": "approved_items", "message": "部分同意时必须选择同意共享的数据项"})
            elif set(chosen) == set(requested):
                errors.append({"field": "approved_items",
                               "message": "已选择全部数据项，请选择“同意”而不是“部分同意”"})
        elif chosen and set(chosen) != set(requested):
            errors.append({"field": "approved_items", "message": "选择“同意”时不应只勾选部分数据项，请改选“部分同意”"})
        data["approved_items"] = [i for i in requested if i in chosen] if decision == "partial" \
            else requested
        data.pop("reason", None)
        data.pop("legal_basis", None)
    if errors:
        code = "refusal_basis_required" if decision == "refuse" else "reply_invalid"
        raise InvalidInput("；".join(e["message"] for e in errors), code=code, extra={"errors": errors})
    return data


@hooks.after_step(PROCESS_KEY)
def record_outcome(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
                   actor: Actor | str) -> None:
    """Once the process has decided (its `outcome`), record the decision on the request and create the grant.

    A refusal ends the process; a grant goes on to the exchange platform's external task (exchange.grant),
    whose outcome (completed, or an incident) the case history shows from the instance's events.
    """
    if variables.get("outcome") not in ("granted", "refused"):
        return
    request = _request_of(session, instance)
    if request is None or request.status != ShareRequestStatus.under_review.value:
        return
    now = clock.now()
    # The request's new values, written in one Core UPDATE with the grant's Core INSERT (no unit of work).
    changes: dict[str, Any] = {
        "decision": variables.get("decision"), "decided_at": now,
        "decided_by": actor_name(actor) if variables["share_type"] == ShareType.conditional else "system"}
    if variables.get("outcome") == "granted":
        changes.update(status=ShareRequestStatus.granted.value,
                       approved_items=list(variables.get("approved_items") or request.items),
                       terms=variables.get("terms"))
        grant = ShareGrant(
            share_request_id=request.id, entry_id=request.entry_id,
            consumer_department_id=request.requester_department_id,
            provider_department_id=request.provider_department_id, items=changes["approved_items"],
            terms=changes["terms"], method=request.method, valid_from=request.period_from,
            valid_to=request.period_to,
            basis="unconditional" if variables["share_type"] == ShareType.unconditional else "review",
            created_at=now,
        )
        grant.id = session.execute(_INSERT_GRANT, {k: getattr(grant, k) for k in _GRANT_COLUMNS}).scalar_one()
        _write_request(session, request, changes)
        audit.append(session, at=now, actor=request.decided_by, action="share_grant.created",
                     entity_type="share_request", entity_id=request.id, instance_id=instance.id,
                     detail={"grant_id": grant.id, "items": grant.items, "terms": grant.terms,
                             "decision": request.decision, "basis": grant.basis,
                             "valid": [str(grant.valid_from), str(grant.valid_to)]})
    else:
        changes["status"] = ShareRequestStatus.refused.value
        if variables["share_type"] == ShareType.not_shared:
            entry = session.get(CatalogEntry, request.entry_id)
            assert entry is not None
            changes.update(refusal_reason="该数据资源在目录中列为不予共享", refusal_basis=entry.legal_basis)
        else:
            changes.update(refusal_reason=variables.get("reason"), refusal_basis=variables.get("legal_basis"))
        _write_request(session, request, changes)
        audit.append(session, at=now, actor=request.decided_by, action="share_request.refused",
                     entity_type="share_request", entity_id=request.id, instance_id=instance.id,
                     detail={"reason": request.refusal_reason, "basis": request.refusal_basis})
    # Art. 26: the reply (the provider's decision, or the catalog's when given at once) is signed in its commit.
    signed_documents.sign(session, DocType.share_reply, request.id or 0, at=now, by=request.decided_by or "system")
    if variables["share_type"] == ShareType.conditional:
        # A reply the applicant waited for (a request granted or refused at once is seen on filing).
        from app.notifications.moments import share_request_answered

        entry_name, provider_name = _names_of(session, request)
        share_request_answered(
            session, share_request_id=request.id or 0, applicant_id=request.requested_by_id,
            entry_name=entry_name, provider_name=provider_name,
            granted=request.status == ShareRequestStatus.granted.value,
            decision_label=DECISION_ZH.get(request.decision or "", ""), at=now)


def _request_of(session: Session, instance: ProcessInstance) -> ShareRequest | None:
    ref = instance.business_ref or ""
    if not ref.startswith(service.BUSINESS_PREFIX):
        return None
    request_id = int(ref.removeprefix(service.BUSINESS_PREFIX))
    held = session.info.get(_READ, {}).get(request_id)
    if held is not None:
        return held[0]  # type: ignore[no-any-return]
    # With the names the reply's notification shows (entry, provider): one read for the whole completion.
    row = session.execute(_REQUEST_WITH_NAMES, {"request_id": request_id}).one_or_none()
    if row is None:
        return None
    # The validator and the after-step hook of one completion both read it: keep it until the
    # transaction ends (so the identity map still holds it too).
    session.info.setdefault(_READ, {})[request_id] = tuple(row)
    return row[0]  # type: ignore[no-any-return]


def _names_of(session: Session, request: ShareRequest) -> tuple[str, str]:
    """Return the names of a request's catalog entry and provider department (read with it if it was)."""
    held = session.info.get(_READ, {}).get(request.id)
    if held is not None:
        return held[1], held[2]
    entry = session.get(CatalogEntry, request.entry_id)
    provider = session.get(Department, request.provider_department_id)
    return entry.name if entry else "", provider.name if provider else "提供部门"


@event.listens_for(Session, "after_transaction_end")
def _forget_read(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction (flushes and savepoints nest in it)
        session.info.pop(_READ, None)
