"""Messages from outside: an answer a waiting process instance catches (POST /api/messages).

Who may deliver: a system administrator, for any instance; otherwise a user of the department the
instance belongs to (an outside system calls with an account of that department). Whoever may not
read the instance gets the same 404 as when no instance waits, so the endpoint reveals nothing; a
reader of another department (an overseer) gets 403.
"""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from app.core.errors import Forbidden, NotFound
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.engine.models import MessageSubscription, ProcessInstance
from app.tasks.service import may_read_instance

router = APIRouter(tags=["messages"])


class MessageBody(BaseModel):
    """A message to deliver: its name, the instance it is for (one of the two), variables it brings."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=128, description="消息名称（BPMN 中 bpmn:message 的 name）")
    business_ref: str | None = Field(default=None, min_length=1, max_length=64, description="业务编号")
    instance_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="流程实例编号")
    variables: dict[str, Any] = Field(default_factory=dict, description="消息带入的流程变量")

    @model_validator(mode="after")
    def _one_target(self) -> "MessageBody":
        if (self.business_ref is None) == (self.instance_id is None):
            raise ValueError("business_ref 与 instance_id 须且只须给出一个")
        return self


@router.post("/messages")
def deliver_message(body: MessageBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """Deliver a message to the one running instance waiting for it, step it and return where it stands."""
    instance_id = rt.runner.waiting_instance(session, body.message, instance_id=body.instance_id,
                                             business_ref=body.business_ref)
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not may_read_instance(session=session, instance=instance, actor=actor):
        raise NotFound(f"没有流程实例在等待消息“{body.message}”", code="no_waiting_instance")
    if not actor.has_role("admin") and actor.department_id != instance.department_id:
        raise Forbidden("只有流程实例所属部门的人员或系统管理员可以向其投递消息", code="message_not_allowed")
    instance = rt.runner.deliver_message(session, instance_id, body.message, body.variables, actor)
    session.commit()
    waiting = session.execute(select(MessageSubscription.message_name)
                              .where(MessageSubscription.instance_id == instance.id)
                              .order_by(MessageSubscription.message_name)).scalars().all()
    return {"instance_id": instance.id, "process_key": instance.process_key, "business_ref": instance.business_ref,
            "status": instance.status, "message": body.message, "waiting_for": list(waiting)}
