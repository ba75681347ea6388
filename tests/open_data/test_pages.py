"""The open-list pages without JavaScript: draft, review, fix, publish; the public pages need no login."""

import re

from fastapi.testclient import TestClient

from tests.api.helpers import UNCONDITIONAL
from tests.api.helpers import submit as submit_share_request
from tests.conftest import DEMO_PASSWORD
from tests.open_data.helpers import CRIMINAL, HOUSEHOLD, MARKET


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": _csrf(page.text),
                               "next": "/open-lists"})
    assert r.status_code == 303, r.text
    return c


def test_draft_review_fix_and_publish_through_the_pages(client) -> None:
    clerk = _login(client.app, "gat_clerk")
    page = clerk.get("/open-lists")
    assert page.status_code == 200 and "年度开放清单" in page.text
    r = clerk.post("/open-lists", data={"csrf_token": _csrf(page.text), "year": "2027", "note": "2027年度开放重点"})
    assert r.status_code == 303, r.text
    list_url = r.headers["location"]
    detail = clerk.get(list_url)
    assert "河南省公安厅 2027年度政务数据开放清单（第1版）" in detail.text and "草稿" in detail.text
    assert "居民户籍信息（410000-gat-0001）" in detail.text  # offered from the own catalog
    assert "市场主体登记信息" not in detail.text

    form = clerk.get(f"{list_url}/items/new", params={"entry_code": HOUSEHOLD})
    assert form.status_code == 200 and "开放类型" in form.text and "全省常住人口户籍登记基本信息" in form.text
    token = _csrf(form.text)
    item = {"csrf_token": token, "entry_code": HOUSEHOLD, "data_domain": "公共安全", "summary": "户籍统计数据",
            "data_items[]": ["姓名", "出生日期"], "data_format": "CSV", "open_type": "conditional",
            "open_conditions": "", "basis": "《中华人民共和国个人信息保护法》第十三条", "update_frequency": "每月"}
    r = clerk.post(f"{list_url}/items", data=item)
    assert r.status_code == 422
    assert "有条件开放的数据必须写明开放条件" in r.text and "户籍统计数据" in r.text  # what was typed is kept
    r = clerk.post(f"{list_url}/items", data={**item, "open_conditions": "仅提供脱敏统计数据"})
    assert r.status_code == 303, r.text
    r = clerk.post(f"{list_url}/items", data={
        "csrf_token": token, "entry_code": CRIMINAL, "data_domain": "公共安全", "summary": "刑事案件侦查过程信息。",
        "data_items[]": ["案件编号"], "data_format": "数据库", "open_type": "not_open",
        "basis": "《中华人民共和国刑事诉讼法》第一百五十二条", "update_frequency": "实时"})
    assert r.status_code == 303, r.text
    r = clerk.post(f"{list_url}/submit", data={"csrf_token": token, "note": ""})
    assert r.status_code == 303, r.text
    assert "审查中" in clerk.get(list_url).text

    reviewer = _login(client.app, "data_reviewer")
    overview = reviewer.get("/open-lists")
    assert "提交本机关审查的开放清单" in overview.text and "河南省公安厅" in overview.text
    assert "审查开放清单" in reviewer.get("/tasks").text
    review_page = reviewer.get(list_url)
    assert "审查结论" in review_page.text and f'name="item_comment:{HOUSEHOLD}"' in review_page.text
    token = _csrf(review_page.text)
    r = reviewer.post(f"{list_url}/review", data={"csrf_token": token, "decision": "return", "comment": ""})
    assert r.status_code == 422 and "退回修改时必须填写审查意见" in r.text
    r = reviewer.post(f"{list_url}/review", data={"csrf_token": token, "decision": "return", "comment": "",
                                                  f"item_comment:{HOUSEHOLD}": "请写明申请方式",
                                                  f"item_comment:{CRIMINAL}": ""})
    assert r.status_code == 303, r.text

    page = clerk.get(list_url).text
    assert "已退回" in page and "审查意见：请写明申请方式" in page and "重新提交审查" in page
    edit = clerk.get(f"{list_url}/items/edit", params={"entry_code": HOUSEHOLD})
    assert edit.status_code == 200 and "仅提供脱敏统计数据" in edit.text
    assert "主管部门对本条的审查意见：请写明申请方式" in edit.text
    r = clerk.post(f"{list_url}/items/update", data={
        **item, "csrf_token": _csrf(edit.text), "open_conditions": "仅提供脱敏统计数据；在开放平台在线申请"})
    assert r.status_code == 303, r.text
    r = clerk.post(f"{list_url}/submit", data={"csrf_token": _csrf(edit.text), "note": "已写明申请方式"})
    assert r.status_code == 303, r.text

    review_page = reviewer.get(list_url)
    r = reviewer.post(f"{list_url}/review", data={"csrf_token": _csrf(review_page.text), "decision": "approve",
                                                  "comment": "同意公布"})
    assert r.status_code == 303, r.text
    page = clerk.get(list_url).text
    assert "已公布" in page and "审查通过并公布" in page and "退回修改" in page  # both rounds kept

    # Anyone, without logging in.
    public = TestClient(client.app, follow_redirects=False)
    index = public.get("/open-data")
    assert index.status_code == 200
    assert "河南省公安厅 2027年度政务数据开放清单" in index.text
    assert "仅提供脱敏统计数据；在开放平台在线申请" in index.text and "工作人员登录" in index.text
    list_id = list_url.rsplit("/", 1)[1]
    one = public.get(f"/open-data/lists/{list_id}")
    assert one.status_code == 200
    assert "审查机关" in one.text and "河南省行政审批和政务信息管理局" in one.text
    assert "请写明申请方式" not in one.text  # review comments are internal
    restricted = public.get("/open-data/restricted")
    assert restricted.status_code == 200
    assert "刑事案件侦查信息" in restricted.text and "《中华人民共和国刑事诉讼法》第一百五十二条" in restricted.text
    assert "不予开放" in restricted.text and "有条件开放" in restricted.text


