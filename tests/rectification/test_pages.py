"""The pages without JavaScript: issue, report with a file, return, report again, verify; print; supervise."""

import re

from fastapi.testclient import TestClient

from app.core.clock import clock
from tests.conftest import DEMO_PASSWORD
from tests.rectification.helpers import PDF, at, issue


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": _csrf(page.text),
                               "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c


def test_a_case_through_the_pages(client) -> None:
    authority = _login(client.app, "data_reviewer")
    form = authority.get("/rectification-notices/new")
    assert form.status_code == 200
    assert "未按照要求编制或者发布本部门政务数据共享目录或者开放目录" in form.text and "河南省人力资源和社会保障厅" in form.text
    assert "郑州市" not in form.text  # only departments of the authority's level
    token = _csrf(form.text)
    bad = authority.post("/rectification-notices", data={
        "csrf_token": token, "department_code": "410000-rst", "article_item": "1", "facts": "",
        "requirements": "发布目录", "deadline_working_days": "0"})
    assert bad.status_code == 422
    assert "请写明违反规定的事实" in bad.text and "整改期限至少为1个工作日" in bad.text and "发布目录" in bad.text
    r = authority.post("/rectification-notices", data={
        "csrf_token": token, "department_code": "410000-rst", "article_item": "2",
        "facts": "你单位重复采集可从共享平台获取的户籍信息。", "requirements": "停止重复采集，改为通过共享平台获取。",
        "deadline_working_days": "10"})
    assert r.status_code == 303, r.text
    case_url = r.headers["location"].split("?")[0]
    page = authority.get(case_url).text
    assert "豫数整改〔2026〕1号" in page and "第二十九条第（二）项" in page and "2026-11-16" in page
    assert "撤回整改通知" in page and "提交整改报告" not in page

    clerk = _login(client.app, "rst_clerk")
    page = clerk.get(case_url).text
    assert "提交整改报告" in page and "申请免责（第三十条）" in page and "剩余10个工作日" in page
    notice_id = case_url.rsplit("/", 1)[1]
    r = clerk.post(f"/attachments/rectification-notices/{notice_id}",
                   data={"csrf_token": _csrf(page)}, files={"file": ("整改说明.pdf", PDF, "application/pdf")})
    assert r.status_code == 303, r.text
    page = clerk.get(case_url).text
    attachment_id = re.search(r'name="attachment_ids" value="(\d+)" checked> 整改说明.pdf', page).group(1)  # type: ignore[union-attr]
    r = clerk.post(f"{case_url}/report", data={"csrf_token": _csrf(page), "report": ""})
    assert r.status_code == 422 and "请填写整改情况报告" in r.text
    r = clerk.post(f"{case_url}/report", data={"csrf_token": _csrf(page), "report": "已停止重复采集。",
                                               "attachment_ids": attachment_id})
    assert r.status_code == 303, r.text
    page = clerk.get(case_url).text
    assert "待核验" in page and "整改说明.pdf" in page and "提交整改报告" not in page

    page = authority.get(case_url).text
    assert "核验整改情况" in page
    r = authority.post(f"{case_url}/verification", data={"csrf_token": _csrf(page), "decision": "return",
                                                         "reason": "仍有采集入口", "deadline_working_days": ""})
    assert r.status_code == 422 and "请填写整改期限" in r.text
    r = authority.post(f"{case_url}/verification", data={"csrf_token": _csrf(page), "decision": "return",
                                                         "reason": "仍有采集入口未关闭", "deadline_working_days": "3"})
    assert r.status_code == 303
    page = clerk.get(case_url).text
    assert "核验不通过，退回整改" in page and "仍有采集入口未关闭" in page and "第 2 轮" in page

    r = clerk.post(f"{case_url}/report", data={"csrf_token": _csrf(page), "report": "采集入口已全部关闭。"})
    assert r.status_code == 303
    page = authority.get(case_url).text
    r = authority.post(f"{case_url}/verification", data={"csrf_token": _csrf(page), "decision": "accept",
                                                         "reason": "", "deadline_working_days": ""})
    assert r.status_code == 303
    page = authority.get(case_url).text
    assert "整改完成（核验通过）" in page and "核验通过" in page

    listing = clerk.get("/rectification-notices", params={"status": "closed"}).text
    assert "豫数整改〔2026〕1号" in listing
    assert "豫数整改〔2026〕1号" not in clerk.get("/rectification-notices").text  # open tab

    printed = clerk.get(f"{case_url}/print")
    assert printed.status_code == 200
    assert "size: A4" in printed.text and "整改通知书" in printed.text and "河南省人力资源和社会保障厅：" in printed.text
    assert "自收到本通知之日起10个工作日内（2026年11月16日前）" in printed.text
    assert "2026年11月2日" in printed.text


