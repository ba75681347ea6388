"""Pages of 退回, 退回补正, 撤回, 加签, 委派 and 代理; the task page shows them through templates/tasks/_actions.html.

The task page's route belongs to app/web/__init__.py: what the actions panel needs is read by the template
global `task_actions_for` (and the inbox's side items by `side_items_for`) on the request's own session,
so neither page route had to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.core.clock import SHANGHAI, clock
from app.core.errors import InvalidInput
from app.deps import RuntimeDep, SessionDep
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.models import Department, User
from app.org.service import Actor
from app.tasks import actions, side
from app.tasks import service as task_service
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render, templates

router = APIRouter(include_in_schema=False)


def _int(value: Any, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"请选择{what}", code="person_required") from None
    if not 1 <= number <= 2_147_483_647:
        raise InvalidInput(f"请选择{what}", code="person_required")
    return number


def people_by_department(session: Any, exclude: int | None = None) -> list[tuple[str, list[tuple[int, str]]]]:
    """Active people grouped by department (for 加签 / 委派 / 代理 pickers), by department code."""
    rows = session.execute(
        select(User.id, User.display_name, Department.name).join(Department, Department.id == User.department_id)
        .where(User.is_active.is_(True)).order_by(Department.code, User.display_name)).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for user_id, name, department in rows:
        if user_id != exclude:
            groups.setdefault(department, []).append((user_id, name))
    return list(groups.items())


@contextmanager
def _session(request: Request) -> Iterator[Any]:
    """The request's own session (app.deps.get_session puts it on request.state), else a short one."""
    session = getattr(request.state, "db_session", None)
    if session is not None:
        yield session
    else:
        with request.app.state.runtime.db.read_session() as own:
            yield own


def task_actions_for(request: Request, task_id: int, user: Actor | None) -> dict[str, Any]:
    """What the actions panel of a task page offers this person (read on its own session)."""
    empty: dict[str, Any] = {"mine": False, "sides": [], "waiting": None, "withdraw": False}
    if user is None:
        return empty
    rt = request.app.state.runtime
    with _session(request) as session:
        task = session.get(Task, task_id)
        if task is None:
            return empty
        instance = session.get(ProcessInstance, task.instance_id)
        sides = side.sides_of_task(session, task.id)
        waiting = next((s for s in sides if s["status"] == "open"), None)
        out: dict[str, Any] = {**empty, "sides": sides, "waiting": waiting}
        if task.status == TaskStatus.completed.value:
            out["withdraw"] = actions.withdrawable(session, task, user) is None
            return out
        me = actions.acting_as(session, task, user) if task.status == TaskStatus.open.value else None
        if me is None or waiting is not None or instance is None:
            return out
        out.update({
            "mine": True, "on_behalf_of": me.display_name if me.id != user.id else None,
            "steps": actions.returnable_steps(session, rt.runner, task, instance),
            "may_return": rt.runner.may_return_from(rt.runner.definition(session, instance.definition_id),
                                                    task.task_spec),
            "applicant": (session.get(User, instance.started_by_id).display_name  # type: ignore[union-attr]
                          if instance.started_by_id else None),
            "people": people_by_department(session, exclude=user.id),
        })
        return out


def side_items_for(request: Request, user: Actor | None) -> dict[str, Any]:
    """The 补正/加签/委派 items and the 代理 tasks a person's 待办 shows above their own tasks."""
    if user is None:
        return {"side": [], "deputy": []}
    # The page's counts (app/web page_user) say whether there is anything to read: mostly there is not.
    counted = getattr(request.state, "page_context", None) or {}
    with _session(request) as session:
        deputy: list[dict[str, Any]] = []
        if counted.get("deputy_principals") != 0:
            principals = actions.deputy_principals(session, user)
            if principals:
                page = task_service.deputy_inbox(session=session, principals=principals,
                                                 calendar=request.app.state.runtime.calendar.get(session),
                                                 now=clock.now())
                deputy = [{**t, "for": t["on_behalf_of_name"]} for t in page.items]
        items = side.open_side_items(session, user)[0] if counted.get("side_open") != 0 else []
        return {"side": items, "deputy": deputy}


templates.env.globals["task_actions_for"] = task_actions_for
templates.env.globals["side_items_for"] = side_items_for


