"""Four-eyes deployment: a designer submits, another person (an administrator) approves or returns."""

from __future__ import annotations

from tests.designer.helpers import audit_actions, new_draft, one_task, submit_draft, versions


def test_approval_deploys_the_next_version_with_both_names_and_audit(client, as_user, rt) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    draft = new_draft(designer, one_task())
    sub = submit_draft(designer, draft["id"], "新流程首版")
    assert sub["status"] == "pending" and sub["submitted_by"] == "designer" and sub["comment"] == "新流程首版"
    assert sub["base_version"] is None and {a["id"] for a in sub["diff"]["added"]} >= {"start", "handle", "end"}
    # Under review the draft is read-only.
    shown = designer.get(f"/api/designer/drafts/{draft['id']}").json()
    assert shown["status"] == "submitted"
    r = designer.put(f"/api/designer/drafts/{draft['id']}", json={"xml": one_task(), "lock_version": shown["lock_version"]})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "draft_under_review"
    assert designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={}).status_code == 409
    assert designer.delete(f"/api/designer/drafts/{draft['id']}").status_code == 409
    pending = designer.get("/api/designer/submissions", params={"status": "pending"}).json()
    assert [s["id"] for s in pending] == [sub["id"]]

    r = admin.post(f"/api/designer/submissions/{sub['id']}/approve", json={"comment": "同意上线"})
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["deployed_version"] == 1
    assert approved["reviewed_by"] == "demo_admin" and approved["review_comment"] == "同意上线"
    [v1] = versions(designer, "designer_trial")
    assert v1["deployed_by"] == "designer" and v1["approved_by"] == "demo_admin"
    assert designer.get(f"/api/designer/drafts/{draft['id']}").json()["status"] == "approved"
    assert audit_actions(rt, "process_submission", sub["id"]) == [("submission.created", "designer"),
                                                                  ("submission.approved", "demo_admin")]
    assert audit_actions(rt, "process_definition", "designer_trial:1") == [("process.deployed", "demo_admin")]

    # The next change of the same process becomes version 2; approving twice is refused.
    r = designer.put(f"/api/designer/drafts/{draft['id']}",
                     json={"xml": one_task(task_name="第二版"), "lock_version": designer.get(
                         f"/api/designer/drafts/{draft['id']}").json()["lock_version"]})
    assert r.status_code == 200 and r.json()["status"] == "editing"
    second = submit_draft(designer, draft["id"])
    assert second["base_version"] == 1
    assert [c["id"] for c in second["diff"]["changed"]] == ["handle"]
    assert admin.post(f"/api/designer/submissions/{second['id']}/approve", json={}).json()["deployed_version"] == 2
    again = admin.post(f"/api/designer/submissions/{second['id']}/approve", json={})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "submission_closed"
    assert [v["version"] for v in versions(designer, "designer_trial")] == [1, 2]


def test_nobody_approves_their_own_submission(client, as_user) -> None:
    admin = as_user("demo_admin")
    draft = new_draft(admin, one_task())
    sub = submit_draft(admin, draft["id"])
    r = admin.post(f"/api/designer/submissions/{sub['id']}/approve", json={})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "own_submission"
    assert "自己" in r.json()["detail"]["message"]
    r = admin.post(f"/api/designer/submissions/{sub['id']}/return", json={"comment": "自己退回自己"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "own_submission"
    assert admin.get(f"/api/designer/submissions/{sub['id']}").json()["status"] == "pending"
    # A designer is not an approver at all.
    other = new_draft(as_user("designer"), one_task(key="designer_other"))
    other_sub = submit_draft(as_user("designer"), other["id"])
    assert as_user("designer").post(f"/api/designer/submissions/{other_sub['id']}/approve", json={}).status_code == 403


def test_return_needs_a_comment_and_makes_the_draft_editable_again(client, as_user, rt) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    draft = new_draft(designer, one_task())
    sub = submit_draft(designer, draft["id"])
    for body in ({}, {"comment": "   "}):
        r = admin.post(f"/api/designer/submissions/{sub['id']}/return", json=body)
        assert r.status_code == 422 and r.json()["detail"]["code"] == "comment_required"
    r = admin.post(f"/api/designer/submissions/{sub['id']}/return", json={"comment": "办理期限请按法定时限设置"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned" and r.json()["review_comment"] == "办理期限请按法定时限设置"
    shown = designer.get(f"/api/designer/drafts/{draft['id']}").json()
    assert shown["status"] == "returned" and shown["review_comment"] == "办理期限请按法定时限设置"
    assert designer.put(f"/api/designer/drafts/{draft['id']}",
                        json={"xml": one_task(task_name="改后"), "lock_version": shown["lock_version"]}).status_code == 200
    assert not any(p["key"] == "designer_trial" and p["versions"] for p in designer.get("/api/designer/processes").json())
    assert [a for a, _ in audit_actions(rt, "process_submission", sub["id"])] == ["submission.created",
                                                                                  "submission.returned"]
    resubmitted = submit_draft(designer, draft["id"])
    assert resubmitted["status"] == "pending"


def test_direct_deploy_is_a_pending_submission_not_a_version(client, as_user) -> None:
    designer = as_user("designer")
    r = designer.post("/api/processes", json={"filename": "direct.bpmn", "xml": one_task(key="designer_direct")})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["draft_id"] is None
    assert all(p["key"] != "designer_direct" for p in designer.get("/api/processes").json())
    assert designer.post("/api/processes/designer_direct/instances", json={"variables": {}}).status_code == 404


def test_submitting_the_deployed_file_unchanged_is_refused(client, as_user) -> None:
    designer = as_user("designer")
    draft = designer.post("/api/designer/drafts", json={"process_key": "sharing_share_request"}).json()
    r = designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "same_as_latest"
