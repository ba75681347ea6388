"""How a dispute is shown (API and pages share this)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.attachments import service as attachments
from app.audit import service as audit
from app.catalog.models import CatalogEntry
from app.core.history_page import PAGE_SIZE, decode_cursor
from app.disputes import service
from app.disputes.models import (ACTION_ZH, ESCALATION_ZH, KIND_ZH, OUTCOME_ZH, RECORD_ZH, RESOLUTION_ZH,
                                 RESPONSE_ZH, STANCE_ZH, STATUS_ZH, Dispute, DisputeKind, DisputeRecord,
                                 DisputeStatus, RecordKind)
from app.engine.runner import may_work
from app.org.models import LEVEL_ZH, Department, Level, Region, User
from app.org.service import Actor
from app.sharing.models import ShareGrant
from app.signing import documents as signed_documents
from app.signing.models import DocType
from app.tasks.service import deadline_fields
from app.workdays.calendar import WorkdayCalendar


def status_label(dispute: Dispute) -> str:
    """Return the status as users read it (a decision to share waits for the provider to comply)."""
    if dispute.status == DisputeStatus.decided.value and dispute.outcome == "share":
        return "已评判，待落实"
    return STATUS_ZH[DisputeStatus(dispute.status)]


def dispute_summary(dispute: Dispute, departments: dict[int, Department]) -> dict[str, Any]:
    """Return a dispute as lists show it."""
    return {
        "id": dispute.id, "status": dispute.status, "status_label": status_label(dispute),
        "kind": dispute.kind, "kind_label": KIND_ZH[DisputeKind(dispute.kind)],
        "share_request_id": dispute.share_request_id, "items": dispute.items,
        "requester_department_code": departments[dispute.requester_department_id].code,
        "requester_department_name": departments[dispute.requester_department_id].name,
        "provider_department_code": departments[dispute.provider_department_id].code,
        "provider_department_name": departments[dispute.provider_department_id].name,
        "authority_department_code": departments[dispute.authority_department_id].code,
        "authority_department_name": departments[dispute.authority_department_id].name,
        "negotiation_due_at": dispute.negotiation_due_at.isoformat(),
        "negotiation_rounds": dispute.negotiation_rounds,
        "outcome": dispute.outcome, "outcome_label": OUTCOME_ZH.get(dispute.outcome or ""),
        "created_at": dispute.created_at.isoformat(), "updated_at": dispute.updated_at.isoformat(),
        "closed_at": _iso(dispute.closed_at),
    }


def summaries(session: Session, disputes: list[Dispute]) -> list[dict[str, Any]]:
    """Return several disputes as lists show them (departments loaded once)."""
    ids = {i for d in disputes for i in (d.requester_department_id, d.provider_department_id,
                                           d.authority_department_id)}
    departments = service.departments_by_id(session=session, ids=ids)
    return [dispute_summary(d, departments) for d in disputes]


def dispute_public(session: Session, dispute: Dispute, *, actor: Actor, calendar: WorkdayCalendar,
                   now: datetime, with_history: bool = True, whole_records: bool = False) -> dict[str, Any]:
    """Return a dispute with the latest entries of its file (every entry with `whole_records`), open steps,
    outcome, grant, attachments and the latest lines of its history."""
    assert dispute.id is not None
    departments = service.departments_by_id(session=session, ids={
        dispute.requester_department_id, dispute.provider_department_id, dispute.authority_department_id})
    data = dispute_summary(dispute, departments)
    entry = session.get(CatalogEntry, dispute.entry_id)
    authority = departments[dispute.authority_department_id]
    region = session.get(Region, authority.region_code)
    opener = session.get(User, dispute.opened_by_id)
    grant = session.get(ShareGrant, dispute.grant_id) if dispute.grant_id else None
    data.update({
        "entry_code": entry.code if entry else None, "entry_name": entry.name if entry else None,
        "share_type": entry.share_type if entry else None,
        "authority_level": region.level if region else None,
        "authority_level_label": LEVEL_ZH.get(Level(region.level)) if region else None,
        "opened_by": opener.username if opener else None,
        "opened_by_name": opener.display_name if opener else None,
        "duties": dispute.duties, "need": dispute.need,
        "escalation_reason": dispute.escalation_reason,
        "escalation_label": ESCALATION_ZH.get(dispute.escalation_reason or ""),
        "escalated_at": _iso(dispute.escalated_at),
        "resolution": dispute.resolution, "resolution_label": RESOLUTION_ZH.get(dispute.resolution or ""),
        "outcome_items": dispute.outcome_items, "terms": dispute.terms, "reasons": dispute.reasons,
        "basis": dispute.basis, "resolved_by": dispute.resolved_by,
        "resolved_by_name": _name(session, dispute.resolved_by), "resolved_at": _iso(dispute.resolved_at),
        "compliance_note": dispute.compliance_note, "complied_at": _iso(dispute.complied_at),
        "instance_id": dispute.instance_id,
        "grant": None if grant is None else {
            "id": grant.id, "items": grant.items, "terms": grant.terms, "method": grant.method,
            "valid_from": grant.valid_from.isoformat(), "valid_to": grant.valid_to.isoformat(),
            "basis": grant.basis, "created_at": grant.created_at.isoformat()},
        **records_public(session, dispute, whole=whole_records),
        "open_steps": open_steps(session, dispute, actor=actor, calendar=calendar, now=now),
        **attachments_for(session, dispute, actor),
    })
    # What the forms quote: the position being answered, the question being stated on.
    data["last_position"] = _latest(session, dispute, data["records"], RecordKind.provider_position)
    data["last_statement_request"] = _latest(session, dispute, data["records"], RecordKind.statement_requested)
    # Art. 26: the signed 评判决定书 (number, verification code, algorithm, key), when there is one.
    data["signature"] = signed_documents.block(session, DocType.adjudication, dispute.id) \
        if dispute.resolution == "adjudication" else None
    if with_history:
        data["history"], data["history_next_cursor"] = history_page(session, dispute)
    return data


def history_page(session: Session, dispute: Dispute, cursor: str | None = None, limit: int = PAGE_SIZE
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of the dispute's 流转记录 before the cursor, and the cursor to earlier ones."""
    return audit.trail_page(session, dispute.instance_id, "dispute", dispute.id or 0, cursor=cursor, limit=limit)


