"""New business systems (Art. 7): register, record the project approval behind the catalog gate, withdraw.
One commit each; the gate is the `record_approval` task's validator, so the generic task form obeys it too."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session

from app.audit import service as audit
from app.catalog import service as catalog_service
from app.catalog.updates import CATALOG_KEEPERS
from app.core.clock import SHANGHAI, clock
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task
from app.engine.runner import Runner, actor_name
from app.org.models import Department, Role
from app.org.service import Actor
from app.systems import service
from app.systems.models import STATUS_ZH, BusinessSystem, SystemStatus

PROCESS_KEY = "systems_business_system"
APPROVAL_TASK = "record_approval"
MAX_DATA_ITEMS = 500
PHONE = re.compile(r"^[0-9+\-() ]{7,32}$")


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


class DataItemIn(BaseModel):
    """One data item the system will collect, linked to an entry of the department's catalog if it has one."""

    name: str = Field(min_length=1, max_length=64)
    entry_code: str | None = Field(default=None, max_length=64)

    _clean = field_validator("name", "entry_code", mode="before")(_strip)

    @field_validator("entry_code")
    @classmethod
    def _blank(cls, v: str | None) -> str | None:
        return v or None


class SystemCreate(BaseModel):
    name: str = Field(min_length=2, max_length=128)
    purpose: str = Field(min_length=2, max_length=2000)
    data_items: list[DataItemIn] = Field(min_length=1, max_length=MAX_DATA_ITEMS)
    contact_name: str = Field(min_length=2, max_length=64)
    contact_phone: str = Field(min_length=7, max_length=32)

    _clean = field_validator("name", "purpose", "contact_name", "contact_phone", mode="before")(_strip)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not PHONE.match(v):
            raise ValueError("联系电话只能包含数字、空格和 + - ( )")
        return v


class ApprovalBody(BaseModel):
    approval_number: str = Field(min_length=2, max_length=128)
    approval_date: date
    approving_body: str = Field(min_length=2, max_length=128)

    _clean = field_validator("approval_number", "approving_body", mode="before")(_strip)


class WithdrawBody(BaseModel):
    reason: str = Field(default="", max_length=1000)


# ---- rules ---------------------------------------------------------------------------------------


def require_clerk_of(actor: Actor, system: BusinessSystem) -> None:
    """Refuse anyone but a clerk of the department that registered the system."""
    if actor.department_id != system.department_id or not actor.has_role(Role.clerk.value):
        raise Forbidden("只有登记该业务系统的部门的经办人可以办理", code="business_system_not_yours")


def _require_open(system: BusinessSystem) -> None:
    if system.status != SystemStatus.pending.value:
        raise Conflict(f"业务系统{STATUS_ZH[SystemStatus(system.status)]}，不能再办理",
                       code="business_system_closed", extra={"status": system.status})


def _data_items(session: Session, department: Department, items: list[DataItemIn]) -> list[dict[str, Any]]:
    """Check the data items: no repeats, links only to the department's own catalog entries."""
    entries = {e["code"]: e
               for e in service.department_entries(session=session, department_id=department.id or 0)}
    seen: set[tuple[str, str | None]] = set()
    errors: list[dict[str, str]] = []
    out: list[dict[str, Any]] = []
    for item in items:
        key = (item.name, item.entry_code)
        if key in seen:
            errors.append({"field": "data_items", "message": f"数据项“{item.name}”重复"})
            continue
        seen.add(key)
        if item.entry_code is not None and item.entry_code not in entries:
            errors.append({"field": "data_items",
                           "message": f"数据项“{item.name}”关联的目录条目“{item.entry_code}”不是本部门的目录条目"})
            continue
        out.append({"name": item.name, "entry_code": item.entry_code})
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors),
                           code="entry_not_of_department" if "目录条目" in errors[0]["message"]
                           else "data_item_repeated", extra={"errors": errors})
    return out


# ---- use cases -------------------------------------------------------------------------------------


def register(session: Session, runner: Runner, actor: Actor, data: SystemCreate) -> BusinessSystem:
    """Register a new business system and open its 立项 step (Art. 7), due in working days."""
    if not actor.has_role(Role.clerk.value):
        raise Forbidden("只有本部门经办人可以登记新建业务系统", code="clerk_required")
    department = session.get(Department, actor.department_id)
    if department is None or department.kind not in CATALOG_KEEPERS:
        raise Forbidden("本单位不编制政务数据资源目录，不能登记新建业务系统", code="department_keeps_no_catalog")
    items = _data_items(session, department, data.data_items)
    authority = catalog_service.authority_for(session=session, department=department)
    now = clock.now()
    system = BusinessSystem(
        department_id=department.id or 0, authority_department_id=authority.id or 0, name=data.name,
        purpose=data.purpose, data_items=items, contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        status=SystemStatus.pending.value, created_by_id=actor.id, created_at=now, updated_at=now)
    session.add(system)
    session.flush()
    registered = audit.append(session, at=now, actor=actor.username, action="business_system.registered",
                              entity_type="business_system", entity_id=system.id or 0,
                              detail={"name": system.name, "department": department.code,
                                      "authority": authority.code, "data_items": items})
    instance = runner.start(
        session, PROCESS_KEY, actor=actor, department_id=department.id,
        subject=f"{department.name}新建业务系统“{system.name}”立项",
        business_ref=f"{service.BUSINESS_PREFIX}{system.id}",
        variables={"department": department.code, "authority_department": authority.code,
                   "business_system_id": system.id, "name": system.name})
    system.instance_id = instance.id
    registered["instance_id"] = instance.id  # the registration is the instance's first step
    session.add(system)
    session.commit()
    return system


