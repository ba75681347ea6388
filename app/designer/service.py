"""Queries of the designer's workspace: processes with versions, drafts, submissions, vocabulary.

Every function takes the acting person: only designers and administrators see any of it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.core.config import Settings
from app.core.errors import Forbidden, NotFound
from app.designer.diff import diff as diff_xml
from app.designer.models import (
    DRAFT_STATUS_ZH,
    SUBMISSION_STATUS_ZH,
    DraftStatus,
    ProcessDraft,
    ProcessSubmission,
    SubmissionStatus,
)
from app.designer.validation import CANDIDATE_ROLES, FORM_TYPES, bound_by_process, check, system_bound
from app.engine.models import InstanceStatus, ProcessDefinition, ProcessInstance
from app.org.models import ROLE_ZH, User
from app.org.service import Actor

# Labels of the statutory limits a task may name (extension property `limit`, setting <name>_working_days).
LIMIT_ZH = {
    "share_reply": "共享申请答复",  # Art. 16
    "catalog_update": "目录更新",  # Art. 9
    "dispute_negotiation": "共享争议协商",
    "dispute_statement": "共享争议陈述意见",
}
# Settings named like a limit that are not one a task may carry: the cap an authority may set.
NOT_TASK_LIMITS = {"rectification_max"}


def require_designer(actor: Actor) -> None:
    """Refuse anyone who is neither a process designer nor an administrator."""
    if not actor.has_role("designer", "admin"):
        raise Forbidden("您没有执行此操作所需的角色", code="role_required", extra={"roles": ["designer", "admin"]})


def _users(session: Session, ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User).where(User.id.in_(wanted))).scalars()  # type: ignore[union-attr]
    return {u.id: u for u in rows if u.id is not None}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# ---- drafts -----------------------------------------------------------------------------------


def draft_summary(draft: ProcessDraft, owner: User | None) -> dict[str, Any]:
    """Return a draft as lists show it (no XML)."""
    return {
        "id": draft.id, "title": draft.title, "process_key": draft.process_key,
        "base_version": draft.base_version, "status": draft.status,
        "status_label": DRAFT_STATUS_ZH.get(DraftStatus(draft.status), draft.status),
        "problem_count": len(draft.problems or []), "review_comment": draft.review_comment,
        "owner": owner.username if owner else None, "owner_name": owner.display_name if owner else None,
        "created_at": _iso(draft.created_at), "updated_at": _iso(draft.updated_at),
        "lock_version": draft.lock_version,
    }


def draft_public(session: Session, draft: ProcessDraft) -> dict[str, Any]:
    """Return a draft with its XML, problems of its last save and its system-bound elements."""
    owner = session.get(User, draft.owner_id)
    return {**draft_summary(draft, owner), "xml": draft.bpmn_xml, "problems": list(draft.problems or []),
            "system_bound": system_bound(draft.bpmn_xml.encode("utf-8"))}


def load_draft(session: Session, draft_id: int, actor: Actor) -> ProcessDraft:
    """Return a draft (every designer sees every draft) or raise NotFound."""
    require_designer(actor)
    draft = session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound("草稿不存在", code="draft_not_found")
    return draft


def get_draft(session: Session, draft_id: int, actor: Actor) -> dict[str, Any]:
    """Return a draft as the API shows it."""
    return draft_public(session, load_draft(session, draft_id, actor))


# ---- submissions ------------------------------------------------------------------------------


def submission_summary(sub: ProcessSubmission, users: dict[int, User],
                       deployed_version: int | None = None) -> dict[str, Any]:
    """Return a submission as lists show it (no XML, no diff)."""
    by, reviewer = users.get(sub.submitted_by_id), users.get(sub.reviewed_by_id or 0)
    return {
        "id": sub.id, "draft_id": sub.draft_id, "process_key": sub.process_key,
        "content_hash": sub.content_hash,
        "submitted_by": by.username if by else None, "submitted_by_name": by.display_name if by else None,
        "submitted_at": _iso(sub.submitted_at), "comment": sub.comment, "status": sub.status,
        "status_label": SUBMISSION_STATUS_ZH.get(SubmissionStatus(sub.status), sub.status),
        "reviewed_by": reviewer.username if reviewer else None,
        "reviewed_by_name": reviewer.display_name if reviewer else None,
        "reviewed_at": _iso(sub.reviewed_at), "review_comment": sub.review_comment,
        "deployed_version": deployed_version,
    }


def load_submission(session: Session, submission_id: int, actor: Actor) -> ProcessSubmission:
    """Return a submission or raise NotFound."""
    require_designer(actor)
    sub = session.get(ProcessSubmission, submission_id)
    if sub is None:
        raise NotFound("提交记录不存在", code="submission_not_found")
    return sub


def list_submissions(session: Session, actor: Actor, status: str | None = None) -> list[dict[str, Any]]:
    """List submissions, newest first, optionally of one status."""
    require_designer(actor)
    stmt = select(ProcessSubmission).order_by(ProcessSubmission.id.desc())  # type: ignore[union-attr]
    if status:
        stmt = stmt.where(ProcessSubmission.status == status)
    subs = session.execute(stmt).scalars().all()
    return _summaries(session, subs)


def _summaries(session: Session, subs: Any) -> list[dict[str, Any]]:
    users = _users(session, {s.submitted_by_id for s in subs} | {s.reviewed_by_id for s in subs})
    deployed = {d_id: v for d_id, v in session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version).where(
            ProcessDefinition.id.in_([s.deployed_definition_id for s in subs if s.deployed_definition_id])))
    } if any(s.deployed_definition_id for s in subs) else {}
    return [submission_summary(s, users, deployed.get(s.deployed_definition_id)) for s in subs]


def _version_xml(session: Session, process_key: str, version: int | None = None, *,
                 before: int | None = None) -> tuple[int | None, bytes | None]:
    stmt = select(ProcessDefinition.version, ProcessDefinition.bpmn_xml).where(
        ProcessDefinition.process_key == process_key)
    if version is not None:
        stmt = stmt.where(ProcessDefinition.version == version)
    if before is not None:
        stmt = stmt.where(ProcessDefinition.version < before)
    row = session.execute(stmt.order_by(ProcessDefinition.version.desc()).limit(1)).one_or_none()
    return (row[0], bytes(row[1])) if row else (None, None)


def submission_base(session: Session, sub: ProcessSubmission) -> tuple[int | None, bytes | None, int | None]:
    """Return (base version, its XML, deployed version): what the submission is compared with.

    Pending and returned: the newest deployed version now (what approval would replace). Approved: the
    version before the one it deployed.
    """
    deployed_version = None
    if sub.deployed_definition_id is not None:
        deployed_version = session.execute(select(ProcessDefinition.version).where(
            ProcessDefinition.id == sub.deployed_definition_id)).scalar_one()
        version, xml = _version_xml(session, sub.process_key, before=deployed_version)
    else:
        version, xml = _version_xml(session, sub.process_key)
    return version, xml, deployed_version


def get_submission(session: Session, submission_id: int, actor: Actor, settings: Settings | None = None
                   ) -> dict[str, Any]:
    """Return a submission with its XML, the base XML and the element diff between them.

    With the settings, a pending submission also carries the problems approval would refuse it for now
    (the contract or the roles may have changed since it was submitted).
    """
    sub = load_submission(session, submission_id, actor)
    base_version, base_xml, deployed_version = submission_base(session, sub)
    users = _users(session, {sub.submitted_by_id, sub.reviewed_by_id})
    xml = bytes(sub.bpmn_xml)
    return {**submission_summary(sub, users, deployed_version),
            "xml": xml.decode("utf-8", errors="replace"),
            "base_xml": base_xml.decode("utf-8", errors="replace") if base_xml is not None else None,
            "base_version": base_version, "submitted_base_version": sub.base_version,
            "diff": diff_xml(base_xml, xml), "system_bound": system_bound(xml),
            "problems": check(xml, settings)[0]
            if settings is not None and sub.status == SubmissionStatus.pending.value else []}


# ---- processes --------------------------------------------------------------------------------


def workspace(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every process with its versions (instance counts per version), drafts and pending submissions."""
    require_designer(actor)
    definitions = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_key, ProcessDefinition.name,
               ProcessDefinition.version, ProcessDefinition.content_hash, ProcessDefinition.deployed_by,
               ProcessDefinition.deployed_at, ProcessDefinition.approved_by)
        .order_by(ProcessDefinition.process_key, ProcessDefinition.version)
    ).all()
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"running": 0, "finished": 0})
    for definition_id, status, n in session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_id, ProcessInstance.status)).all():
        key = "running" if status == InstanceStatus.running.value else "finished"
        counts[definition_id][key] += n
    processes: dict[str | None, dict[str, Any]] = {}

    def entry(key: str | None, name: str | None = None) -> dict[str, Any]:
        if key not in processes:
            processes[key] = {"key": key, "name": name or key or "（未命名流程）", "versions": [], "drafts": [],
                              "pending": []}
        return processes[key]

    for d in definitions:
        item = entry(d.process_key, d.name)
        item["name"] = d.name  # the newest version's name
        item["versions"].append({
            "version": d.version, "content_hash": d.content_hash, "deployed_by": d.deployed_by,
            "deployed_at": _iso(d.deployed_at), "approved_by": d.approved_by, **counts[d.id]})
    drafts = session.execute(select(ProcessDraft).order_by(ProcessDraft.updated_at.desc())).scalars().all()
    subs = session.execute(select(ProcessSubmission).where(
        ProcessSubmission.status == SubmissionStatus.pending.value).order_by(ProcessSubmission.id)).scalars().all()
    owners = _users(session, {d.owner_id for d in drafts})
    for draft in drafts:
        entry(draft.process_key, draft.title)["drafts"].append(draft_summary(draft, owners.get(draft.owner_id)))
    for sub, summary in zip(subs, _summaries(session, subs), strict=True):
        entry(sub.process_key)["pending"].append(summary)
    return sorted(processes.values(), key=lambda p: (p["key"] is None, p["key"] or ""))


