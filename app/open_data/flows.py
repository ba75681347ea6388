"""Open lists (Art. 20–21): draft from the department's own catalog, submit, review, publish (one commit each)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit import service as audit
from app.catalog.models import UPDATE_CYCLES, CatalogEntry
from app.core.clock import SHANGHAI, clock
from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, actor_name
from app.open_data import service
from app.open_data.models import (STATUS_ZH, OpenList, OpenListItem, OpenListReview, OpenListStatus,
                                  OpenType)
from app.org.models import Department, User
from app.org.service import Actor

PROCESS_KEY = "open_data_open_list_review"
FIRST_YEAR = 2020
MAX_ITEM_COMMENT = 1000


def _strip(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


class OpenListCreate(BaseModel):
    year: int
    note: str | None = Field(default=None, max_length=2000)

    _clean = field_validator("note", mode="before")(_strip)


class OpenListItemFields(BaseModel):
    """The attributes Art. 21 asks of each item; blanks default from the catalog entry."""

    data_domain: str = Field(min_length=1, max_length=64)
    summary: str | None = Field(default=None, max_length=2000)
    data_items: list[str] | None = Field(default=None, max_length=500)
    data_format: str | None = Field(default=None, max_length=64)
    open_type: OpenType
    open_conditions: str | None = Field(default=None, max_length=2000)
    basis: str | None = Field(default=None, max_length=1000)
    update_frequency: str | None = None

    _clean = field_validator("data_domain", "summary", "data_format", "open_conditions", "basis",
                             "update_frequency", mode="before")(_strip)

    @field_validator("data_items")
    @classmethod
    def _items(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        names = [n.strip() for n in v if n and n.strip()]
        if not names:
            raise ValueError("至少选择一个数据项")
        if len(set(names)) != len(names):
            raise ValueError("数据项有重复")
        return names

    @field_validator("update_frequency")
    @classmethod
    def _frequency(cls, v: str | None) -> str | None:
        if v is not None and v not in UPDATE_CYCLES:
            raise ValueError(f"更新频度必须是以下之一：{'、'.join(UPDATE_CYCLES)}")
        return v


class OpenListItemCreate(OpenListItemFields):
    entry_code: str = Field(min_length=1, max_length=64)

    _clean_code = field_validator("entry_code", mode="before")(_strip)


class OpenListSubmit(BaseModel):
    note: str | None = Field(default=None, max_length=2000)

    _clean = field_validator("note", mode="before")(_strip)


class OpenListReviewBody(BaseModel):
    decision: Literal["approve", "return"]
    comment: str | None = Field(default=None, max_length=2000)
    item_comments: dict[str, str] = Field(default_factory=dict, max_length=500)

    _clean = field_validator("comment", mode="before")(_strip)


# ---- rules -------------------------------------------------------------------------------------


def check_open_type(data: OpenListItemFields) -> list[dict[str, str]]:
    """Return the Art. 20–21 problems of an item: conditions and basis where its open type needs them."""
    problems: list[dict[str, str]] = []
    if data.open_type == OpenType.conditional and not data.open_conditions:
        problems.append({"field": "open_conditions", "code": "open_conditions_required",
                         "message": "列为有条件开放的数据必须写明开放条件（第二十一条）"})
    if data.open_type in (OpenType.conditional, OpenType.not_open) and not data.basis:
        kind = "有条件开放" if data.open_type == OpenType.conditional else "不予开放"
        problems.append({"field": "basis", "code": "open_basis_required",
                         "message": f"列为{kind}的数据必须注明法律法规依据，该目录及其依据将向社会公布（第二十条）"})
    return problems


def _item_values(entry: CatalogEntry, data: OpenListItemFields) -> dict[str, Any]:
    """Return the stored values of an item, checked against its catalog entry."""
    problems = check_open_type(data)
    if problems:
        raise InvalidInput("；".join(p["message"] for p in problems), code=problems[0]["code"],
                           extra={"errors": problems})
    names = [i["name"] for i in entry.items]
    chosen = data.data_items if data.data_items is not None else names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise InvalidInput(f"数据项不属于目录条目“{entry.name}”：{'、'.join(unknown)}", code="items_not_in_entry",
                           extra={"items": unknown, "entry_code": entry.code})
    conditional = data.open_type == OpenType.conditional
    return {
        "entry_id": entry.id, "entry_code": entry.code, "entry_name": entry.name,
        "data_domain": data.data_domain, "summary": data.summary or entry.summary,
        # The catalog's order of items reads better than the order they were ticked in.
        "data_items": [n for n in names if n in chosen],
        "data_format": data.data_format or entry.format, "open_type": data.open_type.value,
        # Conditions belong to conditional items only; a basis to the two restricted kinds (Art. 20).
        "open_conditions": data.open_conditions if conditional else None,
        "basis": data.basis if data.open_type != OpenType.unconditional else None,
        "update_frequency": data.update_frequency or entry.update_cycle,
    }


def check_ready(session: Session, open_list: OpenList) -> list[OpenListItem]:
    """Check a list can go to review: not empty, every item still the department's own published data."""
    assert open_list.id is not None
    items = service.items_of(session=session, open_list_id=open_list.id)
    if not items:
        raise InvalidInput("开放清单至少应列入一项数据，才能提交审查", code="open_list_empty")
    problems: list[dict[str, str]] = []
    for item in items:
        try:
            entry = service.own_published_entry(session=session, department_id=open_list.department_id,
                                                entry_code=item.entry_code)
        except DomainError as exc:
            problems.append({"field": item.entry_code, "code": exc.code, "message": exc.message_zh})
            continue
        names = {i["name"] for i in entry.items}
        gone = [n for n in item.data_items if n not in names]
        if gone:
            problems.append({"field": item.entry_code, "code": "items_not_in_entry",
                             "message": f"“{entry.name}”的目录中已没有数据项：{'、'.join(gone)}"})
    if problems:
        raise InvalidInput("开放清单中有不能公布的条目：" + "；".join(p["message"] for p in problems),
                           code=problems[0]["code"], extra={"errors": problems})
    return items


