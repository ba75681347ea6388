"""Pages of the usage log (Art. 12): usage per department and per grant (chart, flags, last events, exports),
a flag's one-click rectification notice, and the administrator's page of system clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from app.core.clock import clock
from app.core.errors import DomainError, Forbidden
from app.deps import RuntimeDep, SessionDep
from app.org.models import Department, DepartmentKind, Region
from app.org.scope import is_overseer
from app.org.service import Actor
from app.rectification.models import RectificationNotice
from app.external.topics import parse_topics
from app.usage import flows, service
from app.usage.models import SCOPE_ZH, Scope
from app.usage.views import chart, client_public, event_public, flag_public, grant_public
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)


def _may_issue(actor: Actor) -> bool:
    return actor.has_role("authority_reviewer") and actor.department_kind == DepartmentKind.data_authority.value


def _events(session: Session, where: list[Any], cursor: str | None, base: str) -> dict[str, Any]:
    rows, next_cursor = service.events_page(session, where, cursor=cursor or None)
    return {"events": [event_public(e) for e in rows],
            "next_url": f"{base}?{urlencode({'cursor': next_cursor})}#events" if next_cursor else None,
            "first_url": f"{base}#events" if cursor else None}


def _flags(session: Session, flags: list[Any]) -> list[dict[str, Any]]:
    notices = {n.id: n.number for n in session.execute(select(RectificationNotice).where(
        RectificationNotice.id.in_({f.rectification_notice_id for f in flags if f.rectification_notice_id}))
    ).scalars()} if any(f.rectification_notice_id for f in flags) else {}
    return [{**flag_public(f), "notice_number": notices.get(f.rectification_notice_id)} for f in flags]


@router.get("/usage", response_class=HTMLResponse)
def usage_home(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """My department's usage, and for an overseer the departments of its area with this year's volumes."""
    year = service.shanghai_day(clock.now()).year
    rows: list[dict[str, Any]] = []
    if is_overseer(actor) or actor.has_role("admin"):
        regions = {actor.region_code} if not actor.has_role("admin") else None
        if regions is not None:
            children = dict(session.execute(select(Region.code, Region.parent_code)).all())
            regions = {c for c in children if _inside(c, actor.region_code, children)}
        stmt = select(Department).where(Department.is_active.is_(True)).order_by(Department.code)
        if regions is not None:
            stmt = stmt.where(Department.region_code.in_(regions))
        departments = list(session.execute(stmt).scalars())
        volumes = service.volume_by_department(session, year, [d.id for d in departments if d.id])
        rows = [{"department": d, **volumes.get(d.id or 0, dict.fromkeys(service.VOLUME_KEYS, 0))}
                for d in departments]
    return render(request, "usage/home.html", {"rows": rows, "year": year, "own_id": actor.department_id})


def _inside(code: str | None, root: str, parents: dict[str, str | None]) -> bool:
    for _ in range(6):
        if code is None:
            return False
        if code == root:
            return True
        code = parents.get(code)
    return False


@router.get("/usage/departments/{department_id}", response_class=HTMLResponse)
def department_page(request: Request, department_id: int, session: SessionDep, actor: PageUser,
                    cursor: str = "") -> Response:
    """A department's usage: events per month (chart and table), its grants, flags and last events."""
    department = service.get_visible_department(session=session, department_id=department_id, actor=actor)
    today = service.shanghai_day(clock.now())
    series = service.monthly(session, service.of_department(department_id), until=today)
    provided = service.monthly(session, service.of_department(department_id, "provided"), until=today)
    obtained = service.monthly(session, service.of_department(department_id, "obtained"), until=today)
    grants = service.grants_of_department(session, department_id)
    names = service.departments_by_id(session, {x for g in grants for x in
                                                (g["grant"].provider_department_id, g["grant"].consumer_department_id)})
    flags = service.flags_of(session, department_id=department_id)
    names.update(service.departments_by_id(session, {x for f in flags for x in
                                                     (f.provider_department_id, f.consumer_department_id)}))
    base = f"/usage/departments/{department_id}"
    return render(request, "usage/department.html", {
        "department": department, "chart": chart(series),
        "months": [{"month": p["month"], "provided": p, "obtained": o} for p, o in zip(provided, obtained, strict=True)],
        "grants": [{**g, "grant": grant_public(g["grant"], "", names)} for g in grants],
        "flags": _flags(session, flags), "names": names, "may_issue": _may_issue(actor),
        "export_base": f"/api/usage/departments/{department_id}/export",
        **_events(session, service.of_department(department_id), cursor, base)})


