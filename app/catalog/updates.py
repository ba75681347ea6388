"""Catalog update duty (Art. 9): a law revised or functions changed → an updated catalog within 10 working days.

The data authority (or an administrator) records the trigger for the departments concerned; each
gets a task “提交更新后的目录” (process `catalog_catalog_update`, setting `catalog_update_working_days`).
The 10 working days count from the day the law was revised or the functions changed (之日起), which
the trigger records as `effective_on`, not from the day it is entered: a trigger entered late gives a
task with fewer days left, or one already overdue, which the next `escalate-overdue` run (every
minute) puts in the supervision queue. Submitting a catalog version fulfils it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.catalog import service
from app.catalog.models import (
    TRIGGER_KIND_ZH,
    CatalogUpdateDuty,
    CatalogUpdateTrigger,
    CatalogVersion,
    DutyStatus,
    TriggerKind,
    VersionStatus,
)
from app.core.clock import SHANGHAI, clock
from app.core.errors import Forbidden, InvalidInput
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, actor_name
from app.org.models import Department, DepartmentKind
from app.org.service import Actor, region_covers

PROCESS_KEY = "catalog_catalog_update"
# Bodies that keep a catalog: departments, and public enterprises taking part by reference (Art. 32).
CATALOG_KEEPERS = (DepartmentKind.department.value, DepartmentKind.public_enterprise.value,
                   DepartmentKind.data_authority.value)


# How far back a revision may be entered: an older date is far more likely a typing slip (2016 for
# 2026) than a duty found a year late, and would open a task overdue by months.
EFFECTIVE_ON_MAX_AGE = timedelta(days=366)


class UpdateTriggerCreate(BaseModel):
    kind: TriggerKind
    document_number: str = Field(min_length=2, max_length=128)
    document_date: date
    effective_on: date = Field(description="法律法规修订或行政管理职能发生变化之日（第九条“之日起”），期限自次日起算")
    summary: str = Field(min_length=2, max_length=2000)
    department_codes: list[str] = Field(min_length=1, max_length=500)

    @field_validator("document_number", "summary")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if len(v) < 2:
            raise ValueError("不能少于 2 个字符")
        return v


def record_trigger(session: Session, runner: Runner, actor: Actor, data: UpdateTriggerCreate
                   ) -> tuple[CatalogUpdateTrigger, list[CatalogUpdateDuty]]:
    """Record a law revision or change of functions and give each department its update task (Art. 9)."""
    if not actor.has_role("authority_reviewer", "admin"):
        raise Forbidden("只有政务数据主管部门审核员或系统管理员可以登记目录更新事由", code="update_trigger_forbidden")
    today = clock.now().astimezone(SHANGHAI).date()
    if data.document_date > today:
        raise InvalidInput("文件日期不能晚于今天", code="document_date_in_future")
    if data.effective_on > today:
        raise InvalidInput("发生日期（法规修订或职能变化之日）不能晚于今天：尚未发生的变化请在发生后登记",
                           code="effective_on_in_future")
    if data.effective_on < today - EFFECTIVE_ON_MAX_AGE:
        raise InvalidInput(f"发生日期不能早于 {(today - EFFECTIVE_ON_MAX_AGE).isoformat()}（一年以内），请核对日期",
                           code="effective_on_too_old")
    codes = list(dict.fromkeys(c.strip() for c in data.department_codes if c.strip()))
    departments = {d.code: d for d in session.execute(
        select(Department).where(Department.code.in_(codes))).scalars()}
    unknown = [c for c in codes if c not in departments]
    if unknown:
        raise InvalidInput(f"部门不存在：{'、'.join(unknown)}", code="department_not_found", extra={"departments": unknown})
    unfit = [d.name for d in departments.values() if not d.is_active or d.kind not in CATALOG_KEEPERS]
    if unfit:
        raise InvalidInput(f"以下单位不编制政务数据资源目录：{'、'.join(unfit)}", code="department_keeps_no_catalog")
    if not actor.has_role("admin"):
        outside = [d.name for d in departments.values()
                   if not region_covers(session=session, ancestor_code=actor.region_code, code=d.region_code)]
        if outside:
            raise Forbidden(f"以下部门不在本主管部门辖区内：{'、'.join(outside)}", code="department_out_of_scope")
    now = clock.now()
    trigger = CatalogUpdateTrigger(kind=data.kind.value, document_number=data.document_number,
                                   document_date=data.document_date, effective_on=data.effective_on,
                                   summary=data.summary,
                                   recorded_by_id=actor.id, recorded_at=now)
    session.add(trigger)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="catalog_update.triggered",
                 entity_type="catalog_update_trigger", entity_id=trigger.id,
                 detail={"kind": trigger.kind, "document_number": trigger.document_number,
                         "document_date": trigger.document_date.isoformat(),
                         "effective_on": trigger.effective_on.isoformat(), "summary": trigger.summary,
                         "departments": codes})
    duties = []
    kind_zh = TRIGGER_KIND_ZH[data.kind]
    for code in codes:
        dept = departments[code]
        duty = CatalogUpdateDuty(trigger_id=trigger.id, department_id=dept.id, status=DutyStatus.open.value,
                                 created_at=now)
        session.add(duty)
        session.flush()
        # The duty's own event opens its instance's history (the trigger's event lists all the departments).
        assigned = audit.append(session, at=now, actor=actor.username, action="catalog_update_duty.assigned",
                                entity_type="catalog_update_duty", entity_id=duty.id,
                                detail={"trigger_id": trigger.id, "department": dept.code, "kind": trigger.kind,
                                        "document_number": trigger.document_number})
        instance = runner.start(
            session, PROCESS_KEY, actor=actor, department_id=dept.id,
            subject=f"{dept.name}更新政务数据资源目录（{kind_zh}：{trigger.document_number}）",
            business_ref=f"{service.DUTY_PREFIX}{duty.id}",
            variables={"department": dept.code, "trigger_id": trigger.id, "kind": trigger.kind,
                       "document_number": trigger.document_number,
                       "effective_on": trigger.effective_on.isoformat()},
        )
        duty.instance_id = instance.id
        assigned["instance_id"] = instance.id
        session.add(duty)
        duties.append(duty)
    session.commit()
    return trigger, duties


def duty_due_at(session: Session, duty: CatalogUpdateDuty) -> datetime | None:
    """Return the deadline of a duty's open task (the same for every duty of one trigger)."""
    if duty.instance_id is None:
        return None
    return session.execute(select(Task.due_at).where(Task.instance_id == duty.instance_id,
                                                     Task.status == TaskStatus.open.value)).scalars().first()


