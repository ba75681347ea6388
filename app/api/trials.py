"""Trial runs (试运行) of deployed processes: list them, act a task as any of its roles, act as the outside
system for an external task, discard one.

Starting one is POST /api/processes/{process_key}/instances (app/api/processes.py).
"""

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from app.api.processes import instance_public
from app.deps import DesignerUser, RuntimeDep, SessionDep
from app.designer import trials
from app.external.models import MAX_ERROR_MESSAGE

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


class ExternalCompleteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict, description="外部系统带回流程的变量")


class ExternalErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_code: str = Field(min_length=1, max_length=100, description="业务错误码（bpmn:error 的 errorCode）")
    error_message: str | None = Field(default=None, max_length=MAX_ERROR_MESSAGE, description="错误说明")
    variables: dict[str, Any] = Field(default_factory=dict, description="带回流程的变量")


@router.post("/{instance_id}/external-tasks/{external_task_id}/complete")
def complete_external(instance_id: int, external_task_id: int, body: ExternalCompleteBody, session: SessionDep,
                      rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Act as the outside system: complete a trial's external task with variables (the worker API's engine
    path and audit event; a real instance's task answers 404)."""
    trials.complete_external(session, rt.runner, instance_id, external_task_id, variables=body.variables,
                             actor=actor)
    return _with_external(session, rt, instance_id, actor)


@router.post("/{instance_id}/external-tasks/{external_task_id}/bpmn-error")
def external_error(instance_id: int, external_task_id: int, body: ExternalErrorBody, session: SessionDep,
                   rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Act as the outside system: raise a BPMN error on a trial's external task. An error no boundary event
    catches is refused (422 bpmn_error_uncaught) and changes nothing."""
    trials.external_error(session, rt.runner, instance_id, external_task_id, error_code=body.error_code,
                          error_message=body.error_message, variables=body.variables, actor=actor)
    return _with_external(session, rt, instance_id, actor)


def _with_external(session: Any, rt: Any, instance_id: int, actor: Any) -> dict[str, Any]:
    """The trial as instance_public shows it, with the external tasks it still waits for."""
    instance = trials.get_trial(session=session, instance_id=instance_id, actor=actor)
    return {**instance_public(session, instance, rt.calendar.get(session)),
            "open_external_tasks": trials.open_external_tasks(session=session, instance_id=instance_id)}


@router.post("/{instance_id}/cancel")
def cancel(instance_id: int, session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Discard a running trial run."""
    instance = trials.cancel(session, rt.runner, instance_id, actor)
    return instance_public(session, instance, rt.calendar.get(session))