def test_public_pages_need_no_login_and_hide_unpublished_lists(client) -> None:
    public = TestClient(client.app, follow_redirects=False)
    for url in ("/open-data", "/open-data/restricted", "/open-data?year=abc&department_code=x",
                "/open-data/restricted?open_type=bogus"):
        r = public.get(url)
        assert r.status_code == 200, (url, r.text)
        assert "政务数据开放" in r.text
    r = public.get("/open-data/lists/1")
    assert r.status_code == 404 and "open_list_not_found" in r.text
    # The working pages do ask for a login.
    assert public.get("/open-lists").headers["location"].startswith("/login")


def test_shared_entry_is_refused_on_the_page_with_the_reason(client, as_user) -> None:
    submit_share_request(as_user("rst_clerk"), UNCONDITIONAL)
    clerk = _login(client.app, "rst_clerk")
    page = clerk.get("/open-lists")
    r = clerk.post("/open-lists", data={"csrf_token": _csrf(page.text), "year": "2027"})
    list_url = r.headers["location"]
    detail = clerk.get(list_url).text
    assert "本部门已发布的目录条目均已列入" in detail  # 省人社厅 has no catalog entries of its own
    r = clerk.get(f"{list_url}/items/new", params={"entry_code": MARKET})
    assert r.status_code == 422
    assert "通过共享从河南省市场监督管理局获取" in r.text and "entry_obtained_by_sharing" in r.text
    r = clerk.post(f"{list_url}/items", data={"csrf_token": _csrf(detail), "entry_code": MARKET,
                                              "data_domain": "市场监管", "open_type": "unconditional",
                                              "update_frequency": "每日"})
    assert r.status_code == 422 and "第二十一条" in r.text


def test_other_departments_clerk_gets_404_on_the_pages(client) -> None:
    gat = _login(client.app, "gat_clerk")
    page = gat.get("/open-lists")
    list_url = gat.post("/open-lists", data={"csrf_token": _csrf(page.text), "year": "2027"}).headers["location"]
    other = _login(client.app, "scjg_clerk")
    token = _csrf(other.get("/open-lists").text)
    assert other.get(list_url).status_code == 404
    r = other.post(f"{list_url}/items", data={"csrf_token": token, "entry_code": MARKET, "data_domain": "市场监管",
                                              "open_type": "unconditional", "update_frequency": "每日"})
    assert r.status_code == 404
    assert other.post(f"{list_url}/submit", data={"csrf_token": token}).status_code in (403, 404)
    assert other.post(f"{list_url}/discard", data={"csrf_token": token}).status_code in (403, 404)
    # Without the CSRF token nothing happens either.
    assert gat.post(f"{list_url}/discard", data={}).status_code == 403
    assert gat.get(list_url).status_code == 200


def test_a_published_list_shows_its_diagram_only_to_the_readers_of_its_review(client, as_user) -> None:
    from tests.open_data.helpers import review, submitted

    sent = submitted(as_user("gat_clerk"))
    review(as_user("data_reviewer"), sent["id"], "approve")
    own = _login(client.app, "gat_clerk").get(f"/open-lists/{sent['id']}")
    assert own.status_code == 200 and "data-diagram-url" in own.text
    # Another department reads the published list, but not its review: no diagram box, no "无权查看".
    other = _login(client.app, "scjg_clerk").get(f"/open-lists/{sent['id']}")
    assert other.status_code == 200 and "data-diagram-url" not in other.text
    assert as_user("scjg_clerk").get(f"/api/instances/{sent['instance_id']}/diagram").status_code == 404
