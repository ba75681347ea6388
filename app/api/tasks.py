"""The task inbox: list, read, claim, unclaim, complete, pause and resume."""

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from app.core.clock import clock
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.engine.models import ProcessInstance, Task
from app.org.service import Actor
from app.tasks import flows, service

router = APIRouter(prefix="/tasks", tags=["tasks"])


def _public(session: SessionDep, rt: RuntimeDep, task: Task, instance: ProcessInstance,
            actor: Actor | None = None) -> dict[str, Any]:
    return service.load_public(session=session, task=task, instance=instance,
                               calendar=rt.calendar.get(session), now=clock.now(), actor=actor)


@router.get("")
def list_tasks(session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
               view: Literal["todo", "done", "initiated"] = "todo", process_key: str | None = None,
               overdue: bool | None = None, sort: service.Sort | None = None,
               q: str | None = Query(None, max_length=100, description="事项或环节名称中的关键词"),
               received_from: date | None = Query(None, description="到达日期起（含，北京时间）"),
               received_to: date | None = Query(None, description="到达日期止（含，北京时间）"),
               initiator_id: int | None = Query(None, ge=1, le=2**31 - 1, description="发起人（用户编号，见 /api/people）"),
               department_id: int | None = Query(None, ge=1, le=2**31 - 1, description="办理部门（部门编号）"),
               limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
               cursor: str | None = Query(None, description="上一页返回的 next_cursor（不透明的分页游标）")
               ) -> dict[str, Any]:
    """List one page of an inbox view: 待办 (todo), 已办 (done) or 我发起的 (initiated); filter and sort by deadline.

    Items are what a list shows (no `form` or `data`: read them with GET /api/tasks/{task_id}); the next page
    is `cursor=<next_cursor>` (null on the last page).
    """
    service.check_received_range(received_from, received_to)
    page = service.inbox(session=session, actor=actor, view=view, calendar=rt.calendar.get(session),
                          now=clock.now(), process_key=process_key, overdue=overdue, sort=sort, q=q,
                          received_from=received_from, received_to=received_to, initiator_id=initiator_id,
                          department_id=department_id, limit=limit, offset=offset, cursor=cursor)
    return {"view": view, "items": page.items, "count": len(page.items), "next_cursor": page.next_cursor}


@router.get("/{task_id}")
def get_task(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Return one task with its form and deadline."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    return _public(session, rt, task, instance)


@router.post("/{task_id}/claim")
def claim(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Claim a task so colleagues see it is being worked."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.claim(session, task_id, actor)
    return _public(session, rt, task, instance)


@router.post("/{task_id}/unclaim")
def unclaim(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Give a claimed task back to the department's pool."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.unclaim(session, task_id, actor)
    return _public(session, rt, task, instance)


@router.post("/{task_id}/complete")
def complete(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
             data: dict[str, Any] = Body(..., embed=True)) -> dict[str, Any]:
    """Complete a task with its form data."""
    # Lock first, so that the visibility check reads the task and instance the completion works on.
    locked = rt.runner.lock_task(session, task_id)
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.complete(session, rt.runner, task_id, data, actor, locked=locked)
    # The instance was stepped and flushed in this session (expire_on_commit=False): it is current.
    return _public(session, rt, task, instance, actor)


class PauseBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


@router.post("/{task_id}/pause")
def pause(task_id: int, body: PauseBody, session: SessionDep, rt: RuntimeDep,
          actor: CurrentUser) -> dict[str, Any]:
    """Pause the task's deadline (挂起) with a reason."""
    _, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.pause(session, task_id, actor, body.reason)
    return _public(session, rt, task, instance)


@router.post("/{task_id}/resume")
def resume(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Resume a paused task: its deadline moves by the working days paused."""
    _, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.resume(session, task_id, actor, rt.calendar.get(session))
    return _public(session, rt, task, instance)


class ReassignBody(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="接收人的用户名（本部门、具备任务所需角色）")
    note: str = Field(default="", max_length=500, description="转办说明")


@router.post("/{task_id}/reassign")
def reassign(task_id: int, body: ReassignBody, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """转办: hand an open task to a colleague of its department holding its role (holder, head or admin)."""
    _, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.reassign(session, task_id, actor, body.username, body.note)
    return _public(session, rt, task, instance)
