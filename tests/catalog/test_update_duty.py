"""Catalog update duty (Art. 9): trigger → 10-working-day task → fulfilled by submitting a version, or escalated."""

import re
from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.catalog.helpers import add, new_draft, submit

TRIGGER = {"kind": "law_revised", "document_number": "豫政〔2026〕12号", "document_date": "2026-10-30",
           "effective_on": "2026-11-02",
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


# ---- Art. 9 之日起: the days count from the revision, as the trigger records it (issue 9) ----------------

def _local_day(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).date().isoformat()


def test_a_trigger_entered_late_counts_from_the_day_of_the_revision(client, as_user) -> None:
    # Today is Monday 2026-11-02; the law was revised Wednesday 10-28, three working days ago (10-29, 10-30,
    # 11-02 have passed, 10-28 itself not counted): seven working days are left, ending Wednesday 11-11.
    recorded = _record(as_user("data_reviewer"), effective_on="2026-10-28", department_codes=["410000-gat"])
    assert recorded["effective_on"] == "2026-10-28"
    [duty] = recorded["duties"]
    assert _local_day(duty["due_at"]) == "2026-11-11" and duty["overdue"] is False
    [task] = as_user("gat_clerk").get("/api/tasks").json()["items"]
    assert _local_day(task["due_at"]) == "2026-11-11"
    assert task["due_from"] == "2026-10-28"
    assert task["deadline_label"] == "剩余7个工作日"
    deadline = as_user("demo_admin").get("/api/calendar/deadline", params={
        "start": "2026-11-02T09:00:00+08:00", "working_days": 7}).json()
    assert _local_day(deadline["due_at"]) == "2026-11-11"


def test_a_revision_on_the_day_of_entry_keeps_the_full_ten_days(client, as_user) -> None:
    recorded = _record(as_user("data_reviewer"), effective_on="2026-11-02", department_codes=["410000-gat"])
    assert _local_day(recorded["duties"][0]["due_at"]) == "2026-11-16"


def test_a_trigger_whose_deadline_passed_before_entry_is_overdue_at_once_and_escalated(client, as_user) -> None:
    # Revised Tuesday 9-29, before National Day: due Monday 10-19 (REFERENCE.md calendar), long passed on 11-02.
    recorded = _record(as_user("data_reviewer"), effective_on="2026-09-29", department_codes=["410000-scjg"])
    [duty] = recorded["duties"]
    assert _local_day(duty["due_at"]) == "2026-10-19" and duty["overdue"] is True
    [task] = as_user("scjg_clerk").get("/api/tasks", params={"overdue": "true"}).json()["items"]
    assert task["overdue"] is True and task["overdue_working_days"] == 10  # 10-20 … 11-02
    assert task["deadline_label"] == "已超期10个工作日"
    # The next escalate-overdue run (every minute) puts it in the provincial supervision queue.
    assert as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    [item] = as_user("gov_supervisor").get("/api/supervision/items").json()["items"]
    assert item["task_name"] == "提交更新后的目录" and item["overdue_working_days"] == 10
    assert as_user("scjg_clerk").get("/api/catalog/update-duties").json()[0]["escalated"] is True


def test_a_pause_moves_the_deadline_counted_from_the_revision(client, as_user) -> None:
    _record(as_user("data_reviewer"), effective_on="2026-10-28", department_codes=["410000-gat"])
    [task] = as_user("gat_clerk").get("/api/tasks").json()["items"]
    authority = as_user("data_reviewer")
    assert authority.post(f"/api/tasks/{task['id']}/pause", json={"reason": "等待编办批复"}).status_code == 200
    clock.freeze(datetime(2026, 11, 4, 9, 0, tzinfo=SHANGHAI))  # paused 11-02 and 11-03: two working days
    r = as_user("data_reviewer").post(f"/api/tasks/{task['id']}/resume")
    assert r.status_code == 200, r.text
    assert _local_day(r.json()["due_at"]) == "2026-11-13"  # 11-11 + 2 working days, still from 10-28


def test_the_day_of_the_revision_is_required_and_checked(client, as_user) -> None:
    authority = as_user("data_reviewer")
    body = {k: v for k, v in TRIGGER.items() if k != "effective_on"}
    r = authority.post("/api/catalog/update-triggers", json=body)
    assert r.status_code == 422 and "effective_on" in r.text
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "effective_on": "2026-11-03"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "effective_on_in_future"
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "effective_on": "2025-10-31"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "effective_on_too_old"
    assert "2025-11-01" in r.json()["detail"]["message"]
    r = authority.post("/api/catalog/update-triggers", json={**TRIGGER, "effective_on": "2026-02-30"})
    assert r.status_code == 422
    assert as_user("gat_clerk").get("/api/tasks").json()["items"] == []  # nothing was created


def test_the_page_asks_for_the_day_and_shows_it_with_the_deadline(client) -> None:
    from tests.web.test_pages import _csrf, _login

    authority = _login(client.app, "data_reviewer")
    page = authority.get("/catalog/updates")
    assert 'name="effective_on"' in page.text and "发生日期" in page.text
    r = authority.post("/catalog/updates", data={
        "csrf_token": _csrf(page.text), "kind": "law_revised", "document_number": "豫政〔2026〕15号",
        "document_date": "2026-09-28", "effective_on": "2026-09-29", "summary": "条例修订",
        "department_codes[]": ["410000-gat"]})
    assert r.status_code == 303, r.text
    shown = authority.get(r.headers["location"]).text
    assert "期限至 2026-10-19" in shown and "登记时已超期" in shown
    assert "2026-09-29" in shown and "已超期" in shown
    r = authority.post("/catalog/updates", data={
        "csrf_token": _csrf(page.text), "kind": "law_revised", "document_number": "豫政〔2026〕16号",
        "document_date": "2026-09-28", "effective_on": "2026-12-01", "summary": "条例修订",
        "department_codes[]": ["410000-gat"]})
    assert r.status_code == 422 and "发生日期" in r.text
    clerk = _login(client.app, "gat_clerk")
    inbox = clerk.get("/tasks").text
    task_link = re.search(r'href="/tasks/(\d+)"', inbox)
    assert task_link is not None
    assert "期限自 2026-09-29" in clerk.get(f"/tasks/{task_link.group(1)}").text
