"""Catalog versions (Art. 8, 9, 15): draft, change entries, submit, review rounds, publish, compare.

A department's clerk drafts a new version as a copy of its published catalog, adds, changes and
withdraws entries, and submits it. Process `catalog_catalog_review` then runs review rounds (a
loop subprocess): the data authority of the department's level decides each added, changed or
withdrawn entry; any return sends the version back to the clerk, who revises and resubmits. When
a round approves everything the version is published: its changes are applied to `catalog_entry`
and the resulting catalog is kept as the version's snapshot.

Each public function here is one use case and commits once; the hooks flush only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit import service as audit
from app.catalog import compare, service
from app.catalog.flows import ENTRY_FIELDS, CatalogEntryCreate, check_art15, entry_data
from app.catalog.models import (
    VERSION_STATUS_ZH,
    CatalogEntry,
    CatalogVersion,
    CatalogVersionEntry,
    ChangeKind,
    VersionStatus,
)
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, actor_name
from app.org.models import Department
from app.org.service import Actor

PROCESS_KEY = "catalog_catalog_review"
EDITABLE = (VersionStatus.draft.value, VersionStatus.returned.value)


# ---- guards -------------------------------------------------------------------------------------


def _require_clerk_of(actor: Actor, version: CatalogVersion) -> None:
    if version.department_id != actor.department_id:
        raise Forbidden("只能编制本部门的目录版本", code="catalog_version_forbidden")
    if not actor.has_role("clerk"):
        raise Forbidden("只有本部门经办人可以编制目录", code="clerk_required")


def _require_editable(version: CatalogVersion) -> None:
    if version.status not in EDITABLE:
        label = VERSION_STATUS_ZH[VersionStatus(version.status)]
        raise Conflict(f"第{version.number}版目录{label}，不能修改", code="catalog_version_not_editable",
                       extra={"status": version.status})


def _load_for_edit(session: Session, actor: Actor, version_id: int) -> CatalogVersion:
    version = service.lock_version(session=session, version_id=version_id)
    _require_clerk_of(actor, version)
    _require_editable(version)
    return version


# ---- drafting -----------------------------------------------------------------------------------


def create_draft(session: Session, actor: Actor, note: str | None = None) -> CatalogVersion:
    """Start a new version of the clerk's department catalog as a copy of the published one."""
    if not actor.has_role("clerk"):
        raise Forbidden("只有本部门经办人可以编制目录", code="clerk_required")
    current = service.open_version_of(session=session, department_id=actor.department_id)
    if current is not None:
        raise Conflict(f"本部门已有第{current.number}版目录正在编制或审定中，请在该版本上继续",
                       code="catalog_version_open", extra={"version_id": current.id})
    now = clock.now()
    base = service.latest_published_version(session=session, department_id=actor.department_id)
    version = CatalogVersion(
        department_id=actor.department_id, number=service.next_number(session=session, department_id=actor.department_id),
        status=VersionStatus.draft.value, base_version_id=base.id if base else None,
        note=(note or "").strip()[:1000] or None, created_by_id=actor.id, created_at=now, updated_at=now)
    session.add(version)
    try:
        session.flush()
    except IntegrityError:
        # A colleague started a version at the same moment (unique open version / number).
        session.rollback()
        raise Conflict("本部门刚刚有人新建了目录版本，请刷新后继续", code="catalog_version_open") from None
    published = service.published_of(session=session, department_id=actor.department_id)
    for entry in published:
        data = entry_data(entry)
        session.add(CatalogVersionEntry(version_id=version.id, code=entry.code, change=ChangeKind.unchanged.value,
                                        entry_id=entry.id, data=data, base=data))
    audit.append(session, at=now, actor=actor.username, action="catalog_version.created",
                 entity_type="catalog_version", entity_id=version.id,
                 detail={"department": actor.department_code, "number": version.number,
                         "entries": len(published), "base_version_id": version.base_version_id})
    session.commit()
    return version


