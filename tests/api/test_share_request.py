"""Art. 16 end to end: unconditional granted at once, not-shared refused at once, conditional reviewed."""

from app.sharing.service import BUSINESS_PREFIX
from tests.api.helpers import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, review_task, submit
from tests.external.helpers import fetch, register_worker


def test_unconditional_is_granted_at_once_without_a_task(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, UNCONDITIONAL)
    assert created["status"] == "granted"
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["grant"]["items"] == ["统一社会信用代码", "企业名称"]
    assert detail["grant"]["basis"] == "unconditional"
    assert detail["decided_by"] == "system"
    actions = [h["action"] for h in detail["history"]]
    assert "share_grant.created" in actions
    assert as_user("scjg_reviewer").get("/api/tasks").json()["items"] == []
    # The grant waits for the exchange platform (共享交换系统) to provision it: an external task, no one's inbox.
    instance = clerk.get(f"/api/instances/{created['instance_id']}").json()
    assert instance["status"] == "running" and instance["open_tasks"] == []
    auth = register_worker(as_user("demo_admin"))
    [task] = fetch(client, auth, "exchange-1", variables=["items", "entry_code"])
    assert task["activity_id"] == "hand_over" and task["business_key"] == f"{BUSINESS_PREFIX}{created['id']}"
    assert task["process_instance_id"] == created["instance_id"]
    assert task["variables"] == {"items": ["统一社会信用代码", "企业名称"], "entry_code": "410000-scjg-0001"}
    r = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth,
                    json={"worker_id": "exchange-1", "variables": {"exchange_account": "acct-1"}})
    assert r.status_code == 200, r.text
    instance = clerk.get(f"/api/instances/{created['instance_id']}").json()
    assert instance["status"] == "completed" and instance["open_tasks"] == []
    # The case history shows the hand-over and its outcome.
    actions = [h["action"] for h in clerk.get(f"/api/share-requests/{created['id']}").json()["history"]]
    assert "share_grant.created" in actions
    assert [a for a in actions if a.startswith("external_task.")] == [
        "external_task.created", "external_task.locked", "external_task.completed"]


def test_not_shared_is_refused_citing_the_catalog_basis(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, NOT_SHARED)
    assert created["status"] == "refused"
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["grant"] is None
    assert "刑事诉讼法" in detail["refusal_basis"]
    assert as_user("gat_reviewer").get("/api/tasks").json()["items"] == []


def test_conditional_goes_to_the_providers_reviewers(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    assert created["status"] == "under_review"
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert task["department_code"] == "410000-gat"
    assert task["role"] == "reviewer"
    assert task["assignee"] is None
    assert task["process_key"] == "sharing_share_request"
    # A list item carries no form: the task itself does.
    fields = {f["id"]: f for f in reviewer.get(f"/api/tasks/{task['id']}").json()["form"]}
    assert set(fields) == {"decision", "approved_items", "terms", "reason", "legal_basis"}
    assert fields["decision"]["required"] is True
    assert [o["id"] for o in fields["decision"]["options"]] == ["approve", "partial", "refuse"]
    assert [o["id"] for o in fields["approved_items"]["options"]] == ["姓名", "公民身份号码"]
    # Nobody else sees it: not the applicant's reviewers, not another city's.
    assert as_user("zz_reviewer").get("/api/tasks").json()["items"] == []
    assert as_user("scjg_reviewer").get("/api/tasks").json()["items"] == []
    # The applicant follows it under 我发起的.
    initiated = clerk.get("/api/tasks", params={"view": "initiated"}).json()["items"]
    assert [t["id"] for t in initiated] == [task["id"]]


def test_approve_creates_the_grant_with_terms(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/claim").json()["assignee"] == "gat_reviewer"
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "approve", "terms": "仅用于资格认证，不得留存"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "granted"
    assert detail["decided_by"] == "gat_reviewer"
    assert detail["grant"]["items"] == ["姓名", "公民身份号码"]
    assert detail["grant"]["terms"] == "仅用于资格认证，不得留存"
    assert detail["grant"]["valid_from"] == "2026-11-01"
    actions = [h["action"] for h in detail["history"]]
    assert actions.index("task.claimed") < actions.index("task.completed") < actions.index("share_grant.created")
    done = reviewer.get("/api/tasks", params={"view": "done"}).json()["items"]
    assert [t["id"] for t in done] == [task["id"]]
    assert reviewer.get("/api/tasks").json()["items"] == []


def test_partial_approval_grants_only_the_chosen_items(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "partial", "approved_items": ["姓名"], "terms": "仅核验姓名"}})
    assert r.status_code == 200, r.text
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "granted"
    assert detail["decision"] == "partial"
    assert detail["grant"]["items"] == ["姓名"]


def test_refusal_with_reason_and_basis_is_visible_to_the_applicant(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "refuse", "reason": "申请用途超出共享条件",
                                     "legal_basis": "《户口登记条例》第三条"}})
    assert r.status_code == 200, r.text
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "refused"
    assert detail["refusal_reason"] == "申请用途超出共享条件"
    assert detail["refusal_basis"] == "《户口登记条例》第三条"
    assert detail["grant"] is None


def test_audit_chain_verifies_after_a_whole_request(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "terms": "按约使用"}})
    result = as_user("demo_admin").get("/api/admin/audit/verify").json()
    assert result["ok"] is True
    assert result["events"] >= 8


def test_instance_shows_version_open_task_and_history(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    instance = clerk.get(f"/api/instances/{created['instance_id']}").json()
    assert instance["process_key"] == "sharing_share_request"
    assert instance["version"] == 1
    assert instance["status"] == "running"
    assert [t["name"] for t in instance["open_tasks"]] == ["审核共享申请"]
    actions = [h["action"] for h in instance["history"]]
    assert actions[0] == "instance.started" and "task.created" in actions
    assert all({"at", "actor", "action", "detail"} <= set(h) for h in instance["history"])


def test_processes_are_listed_with_their_hash(client, as_user) -> None:
    processes = as_user("designer").get("/api/processes").json()
    share = [p for p in processes if p["key"] == "sharing_share_request"]
    assert len(share) == 1 and share[0]["version"] == 1 and len(share[0]["content_hash"]) == 64
