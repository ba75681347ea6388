"""English is switchable per user: the choice persists on the user and turns the page chrome English."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from tests.web.test_pages import _csrf, _login


def _nav(html: str) -> str:
    return re.search(r"<nav[^>]*>(.*?)</nav>", html, re.S).group(1)  # type: ignore[union-attr]


def _switch(page: TestClient, language: str, next_url: str = "/tasks") -> str:
    shown = page.get(next_url)
    r = page.post("/me/language", data={"csrf_token": _csrf(shown.text), "language": language, "next": next_url})
    assert r.status_code == 303
    return r.headers["location"]


def test_the_english_switch_persists_for_the_user_and_changes_the_inbox_chrome(client) -> None:
    page = _login(client.app, "gat_reviewer")
    inbox = page.get("/tasks").text
    assert '<html lang="zh-CN">' in inbox and "我的待办" in _nav(inbox) and "跳到正文" in inbox

    assert _switch(page, "en", "/tasks?view=done") == "/tasks?view=done"
    inbox = page.get("/tasks").text
    nav = _nav(inbox)
    assert '<html lang="en">' in inbox
    assert "Inbox" in nav and "Share requests" in nav and "我的待办" not in nav
    assert "Skip to content" in inbox and ">Log out<" in inbox and "Reviewer" in inbox

    # Stored on the user: another browser (a fresh login, no cookie) reads English too.
    elsewhere = _login(client.app, "gat_reviewer")
    assert "Inbox" in _nav(elsewhere.get("/tasks").text)
    # Someone else still reads Chinese.
    other = _login(client.app, "rst_clerk")
    assert "我的待办" in _nav(other.get("/tasks").text)

    _switch(page, "zh")
    inbox = elsewhere.get("/tasks").text
    assert '<html lang="zh-CN">' in inbox and "我的待办" in _nav(inbox)


def test_the_switch_goes_back_only_to_this_site_and_refuses_nonsense(client) -> None:
    page = _login(client.app, "gat_reviewer")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "tasks"):
        assert _switch(page, "en", "/tasks") == "/tasks"
        token = _csrf(page.get("/tasks").text)
        r = page.post("/me/language", data={"csrf_token": token, "language": "en", "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/tasks", target
    token = _csrf(page.get("/tasks").text)
    refused = page.post("/me/language", data={"csrf_token": token, "language": "fr", "next": "/tasks"})
    assert refused.status_code == 422 and "不支持该语言" not in refused.text  # the page is English now
    assert 'data-code="language_unsupported"' in refused.text
    forged = page.post("/me/language", data={"language": "zh", "next": "/tasks"})
    assert forged.status_code == 403
    assert "Inbox" in _nav(page.get("/tasks").text)  # the forged post changed nothing


def test_a_visitor_switches_the_login_page_and_keeps_the_choice_at_login(client) -> None:
    visitor = TestClient(client.app, follow_redirects=False)
    login = visitor.get("/login").text
    assert "用户名" in login and '<html lang="zh-CN">' in login
    r = visitor.post("/me/language", data={"csrf_token": _csrf(login), "language": "en", "next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    login = visitor.get("/login").text
    assert '<html lang="en">' in login and "Username" in login and "Password" in login
    # A browser that asks for English gets the login page in English before any switch.
    fresh = TestClient(client.app, follow_redirects=False)
    assert "Username" in fresh.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert "用户名" in fresh.get("/login", headers={"Accept-Language": "zh-CN,en;q=0.5"}).text


def test_flash_messages_and_dates_read_in_the_user_s_language(client) -> None:
    admin = _login(client.app, "demo_admin")
    _switch(admin, "en", "/admin/calendar")
    page = admin.get("/admin/calendar").text
    assert "Run now: fire due timers" in page
    r = admin.post("/admin/jobs/fire-due-timers", data={"csrf_token": _csrf(page)})
    assert r.status_code == 303
    banner = re.search(r'<div class="flash" role="status">(.*?)</div>', admin.get("/admin/calendar").text)
    assert banner and re.fullmatch(r'Ran "fire due timers": \d+ items processed', unescape(banner.group(1)))
    # The same banner in Chinese for someone reading Chinese.
    _switch(admin, "zh", "/admin/calendar")
    admin.post("/admin/jobs/fire-due-timers", data={"csrf_token": _csrf(admin.get("/admin/calendar").text)})
    banner = re.search(r'<div class="flash" role="status">(.*?)</div>', admin.get("/admin/calendar").text)
    assert banner and re.fullmatch(r"已运行“触发到期定时器”：处理 \d+ 项", unescape(banner.group(1)))


def test_the_inbox_tabs_deadlines_and_filter_notices_read_in_the_reader_s_language(client, as_user) -> None:
    from tests.api.helpers import submit

    submit(as_user("rst_clerk"))
    page = _login(client.app, "gat_reviewer")
    bad = "/tasks?view=todo&received_from=2026-13-01"
    chinese = unescape(page.get(bad).text)
    assert "到达日期起应为“年-月-日”格式" in chinese and "剩余5个工作日" in chinese
    _switch(page, "en")
    english = unescape(page.get(bad).text)
    assert '"Arrived from" should be a date like 2026-11-24; ignored' in english
    assert "5 working days left" in english and "剩余" not in english
    for words in ("To do", "Done", "Started by me", "Copied to me", "Unclaimed"):
        assert words in english
    assert "待办" not in re.sub(r"<nav.*?</nav>|<title>.*?</title>", "", english, flags=re.S)
