"""The demo path through the pages, without JavaScript: file, refuse without basis, approve, see the grant."""

import re

from fastapi.testclient import TestClient

from tests.conftest import DEMO_PASSWORD


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token,
                               "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_login_page_and_wrong_password(client) -> None:
    c = TestClient(client.app, follow_redirects=False)
    assert c.get("/tasks").headers["location"].startswith("/login")
    page = c.get("/login")
    assert "用户名" in page.text and "密码" in page.text
    r = c.post("/login", data={"username": "gat_reviewer", "password": "nope", "csrf_token": _csrf(page.text)})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text


def test_form_without_csrf_token_is_refused(client) -> None:
    c = TestClient(client.app, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"username": "gat_reviewer", "password": DEMO_PASSWORD})
    assert r.status_code == 403
    assert "CSRF" in r.text and "csrf_failed" in r.text


def test_demo_path_through_the_pages(client) -> None:
    clerk = _login(client.app, "rst_clerk")
    form_page = clerk.get("/share-requests/new", params={"entry_code": "410000-gat-0001"})
    assert "政务数据共享需求申请表" in form_page.text
    r = clerk.post("/share-requests", data={
        "csrf_token": _csrf(form_page.text), "entry_code": "410000-gat-0001", "items": ["姓名", "公民身份号码"],
        "purpose": "社保资格认证", "scope": "社保经办系统", "legal_basis": "《社会保险法》",
        "period_from": "2026-11-01", "period_to": "2027-10-31", "method": "api"})
    assert r.status_code == 303, r.text
    request_url = r.headers["location"]
    assert "审批中" in clerk.get(request_url).text

    reviewer = _login(client.app, "gat_reviewer")
    inbox = reviewer.get("/tasks")
    assert "审核共享申请" in inbox.text and "省人力资源和社会保障厅申请共享“居民户籍信息”" in inbox.text
    task_url = re.search(r'href="(/tasks/\d+)"', inbox.text).group(1)  # type: ignore[union-attr]
    task_page = reviewer.get(task_url)
    assert "审核结论" in task_page.text and "不予共享依据" in task_page.text
    r = reviewer.post(f"{task_url}/complete", data={"csrf_token": _csrf(task_page.text), "decision": "refuse",
                                                     "reason": "用途不明"})
    assert r.status_code == 422
    assert "不同意共享时必须提供依据" in r.text
    assert "用途不明" in r.text  # what was typed is kept
    # The stable code is for machines (an attribute), never words on the page (issue 11).
    assert 'data-code="refusal_basis_required"' in r.text
    assert "refusal_basis_required" not in re.sub(r"<[^>]*>", "", r.text)
    r = reviewer.post(f"{task_url}/complete", data={"csrf_token": _csrf(task_page.text), "decision": "approve",
                                                     "terms": "仅用于社保资格认证"})
    assert r.status_code == 303, r.text
    page = clerk.get(request_url).text
    assert "已通过" in page and "仅用于社保资格认证" in page and "授权 #" in page
    assert "流转记录" in page and "授权共享" in page


def test_unknown_page_is_a_readable_404(client) -> None:
    c = _login(client.app, "rst_clerk")
    r = c.get("/share-requests/424242")
    assert r.status_code == 404
    assert "共享申请不存在" in r.text and "share_request_not_found" in r.text


def test_history_names_each_decision_in_chinese() -> None:
    """Every decision id of the shipped forms reads as words in a history line, e.g. a dispute's 予以共享."""
    from pathlib import Path

    from app.main import ROOT

    from app.audit.labels import DECISION_VALUE_ZH

    template = (ROOT / "templates" / "_history_lines.html").read_text(encoding="utf-8")
    assert "DECISION_VALUE_ZH.get(h.detail.data.decision" in template  # the history reads the one registry
    ids = set()
    for path in Path(ROOT / "bpmn").glob("*.bpmn"):
        text = path.read_text(encoding="utf-8")
        for field in re.findall(r'<camunda:formField id="decision".*?</camunda:formField>', text, re.S):
            ids.update(re.findall(r'<camunda:value id="([^"]+)"', field))
    assert ids >= {"share", "not_share", "approve", "refuse"}
    missing = sorted(i for i in ids if i not in DECISION_VALUE_ZH)
    assert missing == [], f"decision ids shown raw in history lines: {missing}"