def stage_entry(session: Session, version: CatalogVersion, data: CatalogEntryCreate, *,
                row: CatalogVersionEntry | None) -> tuple[CatalogVersionEntry, bool]:
    """Put an entry's new content into a version (flush only); return the row and whether it changed."""
    new = data.model_dump(mode="json")
    if row is None:
        if service.code_reserved(session=session, code=data.code, except_version_id=version.id) is not None:
            raise Conflict(f"目录代码“{data.code}”已被使用", code="entry_code_taken")
        row = CatalogVersionEntry(version_id=version.id, code=data.code, change=ChangeKind.added.value,
                                  data=new, base=None)
        session.add(row)
        return row, True
    changed = row.data != new or row.change == ChangeKind.withdrawn.value
    row.data = new
    if row.base is None:
        row.change = ChangeKind.added.value
    else:
        row.change = ChangeKind.unchanged.value if new == row.base else ChangeKind.changed.value
    if changed:
        # An edited entry needs a fresh decision; the last comment stays visible as history.
        row.decision = None
    session.add(row)
    return row, changed


def _touch(session: Session, version: CatalogVersion) -> None:
    version.updated_at = clock.now()
    session.add(version)


def add_entry(session: Session, actor: Actor, version_id: int, data: CatalogEntryCreate) -> CatalogVersionEntry:
    """Add a new data resource to a version."""
    version = _load_for_edit(session, actor, version_id)
    if service.version_entry(session=session, version_id=version.id, code=data.code) is not None:
        raise Conflict(f"该版本中已有目录代码“{data.code}”，请修改该条目", code="version_entry_exists")
    row, _ = stage_entry(session, version, data, row=None)
    _touch(session, version)
    session.flush()
    audit.append(session, at=clock.now(), actor=actor.username, action="catalog_version.entry_added",
                 entity_type="catalog_version", entity_id=version.id,
                 detail={"code": row.code, "name": data.name, "art15": check_art15(data)})
    session.commit()
    return row


def update_entry(session: Session, actor: Actor, version_id: int, code: str,
                 data: CatalogEntryCreate) -> CatalogVersionEntry:
    """Change an entry of a version (its code stays)."""
    version = _load_for_edit(session, actor, version_id)
    row = service.require_version_entry(session=session, version_id=version.id, code=code)
    if data.code != code:
        raise InvalidInput("目录代码不能修改；如需新代码，请删除（或撤销）该条目后新增", code="entry_code_mismatch")
    row, changed = stage_entry(session, version, data, row=row)
    if changed:
        _touch(session, version)
        session.flush()
        fields = compare.entry_changes(row.base, row.data) if row.base else []
        audit.append(session, at=clock.now(), actor=actor.username, action="catalog_version.entry_changed",
                     entity_type="catalog_version", entity_id=version.id,
                     detail={"code": code, "change": row.change, "fields": [f["field"] for f in fields]})
    session.commit()
    return row


def withdraw_entry(session: Session, actor: Actor, version_id: int, code: str) -> CatalogVersionEntry:
    """Mark a published entry of the version as withdrawn (it leaves the catalog when published)."""
    return _back_to_published(session, actor, version_id, code, ChangeKind.withdrawn,
                              "catalog_version.entry_withdrawn", "新增的条目尚未发布，不能撤销；请直接删除")


def restore_entry(session: Session, actor: Actor, version_id: int, code: str) -> CatalogVersionEntry:
    """Undo a change or withdrawal: the entry goes back to its published content."""
    return _back_to_published(session, actor, version_id, code, ChangeKind.unchanged,
                              "catalog_version.entry_restored", "新增的条目没有已发布的内容可恢复；如不需要请删除")


def _back_to_published(session: Session, actor: Actor, version_id: int, code: str, change: ChangeKind,
                       action: str, unpublished_message: str) -> CatalogVersionEntry:
    """Set a published entry's content back to what is published, marked `change` (withdrawn or unchanged)."""
    version = _load_for_edit(session, actor, version_id)
    row = service.require_version_entry(session=session, version_id=version.id, code=code)
    if row.base is None:
        raise InvalidInput(unpublished_message, code="entry_not_published_yet")
    if row.change != change.value:
        row.change = change.value
        row.data = row.base
        row.decision = None
        session.add(row)
        _touch(session, version)
        audit.append(session, at=clock.now(), actor=actor.username, action=action,
                     entity_type="catalog_version", entity_id=version.id, detail={"code": code})
    session.commit()
    return row