@router.post("/tasks/{task_id}/return")
def return_task(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                form: FormData) -> Response:
    """退回 to an earlier step."""
    reopened = actions.return_to(session, rt.runner, task_id, actor, str(form.get("step", "")),
                                 str(form.get("reason", "")))
    return flash_redirect(request, "/tasks", f"已退回至“{reopened.name}”")


@router.post("/tasks/{task_id}/withdraw")
def withdraw(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
             form: FormData) -> Response:
    """撤回 my completed step."""
    reopened = actions.withdraw(session, rt.runner, task_id, actor)
    return flash_redirect(request, f"/tasks/{reopened.id}", "已撤回，任务已回到您的待办")


@router.post("/tasks/{task_id}/supplement")
def supplement(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
               form: FormData) -> Response:
    """退回给申请人补正."""
    actions.request_supplement(session, rt.runner, task_id, actor, str(form.get("reason", "")))
    return flash_redirect(request, "/tasks", "已退回申请人补正，期限暂停计算，补正后任务回到您的待办")


@router.post("/tasks/{task_id}/addsign")
def addsign(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
            form: FormData) -> Response:
    """加签 before me."""
    row = actions.add_signer(session, rt.runner, task_id, actor, _int(form.get("user_id"), "加签人"),
                             str(form.get("reason", "")))
    who = session.get(User, row.assignee_id)
    return flash_redirect(request, "/tasks", f"已请{who.display_name if who else '加签人'}加签，签署后任务回到您的待办")


@router.post("/tasks/{task_id}/delegate")
def delegate(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
             form: FormData) -> Response:
    """委派 to a colleague."""
    row = actions.delegate(session, rt.runner, task_id, actor, _int(form.get("user_id"), "受委派人"),
                           str(form.get("reason", "")))
    who = session.get(User, row.assignee_id)
    return flash_redirect(request, "/tasks", f"已委派给{who.display_name if who else '同事'}，填写意见后回到您这里确认")


@router.post("/tasks/{task_id}/complete-as-deputy")
def complete_as_deputy(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                       form: FormData) -> Response:
    """代理办理 a principal's task."""
    actions.complete_as_deputy(session, rt.runner, task_id, dict(form), actor)
    return flash_redirect(request, "/tasks", "已代为办理")


@router.get("/side-tasks/{side_task_id}", response_class=HTMLResponse)
def side_task_page(request: Request, side_task_id: int, session: SessionDep, actor: PageUser) -> Response:
    """Show a 补正/加签/委派 item and, to its assignee while open, the form to answer it."""
    row = actions.get_side_for(session, side_task_id, actor)
    [item] = [s for s in side.sides_of_task(session, row.task_id) if s["id"] == row.id]
    return render(request, "tasks/side.html", {"s": item, "may_answer": row.status == "open"
                                               and row.assignee_id == actor.id})


@router.post("/side-tasks/{side_task_id}/answer")
def answer(request: Request, side_task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Answer a 补正/加签/委派 item."""
    actions.answer(session, rt.runner, side_task_id, actor, str(form.get("reply", "")), rt.calendar.get(session))
    return flash_redirect(request, "/tasks", "已提交，任务已回到原办理人")


@router.get("/settings/deputy", response_class=HTMLResponse)
def deputy_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """我的设置: name a deputy while away (代理)."""
    row = actions.get_deputy(session, actor)
    current = None
    if row is not None:
        user = session.get(User, row.deputy_id)
        current = {"name": user.display_name if user else "", "starts_on": row.starts_on, "ends_on": row.ends_on,
                   "in_force": row.starts_on <= clock.now().astimezone(SHANGHAI).date() <= row.ends_on}
    return render(request, "tasks/deputy.html", {"current": current,
                                                 "people": people_by_department(session, exclude=actor.id)})


@router.post("/settings/deputy")
def set_deputy(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Save the deputy and the period."""
    try:
        starts_on = date.fromisoformat(str(form.get("starts_on", "")))
        ends_on = date.fromisoformat(str(form.get("ends_on", "")))
    except ValueError:
        raise InvalidInput("请填写代理起止日期（年-月-日）", code="deputy_range_invalid") from None
    actions.set_deputy(session, actor, _int(form.get("deputy_id"), "代理人"), starts_on, ends_on)
    return flash_redirect(request, "/settings/deputy", "代理设置已保存")


@router.post("/settings/deputy/clear")
def clear_deputy(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """End the deputy setting."""
    actions.clear_deputy(session, actor)
    return flash_redirect(request, "/settings/deputy", "已取消代理")
