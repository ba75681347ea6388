"""The pages of new business systems work without script: list, register, the case with its checklist,
立项 refused with the reason, then recorded; a refused form keeps what was typed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import DEMO_PASSWORD
from tests.catalog.helpers import add, new_draft, review, submit
from tests.systems.helpers import NEW_ENTRY, register


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_register_then_approval_refused_with_the_checklist_then_recorded(client, as_user) -> None:
    web = _login(client, "gat_clerk")
    page = web.get("/systems/new")
    assert page.status_code == 200 and "居民户籍信息（410000-gat-0001）" in page.text
    token = _csrf(page.text)
    r = web.post("/systems", data={"csrf_token": token, "name": "出入境证件签发系统", "purpose": "签发出入境证件",
                                      "item_name": ["姓名", "证件号码", ""],
                                      "item_entry": ["410000-gat-0001", "", ""],
                                      "contact_name": "王芳", "contact_phone": "0371-65550000"})
    assert r.status_code == 303
    url = r.headers["location"]
    case = web.get(url)
    assert "出入境证件签发系统" in case.text and "立项条件（第七条）" in case.text and "未满足" in case.text
    r = web.post(f"{url}/approval", data={"csrf_token": token, "approval_number": "豫发改审批〔2026〕12号",
                                             "approval_date": "2026-11-02", "approving_body": "河南省发展和改革委员会"})
    assert r.status_code == 409 and 'data-code="catalog_not_submitted"' in r.text
    assert 'value="豫发改审批〔2026〕12号"' in r.text  # what was typed stays
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit(clerk, vid)
    review(as_user("data_reviewer"), vid, {NEW_ENTRY: "approve"})
    r = web.post(f"{url}/approval", data={"csrf_token": token, "approval_number": "豫发改审批〔2026〕12号",
                                             "approval_date": "2026-11-02", "approving_body": "河南省发展和改革委员会"})
    assert r.status_code == 303
    done = web.get(url).text
    assert "已立项" in done and "豫发改审批〔2026〕12号" in done and "登记立项" in done
    listing = web.get("/systems?status=closed").text
    assert "出入境证件签发系统" in listing


def test_a_refused_registration_keeps_the_form(client) -> None:
    web = _login(client, "gat_clerk")
    page = web.get("/systems/new")
    r = web.post("/systems", data={"csrf_token": _csrf(page.text), "name": "某系统", "purpose": "用途",
                                      "item_name": ["姓名"], "item_entry": [""], "contact_name": "王芳",
                                      "contact_phone": "电话"})
    assert r.status_code == 422 and "联系电话" in r.text and 'value="某系统"' in r.text


def test_other_departments_do_not_see_the_case_page(client, as_user) -> None:
    system = register(as_user("gat_clerk"))
    assert _login(client, "scjg_clerk").get(f"/systems/{system['id']}").status_code == 404


def _login(client, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(client.app, follow_redirects=False)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                               "csrf_token": _csrf(page.text), "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c


def test_the_case_page_reads_in_english(client, as_user) -> None:
    system = register(as_user("gat_clerk"))
    web = _login(client, "gat_clerk")
    shown = web.get(f"/systems/{system['id']}")
    r = web.post("/me/language", data={"csrf_token": _csrf(shown.text), "language": "en",
                                       "next": f"/systems/{system['id']}"})
    assert r.status_code == 303
    page = web.get(f"/systems/{system['id']}").text
    assert "Conditions of project approval (Art. 7)" in page and "Not met" in page
    assert "A submitted catalogue lists every data item of the system" in page
    assert "Awaiting project approval" in page and "Record project approval" in page
    assert "New systems" in web.get("/systems").text


def test_withdraw_from_the_page_needs_a_reason(client, as_user) -> None:
    system = register(as_user("gat_clerk"))
    web = _login(client, "gat_clerk")
    token = _csrf(web.get(f"/systems/{system['id']}").text)
    r = web.post(f"/systems/{system['id']}/withdraw", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 422 and 'data-code="withdraw_reason_required"' in r.text
    r = web.post(f"/systems/{system['id']}/withdraw", data={"csrf_token": token, "reason": "项目取消建设"})
    assert r.status_code == 303
    page = web.get(f"/systems/{system['id']}").text
    assert "已撤回" in page and "项目取消建设" in page and "撤回业务系统登记" in page
    assert 'action="/systems/%s/approval"' % system["id"] not in page  # nothing more to record
