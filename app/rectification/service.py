"""Queries on rectification notices, their numbers and who may read them (flush, never commit)."""

from __future__ import annotations

import json
import string
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.attachments.models import Attachment
from app.attachments.service import register_owner
from app.core import keyset
from app.core.clock import SHANGHAI
from app.core.config import ROOT, Settings, get_settings
from app.core.errors import Conflict, DomainError
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department
from app.org.scope import hidden, may_read_case, works_cases
from app.org.service import Actor
from app.rectification.models import (
    OPEN_STATUSES,
    RectificationAuthority,
    RectificationNotice,
    RectificationNumberCounter,
    RectificationSubmission,
)
from app.supervision.models import SupervisionItem
from app.workdays.calendar import WorkdayCalendar
from app.workdays.service import build_calendar

BUSINESS_PREFIX = "rectification_notice:"
OWNER_TYPE = "rectification_notice"
DATA_DIR = ROOT / "data"
PATTERN_FIELDS = frozenset({"prefix", "year", "seq"})
_COUNTER = RectificationNumberCounter.__table__  # type: ignore[attr-defined]
_AUTHORITY = RectificationAuthority.__table__  # type: ignore[attr-defined]


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


class NumberPatternInvalid(DomainError):
    status_code = 500
    code = "number_pattern_invalid"
    message_zh = "整改通知文号格式设置（rectification_number_pattern）无效，请联系系统管理员"


# ---- numbering ----------------------------------------------------------------------------------


def check_pattern(pattern: str) -> None:
    """Refuse a number pattern that does not use exactly {prefix}, {year} and {seq} as plain fields."""
    try:
        fields = [(name, conv) for _, name, _, conv in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise NumberPatternInvalid(extra={"pattern": pattern, "reason": str(exc)}) from None
    names = {name for name, _ in fields}
    # No attribute or index access ({prefix.__class__}): the pattern is a setting, not code.
    if names != PATTERN_FIELDS or any(conv for _, conv in fields):
        raise NumberPatternInvalid(extra={"pattern": pattern})


def format_number(pattern: str, *, prefix: str, year: int, seq: int) -> str:
    """Render a notice number, e.g. 豫数整改〔2026〕12号."""
    check_pattern(pattern)
    try:
        return pattern.format(prefix=prefix, year=year, seq=seq)
    except (ValueError, TypeError) as exc:  # a bad format spec such as {seq:x<}
        raise NumberPatternInvalid(extra={"pattern": pattern, "reason": str(exc)}) from None


def number_year(at: datetime) -> int:
    """Return the calendar year a notice issued at this instant is numbered in (Asia/Shanghai)."""
    return at.astimezone(SHANGHAI).year


def allocate_seq(session: Session, *, authority_department_id: int, year: int) -> int:
    """Take the next sequence number of an authority's year from its counter row, locked until commit.

    The counter lives in the issuing transaction: concurrent issuers queue on the row (SELECT … FOR
    UPDATE on PostgreSQL; SQLite has one writer at a time), a failed issuance rolls its number back
    unused, and a committed number is never handed out again (withdrawn notices keep theirs). The
    unique (authority, year, seq) constraint on the notice is the last guard.
    """
    key = {"authority_department_id": authority_department_id, "year": year}
    session.execute(_insert(session, _COUNTER).values(**key, last_seq=0)
                    .on_conflict_do_nothing(index_elements=list(key)))
    last = session.execute(
        select(_COUNTER.c.last_seq).where(_COUNTER.c.authority_department_id == authority_department_id,
                                          _COUNTER.c.year == year).with_for_update()
    ).scalar_one()
    seq = int(last) + 1
    session.execute(update(_COUNTER).where(_COUNTER.c.authority_department_id == authority_department_id,
                                           _COUNTER.c.year == year).values(last_seq=seq))
    return seq


def get_authority(*, session: Session, department_id: int) -> RectificationAuthority | None:
    """Return an authority's numbering data."""
    return session.get(RectificationAuthority, department_id)


def listed_prefixes(province_code: str, data_dir: Path = DATA_DIR) -> dict[str, str]:
    """Return the prefixes data/demo-<province>.json lists, by authority department code."""
    path = data_dir / f"demo-{province_code}.json"
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("rectification_prefixes") or {})