@router.get("/usage/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(request: Request, grant_id: int, session: SessionDep, actor: PageUser, cursor: str = "") -> Response:
    """A grant's usage: the grant, events per month, flags (with the rectification button), last events."""
    grant, share_request = service.get_visible_grant(session=session, grant_id=grant_id, actor=actor)
    names = service.departments_by_id(session, {grant.provider_department_id, grant.consumer_department_id})
    series = service.monthly(session, service.of_grant(grant_id), until=service.shanghai_day(clock.now()))
    return render(request, "usage/grant.html", {
        "grant": grant_public(grant, share_request.status, names), "chart": chart(series), "months": series,
        "flags": _flags(session, service.flags_of(session, grant_id=grant_id)), "names": names,
        "may_issue": _may_issue(actor), "export_base": f"/api/usage/grants/{grant_id}/export",
        **_events(session, service.of_grant(grant_id), cursor, f"/usage/grants/{grant_id}")})


@router.post("/usage/flags/{flag_id}/rectification")
def flag_rectification(request: Request, flag_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                       form: FormData) -> Response:
    """Issue the rectification notice of a flag in one click (Art. 29 (5)), facts filled in."""
    department = "provider" if form.get("department") == "provider" else "consumer"
    notice = flows.open_rectification(session, rt.runner, rt.settings, actor, flag_id,
                                      flows.FlagNoticeBody(department=department))
    return flash_redirect(request, f"/rectification-notices/{notice.id}", "整改通知 {number} 已发出",
                          number=notice.number)


# --- system clients (administrators) ----------------------------------------------------------------------

def _require_admin(actor: Actor) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("只有系统管理员可以管理系统凭据", code="admin_required")


def _systems(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    clients = service.all_clients(session)
    names = service.departments_by_id(session, {c.department_id for c in clients})
    departments = list(session.execute(select(Department).where(Department.is_active.is_(True))
                                       .order_by(Department.code)).scalars())
    return render(request, "usage/systems.html", {
        "clients": [client_public(c, names) for c in clients], "departments": departments,
        "scopes": [(s.value, SCOPE_ZH[s]) for s in Scope], "values": {}, "topics_values": {},
        "work_scope": Scope.external_task_work.value, **extra}, status=status)


@router.get("/usage/systems", response_class=HTMLResponse)
def systems_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """List the system clients, with the form that registers one."""
    _require_admin(actor)
    return _systems(request, session)


def _scopes(form: dict[str, Any]) -> list[Scope]:
    """The scopes ticked on the form (`scopes[]`); an unknown value is ignored, none ticked is refused."""
    ticked = form.get("scopes", [])
    values = {s.value for s in Scope}
    return [Scope(v) for v in ([ticked] if isinstance(ticked, str) else ticked) if v in values]


def _topics(form: dict[str, Any]) -> list[str]:
    """The topics typed on a form (`topics`: one a line, or separated by commas), at most 200 of them."""
    raw = form.get("topics", "")
    return parse_topics(str(raw if isinstance(raw, str) else "\n".join(map(str, raw)))[:20_000])[:200]


@router.post("/usage/systems", response_class=HTMLResponse)
def create_system(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Register a system and show its secret this once (never stored in the page session or a URL)."""
    _require_admin(actor)
    try:
        client, secret = flows.create_client(session, actor, flows.ClientCreate(
            code=str(form.get("code", ""))[:64], name=str(form.get("name", ""))[:128],
            department_code=str(form.get("department_code", ""))[:64], scopes=_scopes(form),
            topics=_topics(form)))
    except DomainError as exc:
        session.rollback()
        if exc.status_code not in (409, 422):
            raise
        return _systems(request, session, status=exc.status_code, error=exc.to_detail(), values=form)
    return _systems(request, session, shown={"code": client.code, "name": client.name, "secret": secret})


@router.post("/usage/systems/{client_id}/rotate", response_class=HTMLResponse)
def rotate_system(request: Request, client_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Give a system a new secret, shown this once."""
    client, secret = flows.rotate_secret(session, actor, client_id)
    return _systems(request, session, shown={"code": client.code, "name": client.name, "secret": secret})


@router.post("/usage/systems/{client_id}/topics", response_class=HTMLResponse)
def set_system_topics(request: Request, client_id: int, session: SessionDep, actor: PageUser,
                      form: FormData) -> Response:
    """Replace the external-task topics a worker system may fetch."""
    _require_admin(actor)
    try:
        client = flows.set_topics(session, actor, client_id, flows.ClientTopics(topics=_topics(form)))
    except DomainError as exc:
        session.rollback()
        if exc.status_code not in (409, 422):
            raise
        return _systems(request, session, status=exc.status_code, error=exc.to_detail(),
                        topics_values={client_id: str(form.get("topics", ""))[:20_000]})
    return flash_redirect(request, "/usage/systems", "系统凭据 {code} 的可领取主题已更新", code=client.code)


@router.post("/usage/systems/{client_id}/deactivate")
def deactivate_system(request: Request, client_id: int, session: SessionDep, actor: PageUser,
                      form: FormData) -> Response:
    """Stop a system's credentials."""
    client = flows.deactivate_client(session, actor, client_id)
    return flash_redirect(request, "/usage/systems", "系统凭据 {code} 已停用", code=client.code)


