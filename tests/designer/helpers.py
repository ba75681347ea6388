"""Small BPMN files and steps for the designer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent

SHIPPED = sorted(Path("bpmn").glob("*.bpmn"))


def one_task(key: str = "designer_trial", *, task: str = 'camunda:candidateGroups="clerk" camunda:dueDate="5WD"',
             name: str = "试验流程", task_name: str = "办理", body: str = "", extra: str = "") -> str:
    """A process start → user task `handle` → end; `task` holds the task's attributes."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle" />
    <bpmn:userTask id="handle" name="{task_name}" {task}>{body}</bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>{extra}
  </bpmn:process>
</bpmn:definitions>"""


def shipped(key: str) -> str:
    """The shipped BPMN file of a process, as text."""
    return Path(f"bpmn/{key}.bpmn").read_text(encoding="utf-8")


def new_draft(designer: TestClient, xml: str, title: str = "试验草稿") -> dict[str, Any]:
    r = designer.post("/api/designer/drafts", json={"title": title, "xml": xml})
    assert r.status_code == 201, r.text
    return r.json()


def submit_draft(designer: TestClient, draft_id: int, comment: str = "请审批") -> dict[str, Any]:
    r = designer.post(f"/api/designer/drafts/{draft_id}/submit", json={"comment": comment})
    assert r.status_code == 201, r.text
    return r.json()


def deploy(designer: TestClient, admin: TestClient, xml: str) -> int:
    """Draft, submit and approve a file; return the version it deployed."""
    draft = new_draft(designer, xml)
    sub = submit_draft(designer, draft["id"])
    r = admin.post(f"/api/designer/submissions/{sub['id']}/approve", json={"comment": "同意"})
    assert r.status_code == 200, r.text
    return int(r.json()["deployed_version"])


def versions(client: TestClient, key: str) -> list[dict[str, Any]]:
    """The versions of a process as the workspace lists them."""
    processes = client.get("/api/designer/processes").json()
    return next(p for p in processes if p["key"] == key)["versions"]


def audit_actions(rt: Any, entity_type: str, entity_id: Any) -> list[tuple[str, str]]:
    """(action, actor) of the audit events of one object, oldest first."""
    with rt.db.session() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.seq)).all()
    return [(a, b) for a, b in rows]
