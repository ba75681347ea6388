"""Issue 16, "Done when", in one place: a diagram drawn the way Camunda 7 designers draw it runs as drawn.

Our own file (the public corpora are measured by bench/corpus.py and never committed) uses what the issue
brings together: JUEL conditions, an asynchronous continuation flag, an external task another system does
(with an error boundary event), an event-based gateway with a message and a timer branch, and a message
start event. It is deployed the four-eyes way, started as an area's flow starts a case, and moved on only
through what users and systems have: the inbox API, the worker API, POST /api/messages, the scheduler's
timer job, the incident page's retry. At every stop the stuck-instance job finds nothing, and every refused
construct answers 422 naming its element, never 500.

The parts are tested in depth elsewhere: tests/engine (test_juel, test_waits*, test_collaboration,
test_multi_instance_elements, external tasks), tests/external (worker API, two server processes),
tests/ops/test_stuck_instances.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.clock import clock
from app.engine.jobs import fire_due_timers
from app.engine.models import ProcessInstance
from app.ops.stuck import report_stuck_instances
from app.org.models import Department
from tests.api.helpers import deploy_approved
from tests.external.helpers import basic

PURCHASE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_c7" targetNamespace="http://govflow.example/bpmn">
  <bpmn:message id="m_apply" name="申请到达" />
  <bpmn:message id="m_reply" name="共享复函" />
  <bpmn:error id="e_rejected" name="平台拒绝" errorCode="EXCHANGE_REJECTED" />
  <bpmn:process id="c7_share" name="按 Camunda 7 习惯画的共享审批" isExecutable="true">
    <bpmn:startEvent id="apply" name="申请到达">
      <bpmn:messageEventDefinition messageRef="m_apply" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="apply" targetRef="review" />
    <bpmn:userTask id="review" name="审核申请" camunda:candidateGroups="clerk" camunda:asyncBefore="true">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approver" label="审批人" type="string" />
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="route" />
    <bpmn:exclusiveGateway id="route" name="数量与审批人" />
    <bpmn:sequenceFlow id="to_exchange" sourceRef="route" targetRef="hand_over">
      <bpmn:conditionExpression>${rows &gt; 1000 &amp;&amp; !empty approver}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_wait" sourceRef="route" targetRef="wait_reply">
      <bpmn:conditionExpression>${rows le 1000 || empty approver}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:serviceTask id="hand_over" name="交换平台开通" camunda:type="external" camunda:topic="exchange.grant"
                      camunda:asyncAfter="true" />
    <bpmn:boundaryEvent id="rejected" name="平台拒绝" attachedToRef="hand_over">
      <bpmn:errorEventDefinition errorRef="e_rejected" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="hand_over" targetRef="granted" />
    <bpmn:endEvent id="granted" name="已开通" />
    <bpmn:sequenceFlow id="f4" sourceRef="rejected" targetRef="handle_rejection" />
    <bpmn:userTask id="handle_rejection" name="处理平台拒绝" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f5" sourceRef="handle_rejection" targetRef="closed" />
    <bpmn:endEvent id="closed" name="已办结" />
    <bpmn:eventBasedGateway id="wait_reply" name="等待复函或超时" />
    <bpmn:sequenceFlow id="f6" sourceRef="wait_reply" targetRef="got_reply" />
    <bpmn:sequenceFlow id="f7" sourceRef="wait_reply" targetRef="too_late" />
    <bpmn:intermediateCatchEvent id="got_reply" name="收到复函">
      <bpmn:messageEventDefinition messageRef="m_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="too_late" name="五日未复">
      <bpmn:timerEventDefinition><bpmn:timeDuration>${wait_for}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f8" sourceRef="got_reply" targetRef="replied" />
    <bpmn:endEvent id="replied" name="已复函" />
    <bpmn:sequenceFlow id="f9" sourceRef="too_late" targetRef="lapsed" />
    <bpmn:endEvent id="lapsed" name="逾期" />
  </bpmn:process>
</bpmn:definitions>"""


def _start(rt: Any, ref: str) -> int:
    with rt.db.session() as session:
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "c7_share", variables={"rows": 0, "wait_for": "P5D"}, actor="system",
                                   subject=f"共享申请 {ref}", business_ref=ref, department_id=dept)
        session.commit()
        return int(instance.id)


def _status(rt: Any, instance_id: int) -> str:
    with rt.db.session() as session:
        return str(session.get(ProcessInstance, instance_id).status)


def _nothing_stuck(rt: Any, as_user: Any) -> None:
    report_stuck_instances(rt)
    assert as_user("demo_admin").get("/api/admin/stuck-instances").json()["items"] == []


def _review(clerk: Any, instance_id: int, approver: str | None) -> None:
    [task] = [t for t in clerk.get("/api/tasks", params={"view": "todo"}).json()["items"]
              if t["instance_id"] == instance_id]
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {"approver": approver} if approver else {}})
    assert r.status_code == 200, r.text


def _end(rt: Any, instance_id: int) -> str | None:
    with rt.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        return rt.engine.end_event(rt.runner.restore_workflow(session, instance))


