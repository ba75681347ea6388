"""Supervisors work the queue in pages; administrators load a year and move the demo clock."""

from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.api.helpers import submit
from tests.web.test_pages import _csrf, _login


def test_supervisor_sees_urges_and_closes_in_pages(client, as_user) -> None:
    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    submit(as_user("rst_clerk"))
    clock.freeze(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI))
    as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run")
    page = _login(client.app, "gov_supervisor")
    listing = page.get("/supervision")
    assert "督查督办事项" in listing.text and "河南省公安厅" in listing.text and "2 个工作日" in listing.text
    item_id = as_user("gov_supervisor").get("/api/supervision/items").json()["items"][0]["id"]
    # The supervisor opens the case itself from the queue (issue 11).
    import re

    case_url = re.search(r'<td><a href="(/share-requests/\d+)">', listing.text).group(1)  # type: ignore[union-attr]
    case = page.get(case_url)
    assert case.status_code == 200 and "流转记录" in case.text
    r = page.post(f"/supervision/{item_id}/urge", data={"csrf_token": _csrf(listing.text), "note": "请速办"})
    assert r.status_code == 303
    r = page.post(f"/supervision/{item_id}/close", data={"csrf_token": _csrf(listing.text), "note": "已约谈"})
    assert r.status_code == 303
    closed = page.get("/supervision?state=closed").text
    assert "督查员办结" in closed and "已约谈" in closed
    assert "河南省公安厅" in page.get("/supervision/stats").text
    # A clerk is refused with a readable page.
    denied = _login(client.app, "rst_clerk").get("/supervision")
    assert denied.status_code == 403 and "只有督查员可以查看督办事项" in denied.text


def test_admin_calendar_page_loads_a_year_and_refuses_a_bad_one(client) -> None:
    page = _login(client.app, "demo_admin")
    shown = page.get("/admin/calendar")
    assert "法定工作日历" in shown.text and "248" in shown.text
    # Job buttons speak Chinese; the job id stays in the form's address only (issue 11).
    assert ">立即超期任务移送督办</button>" in shown.text and ">escalate-overdue<" not in shown.text
    assert "立即运行 escalate-overdue" not in shown.text
    bad = page.post("/admin/calendar", data={"csrf_token": _csrf(shown.text), "payload": "{not json"})
    assert bad.status_code == 422 and "holiday_cn_bad_json" in bad.text
    good = page.post("/admin/calendar", data={"csrf_token": _csrf(shown.text), "payload":
                     '{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}'})
    assert good.status_code == 303
    assert "管理员导入" in page.get("/admin/calendar").text


def test_every_page_shows_unread_count_and_admins_see_the_missing_year_notice(client, as_user) -> None:
    from datetime import datetime

    from app.core.clock import SHANGHAI, clock

    clock.freeze(datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI))
    submit(as_user("rst_clerk"))
    clock.freeze(datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI))
    as_user("demo_admin").post("/api/admin/jobs/remind-before-due/run")
    reviewer = _login(client.app, "gat_reviewer")
    page = reviewer.get("/tasks").text
    # Two unread: the task's arrival and the reminder before its deadline.
    assert 'href="/notifications"' in page and '消息 <span class="badge">2</span>' in page
    assert "尚未导入" not in page  # the calendar notice is for administrators
    clock.freeze(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))
    admin_page = _login(client.app, "demo_admin").get("/tasks").text
    assert "尚未导入 2027 年节假日安排" in admin_page
