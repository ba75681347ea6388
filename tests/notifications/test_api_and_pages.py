"""My notifications through the API and the pages: list, unread count, read one, read all."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.core.clock import clock
from app.notifications import service
from app.org import service as org_service
from app.runtime import Runtime
from tests.conftest import DEMO_PASSWORD


def _notify_user(rt: Runtime, username: str, key: str, title: str = "新待办：审核共享申请",
                 link: str | None = "/tasks/1") -> None:
    with rt.db.session() as session:
        user = org_service.get_user_by_username(session=session, username=username)
        assert user is not None
        service.notify(session, user_ids=[user.id or 0], kind="task_assigned", title=title, body="请及时办理",
                       link=link, dedupe_key=key, at=clock.now(), settings=rt.settings)
        session.commit()


def test_list_count_read_and_read_all(rt: Runtime, as_user) -> None:  # type: ignore[no-untyped-def]
    _notify_user(rt, "gat_reviewer", "k1", "第一条")
    _notify_user(rt, "gat_reviewer", "k2", "第二条")
    _notify_user(rt, "gat_reviewer", "k3", "第三条")
    reviewer = as_user("gat_reviewer")
    assert reviewer.get("/api/notifications/unread-count").json() == {"unread": 3}
    listed = reviewer.get("/api/notifications").json()
    assert listed["unread"] == 3
    assert [n["title"] for n in listed["items"]] == ["第三条", "第二条", "第一条"]
    first = listed["items"][2]
    assert first["kind"] == "task_assigned" and first["kind_zh"] == "新待办" and first["link"] == "/tasks/1"
    assert first["unread"] is True and first["read_at"] is None

    r = reviewer.post(f"/api/notifications/{first['id']}/read")
    assert r.status_code == 200, r.text
    assert r.json()["read_at"] == clock.now().isoformat() and r.json()["unread_total"] == 2
    assert reviewer.post(f"/api/notifications/{first['id']}/read").status_code == 200  # idempotent
    unread = reviewer.get("/api/notifications", params={"unread": "true"}).json()
    assert [n["title"] for n in unread["items"]] == ["第三条", "第二条"] and unread["unread"] == 2
    page = reviewer.get("/api/notifications", params={"limit": 1, "offset": 1}).json()
    assert [n["title"] for n in page["items"]] == ["第二条"]

    r = reviewer.post("/api/notifications/read-all")
    assert r.status_code == 200 and r.json() == {"marked": 2, "unread": 0}
    assert reviewer.get("/api/notifications/unread-count").json() == {"unread": 0}
    assert len(reviewer.get("/api/notifications").json()["items"]) == 3


def test_someone_elses_notification_is_403_and_an_unknown_one_404(  # type: ignore[no-untyped-def]
        rt: Runtime, as_user) -> None:
    _notify_user(rt, "gat_reviewer", "k1")
    _notify_user(rt, "gat_clerk", "k1")
    reviewer = as_user("gat_reviewer")
    mine = reviewer.get("/api/notifications").json()["items"][0]
    clerk = as_user("gat_clerk")
    r = clerk.post(f"/api/notifications/{mine['id']}/read")
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert detail["code"] == "notification_forbidden" and detail["message"] == "这不是您的通知"
    r = clerk.post("/api/notifications/987654/read")
    assert r.status_code == 404 and r.json()["detail"]["code"] == "notification_not_found"
    # Reading all of mine never touches anyone else's.
    clerk.post("/api/notifications/read-all")
    assert reviewer.get("/api/notifications/unread-count").json() == {"unread": 1}
    assert clerk.get("/api/notifications/unread-count").json() == {"unread": 0}


def test_the_api_needs_a_login(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/notifications")
    assert r.status_code == 401 and r.json()["detail"]["code"] == "not_authenticated"


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                               "csrf_token": _csrf(c.get("/login").text), "next": "/notifications"})
    assert r.status_code == 303, r.text
    return c


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _id_of(rt: Runtime, username: str, key: str) -> int:
    with rt.db.session() as session:
        user = org_service.get_user_by_username(session=session, username=username)
        assert user is not None
        return next(n.id or 0 for n in service.list_for(session, user.id or 0) if n.dedupe_key == key)


def test_the_notifications_page_works_without_javascript(  # type: ignore[no-untyped-def]
        rt: Runtime, client) -> None:
    _notify_user(rt, "gat_reviewer", "k1", "新待办：审核共享申请", link="/tasks/1")
    _notify_user(rt, "gat_reviewer", "k2", "到期提醒：还剩1个工作日", link=None)
    browser = _login(client.app, "gat_reviewer")
    page = browser.get("/notifications")
    assert page.status_code == 200
    assert "新待办：审核共享申请" in page.text and "到期提醒：还剩1个工作日" in page.text
    assert "全部标为已读" in page.text and "未读" in page.text

    task_note = _id_of(rt, "gat_reviewer", "k1")
    assert f'action="/notifications/{task_note}/read"' in page.text

    # Without the CSRF token the form is refused.
    assert browser.post(f"/notifications/{task_note}/read", data={}).status_code == 403

    # 查看: marks it read and opens what it links to.
    r = browser.post(f"/notifications/{task_note}/read", data={"csrf_token": _csrf(page.text), "open": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/tasks/1"
    unread_page = browser.get("/notifications", params={"unread": "true"})
    assert "到期提醒：还剩1个工作日" in unread_page.text and "新待办：审核共享申请" not in unread_page.text

    r = browser.post("/notifications/read-all", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    assert "没有未读消息" in browser.get("/notifications", params={"unread": "true"}).text


def test_someone_elses_notification_page_action_is_refused(  # type: ignore[no-untyped-def]
        rt: Runtime, client) -> None:
    _notify_user(rt, "gat_clerk", "k1")
    note_id = _id_of(rt, "gat_clerk", "k1")
    browser = _login(client.app, "gat_reviewer")
    page = browser.get("/notifications")
    assert "暂无消息" in page.text
    r = browser.post(f"/notifications/{note_id}/read", data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 403 and "这不是您的通知" in r.text


def test_the_page_sends_strangers_to_the_login(client) -> None:  # type: ignore[no-untyped-def]
    r = TestClient(client.app, follow_redirects=False).get("/notifications")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_hundred_unread_show_as_99_plus(rt: Runtime, as_user, client) -> None:  # type: ignore[no-untyped-def]
    """The unread count reads at most 100 notifications: the API says 100, the badges say 99+."""
    with rt.db.session() as session:
        user = org_service.get_user_by_username(session=session, username="gat_reviewer")
        assert user is not None
        for k in range(101):
            service.notify(session, user_ids=[user.id or 0], kind="task_assigned", title=f"第{k}条", body="请及时办理",
                           link="/tasks/1", dedupe_key=f"many-{k}", at=clock.now(), settings=rt.settings)
        session.commit()
    assert as_user("gat_reviewer").get("/api/notifications/unread-count").json() == {"unread": 100}
    page = _login(client.app, "gat_reviewer").get("/notifications").text
    assert re.search(r'消息\s*<span class="badge">99\+</span>', page), "the header badge"
    assert re.search(r'未读\s*<span class="badge">99\+</span>', page), "the unread tab's badge"
