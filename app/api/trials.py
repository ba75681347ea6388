"""Trial runs (试运行) of deployed processes: list them, act a task as any of its roles, discard one.

Starting one is POST /api/processes/{process_key}/instances (app/api/processes.py).
"""

from typing import Any

from fastapi import APIRouter, Body

from app.api.processes import instance_public
from app.deps import DesignerUser, RuntimeDep, SessionDep
from app.designer import trials

router = APIRouter(prefix="/trials", tags=["trials"])


@router.get("")
def list_trials(session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> list[dict[str, Any]]:
    """List trial runs, newest first: process, version, status and open tasks with their roles."""
    return trials.list_trials(session=session, runner=rt.runner, actor=actor)


@router.post("/tasks/{task_id}/complete")
def complete_as(task_id: int, session: SessionDep, rt: RuntimeDep, actor: DesignerUser,
                role: str = Body(..., embed=True, min_length=1, max_length=32),
                data: dict[str, Any] = Body(default_factory=dict, embed=True)) -> dict[str, Any]:
    """Act a trial task as one of its candidate roles with its form data (a real task answers 404)."""
    task = trials.complete_as(session, rt.runner, task_id, role=role, data=data, actor=actor)
    instance = trials.get_trial(session=session, instance_id=task.instance_id, actor=actor)
    return instance_public(session, instance, rt.calendar.get(session))


@router.post("/{instance_id}/cancel")
def cancel(instance_id: int, session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Discard a running trial run."""
    instance = trials.cancel(session, rt.runner, instance_id, actor)
    return instance_public(session, instance, rt.calendar.get(session))
