"""Statutory deadlines end to end: due dates on the working-day calendar, overdue, reminders,
exactly-once escalation to the right government's supervision queue, pausing, provisional years."""

from datetime import datetime

import pytest

from app.core.clock import SHANGHAI, clock
from tests.api.helpers import review_task, submit

SEPT_30 = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture
def filed(client, as_user):  # type: ignore[no-untyped-def]
    """A conditional share request received 2026-09-30 15:00 (before National Day)."""
    clock.freeze(SEPT_30)
    created = submit(as_user("rst_clerk"))
    return created, review_task(as_user("gat_reviewer"), created["instance_id"])


# Tokens expire after 8 hours of the service clock: log in again after moving it.


def test_reply_is_due_after_five_working_days_across_national_day(filed) -> None:
    _, task = filed
    # REFERENCE.md: 10/8, 10/9, 10/10 (Saturday make-up day), 10/12, 10/13.
    assert datetime.fromisoformat(task["due_at"]).astimezone(SHANGHAI).date().isoformat() == "2026-10-13"
    assert datetime.fromisoformat(task["due_at"]).astimezone(SHANGHAI).strftime("%H:%M") == "23:59"
    assert task["due_provisional"] is False
    assert task["due_rule"] == "5WD（share_reply）"
    assert task["working_days_left"] == 5
    assert task["deadline_label"] == "剩余5个工作日"


def test_overdue_task_is_flagged_in_the_inbox(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 14, 9, 30))
    todo = as_user("gat_reviewer").get("/api/tasks", params={"overdue": "true"}).json()["items"]
    assert [t["id"] for t in todo] == [task["id"]]
    assert todo[0]["overdue"] is True
    assert todo[0]["overdue_working_days"] == 1
    assert todo[0]["deadline_label"] == "已超期1个工作日"
    assert as_user("gat_reviewer").get("/api/tasks", params={"overdue": "false"}).json()["items"] == []


def test_escalation_creates_one_item_in_the_provincial_queue(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 15, 9, 0))
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0
    items = as_user("gov_supervisor").get("/api/supervision/items").json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["task_id"] == task["id"]
    assert item["department_code"] == "410000-gat"
    assert item["government_office"] == "河南省人民政府办公厅（督查室）"
    assert item["level"] == "province"
    assert item["overdue_working_days"] == 2
    assert item["state"] == "open"
    # Another government's supervisors do not see it; a department cannot read the queue.
    assert as_user("zz_supervisor").get("/api/supervision/items").json()["items"] == []
    assert as_user("gat_reviewer").get("/api/supervision/items").status_code == 403
    assert as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()["escalated"] is True


def test_reminder_is_sent_once_on_the_working_day_before(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 9, 10, 0))  # due 10/13: three working days left, too early
    assert as_user("demo_admin").post("/api/admin/jobs/remind-before-due/run").json()["result"] == 0
    clock.freeze(at(2026, 10, 12, 10, 0))  # the working day before the due date
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/remind-before-due/run").json()["result"] == 1
    assert admin.post("/api/admin/jobs/remind-before-due/run").json()["result"] == 0
    notes = as_user("gat_reviewer").get("/api/notifications").json()["items"]
    reminders = [n for n in notes if n["kind"] == "reminder"]
    assert len(reminders) == 1 and "2026年10月13日" in reminders[0]["body"]


