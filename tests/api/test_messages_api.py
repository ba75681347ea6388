"""POST /api/messages: an outside answer reaches the one instance waiting for it, under its lock, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine.models import MessageSubscription
from app.org.models import Department

WAIT_FOR_REPLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:message id="m_reply" name="共享复函" />
  <bpmn:process id="test_wait_reply" name="等待复函" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_reply" />
    <bpmn:intermediateCatchEvent id="wait_reply" name="等待复函">
      <bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_reply" targetRef="handle" />
    <bpmn:userTask id="handle" name="办理复函" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f3" sourceRef="handle" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def _start(rt, business_ref: str, department: str = "410000-gat") -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        rt.runner.deploy(session, WAIT_FOR_REPLY, filename="wait.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == department)).scalar_one()
        instance = rt.runner.start(session, "test_wait_reply", variables={"case": business_ref}, actor="system",
                                   subject="等待复函", business_ref=business_ref, department_id=dept)
        session.commit()
        return int(instance.id)


def _waiting(rt, instance_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return list(session.execute(select(MessageSubscription.message_name)
                                    .where(MessageSubscription.instance_id == instance_id)).scalars())


def _code(r: Any) -> str:
    return str(r.json()["detail"]["code"])


def test_a_message_by_business_ref_steps_the_instance_and_is_audited(client, as_user, rt) -> None:
    instance_id = _start(rt, "GX-2026-001")
    assert _waiting(rt, instance_id) == ["共享复函"]
    clerk = as_user("gat_clerk")
    r = clerk.post("/api/messages", json={"message": "共享复函", "business_ref": "GX-2026-001",
                                          "variables": {"reply": "同意共享", "pages": 2}})
    assert r.status_code == 200, r.text
    assert r.json() == {"instance_id": instance_id, "process_key": "test_wait_reply", "business_ref": "GX-2026-001",
                        "status": "running", "message": "共享复函", "waiting_for": []}
    assert _waiting(rt, instance_id) == []
    # The next step reached the clerks' inbox, with the delivered variables.
    [task] = [t for t in clerk.get("/api/tasks", params={"view": "todo"}).json()["items"]
              if t["instance_id"] == instance_id]
    assert task["name"] == "办理复函"
    with rt.db.session() as session:
        [event] = session.execute(select(AuditEvent).where(AuditEvent.action == "message.delivered",
                                                           AuditEvent.instance_id == instance_id)).scalars().all()
        assert event.actor == "gat_clerk"
        assert event.detail["message"] == "共享复函" and event.detail["variables"] == {"reply": "同意共享", "pages": 2}
        assert rt.runner.variables(session, rt.runner.lock_instance(session, instance_id))["reply"] == "同意共享"
    # Caught once: the same message again finds nobody waiting.
    again = clerk.post("/api/messages", json={"message": "共享复函", "business_ref": "GX-2026-001"})
    assert again.status_code == 404 and _code(again) == "no_waiting_instance"


def test_a_message_nobody_waits_for_is_404(client, as_user, rt) -> None:
    _start(rt, "GX-2026-002")
    clerk = as_user("gat_clerk")
    for body in ({"message": "其他消息", "business_ref": "GX-2026-002"},
                 {"message": "共享复函", "business_ref": "GX-NONE"},
                 {"message": "共享复函", "instance_id": 999_999}):
        r = clerk.post("/api/messages", json=body)
        assert r.status_code == 404 and _code(r) == "no_waiting_instance", body
        assert "没有流程实例在等待消息" in r.json()["detail"]["message"]


def test_two_instances_waiting_under_one_business_ref_is_409_and_instance_id_resolves_it(
        client, as_user, rt) -> None:
    first, second = _start(rt, "GX-2026-003"), _start(rt, "GX-2026-003")
    clerk = as_user("gat_clerk")
    r = clerk.post("/api/messages", json={"message": "共享复函", "business_ref": "GX-2026-003"})
    assert r.status_code == 409 and _code(r) == "message_ambiguous"
    assert r.json()["detail"]["instance_ids"] == [first, second]
    r = clerk.post("/api/messages", json={"message": "共享复函", "instance_id": second})
    assert r.status_code == 200 and r.json()["instance_id"] == second
    assert _waiting(rt, first) == ["共享复函"] and _waiting(rt, second) == []


def test_a_bad_body_is_422(client, as_user, rt) -> None:
    instance_id = _start(rt, "GX-2026-004")
    clerk = as_user("gat_clerk")
    for body in ({"business_ref": "GX-2026-004"},
                 {"message": "共享复函"},
                 {"message": "共享复函", "business_ref": "GX-2026-004", "instance_id": instance_id},
                 {"message": "", "business_ref": "GX-2026-004"},
                 {"message": "共享复函", "business_ref": "GX-2026-004", "variables": ["不是对象"]},
                 {"message": "共享复函", "business_ref": "GX-2026-004", "unknown": 1}):
        r = clerk.post("/api/messages", json=body)
        assert r.status_code == 422, body
    r = clerk.post("/api/messages", json={"message": "共享复函", "business_ref": "GX-2026-004",
                                          "variables": {"not a name": 1}})
    assert r.status_code == 422 and _code(r) == "variable_name_invalid"
    assert _waiting(rt, instance_id) == ["共享复函"]  # nothing was delivered


def test_only_the_instances_department_or_an_admin_may_deliver(client, as_user, rt) -> None:
    instance_id = _start(rt, "GX-2026-005")
    body = {"message": "共享复函", "business_ref": "GX-2026-005"}
    assert client.post("/api/messages", json=body).status_code == 401
    # An overseer may read the case but is not its department: 403.
    r = as_user("gov_supervisor").post("/api/messages", json=body)
    assert r.status_code == 403 and _code(r) == "message_not_allowed"
    # Another department cannot even tell the instance exists.
    r = as_user("scjg_clerk").post("/api/messages", json=body)
    assert r.status_code == 404 and _code(r) == "no_waiting_instance"
    assert _waiting(rt, instance_id) == ["共享复函"]
    r = as_user("demo_admin").post("/api/messages", json=body)
    assert r.status_code == 200 and r.json()["waiting_for"] == []


def test_a_cancelled_instance_waits_for_nothing(client, as_user, rt) -> None:
    instance_id = _start(rt, "GX-2026-006")
    with rt.db.session() as session:
        rt.runner.cancel(session, instance_id, actor="system", reason="申请人撤回")
        session.commit()
    assert _waiting(rt, instance_id) == []
    r = as_user("gat_clerk").post("/api/messages", json={"message": "共享复函", "business_ref": "GX-2026-006"})
    assert r.status_code == 404


WAIT_AT_START = WAIT_FOR_REPLY.decode().replace(
    '<bpmn:startEvent id="start" />',
    '<bpmn:startEvent id="start" name="收到申请"><bpmn:messageEventDefinition messageRef="m_apply" />'
    '</bpmn:startEvent>').replace(
    '<bpmn:message id="m_reply" name="共享复函" />',
    '<bpmn:message id="m_reply" name="共享复函" /><bpmn:message id="m_apply" />').replace(
    'test_wait_reply', 'test_wait_at_start').encode()


def test_a_message_start_event_waits_in_the_started_instance_and_is_delivered_by_message_id(
        client, as_user, rt) -> None:
    # Started by its flow as any case; the message (a bpmn:message without a name: its id) moves it on.
    with rt.db.session() as session:
        rt.runner.deploy(session, WAIT_AT_START, filename="start.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance_id = int(rt.runner.start(session, "test_wait_at_start", variables={}, actor="system",
                                          business_ref="GX-2026-009", department_id=dept).id)
        session.commit()
    assert _waiting(rt, instance_id) == ["m_apply"]
    clerk = as_user("gat_clerk")
    r = clerk.post("/api/messages", json={"message": "m_apply", "instance_id": instance_id,
                                          "variables": {"applicant": "省公安厅"}})
    assert r.status_code == 200, r.text
    assert r.json()["waiting_for"] == ["共享复函"]
    again = clerk.post("/api/messages", json={"message": "m_apply", "instance_id": instance_id})
    assert again.status_code == 404 and _code(again) == "no_waiting_instance"
    with rt.db.session() as session:
        assert rt.runner.variables(session, rt.runner.lock_instance(session, instance_id))["applicant"] == "省公安厅"
