"""Versions: workspace counts, a version's XML, diff of two versions, rollback as a new version."""

from __future__ import annotations

import hashlib

from tests.designer.helpers import deploy, one_task, shipped, versions


def test_workspace_counts_instances_per_version(client, as_user, rt) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    assert deploy(designer, admin, one_task()) == 1
    r = designer.post("/api/processes/designer_trial/instances", json={"variables": {}})
    assert r.status_code == 201 and r.json()["version"] == 1 and r.json()["status"] == "running"
    with rt.db.session() as session:  # a real case, started by the code as an area's flow would
        rt.runner.start(session, "designer_trial", variables={}, actor="system", business_ref="T-1")
        session.commit()
    assert deploy(designer, admin, one_task(task_name="第二版")) == 2
    v1, v2 = versions(designer, "designer_trial")
    # Trial runs are counted apart: they are never statistics of real work.
    assert (v1["version"], v1["running"], v1["finished"], v1["trials"]) == (1, 1, 0, 1)
    assert (v2["version"], v2["running"], v2["finished"], v2["trials"]) == (2, 0, 0, 0)
    # A process whose one task completes at once counts as finished.
    done = one_task(key="designer_done").replace('<bpmn:userTask id="handle" name="办理" '
                                                  'camunda:candidateGroups="clerk" camunda:dueDate="5WD"></bpmn:userTask>',
                                                  '<bpmn:task id="handle" name="自动" />')
    deploy(designer, admin, done)
    assert designer.post("/api/processes/designer_done/instances", json={"variables": {}}).json()["status"] == "completed"
    [only] = versions(designer, "designer_done")
    assert (only["running"], only["finished"], only["trials"]) == (0, 0, 1)
    workspace = designer.get("/api/designer/processes").json()
    share = next(p for p in workspace if p["key"] == "sharing_share_request")
    assert share["name"] and share["versions"][0]["deployed_by"] == "system" and share["drafts"] == []


def test_workspace_lists_drafts_and_pending_submissions_with_their_owner(client, as_user) -> None:
    designer = as_user("designer")
    draft = designer.post("/api/designer/drafts", json={"process_key": "sharing_share_request"}).json()
    changed = shipped("sharing_share_request").replace('camunda:dueDate="5WD"', 'camunda:dueDate="4WD"')
    designer.put(f"/api/designer/drafts/{draft['id']}", json={"xml": changed, "lock_version": draft["lock_version"]})
    sub = designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={}).json()
    share = next(p for p in designer.get("/api/designer/processes").json() if p["key"] == "sharing_share_request")
    assert [(d["id"], d["owner"], d["status"]) for d in share["drafts"]] == [(draft["id"], "designer", "submitted")]
    assert "xml" not in share["drafts"][0]
    assert [s["id"] for s in share["pending"]] == [sub["id"]]


def test_a_version_xml_is_served_to_designers_only(client, as_user) -> None:
    r = as_user("designer").get("/api/processes/sharing_share_request/versions/1/bpmn")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.content == shipped("sharing_share_request").encode("utf-8")
    assert as_user("demo_admin").get("/api/processes/sharing_share_request/versions/1/bpmn").status_code == 200
    assert as_user("gat_reviewer").get("/api/processes/sharing_share_request/versions/1/bpmn").status_code == 403
    missing = as_user("designer").get("/api/processes/sharing_share_request/versions/9/bpmn")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "version_not_found"
    assert as_user("designer").get("/api/processes/no_such_process/versions/1/bpmn").status_code == 404


def test_diff_of_two_versions_lists_a_changed_deadline(client, as_user) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    changed = shipped("sharing_share_request").replace('camunda:dueDate="5WD"', 'camunda:dueDate="7WD"')
    assert deploy(designer, admin, changed) == 2
    r = designer.get("/api/designer/processes/sharing_share_request/diff", params={"from_version": 1, "to_version": 2})
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["added"] == [] and diff["removed"] == []
    [review] = diff["changed"]
    assert (review["id"], review["type"], review["name"]) == ("review", "userTask", "审核共享申请")
    assert review["properties"] == [{"name": "dueDate", "label": "办理期限", "old": "5WD", "new": "7WD"}]
    missing = designer.get("/api/designer/processes/sharing_share_request/diff", params={"from_version": 1, "to_version": 5})
    assert missing.status_code == 404


def test_diff_shows_added_and_removed_elements(client, as_user) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    deploy(designer, admin, one_task())
    deploy(designer, admin, one_task(extra='<bpmn:textAnnotation id="note" />').replace(
        'targetRef="end"', 'targetRef="done"').replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="done" name="办结">'))
    diff = designer.get("/api/designer/processes/designer_trial/diff", params={"from_version": 1, "to_version": 2}).json()
    assert diff["added"] == [{"id": "done", "type": "endEvent", "name": "办结"}]
    assert diff["removed"] == [{"id": "end", "type": "endEvent", "name": None}]
    [flow] = diff["changed"]
    assert flow["id"] == "f2" and flow["properties"][0]["label"] == "终点"


def test_rollback_deploys_the_old_file_as_a_new_version_and_new_instances_start_on_it(client, as_user, rt) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    deploy(designer, admin, one_task())
    deploy(designer, admin, one_task(task_name="有问题的第二版"))
    # Rolling back to the newest version changes nothing: refused.
    r = designer.post("/api/designer/processes/designer_trial/versions/2/redeploy")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "same_as_latest"
    r = designer.post("/api/designer/processes/designer_trial/versions/1/redeploy")
    assert r.status_code == 202, r.text
    sub = r.json()
    assert sub["status"] == "pending" and sub["base_version"] == 2 and "第 1 版" in sub["comment"]
    assert [c["id"] for c in sub["diff"]["changed"]] == ["handle"]
    approved = admin.post(f"/api/designer/submissions/{sub['id']}/approve", json={}).json()
    assert approved["deployed_version"] == 3
    v1, _, v3 = versions(designer, "designer_trial")
    assert v3["content_hash"] == v1["content_hash"] == hashlib.sha256(one_task().encode()).hexdigest()
    assert designer.get("/api/processes/designer_trial/versions/3/bpmn").content == one_task().encode()
    started = designer.post("/api/processes/designer_trial/instances", json={"variables": {}})
    assert started.status_code == 201 and started.json()["version"] == 3
    assert started.json()["open_tasks"][0]["name"] == "办理"
    # The service restarting deploys its bpmn/ files idempotently, duplicated hashes or not.
    with rt.db.session() as session:
        assert len(rt.runner.deploy_directory(session, rt.settings.bpmn_dir)) == 7
        session.commit()
    assert len(versions(designer, "sharing_share_request")) == 1


def test_redeploy_of_an_unknown_version_is_404(client, as_user) -> None:
    r = as_user("designer").post("/api/designer/processes/sharing_share_request/versions/7/redeploy")
    assert r.status_code == 404
    assert as_user("rst_clerk").post("/api/designer/processes/sharing_share_request/versions/1/redeploy").status_code == 403