def records_public(session: Session, dispute: Dispute, cursor: str | None = None, limit: int = PAGE_SIZE,
                   *, whole: bool = False) -> dict[str, Any]:
    """Return the dispute's file with Chinese labels: the latest entries before the cursor, oldest first
    (`records`) and the cursor to the earlier ones (`records_next_cursor`); `whole` gives every entry (the
    printed decision is a document)."""
    if whole:
        rows, next_cursor = service.records(session=session, dispute_id=dispute.id or 0), None
    else:
        rows, next_cursor = service.records_page(session=session, dispute_id=dispute.id or 0, cursor=cursor,
                                                 limit=limit)
    return {"records": record_lines(session, rows), "records_next_cursor": next_cursor}


def record_lines(session: Session, rows: list[DisputeRecord]) -> list[dict[str, Any]]:
    """Return entries of a dispute's file as the page and the API show them."""
    departments = service.departments_by_id(session=session, ids={r.department_id for r in rows
                                                                  if r.department_id is not None})
    from app.audit.service import actor_names

    names = actor_names(session, {r.actor for r in rows if r.actor})  # people by name, never username
    out = []
    for r in rows:
        detail = dict(r.detail or {})
        label = _detail_label(r.kind, detail)
        dept = departments.get(r.department_id) if r.department_id is not None else None
        out.append({"id": r.id, "kind": r.kind, "kind_label": RECORD_ZH[RecordKind(r.kind)], "round": r.round,
                    "department_name": dept.name if dept else None, "actor": r.actor,
                    "actor_name": names.get(r.actor, r.actor) if r.actor else None, "at": r.at.isoformat(),
                    "label": label, "detail": detail})
    return out


def _latest(session: Session, dispute: Dispute, shown: list[dict[str, Any]], kind: RecordKind
            ) -> dict[str, Any] | None:
    """Return the latest entry of a kind: from the entries shown, else read (it may be older than them)."""
    for line in reversed(shown):
        if line["kind"] == kind.value:
            return line
    row = service.latest_record(session=session, dispute_id=dispute.id or 0, kind=kind.value)
    return record_lines(session, [row])[0] if row is not None else None


