"""Pages of the yearly evaluation (Art. 18): the level's draft with charts, its print page, publishing with
improvement opinions, and the public pages of the published reports (公布评估报告和改进意见, no login)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.core.errors import InvalidInput
from app.core.i18n import gettext
from app.deps import RuntimeDep, SessionDep
from app.org.models import LEVEL_ZH, Level
from app.org.service import Actor
from app.reports import charts, flows
from app.reports.service import FIGURE_ZH
from app.web import FormData, PageUser
from app.web.open_data import MaybeUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)


def _year(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) != 4:
        raise InvalidInput("年度应为四位数字，例如 2026", code="report_year_invalid")
    return int(raw)


def report_charts(report: dict[str, Any]) -> dict[str, Any]:
    """Build the report's SVG charts from its figures."""
    t = report["totals"]
    busiest = sorted((d for d in report["departments"] if d["figures"]["requests_received"]),
                     key=lambda d: -d["figures"]["requests_received"])[:10]
    return {
        "rate": charts.gauge(gettext("按时答复率"), t["on_time_rate"],
                             caption=f"{t['replies_on_time']} / {t['replies_on_time'] + t['replies_late']}"),
        "replies": charts.stacked_bar(gettext("共享申请答复情况"), [
            (gettext("5个工作日内答复"), t["replies_on_time"]), (gettext("逾期"), t["replies_late"]),
            (gettext("审核中（未到期）"), t["replies_pending"])]),
        "catalog": charts.stacked_bar(gettext("目录条目共享类型"), [
            (gettext("无条件共享"), t["catalog_unconditional"]), (gettext("有条件共享"), t["catalog_conditional"]),
            (gettext("不予共享"), t["catalog_not_shared"])]),
        "received": charts.bar_chart(gettext("各部门收到的共享申请"),
                                     [(d["name"], d["figures"]["requests_received"]) for d in busiest]),
        "disputes": charts.stacked_bar(gettext("共享争议处理结果"), [
            (gettext("协商一致"), t["disputes_settled"]), (gettext("评判予以共享"), t["disputes_adjudicated_share"]),
            (gettext("评判不予共享"), t["disputes_adjudicated_not_share"]), (gettext("处理中"), t["disputes_open"])]),
        "notices": charts.stacked_bar(gettext("整改通知结果"), [
            (gettext("核验通过"), t["notices_accepted"]), (gettext("免责办结"), t["notices_exempted"]),
            (gettext("已撤回"), t["notices_withdrawn"]), (gettext("整改中"), t["notices_open"])]),
    }


def _context(report: dict[str, Any]) -> dict[str, Any]:
    level = report.get("level")
    return {"r": report, "charts": report_charts(report), "FIGURE_ZH": FIGURE_ZH,
            "level_name": LEVEL_ZH.get(Level(level)) if level in Level._value2member_map_ else level}


def _may_publish(actor: Actor, region_code: str) -> bool:
    return actor.has_role("admin") or (actor.department_kind == "data_authority" and actor.region_code == region_code
                                       and actor.has_role("authority_reviewer"))


@router.get("/reports", response_class=HTMLResponse)
def draft(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, year: str = "",
          region_code: str = "", department_code: str = "") -> Response:
    """Show a level's (or a department's) yearly evaluation as it stands, with charts and exports."""
    scope = flows.resolve_scope(session, actor, year=_year(year), region_code=region_code or None,
                                department_code=department_code or None)
    report = flows.draft(session, rt.calendar.get(session), rt.settings, scope)
    query = {k: v for k, v in (("year", str(scope.year)), ("region_code", scope.region_code),
                               ("department_code", department_code)) if v}
    published = [p for p in flows.list_published(session=session)
                 if p.year == scope.year and p.region_code == scope.region_code]
    return render(request, "reports/report.html", {
        **_context(report), "query": urlencode(query), "draft": True, "department_code": department_code,
        "published": published[0] if published else None,
        "may_publish": department_code == "" and _may_publish(actor, scope.region_code)
        and scope.year < flows.current_year() and not published,
        "years": list(range(flows.current_year(), flows.current_year() - 6, -1))})


@router.get("/reports/print", response_class=HTMLResponse)
def print_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, year: str = "",
               region_code: str = "", department_code: str = "") -> Response:
    """Show the draft report as a printable A4 page."""
    scope = flows.resolve_scope(session, actor, year=_year(year), region_code=region_code or None,
                                department_code=department_code or None)
    report = flows.draft(session, rt.calendar.get(session), rt.settings, scope)
    return render(request, "reports/print.html", {**_context(report), "opinions": None})


@router.post("/reports/publish")
def publish(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, form: FormData) -> Response:
    """Publish a finished year's report with the authority's improvement opinions."""
    try:
        body = flows.PublishBody(year=_year(str(form.get("year", ""))) or 0,
                                 region_code=str(form.get("region_code", "")) or None,
                                 opinions=str(form.get("opinions", "")))
    except ValidationError as err:
        raise InvalidInput("请填写改进意见（2–10000 字）并选择已结束的年度", code="report_publish_invalid") from err
    report = flows.publish(session, rt.calendar.get(session), rt.settings, actor, body)
    return flash_redirect(request, f"/reports/published/{report.id}", "评估报告和改进意见已公布")


@router.get("/reports/published", response_class=HTMLResponse)
def published_index(request: Request, session: SessionDep, viewer: MaybeUser) -> Response:
    """List the published yearly reports (no login)."""
    rows = flows.list_published(session=session)
    return render(request, "reports/published_index.html", {
        "reports": rows, "LEVEL_ZH": {str(k): v for k, v in LEVEL_ZH.items()}})


@router.get("/reports/published/{report_id}", response_class=HTMLResponse)
def published_report(request: Request, report_id: int, session: SessionDep, viewer: MaybeUser) -> Response:
    """Show a published report with its improvement opinions (no login)."""
    report = flows.get_published(session=session, report_id=report_id)
    return render(request, "reports/report.html", {
        **_context(report.figures), "draft": False, "published": report, "may_publish": False,
        "query": "", "department_code": ""})


@router.get("/reports/published/{report_id}/print", response_class=HTMLResponse)
def published_print(request: Request, report_id: int, session: SessionDep, viewer: MaybeUser) -> Response:
    """Show a published report as a printable A4 page (no login)."""
    report = flows.get_published(session=session, report_id=report_id)
    return render(request, "reports/print.html", {**_context(report.figures), "opinions": report.opinions,
                                                  "published": report})
