"""A shipped process with its code hooks: a share request waiting for review moves to a version with a
countersign step after the review, and its request is decided on the new path."""

from __future__ import annotations

from pathlib import Path

from tests.api.helpers import review_task, submit
from tests.designer.migration_helpers import deploy, open_tasks, version_of

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn" / "sharing_share_request.bpmn"
FLOW = b'<bpmn:sequenceFlow id="flow_reviewed" sourceRef="review" targetRef="record_reply" />'
COUNTERSIGN = ('<bpmn:sequenceFlow id="flow_reviewed" sourceRef="review" targetRef="countersign" />'
               '<bpmn:userTask id="countersign" name="会签" camunda:candidateGroups="reviewer" camunda:dueDate="2WD">'
               '<bpmn:extensionElements><camunda:properties>'
               '<camunda:property name="department" value="provider_department" />'
               '</camunda:properties></bpmn:extensionElements></bpmn:userTask>'
               '<bpmn:sequenceFlow id="flow_countersigned" sourceRef="countersign" targetRef="record_reply" />'
               ).encode()


def test_a_waiting_share_request_moves_and_is_decided_on_the_new_path(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer, designer = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("designer")
    created = submit(clerk)
    task = review_task(reviewer, created["instance_id"])
    xml = SHIPPED.read_bytes()
    assert FLOW in xml
    v2 = deploy(rt, xml.replace(FLOW, COUNTERSIGN))
    url = "/api/designer/processes/sharing_share_request/migrations"
    listed = {r["instance_id"]: r for r in designer.get(url).json()["instances"]}
    assert listed[created["instance_id"]]["movable"] is True
    r = designer.post(url, json={"to_version": v2, "instance_ids": [created["instance_id"]]})
    assert r.json() == {"migrated": [created["instance_id"]], "failed": []}
    assert version_of(rt, created["instance_id"]) == v2
    assert review_task(reviewer, created["instance_id"])["id"] == task["id"]

    body = {"data": {"decision": "approve", "terms": "仅用于社保资格认证"}}
    assert reviewer.post(f"/api/tasks/{task['id']}/complete", json=body).status_code == 200
    [countersign] = open_tasks(rt, created["instance_id"])
    assert countersign.name == "会签" and countersign.due_working_days == 2
    assert reviewer.post(f"/api/tasks/{countersign.id}/complete", json={"data": {}}).status_code == 200
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "granted"