def require_clerk_of(actor: Actor, open_list: OpenList) -> None:
    """Refuse anyone but a clerk of the department that owns the list."""
    if actor.department_id != open_list.department_id:
        raise Forbidden("只有清单所属部门的经办人可以修改或提交该开放清单", code="open_list_not_yours")
    if not actor.has_role("clerk"):
        raise Forbidden("只有本部门经办人可以编制开放清单", code="clerk_required")


def _load_editable(session: Session, actor: Actor, open_list_id: int) -> OpenList:
    open_list = service.get_for_update(session=session, open_list_id=open_list_id)
    require_clerk_of(actor, open_list)
    if not service.editable(open_list):
        raise Conflict(f"开放清单{STATUS_ZH[OpenListStatus(open_list.status)]}，不能修改",
                       code="open_list_not_editable", extra={"status": open_list.status})
    return open_list


def _touch(session: Session, open_list: OpenList) -> None:
    open_list.updated_at = clock.now()
    session.add(open_list)


# ---- drafting ----------------------------------------------------------------------------------


def create_list(session: Session, actor: Actor, data: OpenListCreate) -> OpenList:
    """Start the department's open list of a year; over a published one it is a revised version."""
    if not actor.has_role("clerk"):
        raise Forbidden("只有本部门经办人可以编制开放清单", code="clerk_required")
    now = clock.now()
    this_year = now.astimezone(SHANGHAI).year
    if not FIRST_YEAR <= data.year <= this_year + 1:
        raise InvalidInput(f"清单年度应在 {FIRST_YEAR}–{this_year + 1} 年之间", code="year_out_of_range")
    current = service.in_progress(session=session, department_id=actor.department_id, year=data.year)
    if current is not None:
        raise Conflict(f"本部门{data.year}年度开放清单第{current.version}版正在编制或审查中，请在该版本上继续",
                       code="open_list_in_progress", extra={"open_list_id": current.id})
    public = service.published(session=session, department_id=actor.department_id, year=data.year)
    open_list = OpenList(
        department_id=actor.department_id, year=data.year,
        version=service.next_version(session=session, department_id=actor.department_id, year=data.year),
        status=OpenListStatus.draft.value, revises_id=public.id if public else None, note=data.note,
        created_by_id=actor.id, created_at=now, updated_at=now)
    session.add(open_list)
    try:
        session.flush()
    except IntegrityError:
        # Another clerk of the department started the same version at the same moment.
        session.rollback()
        raise Conflict("本部门该年度的开放清单刚被他人创建，请刷新后继续", code="open_list_in_progress") from None
    copied = 0
    if public is not None:
        # A revision starts from what is published; the published version stays until this one replaces it.
        assert public.id is not None
        for item in service.items_of(session=session, open_list_id=public.id):
            values = item.model_dump(exclude={"id", "open_list_id", "created_at", "updated_at"})
            session.add(OpenListItem(**values, open_list_id=open_list.id, created_at=now, updated_at=now))
            copied += 1
        session.flush()
    audit.append(session, at=now, actor=actor.username, action="open_list.created", entity_type="open_list",
                 entity_id=open_list.id or 0,
                 detail={"department": actor.department_code, "year": open_list.year,
                         "version": open_list.version, "revises": open_list.revises_id, "items_copied": copied})
    session.commit()
    return open_list