def remove_entry(session: Session, actor: Actor, version_id: int, code: str) -> None:
    """Delete an entry added in this version (published ones are withdrawn instead)."""
    version = _load_for_edit(session, actor, version_id)
    row = service.require_version_entry(session=session, version_id=version.id, code=code)
    if row.base is not None:
        raise InvalidInput("已发布的条目不能删除，请使用“撤销”", code="entry_published_use_withdraw")
    session.delete(row)
    _touch(session, version)
    audit.append(session, at=clock.now(), actor=actor.username, action="catalog_version.entry_removed",
                 entity_type="catalog_version", entity_id=version.id, detail={"code": code})
    session.commit()


def discard(session: Session, runner: Runner, actor: Actor, version_id: int, reason: str = "") -> CatalogVersion:
    """Discard a draft, or a returned version (its review ends); a published catalog is not touched."""
    version = _load_for_edit(session, actor, version_id)
    now = clock.now()
    if version.instance_id is not None:
        runner.cancel(session, version.instance_id, actor=actor, reason=reason or "经办人作废目录版本")
    version.status = VersionStatus.discarded.value
    version.updated_at = now
    session.add(version)
    audit.append(session, at=now, actor=actor.username, action="catalog_version.discarded",
                 entity_type="catalog_version", entity_id=version.id, instance_id=version.instance_id,
                 detail={"number": version.number, "reason": reason})
    session.commit()
    return version


# ---- submission ---------------------------------------------------------------------------------


def submission_problems(session: Session, version: CatalogVersion,
                        rows: list[CatalogVersionEntry]) -> None:
    """Refuse a version that cannot go to review: no change, Art. 15 unmet, code taken, returns unrevised."""
    changes = [r for r in rows if r.change != ChangeKind.unchanged.value]
    if not changes:
        raise InvalidInput("该版本没有新增、变更或撤销任何条目，无需提交审定", code="catalog_version_unchanged")
    unrevised = [r for r in rows if r.decision == "return"]
    if unrevised:
        listed = "；".join(f"{r.code}（退回意见：{r.comment}）" for r in unrevised)
        raise InvalidInput(f"以下退回的条目尚未修改：{listed}", code="returned_entries_unrevised",
                           extra={"entries": [r.code for r in unrevised]})
    errors: list[dict[str, str]] = []
    for row in changes:
        if row.change == ChangeKind.withdrawn.value:
            continue
        # Art. 15: conditional / not-shared must cite a legal basis, conditional must state conditions.
        for problem in check_art15(CatalogEntryCreate.model_validate(row.data)):
            errors.append({"entry": row.code, "field": problem["field"], "code": problem["code"],
                           "message": f"{row.code}“{row.data.get('name')}”：{problem['message']}"})
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors), code=errors[0]["code"],
                           extra={"errors": errors})
    for row in changes:
        if row.change == ChangeKind.added.value and service.code_reserved(
                session=session, code=row.code, except_version_id=version.id) is not None:
            raise Conflict(f"目录代码“{row.code}”已被使用，请修改该条目的代码", code="entry_code_taken",
                           extra={"entry": row.code})


def submit(session: Session, runner: Runner, actor: Actor, version_id: int, note: str | None = None
           ) -> CatalogVersion:
    """Submit a draft for review, or resubmit a returned version; fulfils open update duties (Art. 9)."""
    version = service.lock_version(session=session, version_id=version_id)
    _require_clerk_of(actor, version)
    note = (note or "").strip()[:1000] or None
    if version.status == VersionStatus.draft.value:
        _start_review(session, runner, actor, version, note)
    elif version.status == VersionStatus.returned.value:
        task = _open_task(session, version, "revise")
        if task is None:
            raise Conflict("未找到该版本的修改任务，请刷新后重试", code="revise_task_missing")
        # The task's validator checks the revision and the step hook moves the version on.
        runner.complete_task(session, task.id, {"note": note} if note else {}, actor)
    else:
        label = VERSION_STATUS_ZH[VersionStatus(version.status)]
        raise Conflict(f"第{version.number}版目录{label}，不能提交", code="catalog_version_not_submittable",
                       extra={"status": version.status})
    from app.catalog import updates

    updates.fulfil_open_duties(session, runner, actor, version)
    session.commit()
    return version


