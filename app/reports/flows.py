"""Use cases of the yearly evaluation (Art. 18): read a draft report, publish it with improvement opinions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import SHANGHAI, clock
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.org.models import Department, DepartmentKind
from app.org.service import Actor
from app.reports import service
from app.reports.models import YearlyReport
from app.workdays.calendar import WorkdayCalendar


class ReportScope(BaseModel):
    """Which report: a year, a level (region; default the reader's own) and optionally one department."""

    year: int
    region_code: str
    department: Department | None = None

    model_config = {"arbitrary_types_allowed": True}


class PublishBody(BaseModel):
    year: int = Field(ge=service.MIN_YEAR, le=service.MAX_YEAR)
    region_code: str | None = Field(default=None, max_length=12)
    opinions: str = Field(min_length=2, max_length=10000)

    @field_validator("opinions")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if len(v) < 2:
            raise ValueError("请填写改进意见")
        return v


def current_year() -> int:
    """Return the business clock's year in Asia/Shanghai."""
    return clock.now().astimezone(SHANGHAI).year


def _is_authority_over(session: Session, actor: Actor, region_code: str) -> bool:
    """Tell whether the actor works at a data authority of this level or a level above it."""
    if actor.department_kind != DepartmentKind.data_authority.value:
        return False
    return region_code in service.get_area(session=session, region_code=actor.region_code).codes


def resolve_scope(session: Session, actor: Actor, *, year: int | None, region_code: str | None,
                  department_code: str | None) -> ReportScope:
    """Return the report the actor asks for, if they may read its draft.

    Drafts are for the data authority of the level (and the authorities above, read-only, as everywhere)
    and the departments of that level; a department's own report for that department and its authorities.
    """
    year = service.check_year(year if year is not None else current_year())
    department = None
    if department_code:
        department = session.execute(select(Department).where(Department.code == department_code)
                                     ).scalar_one_or_none()
        if department is None:
            raise NotFound(f"部门“{department_code}”不存在", code="department_not_found")
        region_code = department.region_code
    region_code = region_code or actor.region_code
    service.get_area(session=session, region_code=region_code)  # NotFound for an unknown region
    allowed = actor.has_role("admin") or _is_authority_over(session, actor, region_code)
    if not allowed:
        allowed = actor.department_id == department.id if department is not None \
            else actor.region_code == region_code
    if not allowed:
        raise Forbidden("只有本级政务数据主管部门和本级政务部门可以查看未公布的评估报告", code="report_forbidden")
    return ReportScope(year=year, region_code=region_code, department=department)


def draft(session: Session, calendar: WorkdayCalendar, settings: Settings, scope: ReportScope) -> dict[str, Any]:
    """Compute the report of a scope as it stands now."""
    return service.compute(session, calendar, year=scope.year, region_code=scope.region_code, as_of=clock.now(),
                           reply_working_days=settings.share_reply_working_days,
                           department_id=scope.department.id if scope.department is not None else None)


def publish(session: Session, calendar: WorkdayCalendar, settings: Settings, actor: Actor,
            body: PublishBody) -> YearlyReport:
    """Publish a level's report of a finished year with the authority's improvement opinions (one commit)."""
    region_code = body.region_code or actor.region_code
    area = service.get_area(session=session, region_code=region_code)
    authority = service.authority_of(session=session, region_code=region_code)
    is_own_authority = actor.department_kind == DepartmentKind.data_authority.value and \
        actor.region_code == region_code and actor.has_role("authority_reviewer")
    if not (is_own_authority or actor.has_role("admin")):
        raise Forbidden("只有本级政务数据主管部门的审核员可以公布评估报告", code="report_publish_forbidden")
    if authority is None:
        raise InvalidInput("该层级没有政务数据主管部门，不能公布评估报告", code="report_no_authority")
    if body.year >= current_year():
        raise InvalidInput(f"{body.year} 年度尚未结束，年度结束后才能公布评估报告", code="report_year_not_ended")
    existing = session.execute(select(YearlyReport.id).where(YearlyReport.year == body.year,
                                                             YearlyReport.region_code == region_code)).scalar()
    if existing is not None:
        raise Conflict(f"{area.region.name} {body.year} 年度评估报告已公布", code="report_already_published",
                       extra={"report_id": existing})
    now = clock.now()
    figures = service.compute(session, calendar, year=body.year, region_code=region_code, as_of=now,
                              reply_working_days=settings.share_reply_working_days)
    report = YearlyReport(year=body.year, region_code=region_code, level=area.region.level,
                          authority_department_id=authority.id, figures=figures, opinions=body.opinions,
                          published_by=actor.username, published_by_id=actor.id, published_at=now)
    session.add(report)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{area.region.name} {body.year} 年度评估报告已公布", code="report_already_published")
    audit.append(session, at=now, actor=actor.username, action="yearly_report.published",
                 entity_type="yearly_report", entity_id=report.id,
                 detail={"year": body.year, "region": region_code, "totals": figures["totals"],
                         "opinions": body.opinions})
    session.commit()
    return report


def get_published(*, session: Session, report_id: int) -> YearlyReport:
    """Return a published report or raise NotFound."""
    report = session.get(YearlyReport, report_id)
    if report is None:
        raise NotFound("评估报告不存在或尚未公布", code="report_not_found")
    return report


def list_published(*, session: Session) -> list[YearlyReport]:
    """Return every published report, newest year first, then by level."""
    return list(session.execute(select(YearlyReport).order_by(YearlyReport.year.desc(), YearlyReport.region_code)
                                ).scalars())


def published_public(report: YearlyReport) -> dict[str, Any]:
    """Return a published report as the public reads it."""
    return {"id": report.id, "year": report.year, "region_code": report.region_code,
            "region_name": report.figures.get("region_name"), "level": report.level,
            "opinions": report.opinions, "published_at": report.published_at.isoformat(),
            "figures": report.figures}