def test_a_camunda_7_style_diagram_runs_as_drawn_and_nothing_is_left_stuck(client, as_user, rt) -> None:
    designer, admin, clerk = as_user("designer"), as_user("demo_admin"), as_user("gat_clerk")
    deploy_approved(designer, admin, PURCHASE, filename="c7_share.bpmn")
    r = admin.post("/api/usage/systems", json={"code": "exchange-platform", "name": "共享交换平台",
                                               "department_code": "410000-data", "scopes": ["external_task:work"],
                                               "topics": ["exchange.*"]})
    assert r.status_code == 201, r.text
    worker = basic(r.json()["code"], r.json()["secret"])

    big, small, silent = _start(rt, "GX-16-1"), _start(rt, "GX-16-2"), _start(rt, "GX-16-3")
    _nothing_stuck(rt, as_user)  # each waits at its message start event for the application
    for instance_id, rows in ((big, 5000), (small, 20), (silent, 20)):
        r = clerk.post("/api/messages", json={"message": "申请到达", "instance_id": instance_id,
                                              "variables": {"rows": rows}})
        assert r.status_code == 200, r.text
    _review(clerk, big, "张三")
    _review(clerk, small, "张三")
    _review(clerk, silent, None)
    _nothing_stuck(rt, as_user)

    # The big request went to the exchange platform: it fails once with no retries left (an incident the
    # administrator retries), then provisions access.
    fetch = {"worker_id": "w1", "max_tasks": 5, "topics": [{"name": "exchange.grant", "lock_duration_ms": 60_000}]}
    [task] = client.post("/api/external-tasks/fetch-and-lock", headers=worker, json=fetch).json()
    assert task["business_key"] == "GX-16-1" and task["variables"]["rows"] == 5000
    r = client.post(f"/api/external-tasks/{task['id']}/failure", headers=worker,
                    json={"worker_id": "w1", "error_message": "交换平台维护中", "retries": 0, "retry_timeout_ms": 0})
    assert r.status_code == 200, r.text
    assert client.post("/api/external-tasks/fetch-and-lock", headers=worker, json=fetch).json() == []
    _nothing_stuck(rt, as_user)  # an incident waits for an administrator, it is not stuck
    [incident] = admin.get("/api/admin/incidents").json()
    assert incident["error_message"] == "交换平台维护中"
    assert admin.post(f"/api/admin/incidents/{incident['id']}/retry", json={"retries": 1}).status_code == 200
    [task] = client.post("/api/external-tasks/fetch-and-lock", headers=worker, json=fetch).json()
    r = client.post(f"/api/external-tasks/{task['id']}/complete", headers=worker,
                    json={"worker_id": "w1", "variables": {"account": "acct-16"}})
    assert r.status_code == 200, r.text
    assert _status(rt, big) == "completed"

    # The small one waits for the reply or five days: the message wins there, the timer for the silent one.
    r = clerk.post("/api/messages", json={"message": "共享复函", "instance_id": small, "variables": {"reply": "同意"}})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    clock.freeze(clock.now() + timedelta(days=5, seconds=1))
    assert fire_due_timers(rt) == 1
    assert _status(rt, silent) == "completed"
    late = clerk.post("/api/messages", json={"message": "共享复函", "instance_id": silent})
    assert late.status_code == 404 and late.json()["detail"]["code"] == "no_waiting_instance"
    _nothing_stuck(rt, as_user)
    assert (_end(rt, big), _end(rt, small), _end(rt, silent)) == ("granted", "replied", "lapsed")
    with rt.db.session() as session:
        actions = session.execute(select(AuditEvent.action).where(AuditEvent.instance_id == big)
                                  .order_by(AuditEvent.id)).scalars().all()
    assert [a for a in actions if a.startswith("external_task.")] == [
        "external_task.created", "external_task.locked", "external_task.incident_opened",
        "external_task.retried", "external_task.locked", "external_task.completed"]


REFUSED = {
    # Java, which GovFlow never runs: the message says what to do instead.
    "java": ('<bpmn:serviceTask id="charge" camunda:class="org.example.Charge" />', "charge", "外部任务"),
    "data_store": ('<bpmn:dataStoreReference id="ledger" />', "ledger", "数据存储"),
    "juel_call": ('<bpmn:sequenceFlow id="fx" sourceRef="work" targetRef="end">'
                  '<bpmn:conditionExpression>${customer.prop("age") &gt; 21}</bpmn:conditionExpression>'
                  '</bpmn:sequenceFlow>', "fx", "prop"),
    "signal_nobody_sends": ('<bpmn:intermediateCatchEvent id="wait_sig">'
                            '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:intermediateCatchEvent>'
                            '<bpmn:sequenceFlow id="fs" sourceRef="wait_sig" targetRef="end" />',
                            "wait_sig", "信号"),
}


def _file(body: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_refused" targetNamespace="http://govflow.example/bpmn">
  <bpmn:signal id="sig" name="撤回" />
  <bpmn:process id="refused" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="办理" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
    {body}
  </bpmn:process>
</bpmn:definitions>"""


def test_what_stays_refused_answers_422_naming_the_element_and_why(client, as_user) -> None:
    designer = as_user("designer")
    for name, (body, element, why) in REFUSED.items():
        r = designer.post("/api/processes", json={"filename": f"{name}.bpmn", "xml": _file(body)})
        assert r.status_code == 422, (name, r.text)
        problems = [p for p in r.json()["detail"]["problems"] if p["element_id"] == element]
        assert problems and why in problems[0]["message"], (name, r.json()["detail"]["problems"])