def _start_review(session: Session, runner: Runner, actor: Actor, version: CatalogVersion,
                  note: str | None) -> None:
    rows = service.version_entries(session=session, version_id=version.id)
    submission_problems(session, version, rows)
    dept = session.get(Department, version.department_id)
    assert dept is not None
    authority = service.authority_for(session=session, department=dept)
    now = clock.now()
    version.status = VersionStatus.under_review.value
    version.review_round = 1
    version.submitted_at = now
    version.updated_at = now
    version.authority_department_id = authority.id
    if note:
        version.note = note
    session.add(version)
    session.flush()
    counts = _counts(rows)
    submitted = audit.append(session, at=now, actor=actor.username, action="catalog_version.submitted",
                             entity_type="catalog_version", entity_id=version.id,
                             detail={"department": dept.code, "number": version.number,
                                     "authority": authority.code, **counts})
    instance = runner.start(
        session, PROCESS_KEY, actor=actor, department_id=dept.id,
        subject=f"{dept.name}政务数据资源目录第{version.number}版",
        business_ref=f"{service.VERSION_PREFIX}{version.id}",
        variables={"department": dept.code, "authority_department": authority.code, "version_id": version.id,
                   "version_number": version.number, "department_name": dept.name},
    )
    version.instance_id = instance.id
    submitted["instance_id"] = instance.id  # the submission is the instance's first step
    session.add(version)


def _counts(rows: list[CatalogVersionEntry]) -> dict[str, int]:
    counts = {k.value: 0 for k in ChangeKind}
    for r in rows:
        counts[r.change] += 1
    return counts


def _open_task(session: Session, version: CatalogVersion, task_spec: str) -> Task | None:
    if version.instance_id is None:
        return None
    return session.execute(
        select(Task).where(Task.instance_id == version.instance_id, Task.task_spec == task_spec,
                           Task.status == TaskStatus.open.value)
    ).scalars().first()


def open_task(session: Session, version: CatalogVersion) -> Task | None:
    """Return the version's open review or revise task, if any."""
    if version.instance_id is None:
        return None
    return session.execute(
        select(Task).where(Task.instance_id == version.instance_id, Task.status == TaskStatus.open.value)
    ).scalars().first()


# ---- review -------------------------------------------------------------------------------------