def version_xml(session: Session, process_key: str, version: int, actor: Actor) -> bytes:
    """Return the BPMN bytes of one deployed version or raise NotFound."""
    require_designer(actor)
    _, xml = _version_xml(session, process_key, version)
    if xml is None:
        raise NotFound(f"流程“{process_key}”没有第 {version} 版", code="version_not_found")
    return xml


def version_diff(session: Session, process_key: str, from_version: int, to_version: int,
                 actor: Actor) -> dict[str, Any]:
    """Compare two deployed versions of a process."""
    old = version_xml(session, process_key, from_version, actor)
    new = version_xml(session, process_key, to_version, actor)
    return diff_xml(old, new)


def vocabulary(settings: Settings) -> dict[str, Any]:
    """Return what the modeler offers: candidate roles, statutory limits, form types, system-bound elements."""
    limits = []
    for name, field in type(settings).model_fields.items():
        if not name.endswith("_working_days") or field.annotation is not int:
            continue
        key = name.removesuffix("_working_days")
        if key in NOT_TASK_LIMITS:
            continue
        days = getattr(settings, name)
        label = LIMIT_ZH.get(key, key)
        limits.append({"name": key, "label": f"{label}（{days}个工作日）", "working_days": days})
    return {
        "roles": [{"id": r.value, "name": ROLE_ZH[r]} for r in CANDIDATE_ROLES],
        "limits": limits,
        "form_types": [{"id": k, "name": v} for k, v in FORM_TYPES.items()],
        "system_bound": bound_by_process(),
    }