def add_item(session: Session, actor: Actor, open_list_id: int, data: OpenListItemCreate) -> OpenListItem:
    """List one of the department's own published catalog entries (Art. 21)."""
    open_list = _load_editable(session, actor, open_list_id)
    entry = service.own_published_entry(session=session, department_id=open_list.department_id,
                                        entry_code=data.entry_code)
    if service.item_by_code(session=session, open_list_id=open_list_id, entry_code=entry.code) is not None:
        raise Conflict(f"“{entry.name}”已在清单中，请修改该条目", code="entry_already_listed",
                       extra={"entry_code": entry.code})
    values = _item_values(entry, data)
    position = session.execute(
        select(func.max(OpenListItem.position)).where(OpenListItem.open_list_id == open_list_id)).scalar()
    now = clock.now()
    item = OpenListItem(**values, open_list_id=open_list_id, position=int(position or 0) + 1,
                        created_at=now, updated_at=now)
    session.add(item)
    _touch(session, open_list)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="open_list.item_added", entity_type="open_list",
                 entity_id=open_list_id, detail=_item_detail(item))
    session.commit()
    return item


def update_item(session: Session, actor: Actor, open_list_id: int, entry_code: str,
                data: OpenListItemFields) -> OpenListItem:
    """Change an item's attributes."""
    open_list = _load_editable(session, actor, open_list_id)
    item = require_item(session, open_list_id, entry_code)
    entry = service.own_published_entry(session=session, department_id=open_list.department_id,
                                        entry_code=item.entry_code)
    values = _item_values(entry, data)
    now = clock.now()
    for key, value in values.items():
        setattr(item, key, value)
    item.updated_at = now
    session.add(item)
    _touch(session, open_list)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="open_list.item_updated", entity_type="open_list",
                 entity_id=open_list_id, detail=_item_detail(item))
    session.commit()
    return item


def remove_item(session: Session, actor: Actor, open_list_id: int, entry_code: str) -> None:
    """Take an item off the list."""
    open_list = _load_editable(session, actor, open_list_id)
    item = require_item(session, open_list_id, entry_code)
    session.delete(item)
    _touch(session, open_list)
    session.flush()
    audit.append(session, at=clock.now(), actor=actor.username, action="open_list.item_removed",
                 entity_type="open_list", entity_id=open_list_id,
                 detail={"entry_code": item.entry_code, "entry_name": item.entry_name})
    session.commit()