def _decisions_list(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        raw = [{"code": code, **(value if isinstance(value, dict) else {"decision": value})}
               for code, value in raw.items()]
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raise InvalidInput("逐条审定结论格式有误：应为 [{\"code\", \"decision\", \"comment\"}] 列表",
                           code="review_decisions_invalid")
    return raw


def check_decisions(session: Session, version: CatalogVersion, raw: Any) -> tuple[list[dict[str, Any]], str]:
    """Check the authority's decisions against the version; return them normalised and the round's outcome."""
    rows = {r.code: r for r in service.version_entries(session=session, version_id=version.id)}
    given = _decisions_list(raw)
    errors: list[dict[str, str]] = []
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for d in given:
        code = str(d.get("code") or "")
        decision = d.get("decision")
        comment = str(d.get("comment") or "").strip()
        row = rows.get(code)
        if row is None:
            errors.append({"entry": code, "message": f"该版本中没有目录条目“{code}”"})
            continue
        if code in seen:
            errors.append({"entry": code, "message": f"条目 {code} 的结论重复"})
            continue
        seen.add(code)
        if row.change == ChangeKind.unchanged.value:
            errors.append({"entry": code, "message": f"条目 {code} 未变更，无需审定"})
            continue
        if decision not in ("approve", "return"):
            errors.append({"entry": code, "message": f"条目 {code} 的结论必须是“通过”（approve）或“退回”（return）"})
            continue
        if decision == "return" and len(comment) < 2:
            errors.append({"entry": code, "message": f"退回条目 {code} 时必须写明意见"})
            continue
        if decision == "approve" and row.change != ChangeKind.withdrawn.value \
                and check_art15(CatalogEntryCreate.model_validate(row.data)):
            errors.append({"entry": code, "message": f"条目 {code} 不符合第十五条，不能通过"})
            continue
        clean.append({"code": code, "decision": decision, "comment": comment[:1000] or None})
    pending = [c for c, r in sorted(rows.items()) if r.change != ChangeKind.unchanged.value
               and r.decision is None and c not in seen]
    if pending:
        errors.append({"entry": "", "message": f"以下条目尚未审定：{'、'.join(pending)}"})
    if errors:
        raise InvalidInput("审定结论有误：" + "；".join(e["message"] for e in errors),
                           code="review_decisions_invalid", extra={"errors": errors, "pending": pending})
    outcome = "return" if any(d["decision"] == "return" for d in clean) else "approve"
    return sorted(clean, key=lambda d: d["code"]), outcome


@hooks.task_validator(PROCESS_KEY, "review")
def validate_review(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                    actor: Actor) -> dict[str, Any]:
    """Check each decision: every pending entry decided, a return carries a comment (Art. 8, 15)."""
    version = service.version_of_instance(session=session, instance_business_ref=instance.business_ref)
    if version is None:
        # A designer's trial instance has no version: any "return" in the answers sends it back.
        given = _decisions_list(data.get("decisions"))
        data["outcome"] = "return" if any(d.get("decision") == "return" for d in given) else "approve"
        return data
    data["decisions"], data["outcome"] = check_decisions(session, version, data.get("decisions"))
    return data


@hooks.task_validator(PROCESS_KEY, "revise")
def validate_revision(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                      actor: Actor) -> dict[str, Any]:
    """Check the revised version before it goes back to the authority."""
    version = service.version_of_instance(session=session, instance_business_ref=instance.business_ref)
    if version is not None:
        submission_problems(session, version, service.version_entries(session=session, version_id=version.id))
    return data


@hooks.after_step(PROCESS_KEY)
def on_step(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
            actor: Actor | str) -> None:
    """Move the version along with its process: returned, resubmitted, published."""
    version = service.version_of_instance(session=session, instance_business_ref=instance.business_ref)
    if version is None:
        return
    open_specs = set(session.execute(
        select(Task.task_spec).where(Task.instance_id == instance.id, Task.status == TaskStatus.open.value)
    ).scalars())
    now = clock.now()
    if version.status == VersionStatus.under_review.value:
        if instance.status == InstanceStatus.completed.value:
            _record_review(session, version, instance, actor)
            _publish(session, version, instance, actor)
        elif "revise" in open_specs:
            returned = _record_review(session, version, instance, actor)
            version.status = VersionStatus.returned.value
            version.updated_at = now
            audit.append(session, at=now, actor=actor_name(actor), action="catalog_version.returned",
                         entity_type="catalog_version", entity_id=version.id, instance_id=instance.id,
                         detail={"round": version.review_round, "entries": returned})
            # Who submitted this round: the last to complete a revision, else who first submitted.
            submitter = session.execute(
                select(Task.completed_by_id).where(Task.instance_id == instance.id, Task.task_spec == "revise",
                                                   Task.status == TaskStatus.completed.value)
                .order_by(Task.id.desc()).limit(1)
            ).scalar() or instance.started_by_id or version.created_by_id
            if submitter:
                from app.notifications.moments import catalog_version_returned

                catalog_version_returned(session, version_id=version.id or 0, version_number=version.number,
                                         round_=version.review_round, submitter_id=submitter,
                                         returned=returned, at=now)
    elif version.status == VersionStatus.returned.value and "review" in open_specs:
        version.status = VersionStatus.under_review.value
        version.review_round += 1
        version.submitted_at = now
        version.updated_at = now
        note = variables.get("note")
        if isinstance(note, str) and note.strip():
            version.note = note.strip()[:1000]
        audit.append(session, at=now, actor=actor_name(actor), action="catalog_version.resubmitted",
                     entity_type="catalog_version", entity_id=version.id, instance_id=instance.id,
                     detail={"round": version.review_round, "note": version.note})
    session.add(version)
    session.flush()


def _record_review(session: Session, version: CatalogVersion, instance: ProcessInstance,
                   actor: Actor | str) -> list[dict[str, Any]]:
    """Write the round's decisions onto the entries; return the returned ones."""
    task = session.execute(
        select(Task).where(Task.instance_id == instance.id, Task.task_spec == "review",
                           Task.status == TaskStatus.completed.value).order_by(Task.id.desc()).limit(1)
    ).scalar_one()
    data = task.data or {}
    decisions = {d["code"]: d for d in data.get("decisions") or []}
    now = clock.now()
    rows = service.version_entries(session=session, version_id=version.id)
    for row in rows:
        d = decisions.get(row.code)
        if d is None:
            continue
        row.decision = d["decision"]
        row.comment = d.get("comment")
        row.decided_round = version.review_round
        row.decided_by = actor_name(actor)
        row.decided_at = now
        session.add(row)
    version.review_comment = data.get("comment") or None
    returned = [{"code": c, "comment": d.get("comment")} for c, d in decisions.items() if d["decision"] == "return"]
    audit.append(session, at=now, actor=actor_name(actor), action="catalog_version.reviewed",
                 entity_type="catalog_version", entity_id=version.id, instance_id=instance.id,
                 detail={"round": version.review_round, "comment": version.review_comment,
                         "approved": [c for c, d in decisions.items() if d["decision"] == "approve"],
                         "returned": returned})
    return returned


def _publish(session: Session, version: CatalogVersion, instance: ProcessInstance, actor: Actor | str) -> None:
    """Apply the approved version to the department's catalog and keep the result as its snapshot."""
    now = clock.now()
    rows = service.version_entries(session=session, version_id=version.id)
    applied: dict[str, list[str]] = {"added": [], "changed": [], "withdrawn": []}
    for row in rows:
        if row.change == ChangeKind.added.value:
            if service.get_by_code(session=session, code=row.code) is not None:
                raise Conflict(f"目录代码“{row.code}”已被其他条目使用，无法发布；请退回该条目修改代码",
                               code="entry_code_taken", extra={"entry": row.code})
            fields = {f: row.data.get(f) for f in ENTRY_FIELDS if f != "items"}
            entry = CatalogEntry(**fields, items=list(row.data.get("items") or []),
                                 department_id=version.department_id, created_by_id=version.created_by_id,
                                 status="published", created_at=now, updated_at=now)
            session.add(entry)
            session.flush()
            row.entry_id = entry.id
            session.add(row)
        elif row.change in (ChangeKind.changed.value, ChangeKind.withdrawn.value):
            entry = session.get(CatalogEntry, row.entry_id)
            assert entry is not None
            if row.change == ChangeKind.changed.value:
                for f in ENTRY_FIELDS:
                    if f not in ("code", "items"):
                        setattr(entry, f, row.data.get(f))
                entry.items = list(row.data.get("items") or [])
                entry.status = "published"
            else:
                entry.status = "withdrawn"
            entry.updated_at = now
            session.add(entry)
        else:
            continue
        applied[row.change].append(row.code)
    session.flush()
    version.snapshot = [entry_data(e) for e in service.published_of(session=session, department_id=version.department_id)]
    version.status = VersionStatus.published.value
    version.published_at = now
    version.published_by = actor_name(actor)
    version.updated_at = now
    session.add(version)
    audit.append(session, at=now, actor=actor_name(actor), action="catalog_version.published",
                 entity_type="catalog_version", entity_id=version.id, instance_id=instance.id,
                 detail={"number": version.number, "round": version.review_round, **applied,
                         "entries": len(version.snapshot)})


def review(session: Session, runner: Runner, actor: Actor, version_id: int, decisions: Any,
           comment: str | None = None) -> CatalogVersion:
    """Complete the version's open review task with the authority's decisions (same as the task inbox)."""
    version = service.get_version(session=session, version_id=version_id)
    if version is None:
        raise NotFound("目录版本不存在", code="catalog_version_not_found")
    if version.status != VersionStatus.under_review.value:
        label = VERSION_STATUS_ZH[VersionStatus(version.status)]
        raise Conflict(f"第{version.number}版目录{label}，当前没有待审定的任务", code="catalog_version_not_under_review")
    task = _open_task(session, version, "review")
    if task is None:
        raise Conflict("未找到该版本的审定任务，请刷新后重试", code="review_task_missing")
    data: dict[str, Any] = {"decisions": decisions}
    if comment and comment.strip():
        data["comment"] = comment.strip()
    runner.complete_task(session, task.id, data, actor)
    session.commit()
    session.refresh(version)
    return version


# ---- reading ------------------------------------------------------------------------------------


def snapshot_of(session: Session, version: CatalogVersion) -> list[dict[str, Any]]:
    """Return the catalog a version stands for: its snapshot once published, else its drafted entries."""
    if version.status == VersionStatus.published.value and version.snapshot is not None:
        return list(version.snapshot)
    rows = service.version_entries(session=session, version_id=version.id)
    return [r.data for r in rows if r.change != ChangeKind.withdrawn.value]


def base_of(session: Session, version: CatalogVersion) -> list[dict[str, Any]]:
    """Return the published catalog the version started from."""
    return [r.base for r in service.version_entries(session=session, version_id=version.id) if r.base is not None]


def changes_of(session: Session, version: CatalogVersion) -> dict[str, Any]:
    """Compare a version with the catalog it started from."""
    return compare.diff(base_of(session, version), snapshot_of(session, version))


def compare_versions(session: Session, before: CatalogVersion, after: CatalogVersion) -> dict[str, Any]:
    """Compare any two versions: entries added, changed field by field, withdrawn."""
    return compare.diff(snapshot_of(session, before), snapshot_of(session, after))


# ---- spreadsheets -------------------------------------------------------------------------------


def import_spreadsheet(session: Session, actor: Actor, version_id: int, content: bytes, filename: str,
                       *, replace: bool = False) -> dict[str, Any]:
    """Import entries from a spreadsheet into a version: all rows or none (every bad row reported).

    Entries in the sheet are added or replace the version's entry of the same code; with `replace`,
    published entries missing from the sheet are withdrawn.
    """
    from app.catalog import spreadsheet

    version = _load_for_edit(session, actor, version_id)
    parsed, warnings = spreadsheet.parse(content, filename)
    rows = {r.code: r for r in service.version_entries(session=session, version_id=version.id)}
    taken = [p for p in parsed if p.data.code not in rows and service.code_reserved(
        session=session, code=p.data.code, except_version_id=version.id) is not None]
    if taken:
        errors = [{"row": p.first_row, "column": "目录代码", "message": f"目录代码“{p.data.code}”已被其他部门或条目使用"}
                  for p in taken]
        raise InvalidInput("表格有误，未导入任何条目：" + "；".join(f"第 {e['row']} 行 {e['column']}：{e['message']}"
                                                           for e in errors),
                           code="spreadsheet_invalid", extra={"errors": errors, "error_count": len(errors)})
    counts = {"added": 0, "changed": 0, "unchanged": 0, "withdrawn": 0}
    for p in parsed:
        row, _ = stage_entry(session, version, p.data, row=rows.get(p.data.code))
        counts[row.change] += 1
    if replace:
        in_sheet = {p.data.code for p in parsed}
        for code, row in rows.items():
            if code in in_sheet:
                continue
            if row.base is None:
                session.delete(row)
            elif row.change != ChangeKind.withdrawn.value:
                row.change = ChangeKind.withdrawn.value
                row.data = row.base
                row.decision = None
                session.add(row)
                counts["withdrawn"] += 1
    _touch(session, version)
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="catalog_version.imported",
                 entity_type="catalog_version", entity_id=version.id,
                 detail={"filename": filename[:200], "entries": len(parsed), "replace": replace, **counts})
    session.commit()
    return {"version_id": version.id, "entries": len(parsed), **counts, "warnings": warnings}
