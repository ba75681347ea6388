"""Trial runs (试运行): a designer's instance never reaches real inboxes, notifications, supervision or
statistics; the designer acts each task as one of its roles; real tasks stay out of reach."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.clock import SHANGHAI, clock
from app.notifications.models import Notification
from app.org.models import User
from app.supervision.models import SupervisionItem
from tests.api.helpers import submit
from tests.designer.trial_helpers import SHARE_VARIABLES
from tests.web.test_pages import _login

APPROVE = {"decision": "approve", "terms": "仅用于试运行"}


def start_trial(designer: Any, variables: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    r = designer.post("/api/processes/sharing_share_request/instances",
                      json={"variables": variables or SHARE_VARIABLES, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _todo_badge(html: str) -> str | None:
    found = re.search(r'我的待办 <span class="badge">(\d+)</span>', html)
    return found.group(1) if found else None


def notifications_of(rt: Any, username: str) -> int:
    with rt.db.session() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
        return int(session.execute(select(func.count()).select_from(Notification)
                                   .where(Notification.user_id == user_id)).scalar_one())


def test_a_trial_task_reaches_no_inbox_even_when_department_and_role_match(app, as_user, rt) -> None:
    reviewer = as_user("gat_reviewer")
    pages = _login(app, "gat_reviewer")
    submit(as_user("rst_clerk"))  # one real task, so the header shows a count
    before_count = reviewer.get("/api/tasks").json()["count"]
    before_badge = _todo_badge(pages.get("/tasks").text)
    before_notes = notifications_of(rt, "gat_reviewer")
    trial = start_trial(as_user("designer"))
    assert trial["trial"] is True
    [task] = trial["open_tasks"]
    assert task["department_code"] == "410000-gat" and task["role"] == "reviewer"  # it would match
    for view in ("todo", "done", "initiated"):
        assert task["id"] not in [t["id"] for t in reviewer.get(f"/api/tasks?view={view}").json()["items"]]
    assert reviewer.get("/api/tasks").json()["count"] == before_count
    assert reviewer.get(f"/api/tasks/{task['id']}").status_code == 404
    assert reviewer.get(f"/api/instances/{trial['id']}").status_code == 404
    assert reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": APPROVE}).status_code == 404
    # The page's 待办 count in the header does not count it either.
    page = pages.get("/tasks")
    assert page.status_code == 200 and "我的待办" in page.text and f"/tasks/{task['id']}" not in page.text
    assert pages.get(f"/tasks/{task['id']}").status_code == 404
    assert _todo_badge(page.text) == before_badge == "1"
    assert notifications_of(rt, "gat_reviewer") == before_notes


def test_the_designer_sees_the_trial_and_never_a_real_case(as_user) -> None:
    designer = as_user("designer")
    real = submit(as_user("rst_clerk"))
    trial = start_trial(designer)
    listed = designer.get("/api/trials").json()
    assert [t["id"] for t in listed][:1] == [trial["id"]]
    assert real["instance_id"] not in [t["id"] for t in listed]
    assert listed[0]["version"] == 1 and listed[0]["status"] == "running"
    assert listed[0]["open_tasks"][0]["roles"] == [{"id": "reviewer", "name": "审核人（reviewer）"}]
    assert designer.get(f"/api/instances/{trial['id']}").status_code == 200
    assert designer.get(f"/api/instances/{real['instance_id']}").status_code == 404
    # Admins see everything.
    assert as_user("demo_admin").get(f"/api/instances/{real['instance_id']}").status_code == 200
    assert as_user("demo_admin").get("/api/trials").json()[0]["id"] == trial["id"]


def test_the_designer_acts_as_reviewer_and_the_trial_advances(as_user, rt) -> None:
    designer = as_user("designer")
    trial = start_trial(designer)
    [task] = trial["open_tasks"]
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete", json={"role": "reviewer", "data": APPROVE})
    assert r.status_code == 200, r.text
    done = r.json()
    # Granted: the trial waits at the exchange platform's external task, which no worker is given.
    assert done["status"] == "running" and done["open_tasks"] == []
    with rt.db.session() as session:
        actor, detail = session.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == "task.completed",
                                                              AuditEvent.entity_id == str(task["id"]))).one()
    assert actor == "designer"
    assert detail["trial"] is True and detail["as_role"] == "reviewer"
    assert detail["data"]["approved_items"] == ["姓名", "身份证号"]  # the task's validator ran


def test_form_rules_apply_as_for_real_work(as_user) -> None:
    designer = as_user("designer")
    [task] = start_trial(designer)["open_tasks"]
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete",
                      json={"role": "reviewer", "data": {"decision": "refuse"}})
    assert r.status_code == 422
    assert "不同意共享时必须说明理由" in r.json()["detail"]["message"]
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete", json={"role": "reviewer", "data": {}})
    assert r.status_code == 422 and "为必填项" in r.json()["detail"]["message"]
    assert designer.get("/api/trials").json()[0]["status"] == "running"


def test_a_wrong_role_is_refused_with_the_allowed_roles(as_user) -> None:
    designer = as_user("designer")
    [task] = start_trial(designer)["open_tasks"]
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete", json={"role": "clerk", "data": APPROVE})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "trial_role_invalid"
    assert "可选角色：审核人（reviewer）" in detail["message"] and detail["roles"] == ["reviewer"]
    assert designer.get("/api/trials").json()[0]["status"] == "running"


def test_a_designer_cannot_touch_a_real_task(as_user) -> None:
    real = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    [task] = [t for t in reviewer.get("/api/tasks").json()["items"] if t["instance_id"] == real["instance_id"]]
    designer = as_user("designer")
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete", json={"role": "reviewer", "data": APPROVE})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "trial_task_not_found"
    admin = as_user("demo_admin")
    assert admin.post(f"/api/trials/tasks/{task['id']}/complete",
                      json={"role": "reviewer", "data": APPROVE}).status_code == 404
    assert designer.post(f"/api/trials/{real['instance_id']}/cancel").status_code == 404
    # The real task is untouched and still in the reviewer's inbox.
    assert task["id"] in [t["id"] for t in reviewer.get("/api/tasks").json()["items"]]
    assert as_user("gat_reviewer").post(f"/api/trials/tasks/{task['id']}/complete",
                                        json={"role": "reviewer", "data": APPROVE}).status_code == 403


def test_an_overdue_trial_task_never_escalates_nor_counts(as_user, rt) -> None:
    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    designer = as_user("designer")
    trial = start_trial(designer)
    assert trial["open_tasks"][0]["due_at"] is not None  # a real deadline, 5 working days
    before = notifications_of(rt, "gov_supervisor")
    clock.freeze(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI))  # long past it
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0
    assert admin.post("/api/admin/jobs/remind-before-due/run").status_code == 200
    with rt.db.session() as session:
        assert session.execute(select(func.count()).select_from(SupervisionItem)).scalar_one() == 0
    assert as_user("gov_supervisor").get("/api/supervision/stats").json() == []
    assert notifications_of(rt, "gov_supervisor") == before
    # A real request overdue alike is escalated: the sweep ran and passed the trial by.
    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    submit(as_user("rst_clerk"))
    clock.freeze(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI))
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    assert [r["escalated"] for r in as_user("gov_supervisor").get("/api/supervision/stats").json()] == [1]


def test_an_older_version_can_be_tried_and_a_trial_discarded(as_user, rt) -> None:
    designer = as_user("designer")
    r = designer.post("/api/processes/sharing_share_request/instances",
                      json={"variables": SHARE_VARIABLES, "version": 7})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "process_version_not_found"
    trial = start_trial(designer, version=1)
    r = designer.post(f"/api/trials/{trial['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert designer.post(f"/api/trials/{trial['id']}/cancel").status_code == 409
    assert designer.get("/api/trials").json()[0]["status_label"] == "已放弃"


def test_trial_routes_are_for_designers_and_admins(as_user) -> None:
    assert as_user("gat_reviewer").get("/api/trials").status_code == 403
    assert as_user("gov_supervisor").post("/api/trials/1/cancel").status_code == 403


def test_a_trial_task_due_tomorrow_gets_no_reminder(as_user, rt) -> None:
    from app.engine.models import Task

    designer = as_user("designer")
    trial = start_trial(designer)  # Monday 2 November 2026: due in 5 working days
    real = submit(as_user("rst_clerk"))
    clock.freeze(datetime(2026, 11, 6, 9, 0, tzinfo=SHANGHAI))  # Friday: due on the next working day
    assert as_user("demo_admin").post("/api/admin/jobs/remind-before-due/run").json()["result"] == 1
    with rt.db.session() as session:
        reminded = dict(session.execute(select(Task.instance_id, Task.reminded_at)).all())
        links = session.execute(select(Notification.link).join(User, User.id == Notification.user_id)
                                .where(User.username == "gat_reviewer", Notification.kind == "reminder")
                                ).scalars().all()
    assert reminded[trial["id"]] is None and reminded[real["instance_id"]] is not None
    assert links and all(link != f"/tasks/{trial['open_tasks'][0]['id']}" for link in links)