def test_pause_moves_the_deadline_by_the_working_days_paused(filed, as_user) -> None:
    created, task = filed
    clock.freeze(at(2026, 10, 8, 9, 0))
    head = as_user("gat_head")
    assert as_user("gat_reviewer").post(f"/api/tasks/{task['id']}/pause", json={"reason": "等待补充材料"}).status_code == 403
    r = head.post(f"/api/tasks/{task['id']}/pause", json={"reason": "等待申请部门补充履职依据"})
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is True
    clock.freeze(at(2026, 10, 20, 9, 0))  # would be overdue, but paused: not escalated
    assert as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0
    clock.freeze(at(2026, 10, 12, 14, 0))
    head = as_user("gat_head")
    r = head.post(f"/api/tasks/{task['id']}/resume")
    assert r.status_code == 200, r.text
    # Paused 10/8 to 10/12: 10/8, 10/9 and 10/10 (make-up Saturday) were lost, so +3 working days.
    assert datetime.fromisoformat(r.json()["due_at"]).astimezone(SHANGHAI).date().isoformat() == "2026-10-16"
    history = as_user("rst_clerk").get(f"/api/share-requests/{created['id']}").json()["history"]
    resumed = [h for h in history if h["action"] == "task.resumed"]
    assert resumed and resumed[0]["detail"]["working_days_added"] == 3
    assert any(h["action"] == "task.paused" for h in history)


def test_authority_reviewer_of_the_level_may_pause_but_not_of_another_city(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 8, 9, 0))
    assert as_user("zz_data_reviewer").post(f"/api/tasks/{task['id']}/pause",
                                            json={"reason": "协调中"}).status_code == 404  # the province's task is out of its sight
    assert as_user("data_reviewer").post(f"/api/tasks/{task['id']}/pause",
                                         json={"reason": "协调中"}).status_code == 200


def test_urge_close_and_automatic_close_when_done(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 15, 9, 0))
    supervisor = as_user("gov_supervisor")
    as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run")
    item = supervisor.get("/api/supervision/items").json()["items"][0]
    r = supervisor.post(f"/api/supervision/items/{item['id']}/urge", json={"note": "请于今日内答复"})
    assert r.status_code == 200 and r.json()["urge_count"] == 1
    urged = [n for n in as_user("gat_reviewer").get("/api/notifications").json()["items"] if n["kind"] == "urged"]
    assert len(urged) == 1 and "请于今日内答复" in urged[0]["body"]
    assert supervisor.post(f"/api/supervision/items/{item['id']}/close", json={"note": ""}).status_code == 422
    # The provider answers: the item closes by itself and keeps its record.
    assert as_user("gat_reviewer").post(f"/api/tasks/{task['id']}/complete",
                         json={"data": {"decision": "approve", "terms": "按约使用"}}).status_code == 200
    item = supervisor.get("/api/supervision/items").json()["items"][0]
    assert item["state"] == "closed" and item["close_reason"] == "task_done"
    assert item["overdue_working_days"] == 2
    assert supervisor.post(f"/api/supervision/items/{item['id']}/urge", json={}).status_code == 409
    stats = supervisor.get("/api/supervision/stats").json()
    assert stats == [{"department_code": "410000-gat", "department_name": "河南省公安厅", "escalated": 1, "open": 0,
                      "closed": 1, "task_done": 1, "urges": 1, "avg_overdue_working_days": 2.0,
                      "max_overdue_working_days": 2}]
    csv = supervisor.get("/api/supervision/stats.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeff部门代码,部门名称,督办事项数")
    assert "410000-gat,河南省公安厅,1,0,1,1,1,2.0,2" in csv.text


