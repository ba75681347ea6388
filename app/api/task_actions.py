"""退回, 退回补正, 撤回, 加签, 委派 and 代理: the actions that change who acts on a task."""

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.core.clock import clock
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.engine.models import ProcessInstance, Task
from app.org.models import User
from app.org.service import Actor
from app.tasks import actions, service, side

router = APIRouter(tags=["task actions"])


def _public(session: SessionDep, rt: RuntimeDep, task: Task, instance: ProcessInstance,
            actor: Actor | None = None) -> dict[str, Any]:
    return service.load_public(session=session, task=task, instance=instance,
                               calendar=rt.calendar.get(session), now=clock.now(), actor=actor)


def _side(session: SessionDep, row: Any) -> dict[str, Any]:
    task = session.get(Task, row.task_id)
    instance = session.get(ProcessInstance, row.instance_id)
    asker = session.get(User, row.requested_by_id)
    assignee = session.get(User, row.assignee_id)
    return side.side_public(row, task.name if task else "", instance.subject if instance else "",
                            asker.display_name if asker else None, assignee.display_name if assignee else None)


@router.get("/tasks/{task_id}/returnable-steps")
def returnable_steps(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """List the earlier steps this open task may be returned to (退回), nearest first."""
    task, instance = service.get_visible(session=session, task_id=task_id, actor=actor)
    return {"items": actions.returnable_steps(session, rt.runner, task, instance)}


class ReturnBody(BaseModel):
    step: str = Field(min_length=1, max_length=128, description="要退回到的步骤（元素 id）")
    reason: str = Field(min_length=2, max_length=500, description="退回理由")


@router.post("/tasks/{task_id}/return")
def return_task(task_id: int, body: ReturnBody, session: SessionDep, rt: RuntimeDep,
                actor: CurrentUser) -> dict[str, Any]:
    """退回: send the instance back to an earlier step; returns the reopened task."""
    service.get_visible(session=session, task_id=task_id, actor=actor)
    reopened = actions.return_to(session, rt.runner, task_id, actor, body.step, body.reason)
    return _public(session, rt, reopened, session.get(ProcessInstance, reopened.instance_id))  # type: ignore[arg-type]


@router.post("/tasks/{task_id}/withdraw")
def withdraw(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """撤回: take back my completed step while the next has not been acted on; returns my reopened task."""
    service.get_visible(session=session, task_id=task_id, actor=actor)
    reopened = actions.withdraw(session, rt.runner, task_id, actor)
    return _public(session, rt, reopened, session.get(ProcessInstance, reopened.instance_id))  # type: ignore[arg-type]


class SupplementBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="需申请人补正的内容")


@router.post("/tasks/{task_id}/supplement", status_code=201)
def supplement(task_id: int, body: SupplementBody, session: SessionDep, actor: CurrentUser,
               rt: RuntimeDep) -> dict[str, Any]:
    """退回给申请人补正: the task waits, its deadline paused, until the initiator answers."""
    service.get_visible(session=session, task_id=task_id, actor=actor)
    return _side(session, actions.request_supplement(session, rt.runner, task_id, actor, body.reason))


class AddSignBody(BaseModel):
    user_id: int = Field(ge=1, le=2_147_483_647, description="加签人")
    position: Literal["before", "after"] = Field(default="before", description="before：在我之前；after：在我之后")
    reason: str = Field(min_length=2, max_length=500, description="加签说明")
    data: dict[str, Any] | None = Field(default=None, description="在我之后：我的办理数据（加签人签署后以此办结）")


@router.post("/tasks/{task_id}/addsign", status_code=201)
def addsign(task_id: int, body: AddSignBody, session: SessionDep, rt: RuntimeDep,
            actor: CurrentUser) -> dict[str, Any]:
    """加签: a colleague signs before me (the task comes back) or after me (it completes once they sign)."""
    service.get_visible(session=session, task_id=task_id, actor=actor)
    return _side(session, actions.add_signer(session, rt.runner, task_id, actor, body.user_id, body.reason,
                                             body.position, body.data))


class DelegateBody(BaseModel):
    user_id: int = Field(ge=1, le=2_147_483_647, description="受委派人")
    reason: str = Field(min_length=2, max_length=500, description="委派说明")


@router.post("/tasks/{task_id}/delegate", status_code=201)
def delegate(task_id: int, body: DelegateBody, session: SessionDep, rt: RuntimeDep,
             actor: CurrentUser) -> dict[str, Any]:
    """委派: a colleague fills the opinion, then the task comes back to me to confirm."""
    service.get_visible(session=session, task_id=task_id, actor=actor)
    return _side(session, actions.delegate(session, rt.runner, task_id, actor, body.user_id, body.reason))


@router.get("/side-tasks")
def list_side_tasks(session: SessionDep, actor: CurrentUser, limit: int = Query(100, ge=1, le=500),
                    cursor: str | None = Query(None, description="上一页返回的 next_cursor（不透明的分页游标）")
                    ) -> dict[str, Any]:
    """List the 补正/加签/委派 items I must answer, oldest first, one page at a time."""
    items, next_cursor = side.open_side_items(session, actor, limit=limit, cursor=cursor)
    return {"items": items, "count": len(items), "next_cursor": next_cursor}


@router.get("/side-tasks/{side_task_id}")
def get_side_task(side_task_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return one 补正/加签/委派 item (to its assignee and whoever asked)."""
    return _side(session, actions.get_side_for(session, side_task_id, actor))


class AnswerBody(BaseModel):
    reply: str = Field(min_length=2, max_length=4000, description="补正内容或意见")


@router.post("/side-tasks/{side_task_id}/answer")
def answer_side_task(side_task_id: int, body: AnswerBody, session: SessionDep, rt: RuntimeDep,
                     actor: CurrentUser) -> dict[str, Any]:
    """Answer a 补正/加签/委派 item; the waiting task comes back to its holder (or completes, 加签在后)."""
    row = actions.answer(session, rt.runner, side_task_id, actor, body.reply, rt.calendar.get(session))
    return _side(session, row)


class DeputyBody(BaseModel):
    deputy_id: int = Field(ge=1, le=2_147_483_647, description="代理人")
    starts_on: date
    ends_on: date


def _deputy_public(session: SessionDep, actor: Actor) -> dict[str, Any]:
    row = actions.get_deputy(session, actor)
    if row is None:
        return {"deputy": None}
    user = session.get(User, row.deputy_id)
    return {"deputy": {"user_id": row.deputy_id, "name": user.display_name if user else None,
                       "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat()}}


@router.get("/me/deputy")
def get_deputy(session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return my deputy setting (代理)."""
    return _deputy_public(session, actor)


@router.put("/me/deputy")
def put_deputy(body: DeputyBody, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Name a deputy who may work my tasks between two days (inclusive)."""
    actions.set_deputy(session, actor, body.deputy_id, body.starts_on, body.ends_on)
    return _deputy_public(session, actor)


@router.delete("/me/deputy")
def delete_deputy(session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """End my deputy setting."""
    actions.clear_deputy(session, actor)
    return {"deputy": None}


@router.get("/me/deputy/tasks")
def deputy_tasks(session: SessionDep, rt: RuntimeDep, actor: CurrentUser, limit: int = Query(100, ge=1, le=500),
                 cursor: str | None = Query(None, description="上一页返回的 next_cursor（不透明的分页游标）")
                 ) -> dict[str, Any]:
    """List the tasks I may work as a deputy (代理), with whose they are, in deadline order, one page at a time."""
    principals = actions.deputy_principals(session, actor)
    page = service.deputy_inbox(session=session, principals=principals, calendar=rt.calendar.get(session),
                                now=clock.now(), limit=limit, cursor=cursor)
    return {"items": page.items, "count": len(page.items), "next_cursor": page.next_cursor}


class CompleteBody(BaseModel):
    data: dict[str, Any]


@router.post("/tasks/{task_id}/complete-as-deputy")
def complete_as_deputy(task_id: int, body: CompleteBody, session: SessionDep, rt: RuntimeDep,
                       actor: CurrentUser) -> dict[str, Any]:
    """Complete a principal's task as their deputy (代理); recorded as “X 代 Y”."""
    task = actions.complete_as_deputy(session, rt.runner, task_id, body.data, actor)
    return _public(session, rt, task, session.get(ProcessInstance, task.instance_id))  # type: ignore[arg-type]
