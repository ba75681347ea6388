"""The 流程图 of a process instance: its BPMN with the path taken, the steps waiting and their history."""

from typing import Any

from fastapi import APIRouter

from app.core.clock import clock
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.tasks.diagram import instance_diagram
from app.tasks.service import get_visible_instance

router = APIRouter(tags=["processes"])


@router.get("/instances/{instance_id}/diagram")
def get_instance_diagram(instance_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser
                         ) -> dict[str, Any]:
    """Return an instance's diagram: BPMN XML, each reached step's state, holder, deadline and history,
    and the sequence flows taken. Visible to whoever may read the instance (404 otherwise)."""
    instance = get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    return instance_diagram(session=session, runner=rt.runner, instance=instance,
                            calendar=rt.calendar.get(session), now=clock.now())