def discard(session: Session, actor: Actor, open_list_id: int) -> OpenList:
    """Void a draft that was never submitted; it is kept, marked void, and frees the year for a new draft."""
    open_list = _load_editable(session, actor, open_list_id)
    if open_list.status != OpenListStatus.draft.value or open_list.instance_id is not None:
        raise Conflict("已提交过审查的开放清单不能作废", code="open_list_not_draft")
    now = clock.now()
    open_list.status = OpenListStatus.discarded.value
    open_list.updated_at = now
    session.add(open_list)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="open_list.discarded",
                 entity_type="open_list", entity_id=open_list_id,
                 detail={"year": open_list.year, "version": open_list.version})
    session.commit()
    return open_list


def require_item(session: Session, open_list_id: int, entry_code: str) -> OpenListItem:
    """Return the item listing an entry, or raise NotFound."""
    item = service.item_by_code(session=session, open_list_id=open_list_id, entry_code=entry_code)
    if item is None:
        raise NotFound(f"清单中没有目录条目“{entry_code}”", code="open_list_item_not_found")
    return item


def _item_detail(item: OpenListItem) -> dict[str, Any]:
    return {"entry_code": item.entry_code, "entry_name": item.entry_name, "open_type": item.open_type,
            "data_items": item.data_items, "open_conditions": item.open_conditions, "basis": item.basis}


# ---- submitting and reviewing ------------------------------------------------------------------


def submit(session: Session, runner: Runner, actor: Actor, open_list_id: int, data: OpenListSubmit) -> OpenList:
    """Send a draft to the data authority for review, or resubmit a returned list after revision."""
    open_list = service.require(session=session, open_list_id=open_list_id)
    require_clerk_of(actor, open_list)
    if open_list.status == OpenListStatus.returned.value:
        task = service.open_task(session=session, open_list=open_list, task_spec="revise")
        if task is None:
            raise Conflict("该清单没有待重新提交的环节，请刷新", code="open_list_not_returned")
        # The runner checks the clerk may work the task; the revise validator re-checks the items.
        runner.complete_task(session, task.id or 0, {"note": data.note} if data.note else {}, actor)
        session.commit()
        session.refresh(open_list)
        return open_list
    open_list = _load_editable(session, actor, open_list_id)
    items = check_ready(session, open_list)
    department = session.get(Department, open_list.department_id)
    assert department is not None
    authority = service.authority_for(session=session, department=department)
    if authority is None:
        raise Conflict("未找到本地区的政务数据主管部门，无法提交审查，请联系管理员", code="data_authority_missing")
    now = clock.now()
    open_list.status = OpenListStatus.under_review.value
    open_list.reviewer_department_id = authority.id
    open_list.submitted_at = now
    open_list.updated_at = now
    if data.note:
        open_list.note = data.note
    session.add(open_list)
    session.flush()
    submitted = audit.append(session, at=now, actor=actor.username, action="open_list.submitted",
                             entity_type="open_list", entity_id=open_list_id,
                             detail={"year": open_list.year, "version": open_list.version,
                                     "items": len(items), "authority": authority.code, "note": data.note})
    instance = runner.start(
        session, PROCESS_KEY, actor=actor, department_id=open_list.department_id,
        subject=f"{department.name}{open_list.year}年度政务数据开放清单（第{open_list.version}版）",
        business_ref=f"{service.BUSINESS_PREFIX}{open_list_id}",
        variables={"open_list_id": open_list_id, "year": open_list.year, "version": open_list.version,
                   "owner_department": department.code, "authority_department": authority.code,
                   "review_rounds": 0},
    )
    open_list.instance_id = instance.id
    submitted["instance_id"] = instance.id  # the submission is the instance's first step
    session.add(open_list)
    session.commit()
    return open_list


def review(session: Session, runner: Runner, actor: Actor, open_list_id: int, data: OpenListReviewBody) -> OpenList:
    """Record the data authority's review (审查): publish the list, or return it with comments."""
    open_list = service.get_visible(session=session, open_list_id=open_list_id, actor=actor)
    task = service.open_task(session=session, open_list=open_list, task_spec="review")
    if task is None:
        raise Conflict(f"开放清单{STATUS_ZH[OpenListStatus(open_list.status)]}，当前没有待审查的环节",
                       code="open_list_not_under_review", extra={"status": open_list.status})
    form: dict[str, Any] = {"decision": data.decision, "item_comments": data.item_comments}
    if data.comment:
        form["comment"] = data.comment
    runner.complete_task(session, task.id or 0, form, actor)
    session.commit()
    session.refresh(open_list)
    return open_list


