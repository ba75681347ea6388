"""Deployed process definitions and instances."""

from typing import Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.deps import CurrentUser, DesignerUser, RuntimeDep, SessionDep
from app.designer import flows as designer_flows
from app.designer import service as designer_service
from app.engine.models import ProcessDefinition, ProcessInstance, Task, TaskStatus
from app.audit.service import instance_history_page
from app.core.history_page import check_limit
from app.tasks.service import get_visible_instance, load_public
from app.workdays.calendar import WorkdayCalendar
from app.core.clock import clock

router = APIRouter(tags=["processes"])


def definition_public(d: ProcessDefinition) -> dict[str, Any]:
    """Return a definition as the API lists it."""
    return {"key": d.process_key, "name": d.name, "version": d.version, "content_hash": d.content_hash,
            "filename": d.filename, "deployed_at": d.deployed_at.isoformat(), "deployed_by": d.deployed_by}


@router.get("/processes")
def list_processes(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List every deployed version of every process."""
    rows = session.execute(
        select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version)
    ).scalars().all()
    return [definition_public(d) for d in rows]


class DeployBody(BaseModel):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[\w.\-]+\.bpmn$")
    xml: str = Field(min_length=1)


@router.post("/processes", status_code=202)
def deploy(body: DeployBody, session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Lint a BPMN file and submit it for approval: an administrator other than the submitter deploys it."""
    sub = designer_flows.submit_xml(session, rt, actor, body.xml, filename=body.filename)
    session.commit()
    return designer_service.get_submission(session, sub.id or 0, actor, rt.settings)


@router.get("/processes/{process_key}/versions/{version}/bpmn")
def version_bpmn(process_key: str, version: int, session: SessionDep, actor: DesignerUser) -> Response:
    """Return the BPMN XML of one deployed version (designers and administrators)."""
    xml = designer_service.version_xml(session, process_key, version, actor)
    return Response(xml, media_type="application/xml")


@router.post("/processes/{process_key}/instances", status_code=201)
def start_instance(process_key: str, session: SessionDep, rt: RuntimeDep, actor: DesignerUser,
                   variables: dict[str, Any] = Body(default_factory=dict, embed=True),
                   version: int | None = Body(default=None, embed=True, ge=1, le=1_000_000)) -> dict[str, Any]:
    """Start a trial run of a deployed process (its newest version unless one is named) with variables."""
    instance = rt.runner.start(session, process_key, variables=variables, actor=actor,
                               subject=f"试运行：{process_key}", trial=True, version=version)
    session.commit()
    return instance_public(session, instance, rt.calendar.get(session))


@router.get("/instances/{instance_id}")
def get_instance(instance_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Return an instance: process, version, status, open tasks and history."""
    instance = get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    return instance_public(session, instance, rt.calendar.get(session))


def instance_public(session: SessionDep, instance: ProcessInstance, calendar: WorkdayCalendar
                    ) -> dict[str, Any]:
    """Return an instance with its open tasks and history."""
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    open_tasks = session.execute(
        select(Task).where(Task.instance_id == instance.id, Task.status == TaskStatus.open.value)
        .order_by(Task.id)).scalars().all()
    return {
        "id": instance.id, "process_key": instance.process_key, "version": definition.version,
        "status": instance.status, "subject": instance.subject, "business_ref": instance.business_ref,
        "trial": instance.trial,
        "started_at": instance.started_at.isoformat(),
        "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
        "next_timer_at": instance.next_timer_at.isoformat() if instance.next_timer_at else None,
        "open_tasks": [load_public(session=session, task=t, instance=instance, calendar=calendar,
                                   now=clock.now()) for t in open_tasks],
        **_history(session, instance),
    }


def _history(session: SessionDep, instance: ProcessInstance) -> dict[str, Any]:
    lines, next_cursor = instance_history_page(session, instance)
    return {"history": lines, "history_next_cursor": next_cursor}


@router.get("/instances/{instance_id}/history")
def instance_history(instance_id: int, session: SessionDep, actor: CurrentUser, cursor: str | None = None,
                     limit: int | None = None) -> dict[str, Any]:
    """Return lines of an instance's 流转记录, oldest first: the latest ones, or those before `cursor`
    (`next_cursor` of the previous answer, or `history_next_cursor` of the instance)."""
    instance = get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    items, next_cursor = instance_history_page(session, instance, cursor, check_limit(limit))
    return {"items": items, "next_cursor": next_cursor}
