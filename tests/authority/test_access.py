"""Only data authorities' reviewers and administrators use the console; others get a readable 403."""

import pytest

from tests.authority.helpers import cases, login, province_notice


@pytest.mark.parametrize("username", ["rst_clerk", "gat_reviewer", "gat_head", "gov_supervisor", "zz_supervisor",
                                      "designer"])
def test_other_users_get_403_in_chinese(as_user, username) -> None:
    province_notice(as_user)
    # Refused before the filters are read: nothing about the area leaks through their messages.
    for params in ({}, {"kind": "case", "region": "410100"}):
        r = as_user(username).get("/api/authority/cases", params=params)
        assert r.status_code == 403, r.text
        assert r.json()["detail"] == {"code": "authority_console_forbidden",
                                      "message": "只有政务数据主管部门的审核员和系统管理员可以使用主管部门工作台",
                                      "request_id": r.headers["X-Request-ID"]}


def test_an_anonymous_caller_must_log_in(client) -> None:
    assert client.get("/api/authority/cases").status_code == 401


def test_the_page_is_refused_readably_and_the_menu_shows_it_only_to_authorities(client, as_user) -> None:
    province_notice(as_user)
    clerk = login(client.app, "rst_clerk")
    r = clerk.get("/authority")
    assert r.status_code == 403 and "无权访问" in r.text
    assert "只有政务数据主管部门的审核员和系统管理员可以使用主管部门工作台" in r.text
    assert "authority_console_forbidden" in r.text
    assert "主管部门工作台</a>" not in clerk.get("/tasks").text
    for username in ("data_reviewer", "zz_data_reviewer", "demo_admin"):
        assert '<a href="/authority" >主管部门工作台</a>' in login(client.app, username).get("/tasks").text
    assert cases(as_user("demo_admin"))["total"] == 1