@hooks.task_validator(PROCESS_KEY, "review")
def validate_review(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                    actor: Actor) -> dict[str, Any]:
    """Check a review: comments name items of the list; a return says why; an approval publishes sound items."""
    open_list = service.by_instance(session=session, instance=instance)
    if open_list is None:
        return data  # a designer's trial instance: nothing to check against
    assert open_list.id is not None
    codes = {i.entry_code for i in service.items_of(session=session, open_list_id=open_list.id)}
    raw = data.get("item_comments") or {}
    errors: list[dict[str, str]] = []
    comments: dict[str, str] = {}
    if not isinstance(raw, dict):
        errors.append({"field": "item_comments", "message": "逐项意见必须是“目录代码 → 意见”的对象"})
    else:
        for code, text in raw.items():
            if code not in codes:
                errors.append({"field": "item_comments", "message": f"清单中没有目录条目“{code}”"})
            elif not isinstance(text, str):
                errors.append({"field": "item_comments", "message": f"对“{code}”的意见必须是文本"})
            elif len(text.strip()) > MAX_ITEM_COMMENT:
                errors.append({"field": "item_comments",
                               "message": f"对“{code}”的意见不能超过 {MAX_ITEM_COMMENT} 个字符"})
            elif text.strip():
                comments[code] = text.strip()
    if not errors and data.get("decision") == "return" and not data.get("comment") and not comments:
        errors.append({"field": "comment", "message": "退回修改时必须填写审查意见（总体意见或逐项意见）"})
    if errors:
        code = "review_comment_required" if errors[0]["field"] == "comment" else "item_comments_invalid"
        raise InvalidInput("；".join(e["message"] for e in errors), code=code, extra={"errors": errors})
    if data.get("decision") == "approve":
        check_ready(session, open_list)
    data["item_comments"] = comments
    return data


@hooks.task_validator(PROCESS_KEY, "revise")
def validate_resubmission(*, session: Session, instance: ProcessInstance, task: Task, data: dict[str, Any],
                          actor: Actor) -> dict[str, Any]:
    """Check the revised list can go back to review."""
    open_list = service.by_instance(session=session, instance=instance)
    if open_list is not None:
        check_ready(session, open_list)
    return data


@hooks.after_step(PROCESS_KEY)
def record_outcome(*, session: Session, instance: ProcessInstance, variables: dict[str, Any],
                   actor: Actor | str) -> None:
    """Keep the list in step with its process: each review round recorded, returned, resubmitted, published."""
    open_list = service.by_instance(session=session, instance=instance)
    if open_list is None:
        return
    assert open_list.id is not None
    now = clock.now()
    last_review = _record_reviews(session, open_list, instance)
    open_specs = set(session.execute(
        select(Task.task_spec).where(Task.instance_id == instance.id, Task.status == TaskStatus.open.value)
    ).scalars().all())
    if instance.status == InstanceStatus.completed.value and variables.get("outcome") == "published":
        if open_list.status != OpenListStatus.published.value:
            _publish(session, open_list, actor, last_review, now)
    elif "revise" in open_specs and open_list.status == OpenListStatus.under_review.value:
        open_list.status = OpenListStatus.returned.value
        open_list.updated_at = now
        audit.append(session, at=now, actor=actor_name(actor), action="open_list.returned",
                     entity_type="open_list", entity_id=open_list.id, instance_id=instance.id,
                     detail={"round": open_list.review_rounds,
                             "comment": last_review.comment if last_review else None,
                             "item_comments": last_review.item_comments if last_review else {}})
        from app.notifications.moments import open_list_returned

        # Who submitted this round: the last to complete a revision, else who first submitted.
        submitter = session.execute(
            select(Task.completed_by_id).where(Task.instance_id == instance.id, Task.task_spec == "revise",
                                               Task.status == TaskStatus.completed.value)
            .order_by(Task.id.desc()).limit(1)
        ).scalar() or instance.started_by_id or open_list.created_by_id
        open_list_returned(session, open_list_id=open_list.id, year=open_list.year, version=open_list.version,
                           round_=open_list.review_rounds, submitter_id=submitter,
                           comment=last_review.comment if last_review else None, at=now)
    elif "review" in open_specs and open_list.status == OpenListStatus.returned.value:
        # The note of this resubmission, not a stale process variable from an earlier round.
        revised = session.execute(
            select(Task.data).where(Task.instance_id == instance.id, Task.task_spec == "revise",
                                    Task.status == TaskStatus.completed.value)
            .order_by(Task.completed_at.desc(), Task.id.desc()).limit(1)
        ).scalar_one_or_none()
        open_list.status = OpenListStatus.under_review.value
        open_list.submitted_at = now
        open_list.updated_at = now
        audit.append(session, at=now, actor=actor_name(actor), action="open_list.resubmitted",
                     entity_type="open_list", entity_id=open_list.id, instance_id=instance.id,
                     detail={"round": open_list.review_rounds + 1, "note": (revised or {}).get("note")})
    session.add(open_list)
    session.flush()


