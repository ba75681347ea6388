"""The yearly evaluation of provision and use (Art. 18): drafts for the level, published reports for all."""

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.reports import exports, flows

router = APIRouter(tags=["reports"])

Year = Query(None, ge=2000, le=2100, description="年度（默认本年度）")
RegionCode = Query(None, max_length=12, description="行政区划代码（默认本人所在层级）")
DepartmentCode = Query(None, max_length=64, description="只看一个部门")


def download(report: dict[str, Any], fmt: str, opinions: str | None = None) -> Response:
    """Answer a report as an XLSX or CSV attachment."""
    if fmt == "csv":
        return Response(exports.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={exports.filename(report, 'csv')}"})
    return Response(exports.to_xlsx(report, opinions),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={exports.filename(report, 'xlsx')}"})


@router.get("/reports/yearly")
def yearly(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, year: int | None = Year,
           region_code: str | None = RegionCode, department_code: str | None = DepartmentCode) -> dict[str, Any]:
    """Compute a level's (or one department's) yearly evaluation as it stands now (unpublished draft)."""
    scope = flows.resolve_scope(session, actor, year=year, region_code=region_code, department_code=department_code)
    return flows.draft(session, rt.calendar.get(session), rt.settings, scope)


@router.get("/reports/yearly/export")
def yearly_export(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, year: int | None = Year,
                  region_code: str | None = RegionCode, department_code: str | None = DepartmentCode,
                  format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """Export the draft report as XLSX or CSV (UTF-8 with BOM)."""
    scope = flows.resolve_scope(session, actor, year=year, region_code=region_code, department_code=department_code)
    return download(flows.draft(session, rt.calendar.get(session), rt.settings, scope), format)


@router.post("/reports/published", status_code=201)
def publish(body: flows.PublishBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Publish a finished year's report of my level with improvement opinions (the level's data authority)."""
    report = flows.publish(session, rt.calendar.get(session), rt.settings, actor, body)
    return flows.published_public(report)


@router.get("/reports/published")
def published(session: SessionDep) -> list[dict[str, Any]]:
    """List the published yearly reports (no login): year, level, opinions, totals."""
    return [{k: v for k, v in flows.published_public(r).items() if k != "figures"}
            | {"totals": r.figures.get("totals")} for r in flows.list_published(session=session)]


@router.get("/reports/published/{report_id}")
def published_one(report_id: int, session: SessionDep) -> dict[str, Any]:
    """Return a published report with its frozen figures and improvement opinions (no login)."""
    return flows.published_public(flows.get_published(session=session, report_id=report_id))


@router.get("/reports/published/{report_id}/export")
def published_export(report_id: int, session: SessionDep, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """Export a published report as XLSX (with its opinions) or CSV (no login)."""
    report = flows.get_published(session=session, report_id=report_id)
    return download(report.figures, format, report.opinions)
