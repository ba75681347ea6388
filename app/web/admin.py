"""Administration pages: the working-day calendar, in demo mode the service clock, and external task incidents."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.core.clock import SHANGHAI, clock
from app.core.errors import DomainError, Forbidden, InvalidInput
from app.deps import RuntimeDep, SessionDep
from app.external import flows as external_flows
from app.external import service as external_service
from app.external.models import STATUS_ZH
from app.ops.stuck import stuck_instances
from app.scheduler.setup import JOB_ZH, JOBS, run_job
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render
from app.workdays import flows as calendar_flows
from app.workdays.models import ServiceClock
from app.workdays.service import demo_clock

router = APIRouter(include_in_schema=False)


def _admin(actor: PageUser) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("只有系统管理员可以访问", code="role_required")


def _clock_moved(session: SessionDep, rt: RuntimeDep) -> ServiceClock | None:
    return demo_clock(session) if rt.settings.enable_time_travel else None


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """Show the years the calendar knows and the form to load one."""
    _admin(actor)
    calendar = rt.calendar.get(session)
    return render(request, "admin/calendar.html", {
        "years": calendar_flows.years_public(session, calendar), "jobs": sorted(JOBS), "job_names": JOB_ZH,
        "time_travel": rt.settings.enable_time_travel, "clock_moved": _clock_moved(session, rt),
        "now_local": clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")})


@router.post("/admin/calendar")
def load_calendar(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                  form: FormData) -> Response:
    """Load a year from pasted holiday-cn JSON."""
    _admin(actor)
    try:
        result = calendar_flows.load_year(session, rt.calendar, actor.username, str(form.get("payload", "")))
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        calendar = rt.calendar.get(session)
        return render(request, "admin/calendar.html", {
            "years": calendar_flows.years_public(session, calendar), "jobs": sorted(JOBS), "job_names": JOB_ZH,
            "time_travel": rt.settings.enable_time_travel, "error": exc.to_detail(),
            "clock_moved": _clock_moved(session, rt),
            "payload": form.get("payload", ""),
            "now_local": clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")}, status=422)
    return flash_redirect(request, "/admin/calendar", "已导入 {year} 年安排，重算暂定期限 {count} 项",
                          year=result["year"], count=len(result["recomputed_tasks"]))


@router.post("/admin/clock")
def move_clock(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
               form: FormData) -> Response:
    """Move the demo clock (only with time travel enabled)."""
    _admin(actor)
    if not rt.settings.enable_time_travel:
        raise Forbidden("未启用演示时钟（GOVFLOW_ENABLE_TIME_TRAVEL）", code="time_travel_disabled")
    try:
        at = datetime.fromisoformat(str(form.get("now", ""))).replace(tzinfo=SHANGHAI)
    except ValueError:
        raise InvalidInput("时间格式无效", code="invalid_time") from None
    calendar_flows.move_clock(session, actor.username, at)
    return flash_redirect(request, "/admin/calendar", "演示时钟已调整为 {at}",
                          at=at.strftime('%Y-%m-%d %H:%M'))


@router.post("/admin/jobs/{job_id}")
def run(request: Request, job_id: str, session: SessionDep, rt: RuntimeDep, actor: PageUser,
        form: FormData) -> Response:
    """Run a scheduler job now."""
    _admin(actor)
    if job_id not in JOBS:
        raise InvalidInput("没有该定时任务", code="job_not_found")
    session.rollback()
    result = run_job(rt, job_id)
    back = "/admin/stuck-instances" if job_id == "report-stuck-instances" else "/admin/calendar"
    return flash_redirect(request, back, '已运行“{job}”：处理 {count} 项',
                          job=JOB_ZH.get(job_id, job_id), count=result)


@router.get("/admin/stuck-instances", response_class=HTMLResponse)
def stuck_page(request: Request, session: SessionDep, actor: PageUser,
               after: int | None = Query(None, ge=0, le=2**31 - 1)) -> Response:
    """Show the stuck-instance report: running instances nothing can move on."""
    _admin(actor)
    report = stuck_instances(session, limit=100, after=after)
    return render(request, "admin/stuck_instances.html", {
        "report": report, "after": after, "job_name": JOB_ZH["report-stuck-instances"],
        "since": {item["instance_id"]: datetime.fromisoformat(item["since"]) for item in report["items"]},
        "found": {item["instance_id"]: datetime.fromisoformat(item["found_at"]) for item in report["items"]},
        "last_pass": datetime.fromisoformat(report["last_pass_completed_at"])
        if report["last_pass_completed_at"] else None})


# --- external task incidents (issue 16) ------------------------------------------------------------------

@router.get("/admin/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """The external tasks whose retries ran out, each with a retry button; the latest retried below."""
    _admin(actor)
    return render(request, "admin/incidents.html", {
        "incidents": external_service.open_incidents(session), "resolved": external_service.recently_resolved(session),
        "status_zh": {s.value: label for s, label in STATUS_ZH.items()}})


@router.post("/admin/incidents/{incident_id}/retry")
def retry_incident(request: Request, incident_id: int, session: SessionDep, actor: PageUser,
                   form: FormData) -> Response:
    """Give an incident's task new retries: workers can fetch it again at once."""
    _admin(actor)
    try:
        retries = int(str(form.get("retries", "1")).strip() or "1")
    except ValueError:
        raise InvalidInput("重试次数须为整数", code="retries_invalid") from None
    if not 1 <= retries <= external_flows.MAX_RETRIES:
        raise InvalidInput(f"重试次数须在 1 到 {external_flows.MAX_RETRIES} 之间", code="retries_invalid")
    row = external_flows.retry_incident(session, actor, incident_id, retries)
    return flash_redirect(request, "/admin/incidents", "外部任务 {id}（{name}）已重新排队，可重试 {retries} 次",
                          id=row.id, name=row.name, retries=retries)
