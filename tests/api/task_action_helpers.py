"""A small three-step approval for the task-action tests: 拟办 (clerk) → 审核 (reviewer) → 审批 (head)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.org.models import User
from app.org.service import load_actor
from tests.designer.helpers import deploy

KEY = "desk_three_steps"


def _step(element: str, name: str, role: str, extra: str = "") -> str:
    return f"""
    <bpmn:userTask id="{element}" name="{name}" camunda:candidateGroups="{role}" camunda:dueDate="5WD">
      <bpmn:extensionElements>{extra}
        <camunda:formData>
          <camunda:formField id="opinion" label="意见" type="string">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>"""


XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{KEY}" name="三级审批" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    {_step("draft", "拟办", "clerk")}
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="check" />
    {_step("check", "审核", "reviewer")}
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="approve" />
    {_step("approve", "审批", "head",
           '<camunda:properties><camunda:property name="allow_return" value="false" /></camunda:properties>')}
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def deploy_three_steps(as_user: Any) -> None:
    deploy(as_user("designer"), as_user("demo_admin"), XML)


def user_id(rt: Any, username: str) -> int:
    with rt.db.session() as session:
        return int(session.execute(select(User.id).where(User.username == username)).scalar_one())


def start(rt: Any, username: str = "gat_clerk", subject: str = "关于调整数据共享范围的请示") -> int:
    """Start a real (not trial) instance as a person; return its id."""
    with rt.db.session() as session:
        actor = load_actor(session=session, user_id=user_id(rt, username))
        assert actor is not None
        instance = rt.runner.start(session, KEY, variables={}, actor=actor, subject=subject)
        session.commit()
        return int(instance.id)


def open_task(client: TestClient, instance_id: int) -> dict[str, Any]:
    items = [t for t in client.get("/api/tasks", params={"view": "todo"}).json()["items"]
             if t["instance_id"] == instance_id]
    assert len(items) == 1, items
    return items[0]


def complete(client: TestClient, task_id: int, opinion: str = "同意") -> dict[str, Any]:
    r = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"opinion": opinion}})
    assert r.status_code == 200, r.text
    return r.json()