def _detail_label(kind: str, detail: dict[str, Any]) -> str | None:
    if kind == RecordKind.provider_position:
        return STANCE_ZH.get(detail.get("stance") or "")
    if kind == RecordKind.requester_position:
        return RESPONSE_ZH.get(detail.get("response") or "")
    if kind == RecordKind.statement_requested:
        return ACTION_ZH.get(detail.get("action") or "")
    if kind == RecordKind.escalated:
        return ESCALATION_ZH.get(detail.get("reason") or "")
    if kind in (RecordKind.settled, RecordKind.decided):
        return OUTCOME_ZH.get(detail.get("outcome") or detail.get("decision") or "")
    return None


def open_steps(session: Session, dispute: Dispute, *, actor: Actor, calendar: WorkdayCalendar,
               now: datetime) -> list[dict[str, Any]]:
    """Return the steps waiting now: who holds each, its deadline, and whether this person may work it."""
    tasks = service.open_tasks(session=session, dispute=dispute)
    departments = service.departments_by_id(session=session, ids={t.department_id for t in tasks
                                                                  if t.department_id is not None})
    steps = []
    for t in tasks:
        dept = departments.get(t.department_id) if t.department_id is not None else None
        steps.append({"task_id": t.id, "task_spec": t.task_spec, "name": t.name,
                      "department_code": dept.code if dept else None,
                      "department_name": dept.name if dept else None, "role": t.role,
                      "due_at": _iso(t.due_at), "due_provisional": t.due_provisional,
                      "may_work": may_work(t, actor), **deadline_fields(t, calendar, now)})
    return steps


def attachments_public(session: Session, dispute: Dispute, cursor: str | None = None, limit: int = PAGE_SIZE
                       ) -> dict[str, Any]:
    """Return the dispute's attachments with the uploading department and person: the latest `limit` before
    the cursor, oldest first (`attachments`), and the cursor to the earlier ones (`attachments_next_cursor`).
    Only for the parties (the caller checks)."""
    rows, next_cursor = attachments.page_for(session, "dispute", dispute.id or 0, cursor, limit)
    return {"attachments": attachment_lines(session, rows), "attachments_next_cursor": next_cursor}


def attachments_for(session: Session, dispute: Dispute, actor: Actor, cursor: str | None = None,
                    limit: int = PAGE_SIZE) -> dict[str, Any]:
    """`attachments_public` for a party; none for anyone else who may read the dispute (a forged cursor is
    refused all the same)."""
    if service.is_party(dispute, actor):
        return attachments_public(session, dispute, cursor, limit)
    decode_cursor(cursor, attachments.PAGE_CURSOR)
    return {"attachments": [], "attachments_next_cursor": None}


def record_files(session: Session, dispute: Dispute, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return, by id (text), the attachments the given entries of the file cite (statements' materials)."""
    ids = {int(i) for r in records for i in (r["detail"].get("attachment_ids") or []) if str(i).isdigit()}
    if not ids:
        return {}
    rows = attachments.of_owner(session, "dispute", dispute.id or 0, ids=ids)
    return {str(a["id"]): a for a in attachment_lines(session, rows)}


def department_attachments(session: Session, dispute: Dispute, department_id: int) -> list[dict[str, Any]]:
    """Return the attachments a department uploaded to the dispute (what its statements may cite)."""
    rows = attachments.of_owner(session, "dispute", dispute.id or 0, department_id=department_id)
    return attachment_lines(session, rows)


def attachment_lines(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """Return attachments of a dispute as the page and the API show them, with department and uploader."""
    departments = service.departments_by_id(session=session, ids={a.department_id for a in rows})
    users = {u.id: u for u in session.execute(
        select(User).where(User.id.in_({a.uploaded_by_id for a in rows}))).scalars()} if rows else {}
    return [{**attachments.public(a), "department_name": departments[a.department_id].name,
             "uploaded_by": users[a.uploaded_by_id].display_name if a.uploaded_by_id in users else None}
            for a in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _name(session: Session, username: str | None) -> str | None:
    """Return the display name of a username a record keeps (系统 for the scheduler)."""
    from app.audit.service import actor_names

    return actor_names(session, {username}).get(username, username) if username else None
