"""The usage pages without JavaScript: the chart and tables, the one-click notice, the system credentials page."""

from __future__ import annotations

import re

from tests.usage.helpers import event, grant_of, post_events, register_system
from tests.web.test_pages import _csrf, _login


def test_grant_and_department_pages_show_the_chart_flags_and_events(client, as_user) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    post_events(client, system, [event("p-1", grant_id), event("p-2", grant_id, items=["法定代表人"])])
    clerk = _login(client.app, "rst_clerk")
    page = clerk.get(f"/usage/grants/{grant_id}")
    assert page.status_code == 200
    assert "<svg" in page.text and "近 12 个月共 2 条，异常 1 条" in page.text
    assert "使用了未获授权的数据项" in page.text and "p-2" in page.text
    assert "发出整改通知" not in page.text  # a clerk does not issue notices
    home = clerk.get("/usage")
    dept = re.search(r'href="/usage/departments/(\d+)"', home.text).group(1)  # type: ignore[union-attr]
    page = clerk.get(f"/usage/departments/{dept}")
    assert page.status_code == 200 and "<svg" in page.text and f'href="/usage/grants/{grant_id}"' in page.text
    assert _login(client.app, "zz_clerk").get(f"/usage/grants/{grant_id}").status_code == 404
    # The same page in English.
    assert clerk.post("/me/language", data={"csrf_token": _csrf(page.text), "language": "en"}).status_code == 303
    english = clerk.get(f"/usage/grants/{grant_id}")
    assert english.status_code == 200 and 'lang="en"' in english.text
    assert "Data items not granted" in english.text and "Export Excel" in english.text

    reviewer = _login(client.app, "data_reviewer")
    overview = reviewer.get("/usage")
    assert "河南省人力资源和社会保障厅" in overview.text
    page = reviewer.get(f"/usage/grants/{grant_id}")
    action = re.search(r'action="(/usage/flags/\d+/rectification)"', page.text).group(1)  # type: ignore[union-attr]
    r = reviewer.post(action, data={"csrf_token": _csrf(page.text), "department": "consumer"})
    assert r.status_code == 303 and r.headers["location"].startswith("/rectification-notices/")
    notice = reviewer.get(r.headers["location"])
    assert "未落实政务数据安全职责" in notice.text and f"编号 {grant_id}" in notice.text
    assert reviewer.post(action, data={"csrf_token": _csrf(page.text)}).status_code == 409


def test_an_administrator_registers_a_system_and_sees_the_secret_once(client) -> None:
    admin = _login(client.app, "demo_admin")
    page = admin.get("/usage/systems")
    assert page.status_code == 200 and "登记系统" in page.text
    # Every scope is offered, the usage log's ticked by default.
    assert 'value="usage:report" checked' in page.text and 'value="external_task:work" >' in page.text
    assert "领取并办理外部任务（按主题）" in page.text
    assert 'name="topics"' in page.text and "可领取的主题" in page.text
    form = {"csrf_token": _csrf(page.text), "code": "exchange-henan", "name": "省共享交换平台",
            "department_code": "410000-data", "scopes[]": ["usage:report", "external_task:work"]}
    missing = admin.post("/usage/systems", data=form)
    assert missing.status_code == 422 and "client_topics_required" in missing.text
    assert 'value="省共享交换平台"' in missing.text  # the form keeps what was typed
    invalid = admin.post("/usage/systems", data={**form, "topics": "exchange.grant\n*"})
    assert invalid.status_code == 422 and "client_topic_invalid" in invalid.text and "exchange.grant\n*" in invalid.text
    r = admin.post("/usage/systems", data={**form, "topics": "exchange.grant，notify_applicant\r\nexchange.* "})
    assert r.status_code == 200
    [listed] = admin.get("/api/usage/systems").json()
    assert listed["scopes"] == ["external_task:work", "usage:report"]
    assert listed["topics"] == ["exchange.*", "exchange.grant", "notify_applicant"]
    assert "<code>exchange.*</code>" in r.text and "<code>notify_applicant</code>" in r.text
    none = admin.post("/usage/systems", data={"csrf_token": _csrf(page.text), "code": "exchange-none",
                                              "name": "无权限系统", "department_code": "410000-data"})
    assert none.status_code == 422 and "client_scopes_required" in none.text
    secret = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    assert len(secret) >= 40
    again = admin.get("/usage/systems")
    assert secret not in again.text and "exchange-henan" in again.text
    bad = admin.post("/usage/systems", data={"csrf_token": _csrf(page.text), "code": "Bad Code!", "name": "x",
                                             "department_code": "410000-data", "scopes[]": "usage:report"})
    assert bad.status_code == 422 and "client_code_invalid" in bad.text
    taken = admin.post("/usage/systems", data={"csrf_token": _csrf(page.text), "code": "exchange-henan",
                                               "name": "重复", "department_code": "410000-data", "scopes[]": "usage:report"})
    assert taken.status_code == 409 and "client_code_taken" in taken.text
    system_id = re.search(r'action="/usage/systems/(\d+)/rotate"', again.text).group(1)  # type: ignore[union-attr]
    # Its topics change on the page: refused as on creation, else saved, listed and audited.
    cleared = admin.post(f"/usage/systems/{system_id}/topics", data={"csrf_token": _csrf(page.text), "topics": " "})
    assert cleared.status_code == 422 and "client_topics_required" in cleared.text
    changed = admin.post(f"/usage/systems/{system_id}/topics",
                         data={"csrf_token": _csrf(page.text), "topics": "exchange.grant"})
    assert changed.status_code == 303
    listing = admin.get("/usage/systems")
    assert "的可领取主题已更新" in listing.text and "<code>notify_applicant</code>" not in listing.text
    assert admin.get("/api/usage/systems").json()[0]["topics"] == ["exchange.grant"]
    rotated = admin.post(f"/usage/systems/{system_id}/rotate", data={"csrf_token": _csrf(page.text)})
    assert rotated.status_code == 200 and secret not in rotated.text and 'class="secret"' in rotated.text
    off = admin.post(f"/usage/systems/{system_id}/deactivate", data={"csrf_token": _csrf(page.text)})
    assert off.status_code == 303
    assert "已停用" in admin.get("/usage/systems").text
    assert _login(client.app, "rst_clerk").get("/usage/systems").status_code == 403
