"""Art. 12: the usage log. Exchange systems report events (HTTP Basic with their own credentials); people
read usage per grant and per department, export it, and open a rectification notice from a flag."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.core.clock import clock
from app.core.errors import InvalidInput
from app.deps import AdminUser, CurrentUser, RuntimeDep, SessionDep
from app.sharing.models import ShareRequest
from app.usage import flows, service
from app.usage.models import Scope, SystemClient
from app.usage.views import client_public, event_public, export_file, export_rows, flag_public, grant_public

router = APIRouter(prefix="/usage", tags=["usage"])


async def reporting_system(request: Request, rt: RuntimeDep) -> SystemClient:
    """Return the system client of the request's HTTP Basic credentials (code:secret), allowed to report."""
    return await run_in_threadpool(flows.authenticate, rt.db, rt.settings, request.headers.get("authorization"),
                                   Scope.usage_report)


ReportingSystem = Annotated[SystemClient, Depends(reporting_system)]


def _batch_schema() -> dict[str, Any]:
    """The request body's JSON schema, its one nested model written inline (the body is read by hand)."""
    schema = flows.EventBatch.model_json_schema()
    defs = schema.pop("$defs", {})
    schema["properties"]["events"]["items"] = defs["EventIn"]
    return schema


async def event_batch(request: Request) -> flows.EventBatch:
    """Parse the body with pydantic's own JSON parser (a 10,000-event batch: several times faster than
    decoding to Python objects first); errors answer like any other body's (at most 20 of them listed)."""
    body = await request.body()
    try:
        return flows.EventBatch.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)[:20]
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


