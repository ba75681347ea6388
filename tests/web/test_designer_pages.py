"""The designer pages without JavaScript: the workspace, drafts created from its forms, the review of a
submission with four eyes, rollback, and readable refusals (never a 500)."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient

from tests.web.test_pages import _csrf, _login

KEY = "sharing_share_request"


def _draft_data(page: str) -> dict:  # type: ignore[type-arg]
    raw = re.search(r'<script type="application/json" id="draft-data">(.*?)</script>', page, re.S)
    assert raw, "the modeler page carries its draft as JSON"
    return json.loads(raw.group(1))


def _new_draft(c: TestClient, csrf: str) -> tuple[int, str]:
    r = c.post("/designer/drafts", data={"csrf_token": csrf, "mode": "version", "process_key": KEY,
                                         "from_version": "1"})
    assert r.status_code == 303, r.text
    draft_id = int(re.fullmatch(r"/designer/drafts/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    return draft_id, c.get(r.headers["location"]).text


def test_only_designers_and_admins_see_the_workspace(app) -> None:  # type: ignore[no-untyped-def]
    for username in ("designer", "demo_admin"):
        page = _login(app, username).get("/designer")
        assert page.status_code == 200
        assert "流程设计" in page.text and KEY in page.text and "政务数据共享申请（第十六条）" in page.text
        assert 'href="/designer"' in page.text  # the nav link
    refused = _login(app, "gat_reviewer").get("/designer")
    assert refused.status_code == 403 and "无权访问" in refused.text
    assert 'href="/designer"' not in _login(app, "gat_reviewer").get("/tasks").text


def test_workspace_lists_versions_with_their_actions(app) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "designer").get("/designer").text
    section = page[page.index(f'id="process-{KEY}"'):]
    section = section[:section.index("</table>")]
    assert "第1版" in section and "现行" in section
    assert f'action="/designer/drafts"' in section and 'name="from_version" value="1"' in section
    assert f"/designer/processes/{KEY}/versions/1" in section
    assert "/designer/trials?process_key=" in section


def test_a_draft_from_a_version_opens_in_the_modeler(app) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    draft_id, page = _new_draft(designer, _csrf(designer.get("/designer").text))
    data = _draft_data(page)
    assert data["id"] == draft_id and data["status"] == "editing" and data["base_version"] == 1
    assert f'id="{KEY}"' in data["xml"] and data["lock_version"] is not None
    assert {"id": "reviewer", "name": "审核人"} in data["vocabulary"]["roles"]
    # The XML is JSON inside the page, never raw markup: no closing tag of the script can come from it.
    assert "<bpmn:definitions" not in page.replace(json.dumps(data["xml"])[1:40], "")
    assert "草稿已创建" in page  # the banner
    assert "保存" in page and "提交审批" in page and "运行场景测试" in page
    # It is listed in the workspace, with its owner and status.
    workspace = designer.get("/designer").text
    assert f'href="/designer/drafts/{draft_id}"' in workspace and "编辑中" in workspace


def test_a_new_process_and_an_uploaded_file_make_drafts(app) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    csrf = _csrf(designer.get("/designer").text)
    r = designer.post("/designer/drafts", data={"csrf_token": csrf, "mode": "new", "title": "数据共享复核"})
    assert r.status_code == 303, r.text
    assert "数据共享复核" in designer.get(r.headers["location"]).text
    # With an id of the designer's choosing; one already in use is refused, nothing created.
    r = designer.post("/designer/drafts", data={"csrf_token": csrf, "mode": "new", "title": "复核<试点>",
                                                "process_key": "sharing_share_recheck"})
    assert r.status_code == 303, r.text
    data = _draft_data(designer.get(r.headers["location"]).text)
    assert data["process_key"] == "sharing_share_recheck" and 'name="复核&lt;试点&gt;"' in data["xml"]
    for key, code in ((KEY, "process_key_taken"), ("1bad key", "process_key_invalid")):
        r = designer.post("/designer/drafts", data={"csrf_token": csrf, "mode": "new", "title": "x",
                                                    "process_key": key})
        assert r.status_code == 422 and code in r.text

    xml = _shipped(KEY)
    r = designer.post("/designer/drafts", data={"csrf_token": csrf, "mode": "upload"},
                      files={"file": ("share.bpmn", xml, "application/octet-stream")})
    assert r.status_code == 303, r.text
    assert f'id="{KEY}"' in _draft_data(designer.get(r.headers["location"]).text)["xml"]


def _shipped(key: str) -> bytes:
    from app.core.config import ROOT

    return (ROOT / "bpmn" / f"{key}.bpmn").read_bytes()


def test_bad_uploads_and_forms_answer_readably(app) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    csrf = _csrf(designer.get("/designer").text)
    cases = [
        ({"mode": "upload"}, {"file": ("x.bpmn", b"<not xml", "application/octet-stream")}),
        ({"mode": "upload"}, {"file": ("x.bpmn", b"\xff\xfe\x00garbage", "application/octet-stream")}),
        ({"mode": "upload"}, {"file": ("", b"", "application/octet-stream")}),
        ({"mode": "version", "process_key": KEY, "from_version": "abc"}, None),
        ({"mode": "new", "title": ""}, None),
        ({"mode": "weird"}, None),
    ]
    before = designer.get("/designer").text.count('href="/designer/drafts/')
    for data, files in cases:
        r = designer.post("/designer/drafts", data={"csrf_token": csrf, **data}, files=files)
        assert 400 <= r.status_code < 500, (data, r.status_code, r.text[:300])
        assert '<div class="error" data-code=' in r.text, data
    missing = designer.post("/designer/drafts", data={"csrf_token": csrf, "mode": "version", "process_key": KEY,
                                                      "from_version": "99"})
    assert missing.status_code == 404 and "未找到" in missing.text
    assert designer.post("/designer/drafts", data={"mode": "new", "title": "x"}).status_code == 403  # no CSRF
    assert designer.get("/designer").text.count('href="/designer/drafts/') == before  # nothing created


def test_a_draft_can_be_deleted_by_its_owner(app) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    draft_id, page = _new_draft(designer, _csrf(designer.get("/designer").text))
    r = designer.post(f"/designer/drafts/{draft_id}/delete", data={"csrf_token": _csrf(page)})
    assert r.status_code == 303 and r.headers["location"] == "/designer"
    assert "草稿已删除" in designer.get("/designer").text
    assert designer.get(f"/designer/drafts/{draft_id}").status_code == 404


def test_four_eyes_review_through_the_pages(app, as_user) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    draft_id, page = _new_draft(designer, _csrf(designer.get("/designer").text))
    data = _draft_data(page)
    xml = data["xml"].replace('name="记录答复"', 'name="记录答复结果"')
    api = as_user("designer")
    saved = api.put(f"/api/designer/drafts/{draft_id}", json={"xml": xml, "lock_version": data["lock_version"]})
    assert saved.status_code == 200, saved.text
    submitted = api.post(f"/api/designer/drafts/{draft_id}/submit", json={"comment": "答复环节改名"})
    assert submitted.status_code in (200, 201), submitted.text
    submission_id = submitted.json()["id"]

    # The submitter sees the status and that someone else must approve; no decision forms.
    own = designer.get(f"/designer/submissions/{submission_id}").text
    assert "另一位系统管理员" in own and "批准并部署" not in own
    # The draft is read-only while under review.
    assert "已提交审批" in designer.get(f"/designer/drafts/{draft_id}").text
    # The workspace lists it as awaiting approval.
    assert f"/designer/submissions/{submission_id}" in designer.get("/designer").text

    admin = _login(app, "demo_admin")
    review = admin.get(f"/designer/submissions/{submission_id}").text
    assert "批准并部署" in review and "退回" in review and "答复环节改名" in review
    assert "记录答复结果" in unescape(review)  # the changed name in the table
    assert "第1版" in review
    # A return needs a comment: the page says so, nothing changes.
    r = admin.post(f"/designer/submissions/{submission_id}/return", data={"csrf_token": _csrf(review),
                                                                          "comment": " "})
    assert r.status_code == 422 and '<div class="error" data-code=' in r.text
    r = admin.post(f"/designer/submissions/{submission_id}/approve", data={"csrf_token": _csrf(review)})
    assert r.status_code == 303, r.text
    done = admin.get(r.headers["location"]).text
    assert "已批准并部署为第2版" in done and "批准并部署</button>" not in done
    workspace = admin.get("/designer").text
    section = workspace[workspace.index(f'id="process-{KEY}"'):]
    assert "第2版" in section[:section.index("</table>")]
    # Deciding again is refused readably.
    again = admin.post(f"/designer/submissions/{submission_id}/approve", data={"csrf_token": _csrf(done)})
    assert 400 <= again.status_code < 500 and "错误代码" in again.text or '<div class="error" data-code=' in again.text


def _deploy_v2(as_user) -> None:  # type: ignore[no-untyped-def]
    designer, admin = as_user("designer"), as_user("demo_admin")
    draft = designer.post("/api/designer/drafts", json={"process_key": KEY, "from_version": 1}).json()
    xml = draft["xml"].replace('name="记录答复"', 'name="记录答复结果"')
    assert designer.put(f"/api/designer/drafts/{draft['id']}",
                        json={"xml": xml, "lock_version": draft["lock_version"]}).status_code == 200
    sub = designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={}).json()
    assert admin.post(f"/api/designer/submissions/{sub['id']}/approve", json={}).status_code == 200


def test_rollback_is_four_eyes_too(app, as_user) -> None:  # type: ignore[no-untyped-def]
    _deploy_v2(as_user)
    admin = _login(app, "demo_admin")
    workspace = admin.get("/designer").text
    assert f'action="/designer/processes/{KEY}/versions/1/redeploy"' in workspace
    assert f'action="/designer/processes/{KEY}/versions/2/redeploy"' not in workspace  # the current one
    assert f"/designer/processes/{KEY}/migrate?to_version=2" in workspace  # older instances may move to 2
    assert f"/designer/processes/{KEY}/migrate?to_version=1" not in workspace
    # Rolling back to what is already current is refused readably.
    same = admin.post(f"/designer/processes/{KEY}/versions/2/redeploy", data={"csrf_token": _csrf(workspace)})
    assert same.status_code == 409 and '<div class="error" data-code=' in same.text and "无需提交" in same.text
    r = admin.post(f"/designer/processes/{KEY}/versions/1/redeploy",
                   data={"csrf_token": _csrf(admin.get("/designer").text)})
    assert r.status_code == 303, r.text
    page = admin.get(r.headers["location"]).text
    assert "须由另一位系统管理员批准" in page  # the banner
    assert "批准并部署</button>" not in page and "另一位系统管理员" in page
    submission_id = int(r.headers["location"].rsplit("/", 1)[1])
    refused = admin.post(f"/designer/submissions/{submission_id}/approve", data={"csrf_token": _csrf(page)})
    assert 400 <= refused.status_code < 500 and refused.status_code != 404
    section = admin.get("/designer").text
    section = section[section.index(f'id="process-{KEY}"'):]
    assert "第3版" not in section  # nothing deployed
    # Another administrator would approve it; the designer may not (not an administrator).
    designer = _login(app, "designer")
    page = designer.get(f"/designer/submissions/{submission_id}")
    assert "批准并部署</button>" not in page.text
    assert designer.post(f"/designer/submissions/{submission_id}/approve",
                         data={"csrf_token": _csrf(page.text)}).status_code == 403


def test_review_and_version_pages_refuse_others(app) -> None:  # type: ignore[no-untyped-def]
    reviewer = _login(app, "gat_reviewer")
    for url in ("/designer/submissions", f"/designer/processes/{KEY}/versions/1", "/designer/drafts/1"):
        assert reviewer.get(url).status_code == 403, url
    designer = _login(app, "designer")
    assert designer.get(f"/designer/processes/{KEY}/versions/9").status_code == 404
    assert designer.get("/designer/submissions/999999").status_code == 404
    assert designer.get("/designer/drafts/999999").status_code == 404
    page = designer.get(f"/designer/processes/{KEY}/versions/1")
    assert page.status_code == 200 and "第1版" in page.text and 'id="version-data"' in page.text
    listing = designer.get("/designer/submissions?status=bogus")
    assert listing.status_code == 200 and "待审批" in listing.text


def test_a_returned_draft_shows_the_comment_and_opens_for_editing(app, as_user) -> None:  # type: ignore[no-untyped-def]
    designer = _login(app, "designer")
    draft_id, page = _new_draft(designer, _csrf(designer.get("/designer").text))
    data = _draft_data(page)
    api = as_user("designer")
    api.put(f"/api/designer/drafts/{draft_id}", json={
        "xml": data["xml"].replace('name="记录答复"', 'name="记录答复结果"'), "lock_version": data["lock_version"]})
    submission_id = api.post(f"/api/designer/drafts/{draft_id}/submit", json={}).json()["id"]
    admin = _login(app, "demo_admin")
    review = admin.get(f"/designer/submissions/{submission_id}").text
    r = admin.post(f"/designer/submissions/{submission_id}/return",
                   data={"csrf_token": _csrf(review), "comment": "请说明改名的依据"})
    assert r.status_code == 303
    assert "已退回，设计员将看到您的意见" in admin.get(r.headers["location"]).text

    workspace = designer.get("/designer").text
    row = workspace[workspace.index(f'href="/designer/drafts/{draft_id}"'):]
    row = row[:row.index("</tr>")]
    assert "已退回" in row and "退回意见：请说明改名的依据" in row
    page = designer.get(f"/designer/drafts/{draft_id}").text
    assert "审批人退回了这份草稿：请说明改名的依据" in page and 'data-readonly="0"' in page
    listing = designer.get("/designer/submissions?status=returned").text
    assert f"/designer/submissions/{submission_id}" in listing and "已退回" in listing
    assert f"/designer/submissions/{submission_id}" not in designer.get("/designer/submissions").text


def test_the_workspace_names_who_deployed_and_approved_a_version_not_their_usernames(app, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.designer.helpers import deploy, one_task

    deploy(as_user("designer"), as_user("demo_admin"), one_task("named_deploy"))
    page = _login(app, "demo_admin").get("/designer").text
    row = unescape(re.search(r"<tr[^>]*>(?:(?!</tr>).)*named_deploy(?:(?!</tr>).)*</tr>", page, re.S).group(0))  # type: ignore[union-attr]
    version_rows = re.findall(r"<tr>(?:(?!</tr>).)*孙强（流程设计员）(?:(?!</tr>).)*</tr>", unescape(page), re.S)
    assert version_rows, row
    assert any("系统管理员" in r for r in version_rows)
    assert not re.search(r">\s*(designer|demo_admin)\s*<", unescape(page))
    version = _login(app, "designer").get("/designer/processes/named_deploy/versions/1")
    assert version.status_code == 200 and "孙强（流程设计员）" in unescape(version.text)