def test_a_stranger_gets_a_readable_404_page(client, as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    stranger = _login(client.app, "scjg_clerk")
    for url in (f"/rectification-notices/{notice['id']}", f"/rectification-notices/{notice['id']}/print"):
        r = stranger.get(url)
        assert r.status_code == 404 and "整改通知不存在" in r.text and "rectification_notice_not_found" in r.text
    assert stranger.get("/rectification-notices/new").status_code == 403


def test_the_supervisor_decides_from_the_case_page(client, as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    clock.freeze(at(2026, 11, 18, 9, 0))
    as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").raise_for_status()
    supervisor = _login(client.app, "gov_supervisor")
    assert "豫数整改〔2026〕1号" in supervisor.get("/rectification-notices").text
    url = f"/rectification-notices/{notice['id']}"
    page = supervisor.get(url).text
    assert "督查督办" in page and "作出督办决定" in page and "提交整改报告" not in page
    item_id = re.search(r'/supervision/(\d+)/decide', page).group(1)  # type: ignore[union-attr]
    r = supervisor.post(f"{url}/supervision/{item_id}/decide", data={
        "csrf_token": _csrf(page), "decision": "order_to_correct", "note": "限期五个工作日内改正"})
    assert r.status_code == 303, r.text
    page = _login(client.app, "rst_clerk").get(url).text
    assert "责令改正" in page and "限期五个工作日内改正" in page and "逾期未整改，上报本级人民政府督查督办" in page


def test_the_administrator_sets_a_prefix_on_a_page(client) -> None:
    admin = _login(client.app, "demo_admin")
    page = admin.get("/rectification/authorities").text
    assert "郑州市大数据管理局" in page
    r = admin.post("/rectification/authorities/410100-data", data={"csrf_token": _csrf(page), "number_prefix": "郑数改"})
    assert r.status_code == 303
    assert "郑数改" in admin.get("/rectification/authorities").text


def test_exemption_claimed_and_refused_through_the_pages(client, as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    url = f"/rectification-notices/{notice['id']}"
    clerk = _login(client.app, "rst_clerk")
    page = clerk.get(url).text
    r = clerk.post(f"{url}/exemption-claim", data={"csrf_token": _csrf(page), "explanation": "已履职"})
    assert r.status_code == 422 and "请选择免责事由" in r.text and "已履职" in r.text
    r = clerk.post(f"{url}/exemption-claim", data={"csrf_token": _csrf(page), "ground": "due_care",
                                                   "explanation": "已履行合理注意义务，数据错误源于上游系统。"})
    assert r.status_code == 303, r.text
    assert "免责申请审查中" in clerk.get(url).text

    authority = _login(client.app, "data_reviewer")
    page = authority.get(url).text
    assert "审查免责申请（第三十条）" in page and "按照规定开展政务数据活动，并履行了合理注意义务" in page
    r = authority.post(f"{url}/exemption-decision", data={"csrf_token": _csrf(page), "decision": "refuse",
                                                          "reason": "未提供证明材料", "deadline_working_days": "5"})
    assert r.status_code == 303, r.text
    page = clerk.get(url).text
    assert "不予免责" in page and "未提供证明材料" in page and "整改中" in page and "提交整改报告" in page