def _record_reviews(session: Session, open_list: OpenList, instance: ProcessInstance) -> OpenListReview | None:
    """Write a review row for each review task finished since the last step; return the newest."""
    recorded = select(OpenListReview.task_id).where(OpenListReview.open_list_id == open_list.id)
    done = session.execute(
        select(Task).where(Task.instance_id == instance.id, Task.task_spec == "review",
                           Task.status == TaskStatus.completed.value, Task.id.not_in(recorded))
        .order_by(Task.completed_at, Task.id)
    ).scalars().all()
    newest: OpenListReview | None = None
    for task in done:
        data = task.data or {}
        reviewer = session.get(User, task.completed_by_id) if task.completed_by_id else None
        open_list.review_rounds += 1
        newest = OpenListReview(
            open_list_id=open_list.id or 0, round=open_list.review_rounds, task_id=task.id or 0,
            decision=str(data.get("decision")), comment=data.get("comment") or None,
            item_comments=dict(data.get("item_comments") or {}),
            reviewer=reviewer.username if reviewer else "system",
            reviewer_department_id=task.department_id or open_list.reviewer_department_id or 0,
            decided_at=task.completed_at or clock.now())
        session.add(newest)
    if newest is not None:
        session.flush()
    return newest


def _publish(session: Session, open_list: OpenList, actor: Actor | str, last_review: OpenListReview | None,
             now: Any) -> None:
    """Publish the list (Art. 21: after review, through the open-data platform); replace the older version."""
    previous = service.published(session=session, department_id=open_list.department_id, year=open_list.year)
    if previous is not None and previous.id != open_list.id:
        previous.status = OpenListStatus.superseded.value
        previous.superseded_at = now
        previous.updated_at = now
        session.add(previous)
        session.flush()
        audit.append(session, at=now, actor=actor_name(actor), action="open_list.superseded",
                     entity_type="open_list", entity_id=previous.id or 0,
                     detail={"by": open_list.id, "version": open_list.version})
    open_list.status = OpenListStatus.published.value
    open_list.published_at = now
    open_list.published_by = actor_name(actor)
    open_list.updated_at = now
    items = service.items_of(session=session, open_list_id=open_list.id or 0)
    audit.append(session, at=now, actor=actor_name(actor), action="open_list.published", entity_type="open_list",
                 entity_id=open_list.id or 0, instance_id=open_list.instance_id,
                 detail={"year": open_list.year, "version": open_list.version, "round": open_list.review_rounds,
                         "items": len(items),
                         "restricted": sum(1 for i in items if i.open_type != OpenType.unconditional.value),
                         "supersedes": previous.id if previous is not None and previous.id != open_list.id else None,
                         "comment": last_review.comment if last_review else None})
