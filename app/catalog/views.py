"""How catalog versions, their entries and update duties are shown (API and pages share this)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.audit.service import trail_page
from app.core.history_page import PAGE_SIZE
from app.catalog import checks, compare, service, versions
from app.catalog.flows import CatalogEntryCreate, check_art15
from app.catalog.models import (
    CHANGE_ZH,
    DECISION_ZH,
    DUTY_STATUS_ZH,
    TRIGGER_KIND_ZH,
    VERSION_STATUS_ZH,
    CatalogUpdateDuty,
    CatalogUpdateTrigger,
    CatalogVersion,
    CatalogVersionEntry,
    ChangeKind,
    DutyStatus,
    TriggerKind,
    VersionStatus,
)
from app.core.clock import SHANGHAI, clock
from app.engine.runner import may_work
from app.org.models import Department
from app.org.service import Actor


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def row_public(row: CatalogVersionEntry) -> dict[str, Any]:
    """Return one entry of a version with its change, decision and Art. 15 problems."""
    problems: list[dict[str, str]] = []
    if row.change in (ChangeKind.added.value, ChangeKind.changed.value):
        problems = check_art15(CatalogEntryCreate.model_validate(row.data))
    return {
        "code": row.code, "name": row.data.get("name"), "change": row.change,
        "change_label": CHANGE_ZH[ChangeKind(row.change)], "data": row.data, "base": row.base,
        "changed_fields": compare.entry_changes(row.base, row.data)
        if row.change == ChangeKind.changed.value and row.base else [],
        "needs_decision": row.change != ChangeKind.unchanged.value and row.decision is None,
        "decision": row.decision, "decision_label": DECISION_ZH.get(row.decision or ""),
        "comment": row.comment, "decided_round": row.decided_round, "decided_by": row.decided_by,
        "decided_at": _iso(row.decided_at), "problems": problems,
    }


def versions_public(session: Session, rows: list[tuple[CatalogVersion, Department]]) -> list[dict[str, Any]]:
    """Return a page of versions as the API lists them, their reviewing authorities read in one query."""
    authority_ids = {v.authority_department_id for v, _ in rows if v.authority_department_id}
    # Held here while the page is built: the session's identity map keeps objects only while they are
    # referenced, and version_public's session.get then finds each authority without a query.
    authorities = (session.execute(select(Department).where(Department.id.in_(authority_ids))).scalars().all()
                   if authority_ids else [])
    page = [version_public(session, v, d, with_entries=False) for v, d in rows]
    del authorities
    return page


def version_public(session: Session, version: CatalogVersion, dept: Department, *, actor: Actor | None = None,
                   with_entries: bool = True, today: date | None = None) -> dict[str, Any]:
    """Return a version as the API shows it; with entries, the review aids and what the actor may do."""
    authority = session.get(Department, version.authority_department_id) if version.authority_department_id else None
    data: dict[str, Any] = {
        "id": version.id, "department_code": dept.code, "department_name": dept.name, "number": version.number,
        "status": version.status, "status_label": VERSION_STATUS_ZH[VersionStatus(version.status)],
        "review_round": version.review_round, "note": version.note, "review_comment": version.review_comment,
        "authority_department_code": authority.code if authority else None,
        "authority_department_name": authority.name if authority else None,
        "instance_id": version.instance_id, "base_version_id": version.base_version_id,
        "created_at": _iso(version.created_at), "updated_at": _iso(version.updated_at),
        "submitted_at": _iso(version.submitted_at), "published_at": _iso(version.published_at),
        "published_by": version.published_by,
    }
    if not with_entries:
        return data
    rows = service.version_entries(session=session, version_id=version.id)
    counts = {k.value: 0 for k in ChangeKind}
    for r in rows:
        counts[r.change] += 1
    task = versions.open_task(session, version)
    data.update({
        "counts": counts, "entries": [row_public(r) for r in rows],
        "open_task": {"id": task.id, "task_spec": task.task_spec, "name": task.name} if task else None,
        "review_aids": checks.review_aids(session, version, rows,
                                          today or clock.now().astimezone(SHANGHAI).date()),
    })
    if actor is not None:
        own_clerk = actor.department_id == version.department_id and actor.has_role("clerk")
        data["may_edit"] = own_clerk and version.status in versions.EDITABLE
        data["may_submit"] = data["may_edit"]
        data["may_review"] = bool(task and task.task_spec == "review" and may_work(task, actor))
    return data


def version_history(session: Session, version: CatalogVersion, cursor: str | None = None, limit: int = PAGE_SIZE
                    ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of a version's trail (drafting, submissions, reviews, publication) before the
    cursor, and the cursor to earlier ones."""
    return trail_page(session, version.instance_id, "catalog_version", version.id or 0, cursor=cursor,
                      limit=limit)


def trigger_public(trigger: CatalogUpdateTrigger) -> dict[str, Any]:
    """Return an update trigger as the API shows it."""
    return {"id": trigger.id, "kind": trigger.kind, "kind_label": TRIGGER_KIND_ZH[TriggerKind(trigger.kind)],
            "document_number": trigger.document_number, "document_date": trigger.document_date.isoformat(),
            "effective_on": trigger.effective_on.isoformat(),
            "summary": trigger.summary, "recorded_at": _iso(trigger.recorded_at)}


def duty_public(session: Session, duty: CatalogUpdateDuty, trigger: CatalogUpdateTrigger, dept: Department
                ) -> dict[str, Any]:
    """Return an update duty with its trigger, task and deadline."""
    from app.engine.models import Task

    task = None
    if duty.instance_id is not None:
        task = session.execute(select(Task).where(Task.instance_id == duty.instance_id)
                               .order_by(Task.id.desc()).limit(1)).scalar_one_or_none()
    return {
        "id": duty.id, "status": duty.status, "status_label": DUTY_STATUS_ZH[DutyStatus(duty.status)],
        "department_code": dept.code, "department_name": dept.name, "trigger": trigger_public(trigger),
        "instance_id": duty.instance_id, "task_id": task.id if task else None,
        "due_at": _iso(task.due_at) if task else None, "escalated": bool(task and task.escalated_at),
        # Art. 9 counts from the trigger's effective_on: a trigger entered late may be overdue at once.
        "overdue": bool(task and task.status == "open" and task.due_at and task.due_at < clock.now()),
        "version_id": duty.version_id, "created_at": _iso(duty.created_at),
        "fulfilled_at": _iso(duty.fulfilled_at), "fulfilled_by": duty.fulfilled_by,
    }
