"""Server-rendered pages in Chinese; the core actions work without JavaScript."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from app.catalog import service as catalog_service
from app.catalog.models import CHANGE_ZH, SHARE_METHOD_ZH, SHARE_TYPE_ZH
from app.core.clock import clock
from app.core.errors import CsrfFailed, DomainError, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from app.core.i18n import N_
from app.core.keyset import capped_counts
from app.core.security import csrf_matches
from app.audit.service import instance_history_page
from app.auth import flows as auth_flows
from app.auth.models import SessionKind
from app.core import security
from app.deps import RuntimeDep, SessionDep, session_actor
from app.engine.forms import public_form
from app.engine.models import ProcessDefinition
from app.engine.runner import designated, may_work
from app.org.models import ROLE_ZH, Role, User
from app.org.scope import case_department
from app.org.service import Actor
from app.sharing import flows as sharing_flows
from app.sharing import service as sharing_service
from app.sharing.views import history_page as sharing_history_page
from app.sharing.views import share_request_public, share_requests_public
from app.notifications import service as notification_service
from app.tasks import flows as task_flows
from app.tasks import service as task_service
from app.tasks.side import principals_query
from app.web.render import business_link, csrf_token, flash_redirect, render
from app.web.history import earlier_lines

router = APIRouter(include_in_schema=False)


def page_user(request: Request, session: SessionDep, rt: RuntimeDep) -> Actor:
    """Return the logged-in person of the page session, or send them to the login page."""
    raw = request.session.get("sid")
    # The cookie names a server-side session, which logout revokes: a saved copy is then worthless.
    actor = session_actor(session, rt, raw, security.utcnow()) if isinstance(raw, str) else None
    if actor is None:
        request.session.clear()
        raise NotAuthenticated()
    request.state.user_id = actor.id  # for the access log line (app/core/logs.py)
    calendar_notice = None
    if actor.has_role("admin"):
        from app.workdays.flows import next_year_notice

        calendar_notice = next_year_notice(rt.calendar.get(session), clock.now())
    # The 待办 badge and the unread messages in one round trip (every page shows both); with them whether the
    # person has side tasks to answer or deputies' tasks today, so that the 待办 list reads those only if so.
    *todo, unread, principals = capped_counts(session, *task_service.todo_queries(actor),
                                              notification_service.unread_query(actor.id),
                                              principals_query(actor.id, clock.now()))
    request.state.page_context = {
        "user": actor, "todo_count": task_service.todo_total(todo), "unread_notifications": unread,
        "side_open": todo[-1], "deputy_principals": principals,
        "calendar_notice": calendar_notice,
        "role_names": "、".join(ROLE_ZH[Role(r)] for r in sorted(actor.roles) if r in Role.__members__),
    }
    return actor


PageUser = Annotated[Actor, Depends(page_user)]


async def form_data(request: Request) -> dict[str, Any]:
    """Read a posted form (lists kept for repeated keys) and check its CSRF token."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token") or "")):
        raise CsrfFailed()
    data: dict[str, Any] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        values = [str(v) for v in form.getlist(key)]
        data[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return {k.removesuffix("[]"): v for k, v in data.items()}


FormData = Annotated[dict[str, Any], Depends(form_data)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    """Send people to their inbox, or to the login page."""
    return _redirect("/tasks" if request.session.get("sid") else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/tasks") -> Response:
    """Show the login form."""
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(request: Request, session: SessionDep, rt: RuntimeDep, form: FormData) -> Response:
    """Check credentials and start a page session (a server-side session the cookie names)."""
    from app.api.auth import client_address

    nxt = _safe_next(str(form.get("next") or "/tasks"))
    try:
        row = auth_flows.login(session, username=str(form.get("username", "")),
                               password=str(form.get("password", "")), client_address=client_address(request),
                               kind=SessionKind.page, settings=rt.settings)
    except (NotAuthenticated, TooManyRequests) as exc:
        response = render(request, "login.html", {"error": exc.message_zh, "next": nxt,
                                                  "username": form.get("username", "")},
                          status=exc.status_code)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    request.session.clear()
    request.session["sid"] = row.id
    csrf_token(request)
    return _redirect(nxt)


@router.post("/logout")
def logout(request: Request, session: SessionDep, form: FormData) -> Response:
    """End the page session: revoke it server-side, so a saved copy of the cookie no longer works."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        auth_flows.logout(session, session_id=sid)
    request.session.clear()
    return _redirect("/login")


@router.get("/tasks", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, view: str = "todo",
          overdue: str = "", sort: str = "", process_key: str = "", q: str = "", received_from: str = "",
          received_to: str = "", initiator_id: str = "", department_id: str = "", read: str = "",
          cursor: str = "") -> Response:
    """Show 待办 / 已办 / 我发起的 / 抄送我的, filtered by process, keyword, day of arrival, initiator and
    department, overdue first when asked."""
    from app.web.desk import inbox_context

    if view not in ("todo", "done", "initiated", "cc"):
        view = "todo"
    people = {k: int(v) if v.strip().isdigit() and len(v.strip()) < 10 else None
              for k, v in (("initiator_id", initiator_id), ("department_id", department_id))}
    # (text, values): the page translates them (inbox.html).
    problems: list[tuple[str, dict[str, str]]] = []
    days: dict[str, date | None] = {}
    for name, raw, text in (("received_from", received_from, N_("到达日期起应为“年-月-日”格式，如 2026-11-24，已忽略")),
                            ("received_to", received_to, N_("到达日期止应为“年-月-日”格式，如 2026-11-24，已忽略"))):
        try:
            days[name] = date.fromisoformat(raw) if raw.strip() else None
        except ValueError:
            days[name], _ = None, problems.append((text, {}))
    try:
        task_service.check_received_range(days["received_from"], days["received_to"])
    except InvalidInput as exc:
        problems.append((N_("%(message)s，已忽略日期条件"), {"message": exc.message_zh}))
        days = {"received_from": None, "received_to": None}
    sort = sort if sort in ("due_at", "-due_at", "created_at", "-created_at") else ""
    query = dict(overdue=True if overdue == "1" else None, process_key=process_key or None, q=q[:100] or None,
                 **days, **people, sort=sort or None)
    page = task_service.Page([], None)
    if view != "cc":
        try:
            page = task_service.inbox(session=session, actor=actor, view=view,  # type: ignore[arg-type]
                                      calendar=rt.calendar.get(session), now=clock.now(), cursor=cursor or None,
                                      form_text=view == "todo", **query)  # type: ignore[arg-type]
        except InvalidInput as exc:
            if exc.code != "cursor_invalid":
                raise
            problems.append((N_("翻页链接已失效，已回到第一页"), {}))
            cursor = ""
            page = task_service.inbox(session=session, actor=actor, view=view,  # type: ignore[arg-type]
                                      calendar=rt.calendar.get(session), now=clock.now(), form_text=view == "todo",
                                      **query)  # type: ignore[arg-type]
    # The filters as they came, for the page links (下一页, 回到第一页) that keep them.
    kept = {k: v for k, v in (("view", view), ("process_key", process_key), ("q", q[:100]),
                              ("received_from", received_from), ("received_to", received_to),
                              ("overdue", overdue), ("sort", sort), ("initiator_id", initiator_id),
                              ("department_id", department_id)) if v}
    processes = session.execute(select(ProcessDefinition.process_key, ProcessDefinition.name)
                                .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())).all()
    names = {key: name for key, name in reversed(processes)}  # the latest version's name per process
    return render(request, "tasks/inbox.html", {
        "view": view, "items": page.items, "cursor": cursor,
        "next_url": f"/tasks?{urlencode({**kept, 'cursor': page.next_cursor})}" if page.next_cursor else None,
        "first_url": f"/tasks?{urlencode(kept)}", "overdue": overdue, "sort": sort, "process_key": process_key, "q": q[:100],
        "received_from": received_from, "received_to": received_to, "processes": sorted(names.items()),
        "problems": problems, "initiator_id": people["initiator_id"], "department_id": people["department_id"],
        **inbox_context(session, actor, view, read, items=page.items, cursor=cursor, params={
            "view": view, "process_key": process_key, "q": q, "received_from": received_from,
            "received_to": received_to, "overdue": overdue, "sort": sort, "initiator_id": initiator_id,
            "department_id": department_id, "read": read}),
        "filtered": bool(process_key or q or days["received_from"] or days["received_to"] or overdue == "1"
                         or people["initiator_id"] or people["department_id"])})


def _task_context(session: SessionDep, rt: RuntimeDep, actor: Actor, task_id: int) -> dict[str, Any]:
    task, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    public = task_service.load_public(session=session, task=task, instance=instance,
                                      calendar=rt.calendar.get(session), now=clock.now())
    share_request = None
    if instance.business_ref and instance.business_ref.startswith(sharing_service.BUSINESS_PREFIX):
        request_id = int(instance.business_ref.removeprefix(sharing_service.BUSINESS_PREFIX))
        try:
            share_request = share_request_public(session, sharing_service.get_visible(
                session=session, share_request_id=request_id, actor=actor))
        except NotFound:  # a person the case was copied to reads the case, not the request's own pages
            share_request = None
    from app.web.desk import task_desk_context
    if share_request is not None:
        history, history_next_cursor = share_request["history"], share_request["history_next_cursor"]
        history_url = f"/share-requests/{share_request['id']}/history"
    else:
        history, history_next_cursor = instance_history_page(session, instance)
        history_url = f"/tasks/{task_id}/history"
    return {"task": public, "instance": instance, "share_request": share_request,
            "history": history, "history_next_cursor": history_next_cursor, "history_url": history_url,
            "may_work": task.status == "open" and may_work(task, actor),
            "claimed_by_me": task.assignee_id == actor.id and not designated(session, task), "METHOD_ZH": SHARE_METHOD_ZH,
            "may_pause": actor.has_role("head", "authority_reviewer"),
            "business_link": business_link(instance.business_ref),
            "json_tables": _json_tables(session, instance, public["form"]) if task.status == "open" else {},
            "reassign_to": [u for u in task_flows.reassign_candidates(session, task) if u.id != task.assignee_id]
            if task.status == "open" and task_flows.may_reassign(task, actor) else [],
            **task_desk_context(session, rt.db, actor, task, instance)}


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """Show a task with its generated form, the request it concerns and its history."""
    return render(request, "tasks/task.html", _task_context(session, rt, actor, task_id))


@router.get("/tasks/{task_id}/history", response_class=HTMLResponse)
def task_history(request: Request, task_id: int, session: SessionDep, actor: PageUser,
                 cursor: str | None = None) -> Response:
    """Show the earlier lines of the 流转记录 of a task's case (「更早的记录」)."""
    _, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    lines, next_cursor = instance_history_page(session, instance, cursor)
    return earlier_lines(request, lines="_history_lines.html", case=N_("任务"), case_id=task_id,
                         part=N_("流转记录"), back_url=f"/tasks/{task_id}#history",
                         context={"history": lines, "history_next_cursor": next_cursor,
                                  "history_url": f"/tasks/{task_id}/history"})


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, task_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Claim a task."""
    task_flows.claim(session, task_id, actor)
    return flash_redirect(request, f"/tasks/{task_id}", "已签收，可以办理")


@router.post("/tasks/{task_id}/unclaim")
def unclaim(request: Request, task_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Give a task back to the pool."""
    task_flows.unclaim(session, task_id, actor)
    return flash_redirect(request, f"/tasks/{task_id}", "已取消签收，任务退回本部门待签收")


@router.post("/tasks/{task_id}/pause")
def pause(request: Request, task_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Pause a task's deadline with a reason."""
    task_flows.pause(session, task_id, actor, str(form.get("reason", "")))
    return flash_redirect(request, f"/tasks/{task_id}", "已挂起，期限暂停计算")


@router.post("/tasks/{task_id}/reassign")
def reassign(request: Request, task_id: int, session: SessionDep, actor: PageUser,
             form: FormData) -> Response:
    """转办: hand the task to a colleague."""
    task_flows.reassign(session, task_id, actor, str(form.get("username", "")), str(form.get("note", "")))
    return flash_redirect(request, f"/tasks/{task_id}", "已转办")


@router.post("/tasks/{task_id}/resume")
def resume(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Resume a paused task."""
    task_flows.resume(session, task_id, actor, rt.calendar.get(session))
    return flash_redirect(request, f"/tasks/{task_id}", "已恢复计时，期限已顺延")


@router.get("/tasks/{task_id}/complete")
def complete_page(task_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Send a reload or a bookmark of the form's address back to the task page (never a 405)."""
    task_service.get_visible(session=session, task_id=task_id, actor=actor)  # 404 for those who may not see it
    return _redirect(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/complete")
def complete(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
             form: FormData) -> Response:
    """Complete a task from its form; errors re-show the form with what was typed, beside each field."""
    task, _ = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    multiple = {f["id"] for f in public_form(task.form) if f["multiple"]}
    submitted = {k: ([v] if k in multiple and isinstance(v, str) else v) for k, v in form.items()}
    # 加签 after me: the optional picker under the form; my answer waits until the added signer signs.
    after = {k: submitted.pop(k, "") for k in ("addsign_after_user", "addsign_after_reason")}
    data = table_answers(task.form, submitted)
    submitted.update(after)
    try:
        signer = str(after["addsign_after_user"] or "").strip()
        if signer:
            from app.tasks import actions as task_actions

            side = task_actions.add_signer(session, rt.runner, task_id, actor,
                                           int(signer) if signer.isdigit() else 0,
                                           str(after["addsign_after_reason"] or ""), position="after", data=data)
            who = session.get(User, side.assignee_id)
            return flash_redirect(request, "/tasks", "已提交您的意见，请{name}加签，签署后本环节办结",
                                  name=who.display_name if who is not None else "")
        task_flows.complete(session, rt.runner, task_id, data, actor)
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _task_context(session, rt, actor, task_id)
        error = exc.to_detail()
        ctx.update({"error": error, "submitted": submitted,
                    "first_invalid": _first_invalid(ctx["task"]["form"], error, ctx["json_tables"])})
        return render(request, "tasks/task.html", ctx, status=422)
    return flash_redirect(request, "/tasks?view=done", f"任务已办理：{task.name}")


def table_answers(fields: list[dict[str, Any]], form: dict[str, Any]) -> dict[str, Any]:
    """Build each json field answered as a table (`<field>.<code>.decision|comment`) into the JSON the
    task expects: [{"code", "decision", "comment"}]. A person never types JSON; API callers still do."""
    data = dict(form)
    for f in fields:
        if f.get("type") != "json":
            continue
        prefix = f"{f['id']}."
        rows: dict[str, dict[str, Any]] = {}
        for key in [k for k in data if k.startswith(prefix)]:
            value = data.pop(key)
            code, _, part = key.removeprefix(prefix).rpartition(".")
            if code and part in ("decision", "comment") and isinstance(value, str):
                rows.setdefault(code, {"code": code})[part] = value.strip()
        if rows:
            # A row left without a choice is left out: the validator then names it as not yet decided.
            data[f["id"]] = [r for r in rows.values() if r.get("decision")]
    return data


def _first_invalid(fields: list[dict[str, Any]], error: dict[str, Any],
                   tables: dict[str, list[dict[str, Any]]]) -> str | None:
    """Return the DOM id of the first field the error concerns (it gets the focus), in form order."""
    problems = error.get("errors") or []
    named = {str(e.get("field")) for e in problems if e.get("field")}
    entries = {str(e.get("entry")) for e in problems if e.get("entry")} | set(error.get("pending") or [])
    for f in fields:
        for row in tables.get(f["id"]) or []:
            if row["code"] in entries or f["id"] in named:
                return f"f_{f['id']}_{row['code']}"
        if f["id"] in named:
            return f"f_{f['id']}"
    return None


def _json_tables(session: SessionDep, instance: Any, fields: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the json fields a person answers as a table: a catalog version's entries awaiting a decision."""
    version = catalog_service.version_of_instance(session=session, instance_business_ref=instance.business_ref)
    if version is None:
        return {}
    rows = [{"code": r.code, "name": str((r.data or {}).get("name") or ""),
             "change": CHANGE_ZH.get(r.change, r.change),  # type: ignore[call-overload]
             "share_type": SHARE_TYPE_ZH.get((r.data or {}).get("share_type"), "")}  # type: ignore[call-overload]
            for r in catalog_service.version_entries(session=session, version_id=version.id or 0)
            if r.change != "unchanged" and r.decision is None]
    return {f["id"]: rows for f in fields if f.get("type") == "json"} if rows else {}


SHARE_REQUESTS_PAGE = 50  # rows per page of the share-request list (as the supervision queue)


@router.get("/share-requests", response_class=HTMLResponse)
def share_requests(request: Request, session: SessionDep, actor: PageUser, cursor: str = "") -> Response:
    """List one page of the requests my department filed or received, newest first; 下一页 carries the cursor."""
    problems: list[str] = []
    department_id = case_department(actor)
    try:
        found, next_cursor = sharing_service.get_all_for_department(
            session=session, department_id=department_id, limit=SHARE_REQUESTS_PAGE, cursor=cursor or None)
    except InvalidInput as exc:
        if exc.code != "cursor_invalid":
            raise
        problems.append(N_("翻页链接已失效，已回到第一页"))
        cursor = ""
        found, next_cursor = sharing_service.get_all_for_department(
            session=session, department_id=department_id, limit=SHARE_REQUESTS_PAGE)
    # The list has no filters yet: 回到第一页 is the bare list.
    return render(request, "sharing/list.html", {
        "rows": share_requests_public(session, found), "problems": problems,
        "next_url": f"/share-requests?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        "first_url": "/share-requests" if cursor else None})


@router.get("/share-requests/new", response_class=HTMLResponse)
def new_share_request(request: Request, session: SessionDep, actor: PageUser, entry_code: str) -> Response:
    """Show the request form (系统生成的需求申请表) for a catalog entry."""
    entry = catalog_service.require_by_code(session=session, code=entry_code)
    return render(request, "sharing/new.html", {"entry": entry, "METHOD_ZH": SHARE_METHOD_ZH,
                                                "SHARE_TYPE_ZH": SHARE_TYPE_ZH, "values": {}})


@router.post("/share-requests")
def create_share_request(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                         form: FormData) -> Response:
    """File a share request from the form."""
    entry_code = str(form.get("entry_code", ""))
    items = form.get("items") or []
    values = {**form, "items": [items] if isinstance(items, str) else items}
    try:
        body = sharing_flows.ShareRequestCreate.model_validate(values)
        created = sharing_flows.submit(session, rt.runner, actor, body)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status_code != 422:
            raise
        message = exc.message_zh if isinstance(exc, DomainError) else _validation_message(exc)
        entry = catalog_service.require_by_code(session=session, code=entry_code)
        return render(request, "sharing/new.html", {"entry": entry, "METHOD_ZH": SHARE_METHOD_ZH,
                                                    "SHARE_TYPE_ZH": SHARE_TYPE_ZH, "values": values,
                                                    "error": message}, status=422)
    entry = catalog_service.require_by_code(session=session, code=entry_code)
    if created.status == "refused" and entry.share_type == "not_shared" and actor.has_role("clerk"):
        # Art. 16(3): the way to such data is a dispute over the refused request; go straight on to it.
        return flash_redirect(request, f"/disputes/new?share_request_id={created.id}",
                              "申请已提交，编号 #{id}：该数据列为不予共享，请填写共享争议协调申请", id=created.id)
    if created.status == "granted":
        return flash_redirect(request, f"/share-requests/{created.id}", "申请已提交，编号 #{id}，已获共享授权",
                              id=created.id)
    if created.status == "refused":
        return flash_redirect(request, f"/share-requests/{created.id}", "申请已提交，编号 #{id}，该数据不予共享",
                              id=created.id)
    return flash_redirect(request, f"/share-requests/{created.id}", "申请已提交，编号 #{id}，已送提供部门审核",
                          id=created.id)


@router.get("/share-requests/{share_request_id}", response_class=HTMLResponse)
def share_request_page(request: Request, share_request_id: int, session: SessionDep,
                       actor: PageUser) -> Response:
    """Show a share request, its outcome, its grant and its history."""
    req = sharing_service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    may_withdraw = (req.status == "under_review" and actor.department_id == req.requester_department_id
                    and actor.has_role("clerk"))
    return render(request, "sharing/detail.html", {"r": share_request_public(session, req),
                                                   "history_url": f"/share-requests/{share_request_id}/history",
                                                   "METHOD_ZH": SHARE_METHOD_ZH, "may_withdraw": may_withdraw})


@router.get("/share-requests/{share_request_id}/history", response_class=HTMLResponse)
def share_request_history(request: Request, share_request_id: int, session: SessionDep, actor: PageUser,
                          cursor: str | None = None) -> Response:
    """Show the earlier lines of a share request's 流转记录 (「更早的记录」)."""
    req = sharing_service.get_visible(session=session, share_request_id=share_request_id, actor=actor)
    lines, next_cursor = sharing_history_page(session, req, cursor)
    return earlier_lines(request, lines="_history_lines.html", case=N_("共享申请"), case_id=share_request_id,
                         part=N_("流转记录"), back_url=f"/share-requests/{share_request_id}#history",
                         context={"history": lines, "history_next_cursor": next_cursor,
                                  "history_url": f"/share-requests/{share_request_id}/history"})


@router.post("/share-requests/{share_request_id}/withdraw")
def withdraw_share_request(request: Request, share_request_id: int, session: SessionDep, rt: RuntimeDep,
                           actor: PageUser, form: FormData) -> Response:
    """撤销 a request still under review."""
    sharing_flows.withdraw(session, rt.runner, actor, share_request_id, str(form.get("reason", "")))
    return flash_redirect(request, f"/share-requests/{share_request_id}", "申请已撤销")


FIELD_ZH = {"entry_code": "目录条目", "items": "数据项", "purpose": "用途", "scope": "使用范围",
            "period_from": "使用期限起", "period_to": "使用期限止", "method": "共享方式", "legal_basis": "履职依据"}


def _validation_message(exc: ValidationError) -> str:
    from app.main import _zh_validation

    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{FIELD_ZH.get(field, field)}：{_zh_validation(dict(err))}" if field
                     else _zh_validation(dict(err)))
    return "；".join(parts)


def _safe_next(url: str) -> str:
    # Only same-site paths: never an open redirect to another host.
    return url if url.startswith("/") and not url.startswith("//") else "/tasks"


__all__ = ["router"]