def record_approval(session: Session, runner: Runner, actor: Actor, system_id: int,
                    body: ApprovalBody) -> BusinessSystem:
    """Record the project approval (立项), allowed only behind a reviewed catalog listing the system's data."""
    system = service.get_for_update(session=session, system_id=system_id, actor=actor)
    require_clerk_of(actor, system)
    _require_open(system)
    task = service.open_task(session, system)
    if task is None:
        raise Conflict("该业务系统当前没有待办的立项环节，请刷新", code="business_system_no_open_step")
    # The runner checks the clerk may work the task; the validator below applies the Art. 7 gate.
    runner.complete_task(session, task.id or 0, {"approval_number": body.approval_number,
                                                 "approval_date": body.approval_date.isoformat(),
                                                 "approving_body": body.approving_body}, actor)
    session.commit()
    session.refresh(system)
    return system


def withdraw(session: Session, runner: Runner, actor: Actor, system_id: int,
             body: WithdrawBody) -> BusinessSystem:
    """Withdraw a registration that is not yet approved (the project was dropped, or registered in error)."""
    system = service.get_for_update(session=session, system_id=system_id, actor=actor)
    require_clerk_of(actor, system)
    _require_open(system)
    reason = body.reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请填写撤回理由", code="withdraw_reason_required")
    if system.instance_id is not None:
        runner.cancel(session, system.instance_id, actor=actor, reason=reason)
    now = clock.now()
    system.status = SystemStatus.withdrawn.value
    system.withdrawn_at = now
    system.withdrawn_reason = reason
    system.updated_at = now
    session.add(system)
    audit.append(session, at=now, actor=actor.username, action="business_system.withdrawn",
                 entity_type="business_system", entity_id=system.id or 0, instance_id=system.instance_id,
                 detail={"name": system.name, "reason": reason})
    session.commit()
    return system


# ---- engine hooks ----------------------------------------------------------------------------------


@hooks.task_validator(PROCESS_KEY, APPROVAL_TASK)
def validate_approval(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                      actor: Actor) -> dict[str, Any]:
    """Check the approval's facts, then the Art. 7 gate: a reviewed catalog lists every item of the system."""
    errors: list[dict[str, str]] = []
    for name, label in (("approval_number", "立项批复文号"), ("approving_body", "审批机关")):
        value = data.get(name)
        if not isinstance(value, str) or len(value.strip()) < 2:
            errors.append({"field": name, "message": f"请填写{label}"})
        else:
            data[name] = value.strip()
    raw = data.get("approval_date")
    try:
        approved_on = date.fromisoformat(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        approved_on = None
    today = clock.now().astimezone(SHANGHAI).date()
    if approved_on is None:
        errors.append({"field": "approval_date", "message": "立项批复日期应为 YYYY-MM-DD 格式的日期"})
    elif approved_on > today:
        errors.append({"field": "approval_date", "message": "立项批复日期不能晚于今天"})
    else:
        data["approval_date"] = approved_on.isoformat()
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), code="approval_invalid",
                           extra={"errors": errors})
    system = service.of_instance(session, instance)
    if system is None:
        return data  # a designer's trial instance: no catalog to check against
    check = service.catalog_check(session, system)
    if not check.passed:
        raise check.refusal()
    data["catalog_version_id"] = check.version.id if check.version is not None else None
    return data


@hooks.after_step(PROCESS_KEY)
def record_outcome(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
                   actor: Actor | str) -> None:
    """Record the project approval on the system when its step is done."""
    system = service.of_instance(session, instance)
    if system is None or instance.status != InstanceStatus.completed.value \
            or system.status != SystemStatus.pending.value:
        return
    now = clock.now()
    system.status = SystemStatus.approved.value
    system.approval_number = variables.get("approval_number")
    system.approval_date = date.fromisoformat(str(variables.get("approval_date")))
    system.approving_body = variables.get("approving_body")
    system.catalog_version_id = variables.get("catalog_version_id")
    system.approved_at = now
    system.approved_by = actor_name(actor)
    system.updated_at = now
    session.add(system)
    audit.append(session, at=now, actor=actor_name(actor), action="business_system.approved",
                 entity_type="business_system", entity_id=system.id or 0, instance_id=instance.id,
                 detail={"approval_number": system.approval_number,
                         "approval_date": system.approval_date.isoformat(),
                         "approving_body": system.approving_body,
                         "catalog_version_id": system.catalog_version_id})
    session.flush()