def load_prefixes(session: Session, *, at: datetime, province_code: str, data_dir: Path = DATA_DIR) -> int:
    """Insert the number prefixes listed in data/demo-<province>.json for authorities that have none yet."""
    listed = listed_prefixes(province_code, data_dir)
    ids = dict(session.execute(select(Department.code, Department.id).where(Department.code.in_(listed))).all())
    rows = [{"department_id": ids[code], "number_prefix": prefix, "updated_at": at, "updated_by": "system"}
            for code, prefix in listed.items() if code in ids]
    if not rows:
        return 0
    # Concurrent first issuances may seed at once: whoever comes second keeps what is there.
    result = session.execute(_insert(session, _AUTHORITY).values(rows)
                             .on_conflict_do_nothing(index_elements=["department_id"]))
    return int(result.rowcount or 0)


def number_prefix(session: Session, authority: Department, *, at: datetime, settings: Settings | None = None) -> str:
    """Return the prefix of an authority's numbers; seed it from the province's data file on first use."""
    row = get_authority(session=session, department_id=authority.id or 0)
    if row is None:
        load_prefixes(session, at=at, province_code=(settings or get_settings()).province_code)
        row = get_authority(session=session, department_id=authority.id or 0)
    if row is None:
        raise Conflict(f"{authority.name}尚未设置整改通知文号前缀（如“豫数整改”），请系统管理员先设置",
                       code="number_prefix_missing")
    return row.number_prefix


