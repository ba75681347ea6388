"""Queries on new business systems and the Art. 7 catalog gate of their project approval (flush, never
commit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.catalog import service as catalog_service
from app.catalog.models import (VERSION_STATUS_ZH, CatalogEntry, CatalogVersion, ChangeKind, VersionStatus)
from app.core import keyset
from app.core.errors import Conflict
from app.core.i18n import N_
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department
from app.org.scope import hidden, may_read_case, works_cases
from app.org.service import Actor
from app.supervision.models import SupervisionItem
from app.systems.models import OPEN_STATUSES, BusinessSystem

BUSINESS_PREFIX = "business_system:"


def get(*, session: Session, system_id: int) -> BusinessSystem | None:
    """Return a business system by id."""
    return session.get(BusinessSystem, system_id)


def of_instance(session: Session, instance: ProcessInstance) -> BusinessSystem | None:
    """Return the system a process instance runs (None for a designer's trial instance)."""
    ref = instance.business_ref or ""
    if not ref.startswith(BUSINESS_PREFIX):
        return None
    return session.get(BusinessSystem, int(ref.removeprefix(BUSINESS_PREFIX)))


def get_visible(*, session: Session, system_id: int, actor: Actor) -> BusinessSystem:
    """Return a system the person may read, or 404 alike for a missing or hidden one: the department and its
    authority; read-only, the authorities and supervisors whose area holds the department; admins."""
    system = get(session=session, system_id=system_id)
    if system is None or not may_read_case(session=session, actor=actor,
                                           parties=(system.department_id, system.authority_department_id),
                                           overseen=(system.department_id,)):
        raise hidden("业务系统不存在", code="business_system_not_found")
    return system


def get_for_update(*, session: Session, system_id: int, actor: Actor) -> BusinessSystem:
    """Return a visible system locked until commit (PostgreSQL; SQLite has one writer at a time)."""
    get_visible(session=session, system_id=system_id, actor=actor)
    return session.execute(select(BusinessSystem).where(BusinessSystem.id == system_id)
                           .with_for_update()).scalar_one()


def get_all_for_actor(*, session: Session, actor: Actor, status: str | None = None, limit: int = 100,
                      cursor: str | None = None) -> tuple[list[BusinessSystem], str | None]:
    """List one page of the systems of my department, of the departments my authority reviews, or (a
    supervisor) of my government's level and those escalated to it, newest first; and the next cursor."""
    if not works_cases(actor):
        return [], None  # a designer lists no department's cases (app.org.scope)
    sides = [BusinessSystem.department_id == actor.department_id,
             BusinessSystem.authority_department_id == actor.department_id]
    if actor.has_role("supervisor"):
        sides.append(BusinessSystem.department_id.in_(
            select(Department.id).where(Department.region_code == actor.region_code)))
        sides.append(BusinessSystem.instance_id.in_(
            select(SupervisionItem.instance_id)
            .where(SupervisionItem.office_department_id == actor.department_id)))
    stmt = select(BusinessSystem)
    if status == "open":
        stmt = stmt.where(BusinessSystem.status.in_(OPEN_STATUSES))
    elif status == "closed":
        stmt = stmt.where(BusinessSystem.status.not_in(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(BusinessSystem.status == status)
    return keyset.newest_first(session, stmt, sides, BusinessSystem.id, limit, cursor)


def open_task(session: Session, system: BusinessSystem) -> Task | None:
    """Return the open 立项 step of a system's process."""
    if system.instance_id is None:
        return None
    return session.execute(
        select(Task).where(Task.instance_id == system.instance_id, Task.status == TaskStatus.open.value)
        .order_by(Task.id.desc()).limit(1)).scalar_one_or_none()


def department_entries(*, session: Session, department_id: int) -> list[dict[str, Any]]:
    """Return the catalog entries a system's data may link to: the department's published entries and those
    of its version in the works, by code, with their data items."""
    found: dict[str, dict[str, Any]] = {}
    for e in session.execute(select(CatalogEntry).where(CatalogEntry.department_id == department_id,
                                                        CatalogEntry.status == "published")
                             .order_by(CatalogEntry.code)).scalars():
        found[e.code] = {"code": e.code, "name": e.name, "items": [i.get("name") for i in e.items or []]}
    draft = catalog_service.open_version_of(session=session, department_id=department_id)
    if draft is not None:
        for ve in catalog_service.version_entries(session=session, version_id=draft.id or 0):
            if ve.change == ChangeKind.withdrawn.value or ve.code in found:
                continue
            found[ve.code] = {"code": ve.code, "name": (ve.data or {}).get("name") or ve.code,
                              "items": [i.get("name") for i in (ve.data or {}).get("items") or []]}
    return sorted(found.values(), key=lambda e: e["code"])


# ---- the Art. 7 gate ---------------------------------------------------------------------------


@dataclass
class CatalogCheck:
    """Where the department's catalog stands for a system: the checklist of its project approval."""

    listed: bool  # a submitted version lists every data item of the system
    reviewed: bool  # and the data authority has approved (审定) that version
    version: CatalogVersion | None  # the version the checks speak of
    missing: list[str] = field(default_factory=list)  # data items no submitted version lists
    code: str = ""  # why the approval cannot be recorded yet (empty when it can)
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.listed and self.reviewed

    def checklist(self) -> list[dict[str, Any]]:
        """Return the two conditions of Art. 7 as the case page and the API show them."""
        number = self.version.number if self.version is not None else None
        status = self.version.status if self.version is not None else None
        if self.listed:
            listed_note = f"目录第 {number} 版列明了本系统的全部数据项"
        elif self.missing:
            listed_note = "目录未列明的数据项：" + "、".join(self.missing)
        else:
            listed_note = "本部门尚未提交政务数据资源目录"
        if self.reviewed:
            reviewed_note = f"目录第 {number} 版已经政务数据主管部门审定发布"
        elif self.listed and status is not None:
            reviewed_note = f"目录第 {number} 版{VERSION_STATUS_ZH[VersionStatus(status)]}，尚未审定"
        else:
            reviewed_note = "尚无列明本系统数据的已审定目录版本"
        return [{"key": "catalog_listed", "label": N_("已提交列明本系统全部数据项的政务数据资源目录"),
                 "done": self.listed, "note": listed_note, "missing": list(self.missing)},
                {"key": "catalog_reviewed", "label": N_("该目录版本已经政务数据主管部门审定"),
                 "done": self.reviewed, "note": reviewed_note}]

    def refusal(self) -> Conflict:
        """Return the error that refuses the project approval, naming what is missing."""
        return Conflict(self.message, code=self.code,
                        extra={"missing_items": list(self.missing), "checklist": self.checklist(),
                               "catalog_version_id": self.version.id if self.version is not None else None})


def _names(items: Any) -> set[str]:
    return {str(i.get("name")) for i in items or [] if isinstance(i, dict) and i.get("name")}


def missing_items(session: Session, version: CatalogVersion, data_items: list[dict[str, Any]]) -> list[str]:
    """Return the system's data items a version does not list: a linked item must be in its entry, an
    unlinked one in any entry (withdrawn entries list nothing)."""
    by_code: dict[str, set[str]] = {}
    for ve in catalog_service.version_entries(session=session, version_id=version.id or 0):
        if ve.change != ChangeKind.withdrawn.value:
            by_code[ve.code] = _names((ve.data or {}).get("items"))
    anywhere = set().union(*by_code.values()) if by_code else set()
    missing = []
    for item in data_items:
        name, code = item.get("name"), item.get("entry_code")
        listed = name in by_code.get(code, set()) if code else name in anywhere
        if not listed:
            missing.append(f"{name}（{code}）" if code else str(name))
    return missing


def catalog_check(session: Session, system: BusinessSystem) -> CatalogCheck:
    """Tell whether the department's catalog allows the system's project approval (Art. 7): a submitted
    version lists every data item of the system, and the authority has reviewed (approved) it."""
    items = list(system.data_items or [])
    published = catalog_service.latest_published_version(session=session, department_id=system.department_id)
    missing = missing_items(session, published, items) if published is not None else []
    if published is not None and not missing:
        return CatalogCheck(listed=True, reviewed=True, version=published)
    in_works = catalog_service.open_version_of(session=session, department_id=system.department_id)
    submitted = (VersionStatus.under_review.value, VersionStatus.returned.value)
    if in_works is not None and in_works.status in submitted:
        missing_now = missing_items(session, in_works, items)
        if not missing_now:
            state = "仍在主管部门审定中" if in_works.status == VersionStatus.under_review.value \
                else "已被主管部门退回修改，尚未重新提交审定"
            return CatalogCheck(
                listed=True, reviewed=False, version=in_works, code="catalog_under_review",
                message=f"不能登记立项：本部门目录第 {in_works.number} 版{state}，须经政务数据主管部门审定后"
                        "才能登记立项（第七条）")
        return CatalogCheck(
            listed=False, reviewed=False, version=in_works, missing=missing_now, code="catalog_items_missing",
            message=f"不能登记立项：本部门已提交的目录第 {in_works.number} 版未列明本系统的数据项："
                    f"{'、'.join(missing_now)}；请在目录中补充后提交审定（第七条）")
    if in_works is not None and in_works.status == VersionStatus.draft.value \
            and not missing_items(session, in_works, items):
        return CatalogCheck(
            listed=False, reviewed=False, version=in_works, code="catalog_not_submitted",
            message=f"不能登记立项：列明本系统数据的目录第 {in_works.number} 版还是草稿，请先提交主管部门审定（第七条）")
    if published is None:
        return CatalogCheck(
            listed=False, reviewed=False, version=None, code="catalog_not_submitted",
            message="不能登记立项：本部门尚未提交列明本系统数据的政务数据资源目录，请先编制目录并提交主管部门审定"
                    "（第七条：新建业务系统要同步规划编制政务数据资源目录，作为项目立项审批条件）")
    return CatalogCheck(
        listed=False, reviewed=False, version=published, missing=missing, code="catalog_items_missing",
        message=f"不能登记立项：本部门现行目录（第 {published.number} 版）未列明本系统的数据项：{'、'.join(missing)}；"
                "请在目录中补充后提交审定（第七条）")


def departments_by_id(*, session: Session, ids: set[int]) -> dict[int, Department]:
    """Return departments keyed by id."""
    if not ids:
        return {}
    return {d.id: d for d in session.execute(select(Department).where(Department.id.in_(ids))).scalars()
            if d.id is not None}
