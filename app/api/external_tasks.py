"""External tasks (issue 16): the worker API for other systems and the administrators' incidents.

Workers authenticate as a system (HTTP Basic `code:secret` of a system client with the scope
`external_task:work`), never as a person. Camunda 7's REST API is the model (field names in snake_case):
fetch-and-lock, complete, failure, bpmn-error, extend-lock.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.external import flows, service
from app.external.views import locked_public, task_public
from app.usage import flows as usage_flows
from app.usage.models import Scope, SystemClient

router = APIRouter(prefix="/external-tasks", tags=["external tasks"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])


async def working_system(request: Request, rt: RuntimeDep) -> SystemClient:
    """Return the system client of the request's HTTP Basic credentials, allowed to work external tasks."""
    return await run_in_threadpool(usage_flows.authenticate, rt.db, rt.settings, request.headers.get("authorization"),
                                   Scope.external_task_work)


WorkingSystem = Annotated[SystemClient, Depends(working_system)]


@router.post("/fetch-and-lock")
def fetch_and_lock(body: flows.FetchAndLock, client: WorkingSystem, session: SessionDep) -> list[dict[str, Any]]:
    """Lock up to `max_tasks` tasks of the given topics for `worker_id`, each for its topic's lock duration.

    Each task goes to one worker, whichever replica answers. Returns the locked tasks with their variables
    (only the names listed in a topic's `variables`, if given); an empty list when none is fetchable.
    """
    return [locked_public(row, names) for row, names in flows.fetch_and_lock(session, client, body)]


@router.post("/{external_task_id}/complete")
def complete(external_task_id: int, body: flows.CompleteBody, client: WorkingSystem, session: SessionDep,
             rt: RuntimeDep) -> dict[str, Any]:
    """Complete a task this worker holds the lock of; its variables go into the process, which runs on."""
    return task_public(flows.complete(session, rt.runner, client, external_task_id, body))


@router.post("/{external_task_id}/failure")
def failure(external_task_id: int, body: flows.FailureBody, client: WorkingSystem, session: SessionDep) -> dict[str, Any]:
    """Report that the worker could not do the task: with `retries` > 0 it is fetchable again after
    `retry_timeout_ms`; with 0 an incident opens for the administrators."""
    return task_public(flows.failure(session, client, external_task_id, body))


@router.post("/{external_task_id}/bpmn-error")
def bpmn_error(external_task_id: int, body: flows.BpmnErrorBody, client: WorkingSystem, session: SessionDep,
               rt: RuntimeDep) -> dict[str, Any]:
    """Raise a business error: the error boundary event catching `error_code` takes the process on.
    An error nothing catches is refused (422 bpmn_error_uncaught) and changes nothing."""
    return task_public(flows.bpmn_error(session, rt.runner, client, external_task_id, body))


@router.post("/{external_task_id}/extend-lock")
def extend_lock(external_task_id: int, body: flows.ExtendLockBody, client: WorkingSystem, session: SessionDep
                ) -> dict[str, Any]:
    """Extend the worker's lock to `new_duration_ms` from now."""
    return task_public(flows.extend_lock(session, client, external_task_id, body))


@admin_router.get("/incidents")
def incidents(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """External tasks whose retries ran out, oldest first (system administrators)."""
    flows.require_admin(actor)
    return [task_public(row) for row in service.open_incidents(session)]


@admin_router.post("/incidents/{incident_id}/retry")
def retry_incident(incident_id: int, session: SessionDep, actor: CurrentUser,
                   body: flows.RetryBody | None = None) -> dict[str, Any]:
    """Give an incident's task new retries (default 1): workers can fetch it again at once."""
    retries = body.retries if body is not None else 1
    return task_public(flows.retry_incident(session, actor, incident_id, retries))