def all_authorities(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """List every data authority with the prefix of its numbers: set, or still to load from the data file."""
    listed = listed_prefixes(settings.province_code)
    rows = session.execute(
        select(Department, RectificationAuthority)
        .outerjoin(RectificationAuthority, RectificationAuthority.department_id == Department.id)
        .where(Department.kind == "data_authority").order_by(Department.region_code, Department.id)
    ).all()
    return [{"department_code": d.code, "department_name": d.name,
             "number_prefix": a.number_prefix if a else listed.get(d.code),
             "source": "set" if a else ("data_file" if d.code in listed else None),
             "updated_at": a.updated_at.isoformat() if a else None, "updated_by": a.updated_by if a else None}
            for d, a in rows]


# ---- notices ------------------------------------------------------------------------------------


def get(*, session: Session, notice_id: int) -> RectificationNotice | None:
    """Return a notice by id."""
    return session.get(RectificationNotice, notice_id)


def of_instance(session: Session, instance: ProcessInstance) -> RectificationNotice | None:
    """Return the notice a process instance runs (None for a designer's trial instance)."""
    ref = instance.business_ref or ""
    if not ref.startswith(BUSINESS_PREFIX):
        return None
    return session.get(RectificationNotice, int(ref.removeprefix(BUSINESS_PREFIX)))


def is_party(actor: Actor, notice: RectificationNotice) -> bool:
    """Tell whether a person works for the notified department or the issuing authority."""
    return actor.department_id in (notice.department_id, notice.authority_department_id)


def get_visible(*, session: Session, notice_id: int, actor: Actor) -> RectificationNotice:
    """Return a notice the person may read, or 404 alike for a missing or hidden one: the two parties;
    read-only, the authorities and supervisors whose area holds the notified department; admins."""
    notice = get(session=session, notice_id=notice_id)
    if notice is None or not may_read_case(session=session, actor=actor,
                                           parties=(notice.department_id, notice.authority_department_id),
                                           overseen=(notice.department_id,)):
        raise hidden("整改通知不存在", code="rectification_notice_not_found")
    return notice


def get_all_for_actor(*, session: Session, actor: Actor, status: str | None = None, limit: int = 100,
                      cursor: str | None = None) -> tuple[list[RectificationNotice], str | None]:
    """List one page of the notices a person's department issued or received (a supervisor: also those
    escalated to it), newest first; and the next page's cursor (None on the last page)."""
    if not works_cases(actor):
        return [], None  # a designer lists no department's cases (app.org.scope)
    sides = [RectificationNotice.department_id == actor.department_id,
             RectificationNotice.authority_department_id == actor.department_id]
    if actor.has_role("supervisor"):
        sides.append(RectificationNotice.instance_id.in_(
            select(SupervisionItem.instance_id).where(SupervisionItem.office_department_id == actor.department_id)))
    stmt = select(RectificationNotice)
    if status == "open":
        stmt = stmt.where(RectificationNotice.status.in_([s.value for s in OPEN_STATUSES]))
    elif status == "closed":
        stmt = stmt.where(RectificationNotice.status.not_in([s.value for s in OPEN_STATUSES]))
    elif status:
        stmt = stmt.where(RectificationNotice.status == status)
    return keyset.newest_first(session, stmt, sides, RectificationNotice.id, limit, cursor)


def open_task(session: Session, notice: RectificationNotice, task_spec: str | None = None) -> Task | None:
    """Return the open task of a notice's process (the department's or the authority's turn)."""
    if notice.instance_id is None:
        return None
    stmt = select(Task).where(Task.instance_id == notice.instance_id, Task.status == TaskStatus.open.value)
    if task_spec:
        stmt = stmt.where(Task.task_spec == task_spec)
    return session.execute(stmt.order_by(Task.id.desc()).limit(1)).scalar_one_or_none()


def submissions(session: Session, notice_id: int) -> list[RectificationSubmission]:
    """Return a notice's reports and exemption claims, oldest first."""
    return list(session.execute(
        select(RectificationSubmission).where(RectificationSubmission.notice_id == notice_id)
        .order_by(RectificationSubmission.id)).scalars().all())


SUBMISSIONS_CURSOR = "rectification_submissions"


def submissions_page(session: Session, notice_id: int, cursor: str | None = None, limit: int = PAGE_SIZE
                     ) -> tuple[list[RectificationSubmission], str | None]:
    """Return the latest `limit` reports and claims of a notice before the cursor, oldest first, and the
    cursor to the earlier ones (None when these are the first); read from (notice_id, id)."""
    before = decode_cursor(cursor, SUBMISSIONS_CURSOR)
    stmt = select(RectificationSubmission).where(RectificationSubmission.notice_id == notice_id)
    if before is not None:
        stmt = stmt.where(RectificationSubmission.id < before)
    rows = session.execute(stmt.order_by(RectificationSubmission.id.desc()).limit(limit + 1)).scalars().all()
    return page_of(rows, kind=SUBMISSIONS_CURSOR, limit=limit, key=lambda r: r.id)


def undecided_submission(session: Session, notice_id: int) -> RectificationSubmission | None:
    """Return the submission that awaits the authority's decision."""
    return session.execute(
        select(RectificationSubmission).where(RectificationSubmission.notice_id == notice_id,
                                              RectificationSubmission.decision.is_(None))
        .order_by(RectificationSubmission.id.desc()).limit(1)).scalar_one_or_none()


def attachments_of(session: Session, notice_id: int, ids: set[int] | None = None) -> list[Attachment]:
    """Return a notice's attachments (those of `ids` only, when given), oldest first."""
    stmt = select(Attachment).where(Attachment.owner_type == OWNER_TYPE, Attachment.owner_id == notice_id)
    if ids is not None:
        stmt = stmt.where(Attachment.id.in_(ids))
    return list(session.execute(stmt.order_by(Attachment.id)).scalars().all())


def unsubmitted_attachments(session: Session, notice: RectificationNotice) -> list[Attachment]:
    """Return the department's uploads to a notice that no report or claim carries yet."""
    used = {a for s in submissions(session, notice.id or 0) for a in s.attachment_ids}
    return [a for a in attachments_of(session, notice.id or 0)
            if a.department_id == notice.department_id and a.id not in used]


def calendar(session: Session) -> WorkdayCalendar:
    """Return the working-day calendar for deadlines set inside engine hooks (which have no runtime)."""
    return build_calendar(session, get_settings())


def departments_by_id(*, session: Session, ids: set[int]) -> dict[int, Department]:
    """Return departments keyed by id."""
    if not ids:
        return {}
    rows = session.execute(select(Department).where(Department.id.in_(ids))).scalars().all()
    return {d.id: d for d in rows if d.id is not None}


@register_owner(OWNER_TYPE)
def may_touch_attachments(session: Session, actor: Actor, owner_id: int) -> bool:
    """The notified department and the issuing authority attach to and read a notice's files."""
    notice = session.get(RectificationNotice, owner_id)
    return notice is not None and is_party(actor, notice)

