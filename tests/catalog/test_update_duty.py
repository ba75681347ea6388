"""Catalog update duty (Art. 9): trigger → 10-working-day task → fulfilled by submitting a version, or escalated."""

from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.catalog.helpers import add, new_draft, submit

TRIGGER = {"kind": "law_revised", "document_number": "豫政〔2026〕12号", "document_date": "2026-10-30",
           "summary": "《河南省户籍管理条例》修订，户籍信息项调整", "department_codes": ["410000-gat", "410000-scjg"]}


def _record(client, **over):  # type: ignore[no-untyped-def]
    r = client.post("/api/catalog/update-triggers", json={**TRIGGER, **over})
    assert r.status_code == 201, r.text
    return r.json()


def test_trigger_gives_each_department_a_task_due_in_10_working_days(client, as_user) -> None:
    recorded = _record(as_user("data_reviewer"))
    assert recorded["kind_label"] == "法律法规修订" and recorded["document_number"] == "豫政〔2026〕12号"
    assert [d["department_code"] for d in recorded["duties"]] == ["410000-scjg", "410000-gat"]
    clerk = as_user("gat_clerk")
    [task] = clerk.get("/api/tasks").json()["items"]
    assert task["name"] == "提交更新后的目录" and task["role"] == "clerk"
    assert task["department_code"] == "410000-gat"
    assert task["process_key"] == "catalog_catalog_update"
    assert "豫政〔2026〕12号" in task["subject"]
    # Recorded Monday 2026-11-02: ten working days end on Monday 2026-11-16 (Art. 9).
    due = datetime.fromisoformat(task["due_at"]).astimezone(SHANGHAI)
    assert due.date().isoformat() == "2026-11-16"
    assert task["due_rule"] == "10WD（catalog_update）"
    # Nothing submitted yet: the task cannot simply be ticked off.
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {}})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "update_version_required"

    # Submitting a version fulfils the duty and closes the task.
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit(clerk, vid)
    assert clerk.get("/api/tasks").json()["items"] == []
    duties = {d["department_code"]: d for d in clerk.get("/api/catalog/update-duties").json()}
    assert set(duties) == {"410000-gat"}  # a clerk sees their own department's
    assert duties["410000-gat"]["status"] == "fulfilled" and duties["410000-gat"]["version_id"] == vid
    # The authority sees both, one still open.
    both = {d["department_code"]: d["status"] for d in as_user("data_reviewer").get("/api/catalog/update-duties").json()}
    assert both == {"410000-gat": "fulfilled", "410000-scjg": "open"}


def test_an_overdue_update_task_becomes_a_supervision_item(client, as_user) -> None:
    _record(as_user("data_reviewer"), department_codes=["410000-scjg"])
    clock.freeze(datetime(2026, 11, 16, 18, 0, tzinfo=SHANGHAI))  # due today: not yet overdue
    admin = as_user("demo_admin")  # tokens follow the service clock
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0
    clock.freeze(datetime(2026, 11, 17, 9, 0, tzinfo=SHANGHAI))
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    items = as_user("gov_supervisor").get("/api/supervision/items").json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["task_name"] == "提交更新后的目录" and item["department_code"] == "410000-scjg"
    assert item["overdue_working_days"] == 1
    duty = as_user("scjg_clerk").get("/api/catalog/update-duties").json()[0]
    assert duty["escalated"] is True and duty["status"] == "open"
    # Submitting late still fulfils the duty; the supervision item closes with the task.
    clerk = as_user("scjg_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid, code="410000-scjg-0100", name="食品生产许可信息",
        items=[{"name": "许可证编号", "type": "字符型"}, {"name": "生产者名称", "type": "字符型"}])
    submit(clerk, vid)
    assert clerk.get("/api/catalog/update-duties").json()[0]["status"] == "fulfilled"
    closed = as_user("gov_supervisor").get("/api/supervision/items", params={"state": "closed"}).json()["items"]
    assert [i["task_name"] for i in closed] == ["提交更新后的目录"]


def test_a_returned_version_resubmitted_fulfils_a_new_duty(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit(clerk, vid)
    authority = as_user("data_reviewer")
    authority.post(f"/api/catalog/versions/{vid}/review", json={"decisions": [
        {"code": "410000-gat-0100", "decision": "return", "comment": "请补充"}]}).raise_for_status()
    _record(authority, department_codes=["410000-gat"])
    # The version in review answers the duty from the inbox too (no version number needed).
    task = next(t for t in clerk.get("/api/tasks").json()["items"] if t["name"] == "提交更新后的目录")
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {}})
    assert r.status_code == 200, r.text
    assert clerk.get("/api/catalog/update-duties").json()[0]["version_id"] == vid


def test_who_may_record_a_trigger_and_bad_input(client, as_user) -> None:
    r = as_user("gat_clerk").post("/api/catalog/update-triggers", json=TRIGGER)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "update_trigger_forbidden"
    # A city authority only for departments of its region.
    r = as_user("zz_data_reviewer").post("/api/catalog/update-triggers", json=TRIGGER)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "department_out_of_scope"
    assert as_user("zz_data_reviewer").post("/api/catalog/update-triggers",
                                            json={**TRIGGER, "department_codes": ["410122-rsj"]}).status_code == 201
    authority = as_user("data_reviewer")
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "department_codes": ["nope"]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "department_not_found"
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "department_codes": ["410000-gov"]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "department_keeps_no_catalog"
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "document_date": "2026-12-01"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "document_date_in_future"
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "kind": "whim", "department_codes": []})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_input"
    assert "必须是以下之一" in r.json()["detail"]["message"]
    # The administrator may record for any department.
    assert as_user("demo_admin").post("/api/catalog/update-triggers", json=TRIGGER).status_code == 201
