"""Art. 7: a new business system's project approval (立项) waits for a catalog that lists the system's data,
submitted and reviewed by the data authority; the step is due in working days and escalates when overdue."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.catalog.helpers import add, new_draft, review, submit
from tests.systems.helpers import APPROVAL, GAT_0001, NEW_ENTRY, approve, register


def _detail(r):  # type: ignore[no-untyped-def]
    return r.json()["detail"]


def _steps(clerk):  # type: ignore[no-untyped-def]
    return [t for t in clerk.get("/api/tasks").json()["items"] if t["process_key"] == "systems_business_system"]


def test_approval_is_gated_by_a_reviewed_catalog_listing_the_systems_data(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    system = register(clerk)
    assert system["status"] == "pending" and system["status_label"] == "待立项"
    assert system["department_code"] == "410000-gat" and system["authority_department_code"] == "410000-data"
    # The step is in the clerk's inbox, due in 20 working days (Monday 2026-11-02 → Monday 2026-11-30).
    [task] = _steps(clerk)
    assert task["name"] == "编制目录并登记立项" and task["role"] == "clerk"
    assert datetime.fromisoformat(task["due_at"]).astimezone(SHANGHAI).date().isoformat() == "2026-11-30"
    assert task["due_rule"] == "20WD（business_system_catalog）"
    checklist = {c["key"]: c for c in system["catalog_check"]["checklist"]}
    assert checklist["catalog_listed"]["done"] is False and checklist["catalog_reviewed"]["done"] is False

    # 1. No catalog version submitted at all.
    r = approve(clerk, system["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_not_submitted"
    assert "尚未提交" in _detail(r)["message"] and "第七条" in _detail(r)["message"]
    # The generic task form obeys the same gate.
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": APPROVAL})
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_not_submitted"

    # 2. A draft lists everything, but a draft is not submitted.
    vid = new_draft(clerk)["id"]
    add(clerk, vid)  # 410000-gat-0100 出入境证件信息: 证件号码, 签发日期
    r = approve(clerk, system["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_not_submitted"
    assert "草稿" in _detail(r)["message"]

    # 3. Submitted, still under review.
    submit(clerk, vid)
    r = approve(clerk, system["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_under_review"
    assert "审定中" in _detail(r)["message"]
    shown = clerk.get(f"/api/systems/{system['id']}").json()["catalog_check"]
    assert [c["done"] for c in shown["checklist"]] == [True, False]

    # 4. An item the version does not list is named.
    other = register(clerk, name="指纹比对系统", data_items=[{"name": "姓名", "entry_code": GAT_0001},
                                                         {"name": "指纹特征", "entry_code": NEW_ENTRY}])
    r = approve(clerk, other["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_items_missing"
    assert _detail(r)["missing_items"] == [f"指纹特征（{NEW_ENTRY}）"] and "指纹特征" in _detail(r)["message"]

    # 5. Reviewed (approved) by the authority: the approval is recorded.
    review(as_user("data_reviewer"), vid, {NEW_ENTRY: "approve"})
    r = approve(clerk, other["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "catalog_items_missing"  # still not listed
    r = approve(clerk, system["id"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "approved" and done["status_label"] == "已立项"
    assert done["approval_number"] == APPROVAL["approval_number"] and done["approval_date"] == "2026-11-02"
    assert done["approving_body"] == "河南省发展和改革委员会" and done["catalog_version_id"] == vid
    assert done["current_step"] is None
    actions = [h["action"] for h in done["history"]]
    assert actions[0] == "business_system.registered" and "business_system.approved" in actions
    assert "instance.completed" in actions
    # Closed: nothing more to record.
    r = approve(clerk, system["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "business_system_closed"


def test_bad_approval_facts_are_refused_and_change_nothing(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    system = register(clerk)
    r = approve(clerk, system["id"], approval_date="2026-13-01")
    assert r.status_code == 422 and _detail(r)["code"] == "invalid_input"
    r = approve(clerk, system["id"], approval_date="2026-11-20")  # after today
    assert r.status_code == 422 and _detail(r)["code"] == "approval_invalid"
    assert "晚于今天" in _detail(r)["message"]
    r = clerk.post("/api/systems", json={"name": "x", "purpose": "", "data_items": [], "contact_name": "",
                                         "contact_phone": "abc"})
    assert r.status_code == 422
    r = clerk.post("/api/systems", json={"name": "某系统", "purpose": "用途说明", "contact_name": "王芳",
                                         "contact_phone": "0371-65550000",
                                         "data_items": [{"name": "企业名称", "entry_code": "410000-scjg-0001"}]})
    assert r.status_code == 422 and _detail(r)["code"] == "entry_not_of_department"
    assert clerk.get(f"/api/systems/{system['id']}").json()["status"] == "pending"
    assert [s["id"] for s in clerk.get("/api/systems").json()["items"]] == [system["id"]]


def test_only_the_departments_clerk_registers_approves_and_withdraws(client, as_user) -> None:
    r = as_user("gat_reviewer").post("/api/systems", json={})
    assert r.status_code == 422  # the body is read first
    from tests.systems.helpers import SYSTEM
    r = as_user("gat_reviewer").post("/api/systems", json=SYSTEM)
    assert r.status_code == 403 and _detail(r)["code"] == "clerk_required"
    system = register(as_user("gat_clerk"))
    r = approve(as_user("scjg_clerk"), system["id"])
    assert r.status_code == 404  # another department's case is not even seen
    r = approve(as_user("gat_reviewer"), system["id"])
    assert r.status_code == 403 and _detail(r)["code"] == "business_system_not_yours"
    r = as_user("data_reviewer").post(f"/api/systems/{system['id']}/withdraw", json={"reason": "误登记"})
    assert r.status_code == 403
    clerk = as_user("gat_clerk")
    r = clerk.post(f"/api/systems/{system['id']}/withdraw", json={"reason": ""})
    assert r.status_code == 422 and _detail(r)["code"] == "withdraw_reason_required"
    r = clerk.post(f"/api/systems/{system['id']}/withdraw", json={"reason": "项目取消建设"})
    assert r.status_code == 200
    withdrawn = r.json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_reason"] == "项目取消建设"
    assert _steps(clerk) == []
    assert "business_system.withdrawn" in [h["action"] for h in withdrawn["history"]]
    r = approve(clerk, system["id"])
    assert r.status_code == 409 and _detail(r)["code"] == "business_system_closed"


def test_reads_follow_the_lines_of_the_level(client, as_user) -> None:
    system = register(as_user("gat_clerk"))
    for username in ("gat_clerk", "gat_reviewer", "data_reviewer", "gov_supervisor", "demo_admin"):
        assert as_user(username).get(f"/api/systems/{system['id']}").status_code == 200, username
    for username in ("scjg_clerk", "zz_data_reviewer", "zz_supervisor", "zz_clerk", "designer"):
        assert as_user(username).get(f"/api/systems/{system['id']}").status_code == 404, username
    # Lists: the department, its authority and the level's supervisors.
    for username in ("gat_clerk", "data_reviewer", "gov_supervisor"):
        listed = as_user(username).get("/api/systems").json()["items"]
        assert [s["id"] for s in listed] == [system["id"]], username
    for username in ("scjg_clerk", "zz_data_reviewer", "zz_supervisor", "designer"):
        assert as_user(username).get("/api/systems").json()["items"] == [], username


def test_the_list_is_keyset_paged(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    ids = [register(clerk, name=f"业务系统{n}")["id"] for n in range(3)]
    first = clerk.get("/api/systems", params={"limit": 2}).json()
    assert [s["id"] for s in first["items"]] == ids[:0:-1] and first["next_cursor"]
    second = clerk.get("/api/systems", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in second["items"]] == [ids[0]] and second["next_cursor"] is None
    assert clerk.get("/api/systems", params={"cursor": "garbage"}).status_code == 422


def test_an_overdue_step_escalates_to_the_supervision_queue_once(client, as_user) -> None:
    system = register(as_user("gat_clerk"))
    clock.freeze(datetime(2026, 11, 30, 18, 0, tzinfo=SHANGHAI))  # the 20th working day: not yet overdue
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0
    clock.freeze(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0  # exactly once
    items = as_user("gov_supervisor").get("/api/supervision/items").json()["items"]
    assert [(i["task_name"], i["department_code"], i["overdue_working_days"]) for i in items] == [
        ("编制目录并登记立项", "410000-gat", 1)]
    shown = as_user("gat_clerk").get(f"/api/systems/{system['id']}").json()
    assert shown["overdue"] is True and shown["current_step"]["escalated"] is True
    assert [s["office_name"] for s in shown["supervision"]] == ["河南省人民政府办公厅（督查室）"]
    assert "task.escalated" in [h["action"] for h in shown["history"]]
