"""The task inbox: list, read, claim, unclaim, complete."""

from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.tasks import flows, service

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("")
def list_tasks(session: SessionDep, actor: CurrentUser,
               view: Literal["todo", "done", "initiated"] = "todo", process_key: str | None = None,
               limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """List one inbox view: 待办 (todo), 已办 (done) or 我发起的 (initiated)."""
    items = service.inbox(session=session, actor=actor, view=view, process_key=process_key,
                          limit=limit, offset=offset)
    return {"view": view, "items": items, "count": len(items)}


@router.get("/{task_id}")
def get_task(task_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return one task with its form."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    return service.load_public(session=session, task=task, instance=instance)


@router.post("/{task_id}/claim")
def claim(task_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Claim a task so colleagues see it is being worked."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.claim(session, task_id, actor)
    return service.load_public(session=session, task=task, instance=instance)


@router.post("/{task_id}/unclaim")
def unclaim(task_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Give a claimed task back to the department's pool."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.unclaim(session, task_id, actor)
    return service.load_public(session=session, task=task, instance=instance)


@router.post("/{task_id}/complete")
def complete(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
             data: dict[str, Any] = Body(..., embed=True)) -> dict[str, Any]:
    """Complete a task with its form data."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    task = flows.complete(session, rt.runner, task_id, data, actor)
    session.refresh(instance)
    return service.load_public(session=session, task=task, instance=instance)