@router.post("/events", openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": _batch_schema()}}}})
def ingest(client: ReportingSystem, batch: Annotated[flows.EventBatch, Depends(event_batch)], session: SessionDep,
           rt: RuntimeDep) -> dict[str, Any]:
    """Report up to 10,000 events of data provided under share grants (exchange systems only, HTTP Basic
    `code:secret`). A resent event (same system, event_id and occurred_at) counts as a duplicate; an event
    outside its grant is stored and flagged; an unknown or foreign grant is rejected with its reason."""
    return flows.ingest(session, rt.settings, client, batch).public()


# --- system clients (administrators) ----------------------------------------------------------------------

@router.get("/systems")
def list_systems(session: SessionDep, actor: AdminUser) -> list[dict[str, Any]]:
    """List the system clients (their secrets are never shown again)."""
    clients = service.all_clients(session)
    departments = service.departments_by_id(session, {c.department_id for c in clients})
    return [client_public(c, departments) for c in clients]


def _with_secret(session: SessionDep, client: SystemClient, secret: str) -> dict[str, Any]:
    departments = service.departments_by_id(session, {client.department_id})
    return {**client_public(client, departments), "secret": secret}


@router.post("/systems", status_code=201)
def create_system(body: flows.ClientCreate, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Register an exchange system; the answer shows its secret this once."""
    client, secret = flows.create_client(session, actor, body)
    return _with_secret(session, client, secret)


@router.post("/systems/{client_id}/rotate")
def rotate_system(client_id: int, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Give a system a new secret (shown this once); the old one stops working."""
    client, secret = flows.rotate_secret(session, actor, client_id)
    return _with_secret(session, client, secret)


@router.put("/systems/{client_id}/topics")
def set_system_topics(client_id: int, body: flows.ClientTopics, session: SessionDep, actor: AdminUser
                      ) -> dict[str, Any]:
    """Replace the external-task topics a worker system (scope external_task:work) may fetch: exact names or
    `prefix.*` patterns, 1–20. Takes effect at once, also for tasks it has already locked."""
    client = flows.set_topics(session, actor, client_id, body)
    return client_public(client, service.departments_by_id(session, {client.department_id}))


@router.post("/systems/{client_id}/deactivate")
def deactivate_system(client_id: int, session: SessionDep, actor: AdminUser) -> dict[str, Any]:
    """Stop a system's credentials for good."""
    client = flows.deactivate_client(session, actor, client_id)
    return client_public(client, service.departments_by_id(session, {client.department_id}))


# --- reading usage ------------------------------------------------------------------------------------

def _today() -> date:
    return service.shanghai_day(clock.now())


@router.get("/grants/{grant_id}")
def grant_usage(grant_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Usage of one grant: the grant, events per month over the last 12 months, and its flags."""
    grant, request = service.get_visible_grant(session=session, grant_id=grant_id, actor=actor)
    departments = service.departments_by_id(session, {grant.provider_department_id, grant.consumer_department_id})
    return {"grant": grant_public(grant, request.status, departments),
            "monthly": service.monthly(session, service.of_grant(grant_id), until=_today()),
            "flags": [flag_public(f) for f in service.flags_of(session, grant_id=grant_id)]}


@router.get("/grants/{grant_id}/events")
def grant_events(grant_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                 limit: int = Query(service.EVENT_PAGE, ge=1, le=500)) -> dict[str, Any]:
    """The grant's events, newest use first; `next_cursor` (null on the last page) gives the next page."""
    service.get_visible_grant(session=session, grant_id=grant_id, actor=actor)
    rows, next_cursor = service.events_page(session, service.of_grant(grant_id), limit=limit, cursor=cursor)
    return {"items": [event_public(e) for e in rows], "next_cursor": next_cursor}


@router.get("/departments/{department_id}")
def department_usage(department_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Usage of one department as provider and as consumer: monthly series, its grants, its flags."""
    department = service.get_visible_department(session=session, department_id=department_id, actor=actor)
    today = _today()
    grants = service.grants_of_department(session, department_id)
    departments = service.departments_by_id(
        session, {x for g in grants for x in (g["grant"].provider_department_id, g["grant"].consumer_department_id)})
    statuses = _statuses(session, [g["grant"].share_request_id for g in grants])
    return {"department": {"id": department.id, "code": department.code, "name": department.name},
            "provided": service.monthly(session, service.of_department(department_id, "provided"), until=today),
            "obtained": service.monthly(session, service.of_department(department_id, "obtained"), until=today),
            "year": service.volume_by_department(session, today.year, [department_id]).get(department_id),
            "grants": [{**grant_public(g["grant"], statuses.get(g["grant"].share_request_id, ""), departments),
                        "events": g["events"], "rows": g["rows"], "calls": g["calls"], "flagged": g["flagged"]}
                       for g in grants],
            "flags": [flag_public(f) for f in service.flags_of(session, department_id=department_id)]}


def _statuses(session: SessionDep, request_ids: list[int]) -> dict[int, str]:
    if not request_ids:
        return {}
    return dict(session.execute(select(ShareRequest.id, ShareRequest.status).where(  # type: ignore[arg-type]
        ShareRequest.id.in_(request_ids))).all())


@router.get("/departments/{department_id}/events")
def department_events(department_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                      side: Literal["provided", "obtained"] | None = None,
                      limit: int = Query(service.EVENT_PAGE, ge=1, le=500)) -> dict[str, Any]:
    """The department's events (as provider, consumer or either), newest use first, keyset-paged."""
    service.get_visible_department(session=session, department_id=department_id, actor=actor)
    rows, next_cursor = service.events_page(session, service.of_department(department_id, side), limit=limit,
                                            cursor=cursor)
    return {"items": [event_public(e) for e in rows], "next_cursor": next_cursor}


EXPORT_LIMIT = 100_000


def export_response(session: SessionDep, where: list[Any], fmt: str, name: str, title: str,
                    date_from: date | None, date_to: date | None) -> Response:
    """Answer a file of the events of a period (default: the last 12 months), at most EXPORT_LIMIT rows."""
    today = _today()
    last = date_to or today
    first = date_from or (service.month_start(last, -11) if 2000 <= last.year <= 2199 else last)
    if first > last or first.year < 2000 or last.year > 2199:
        raise InvalidInput("导出期间无效：开始日期不能晚于结束日期，年份须在 2000–2199 之间", code="period_invalid")
    start, end = service.shanghai_midnight(first), service.shanghai_midnight(last + timedelta(days=1))
    events = []
    for e in service.all_events(session, where, start=start, end=end):
        events.append(e)
        if len(events) > EXPORT_LIMIT:
            raise InvalidInput(f"导出的记录超过 {EXPORT_LIMIT} 条，请缩短期间", code="export_too_large")
    body, media = export_file(export_rows(session, events), fmt, title)
    filename = f"{name}-{first}-{last}.{fmt}"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/grants/{grant_id}/export")
def export_grant(grant_id: int, session: SessionDep, actor: CurrentUser, format: Literal["xlsx", "csv"] = "xlsx",
                 date_from: date | None = None, date_to: date | None = None) -> Response:
    """Export a grant's events of a period (default: the last 12 months) as XLSX or CSV."""
    service.get_visible_grant(session=session, grant_id=grant_id, actor=actor)
    return export_response(session, service.of_grant(grant_id), format, f"usage-grant-{grant_id}",
                           "数据使用记录", date_from, date_to)


@router.get("/departments/{department_id}/export")
def export_department(department_id: int, session: SessionDep, actor: CurrentUser,
                      format: Literal["xlsx", "csv"] = "xlsx", date_from: date | None = None,
                      date_to: date | None = None) -> Response:
    """Export a department's events (provided and obtained) of a period as XLSX or CSV."""
    service.get_visible_department(session=session, department_id=department_id, actor=actor)
    return export_response(session, service.of_department(department_id), format,
                           f"usage-department-{department_id}", "数据使用记录", date_from, date_to)


@router.post("/flags/{flag_id}/rectification-notice", status_code=201)
def open_rectification(flag_id: int, body: flows.FlagNoticeBody, session: SessionDep, rt: RuntimeDep,
                       actor: CurrentUser) -> dict[str, Any]:
    """Issue a rectification notice (Art. 29 (5)) about a flagged use, its facts filled in (authority reviewers
    of the departments' level; the consumer is notified unless `department` is "provider")."""
    notice = flows.open_rectification(session, rt.runner, rt.settings, actor, flag_id, body)
    return {"notice_id": notice.id, "number": notice.number, "link": f"/rectification-notices/{notice.id}"}
