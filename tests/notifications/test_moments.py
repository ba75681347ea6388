"""The moments a person must know of: who is told what, and nobody else (trial runs tell nobody)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.core.clock import SHANGHAI, clock
from app.notifications.models import Notification
from app.org.models import User
from tests.api.helpers import review_task, submit
from tests.catalog.helpers import add, new_draft, review
from tests.catalog.helpers import submit as submit_version
from tests.designer.test_trials import start_trial


def told(rt: Any, kind: str) -> dict[str, list[Notification]]:
    """Return the notifications of one kind, by recipient's username."""
    with rt.db.session() as session:
        rows = session.execute(select(User.username, Notification).join(User, User.id == Notification.user_id)
                               .where(Notification.kind == kind).order_by(Notification.id)).all()
        session.expunge_all()
    out: dict[str, list[Notification]] = {}
    for username, n in rows:
        out.setdefault(username, []).append(n)
    return out


def test_a_new_task_tells_the_holders_of_its_role_in_its_department_once(client, as_user, rt) -> None:
    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    arrived = told(rt, "task_arrived")
    assert set(arrived) == {"gat_reviewer"}  # not gat_clerk, not gat_head, not the other departments
    [n] = arrived["gat_reviewer"]
    assert n.link == f"/tasks/{task['id']}" and n.title == f"新待办：{task['name']}"
    # The list page shows the kind in Chinese, never the raw type.
    page = as_user("gat_reviewer").get("/api/notifications").json()
    item = page["items"][0] if isinstance(page, dict) else page[0]
    assert item["kind_label"] == "新待办"


def test_a_trial_run_tells_nobody(client, as_user, rt) -> None:
    trial = start_trial(as_user("designer"))
    assert trial["trial"] is True and trial["open_tasks"]
    assert told(rt, "task_arrived") == {}


def test_the_reply_to_a_share_request_tells_the_clerk_who_filed_it(client, as_user, rt) -> None:
    request = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, request["instance_id"])
    assert told(rt, "share_replied") == {}
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "refuse", "reason": "不属于申请部门的法定职责范围",
                                     "legal_basis": "《河南省政务数据管理办法》第十六条"}})
    assert r.status_code == 200, r.text
    replied = told(rt, "share_replied")
    assert set(replied) == {"rst_clerk"}
    [n] = replied["rst_clerk"]
    assert "不同意" in n.title and n.link == f"/share-requests/{request['id']}"
    assert "省公安厅" in n.body


def test_a_request_granted_at_once_needs_no_reply_notification(client, as_user, rt) -> None:
    submit(as_user("rst_clerk"), "410000-scjg-0001")  # unconditional: granted on filing
    assert told(rt, "share_replied") == {}


def test_a_returned_catalog_version_tells_the_clerk_who_submitted_it(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit_version(clerk, vid)
    version = review(as_user("data_reviewer"), vid, {"410000-gat-0100": {"decision": "return", "comment": "摘要过简"}})
    assert version["status"] == "returned"
    returned = told(rt, "catalog_returned")
    assert set(returned) == {"gat_clerk"}
    [n] = returned["gat_clerk"]
    assert n.link == f"/catalog/versions/{vid}" and "410000-gat-0100" in n.body
    # The revision task arrives for the department's clerks as an ordinary new task too.
    assert "gat_clerk" in told(rt, "task_arrived")


def test_an_approved_catalog_version_returns_nothing(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit_version(clerk, vid)
    review(as_user("data_reviewer"), vid, {"410000-gat-0100": "approve"})
    assert told(rt, "catalog_returned") == {}


def test_escalation_tells_the_head_of_the_tasks_department(client, as_user, rt) -> None:
    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    request = submit(as_user("rst_clerk"))  # 省公安厅 has 5 working days to answer
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    clock.freeze(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI))
    assert as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    escalated = told(rt, "escalated")
    assert set(escalated) == {"gat_head", "gat_reviewer", "gov_supervisor"}
    [n] = escalated["gat_head"]
    assert n.link == f"/tasks/{task['id']}" and task["name"] in n.title
    # Running the job again tells nobody twice.
    as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run")
    assert {k: len(v) for k, v in told(rt, "escalated").items()} == {k: len(v) for k, v in escalated.items()}


def test_a_returned_open_list_tells_the_clerk_who_submitted_it(client, as_user, rt) -> None:
    from tests.open_data.helpers import HOUSEHOLD, submitted
    from tests.open_data.helpers import review as review_list

    created = submitted(as_user("gat_clerk"))
    review_list(as_user("data_reviewer"), created["id"], "return", comment="请细化开放条件",
                item_comments={HOUSEHOLD: "开放条件过宽"})
    returned = told(rt, "open_list_returned")
    assert set(returned) == {"gat_clerk"}
    [n] = returned["gat_clerk"]
    assert n.link == f"/open-lists/{created['id']}" and "请细化开放条件" in n.body
    # The list page names the kind in Chinese.
    from tests.web.test_pages import _login

    page = _login(client.app, "gat_clerk").get("/notifications").text
    assert "开放清单退回修改" in page and "open_list_returned" not in page
