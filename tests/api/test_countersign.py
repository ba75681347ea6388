"""会签 through the runner and the API: each signer gets their own task, signs it, every opinion is kept."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import InvalidInput
from app.engine.models import ProcessInstance, Task
from tests.api.helpers import deploy_approved

# Three signers in two departments, each holding one of the task's candidate roles.
SIGNERS = ["gat_reviewer", "scjg_reviewer", "gat_head"]

COUNTERSIGN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{key}" name="联合会签" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign" />
    <bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewer,head" camunda:assignee="signer"
      camunda:dueDate="3WD">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="是否同意" type="boolean" />
          <camunda:formField id="opinion" label="会签意见" type="string">
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics {loop} camunda:collection="signers" camunda:elementVariable="signer">
        {condition}
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="tally" />
    <bpmn:scriptTask id="tally" name="汇总" scriptFormat="python">
      <bpmn:script>agreed = len([r for r in sign_results if r["approved"]])</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="sign_di" bpmnElement="sign"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="tally_di" bpmnElement="tally"><dc:Bounds x="400" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="562" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="340" y="120" /><di:waypoint x="400" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="500" y="120" /><di:waypoint x="562" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def _deploy(as_user, key: str, *, loop: str = "", condition: str = "") -> None:  # type: ignore[no-untyped-def]
    deploy_approved(as_user("designer"), as_user("demo_admin"),
                    COUNTERSIGN.format(key=key, loop=loop, condition=condition), f"{key}.bpmn")


def _start(rt, key: str, variables: dict[str, Any]) -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        instance = rt.runner.start(session, key, variables=variables, actor="system", subject="联合审查事项",
                                   department_id=None)
        session.commit()
        return int(instance.id)


def _todo(client, instance_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = client.get("/api/tasks", params={"view": "todo"})
    assert r.status_code == 200, r.text
    return [t for t in r.json()["items"] if t["instance_id"] == instance_id]


def test_each_signer_signs_their_own_task_and_every_opinion_is_kept(client, as_user, rt) -> None:
    _deploy(as_user, "joint_review")
    instance_id = _start(rt, "joint_review", {"signers": SIGNERS})

    clients = {name: as_user(name) for name in SIGNERS}
    mine = {}
    for name, c in clients.items():
        [task] = _todo(c, instance_id)
        assert task["assignee"] == name and task["name"] == "会签"
        assert task["due_at"] is not None  # the task's deadline applies to each signer's instance
        mine[name] = task
    # A colleague with the same role in the same department does not get gat_reviewer's instance.
    assert _todo(as_user("gat_clerk"), instance_id) == []
    r = clients["gat_head"].post(f"/api/tasks/{mine['gat_reviewer']['id']}/complete",
                                 json={"data": {"approved": True, "opinion": "代签"}})
    assert r.status_code in (403, 409), r.text

    opinions = {"gat_reviewer": (True, "同意共享"), "scjg_reviewer": (False, "字段范围过大"),
                "gat_head": (True, "同意")}
    for name, (approved, opinion) in opinions.items():
        r = clients[name].post(f"/api/tasks/{mine[name]['id']}/complete",
                               json={"data": {"approved": approved, "opinion": opinion}})
        assert r.status_code == 200, r.text
        assert _todo(clients[name], instance_id) == []

    with rt.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == "completed"
        rows = session.execute(select(Task).where(Task.instance_id == instance_id)).scalars().all()
        assert sorted((row.data or {}).get("opinion") for row in rows) == sorted(o for _, o in opinions.values())
        variables = rt.runner.variables(session, instance)
    assert variables["agreed"] == 2
    assert {r["signer"]: r["opinion"] for r in variables["sign_results"]} == \
        {name: opinion for name, (_, opinion) in opinions.items()}

    # The history each signer reads names every signer's opinion.
    r = clients["gat_reviewer"].get(f"/api/instances/{instance_id}")
    assert r.status_code == 200, r.text
    completed = {h["actor_name"]: h["detail"]["data"]["opinion"]
                 for h in r.json()["history"] if h["action"] == "task.completed"}
    assert completed == {"张伟（省公安厅审核人）": "同意共享", "陈磊（省市场监管局审核人）": "字段范围过大",
                         "杨帆（省公安厅部门负责人）": "同意"}


def test_first_signer_decides_and_the_other_tasks_are_withdrawn(client, as_user, rt) -> None:
    _deploy(as_user, "first_decides",
            condition="<bpmn:completionCondition>nrOfCompletedInstances &gt;= 1</bpmn:completionCondition>")
    instance_id = _start(rt, "first_decides", {"signers": SIGNERS})
    head = as_user("gat_head")
    [task] = _todo(head, instance_id)
    r = head.post(f"/api/tasks/{task['id']}/complete", json={"data": {"approved": True, "opinion": "同意"}})
    assert r.status_code == 200, r.text

    for name in ("gat_reviewer", "scjg_reviewer"):
        assert _todo(as_user(name), instance_id) == []
    with rt.db.session() as session:
        rows = session.execute(select(Task).where(Task.instance_id == instance_id).order_by(Task.id)).scalars().all()
        assert sorted(row.status for row in rows) == ["cancelled", "cancelled", "completed"]
        cancelled = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.action == "task.cancelled")).scalar_one()
        assert cancelled == 2
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == "completed"


def test_sequential_countersign_goes_to_one_signer_after_another(client, as_user, rt) -> None:
    _deploy(as_user, "in_turn", loop='isSequential="true"')
    instance_id = _start(rt, "in_turn", {"signers": ["scjg_reviewer", "gat_reviewer"]})
    assert _todo(as_user("gat_reviewer"), instance_id) == []
    first = as_user("scjg_reviewer")
    [task] = _todo(first, instance_id)
    assert first.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"approved": True, "opinion": "同意"}}).status_code == 200
    [task] = _todo(as_user("gat_reviewer"), instance_id)
    assert task["assignee"] == "gat_reviewer"


@pytest.mark.parametrize(("signers", "code"), [
    (["gat_reviewer", "no_such_person"], "task_assignee_unknown"),
    (["gat_reviewer", "rst_clerk"], "task_assignee_no_role"),
    (["gat_reviewer", 3], "task_assignee_invalid"),
])
def test_bad_signers_are_refused_before_anything_is_stored(client, as_user, rt, signers, code) -> None:
    _deploy(as_user, "bad_signers", loop='isSequential="true"')
    with rt.db.session() as session:
        before = session.execute(select(func.count()).select_from(ProcessInstance)).scalar_one()
        with pytest.raises(InvalidInput) as refused:
            rt.runner.start(session, "bad_signers", variables={"signers": signers}, actor="system")
        session.rollback()
        assert refused.value.code == code
        assert session.execute(select(func.count()).select_from(ProcessInstance)).scalar_one() == before


def test_a_collection_that_is_not_a_list_is_a_422(client, as_user) -> None:
    _deploy(as_user, "not_a_list")
    designer = as_user("designer")
    r = designer.post("/api/processes/not_a_list/instances", json={"variables": {"signers": "gat_reviewer"}})
    assert r.status_code == 422, r.text
    assert "列表" in r.json()["detail"]["message"]
    r = designer.post("/api/processes/not_a_list/instances", json={"variables": {"signers": ["nobody_here"]}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "task_assignee_unknown"


def test_a_signer_cannot_give_their_instance_back_to_the_department(client, as_user, rt) -> None:
    _deploy(as_user, "no_unclaim")
    instance_id = _start(rt, "no_unclaim", {"signers": ["gat_reviewer"]})
    reviewer = as_user("gat_reviewer")
    [task] = _todo(reviewer, instance_id)
    r = reviewer.post(f"/api/tasks/{task['id']}/unclaim")
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["code"] == "task_designated"
    [task] = _todo(reviewer, instance_id)
    assert task["assignee"] == "gat_reviewer"


def test_an_inactive_signer_is_refused_by_name(client, as_user, rt) -> None:
    from app.org.models import User

    _deploy(as_user, "inactive_signer")
    with rt.db.session() as session:
        head = session.execute(select(User).where(User.username == "gat_head")).scalar_one()
        head.is_active = False
        session.commit()
    with rt.db.session() as session:
        with pytest.raises(InvalidInput) as refused:
            rt.runner.start(session, "inactive_signer", variables={"signers": SIGNERS}, actor="system")
        session.rollback()
    assert refused.value.code == "task_assignee_inactive"
    assert "杨帆（省公安厅部门负责人）" in refused.value.message_zh