def _fulfilling_version(session: Session, duty: CatalogUpdateDuty, version_id: Any) -> CatalogVersion:
    # A version in review, or one published that was submitted after the duty arose, answers it.
    if version_id is None:
        version = service.open_version_of(session=session, department_id=duty.department_id)
        if version is None or version.status == VersionStatus.draft.value:
            latest = service.latest_published_version(session=session, department_id=duty.department_id)
            version = latest if latest is not None and latest.submitted_at and \
                latest.submitted_at >= duty.created_at else None
    else:
        version = session.get(CatalogVersion, int(version_id))
        if version is not None and version.department_id != duty.department_id:
            raise InvalidInput("只能用本部门的目录版本完成更新任务", code="update_version_foreign")
    ok = version is not None and (
        version.status in (VersionStatus.under_review.value, VersionStatus.returned.value)
        or (version.status == VersionStatus.published.value and version.submitted_at is not None
            and version.submitted_at >= duty.created_at))
    if not ok or version is None:
        raise InvalidInput("请先在“资源目录 › 目录版本”中起草并提交更新后的目录，提交后本任务自动办结",
                           code="update_version_required")
    return version


@hooks.task_validator(PROCESS_KEY, "submit_update")
def validate_update(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                    actor: Actor) -> dict[str, Any]:
    """Accept the task only with a submitted version of the department (Art. 9)."""
    duty = service.duty_of_instance(session=session, instance_business_ref=instance.business_ref)
    if duty is None:
        return data
    data["version_id"] = _fulfilling_version(session, duty, data.get("version_id")).id
    return data


@hooks.after_step(PROCESS_KEY)
def on_step(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
            actor: Actor | str) -> None:
    """Record the duty as fulfilled when its task is done."""
    if instance.status != InstanceStatus.completed.value:
        return
    duty = service.duty_of_instance(session=session, instance_business_ref=instance.business_ref)
    if duty is None or duty.status != DutyStatus.open.value:
        return
    now = clock.now()
    duty.status = DutyStatus.fulfilled.value
    duty.version_id = variables.get("version_id")
    duty.fulfilled_at = now
    duty.fulfilled_by = actor_name(actor)
    session.add(duty)
    audit.append(session, at=now, actor=actor_name(actor), action="catalog_update_duty.fulfilled",
                 entity_type="catalog_update_duty", entity_id=duty.id, instance_id=instance.id,
                 detail={"version_id": duty.version_id, "trigger_id": duty.trigger_id})
    session.flush()


def fulfil_open_duties(session: Session, runner: Runner, actor: Actor, version: CatalogVersion) -> list[int]:
    """Complete the department's open update tasks with a just-submitted version (flush only)."""
    done = []
    for duty in service.open_duties_of(session=session, department_id=version.department_id):
        if duty.instance_id is None:
            continue
        task = session.execute(
            select(Task).where(Task.instance_id == duty.instance_id, Task.status == TaskStatus.open.value)
        ).scalars().first()
        # A task a colleague has claimed stays theirs to complete.
        if task is None or task.assignee_id not in (None, actor.id) or task.role not in actor.roles:
            continue
        runner.complete_task(session, task.id, {"version_id": version.id}, actor)
        done.append(duty.id)
    return done