def test_supervisor_closes_an_item_with_a_note(filed, as_user) -> None:
    clock.freeze(at(2026, 10, 15, 9, 0))
    supervisor = as_user("gov_supervisor")
    as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run")
    item = supervisor.get("/api/supervision/items", params={"state": "open"}).json()["items"][0]
    r = supervisor.post(f"/api/supervision/items/{item['id']}/close", json={"note": "已约谈，纳入年度考核"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert r.json()["close_reason"] == "closed_by_supervisor"
    assert supervisor.get("/api/supervision/items", params={"state": "open"}).json()["items"] == []


HOLIDAY_2027 = {
    "year": 2027, "papers": ["https://www.gov.cn/zhengce/content/2027-example.htm"],
    "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True},
        {"name": "元旦", "date": "2027-01-02", "isOffDay": True},
        {"name": "元旦", "date": "2027-01-03", "isOffDay": True},
        {"name": "春节", "date": "2027-02-06", "isOffDay": False},
    ],
}


def test_deadline_into_an_unknown_year_is_provisional_until_the_year_is_loaded(client, as_user) -> None:
    clock.freeze(at(2026, 12, 28, 10, 0))
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert task["due_provisional"] is True
    # Weekdays only: 12/29, 12/30, 12/31, 1/1, 1/4.
    assert task["due_at"].startswith("2027-01-04")
    assert task["deadline_label"].endswith("（暂定）")
    admin = as_user("demo_admin")
    years = admin.get("/api/admin/calendar/years").json()
    assert "2027" in years["notice"]
    assert {"year": 2026, "source": "chinese_calendar", "days_off": 19, "makeup_workdays": 6,
            "working_days": 248} in years["years"]
    r = admin.post("/api/admin/calendar/years", json=HOLIDAY_2027)
    assert r.status_code == 201, r.text
    assert r.json()["recomputed_tasks"] == [task["id"]]
    task = reviewer.get(f"/api/tasks/{task['id']}").json()
    assert task["due_provisional"] is False
    # 1/1 is now a holiday: 12/29, 12/30, 12/31, 1/4, 1/5.
    assert task["due_at"].startswith("2027-01-05")
    years = admin.get("/api/admin/calendar/years").json()
    assert years["notice"] is None
    loaded = [y for y in years["years"] if y["year"] == 2027][0]
    assert loaded["source"] == "loaded" and loaded["loaded_by"] == "demo_admin"


def test_bad_calendar_upload_is_refused_and_changes_nothing(client, as_user) -> None:
    admin = as_user("demo_admin")
    bad = {**HOLIDAY_2027, "days": [{"name": "元旦", "date": "2028-01-01", "isOffDay": True}]}
    r = admin.post("/api/admin/calendar/years", json=bad)
    assert r.status_code == 422 and r.json()["detail"]["code"] == "holiday_cn_date_outside_year"
    assert all(y["year"] != 2027 for y in admin.get("/api/admin/calendar/years").json()["years"])
    assert as_user("rst_clerk").post("/api/admin/calendar/years", json=HOLIDAY_2027).status_code == 403


@pytest.mark.parametrize(("start", "days", "due"), [
    ("2026-09-30T15:00:00+08:00", 5, "2026-10-13"),
    ("2026-02-13T10:00:00+08:00", 10, "2026-03-05"),
    ("2026-09-29T17:00:00+00:00", 5, "2026-10-13"),  # 2026-09-30 01:00 in Shanghai
])
def test_calendar_answers_the_reference_examples(client, as_user, start: str, days: int, due: str) -> None:
    r = as_user("rst_clerk").get("/api/calendar/deadline", params={"start": start, "working_days": days})
    assert r.status_code == 200, r.text
    assert r.json()["due_at"].startswith(due) and r.json()["provisional"] is False


def test_unknown_job_and_non_admin(client, as_user) -> None:
    assert as_user("demo_admin").post("/api/admin/jobs/no-such-job/run").status_code == 404
    assert as_user("gov_supervisor").post("/api/admin/jobs/escalate-overdue/run").status_code == 403


def test_deploy_refuses_a_bad_due_notation(client, as_user) -> None:
    from pathlib import Path

    xml = Path("bpmn/sharing_share_request.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('camunda:dueDate="5WD"', 'camunda:dueDate="five days"').replace(
        'id="sharing_share_request"', 'id="sharing_share_request_bad"')
    r = as_user("designer").post("/api/processes", json={"filename": "bad.bpmn", "xml": xml})
    assert r.status_code == 422
    assert "5WD" in r.json()["detail"]["message"]


def test_last_day_reads_due_today(filed, as_user) -> None:
    _, task = filed
    clock.freeze(at(2026, 10, 13, 16, 0))
    shown = as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()
    assert shown["working_days_left"] == 0 and shown["deadline_label"] == "今日到期" and shown["overdue"] is False
