"""The dispute pages without JavaScript: open, negotiate, coordinate with a statement and its material,
adjudicate, comply, print the decision; errors come back in Chinese beside the form."""

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import DEMO_PASSWORD
from tests.disputes.helpers import refused_request


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                               "csrf_token": _csrf(page.text), "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c


def _post(c: TestClient, page_url: str, action: str, data: dict[str, Any],
          files: dict[str, Any] | None = None) -> Any:
    token = _csrf(c.get(page_url).text)
    return c.post(action, data={**data, "csrf_token": token}, files=files)


def test_dispute_through_the_pages(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk = _login(client.app, "rst_clerk")
    listing = clerk.get("/disputes")
    assert listing.status_code == 200 and "可提起争议的共享申请" in listing.text
    assert f"/disputes/new?share_request_id={sr['id']}" in listing.text
    new = clerk.get(f"/disputes/new?share_request_id={sr['id']}")
    assert "提起共享争议" in new.text and "确需使用该数据的理由" in new.text

    # A blank reason comes back with the Chinese message and what was typed.
    r = _post(clerk, f"/disputes/new?share_request_id={sr['id']}", "/disputes",
              {"share_request_id": str(sr["id"]), "items": ["姓名"], "duties": "社保资格核查", "need": " "})
    assert r.status_code == 422 and "确需使用的理由：必填" in r.text and "社保资格核查" in r.text
    r = _post(clerk, f"/disputes/new?share_request_id={sr['id']}", "/disputes",
              {"share_request_id": str(sr["id"]), "items": ["姓名", "公民身份号码"], "duties": "社保资格核查",
               "need": "须核验户籍状态"})
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    page = clerk.get(url).text
    assert "协商中" in page and "河南省行政审批和政务信息管理局（省级政务数据主管部门）" in page
    assert "提出协商意见" not in page  # the clerk of the requester has nothing to do yet

    provider = _login(client.app, "gat_reviewer")
    page = provider.get(url).text
    assert "提出协商意见（第 1 轮）" in page
    r = _post(provider, url, f"{url}/provider-position", {"stance": "not_share", "position": "涉及个人隐私"})
    assert r.status_code == 422 and "仍不同意共享时必须提供依据（第十六条）" in r.text and "refusal_basis_required" in r.text
    assert "涉及个人隐私" in r.text
    r = _post(provider, url, f"{url}/provider-position",
              {"stance": "not_share", "position": "涉及个人隐私", "basis": "《个人信息保护法》第三十四条"})
    assert r.status_code == 303

    page = clerk.get(url).text
    assert "回应提供部门意见（第 1 轮）" in page and "涉及个人隐私" in page
    r = _post(clerk, url, f"{url}/requester-reply", {"response": "escalate", "position": "协商未果"})
    assert r.status_code == 303

    authority = _login(client.app, "data_reviewer")
    page = authority.get(url).text
    assert "主管部门协调中" in page and "要求陈述意见" in page and "作出评判" in page
    assert _post(authority, url, f"{url}/statement-requests",
                 {"party": "requester", "question": "请说明数据用途"}).status_code == 303

    # The clerk uploads a material, then cites it in the statement.
    r = _post(clerk, url, f"/attachments/disputes/{url.rsplit('/', 1)[1]}", {"note": "用途说明"},
              files={"file": ("用途说明.pdf", b"%PDF-1.4 purpose", "application/pdf")})
    assert r.status_code == 303
    page = clerk.get(url).text
    assert "用途说明.pdf" in page and "请说明数据用途" in page
    cited = re.search(r'name="attachment_ids" value="(\d+)"', page)
    assert cited is not None
    attachment_id = cited.group(1)
    assert _post(clerk, url, f"{url}/statements", {"statement": "用于资格认证",
                                                   "attachment_ids": [attachment_id]}).status_code == 303

    r = _post(authority, url, f"{url}/decision", {"decision": "share", "items": ["姓名"], "reasons": "法定职责所需"})
    assert r.status_code == 422 and "予以共享时必须写明共享条件与使用要求" in r.text
    r = _post(authority, url, f"{url}/decision", {"decision": "share", "items": ["姓名"], "terms": "仅接口核验",
                                                   "reasons": "法定职责所需", "basis": "《社会保险法》第七十四条"})
    assert r.status_code == 303
    page = provider.get(url).text
    assert "已评判，待落实" in page and "落实评判" in page
    assert _post(provider, url, f"{url}/compliance", {"note": "已开通核验接口"}).status_code == 303
    page = clerk.get(url).text
    assert "已落实" in page and "已开通核验接口" in page and "用途说明.pdf" in page and "主管部门评判" in page
    # The history names each step in Chinese, this area's actions included.
    assert "提起共享争议" in page and "流程启动" in page and "提请主管部门协调" in page
    assert "dispute.opened" not in page

    printed = clerk.get(f"{url}/decision")
    assert printed.status_code == 200
    assert "政务数据共享争议评判决定书" in printed.text and "size: A4" in printed.text
    assert "本评判对双方具有约束力" in printed.text and "仅接口核验" in printed.text and "法定职责所需" in printed.text


def test_pages_refuse_outsiders_and_early_prints(client, as_user) -> None:
    sr = refused_request(as_user)
    as_user("rst_clerk").post("/api/disputes", json={"share_request_id": sr["id"], "duties": "社保资格核查",
                                                      "need": "须核验户籍状态"})
    outsider = _login(client.app, "scjg_clerk")
    r = outsider.get("/disputes/1")
    assert r.status_code == 404 and "争议不存在" in r.text and "dispute_not_found" in r.text
    clerk = _login(client.app, "rst_clerk")
    r = clerk.get("/disputes/1/decision")
    assert r.status_code == 409 and "dispute_not_resolved" in r.text
    assert clerk.get("/disputes/abc").status_code == 422
    r = clerk.post("/disputes/1/requester-reply", data={"response": "accept", "position": "好"})
    assert r.status_code == 403 and "csrf_failed" in r.text
    # The opening form says at once why a dispute cannot be opened.
    r = clerk.get(f"/disputes/new?share_request_id={sr['id']}")
    assert r.status_code == 409 and "该共享申请已有正在处理的争议" in r.text
    r = outsider.get(f"/disputes/new?share_request_id={sr['id']}")
    assert r.status_code == 403 and "dispute_not_requester" in r.text
