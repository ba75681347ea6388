"""Issue 9 hole 4: an /api write authenticated by the page cookie needs the session's CSRF token header.

A browser sends the cookie with any same-site form post; a plain form cannot set a header, so a page of
another same-site service could otherwise claim tasks, run jobs or upload files as the logged-in user.
"""

import re

from fastapi.testclient import TestClient

from tests.api.helpers import review_task, submit
from tests.web.test_pages import _login

CSRF_MESSAGE = "页面已过期或来源不明（CSRF 校验失败），请刷新后重试"


def _page_token(page: TestClient) -> str:
    html = page.get("/tasks").text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _open_review_task(as_user) -> dict:  # type: ignore[no-untyped-def]
    return review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])


def test_cross_origin_claim_with_the_cookie_and_no_token_is_refused(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    task = _open_review_task(as_user)
    page = _login(app, "gat_reviewer")
    # What a form on another same-site host does: the cookie rides along, no header, no body.
    r = page.post(f"/api/tasks/{task['id']}/claim", headers={"Origin": "https://evil.example.gov.cn"})
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == {"code": "csrf_failed", "message": CSRF_MESSAGE,
                                  "message_en": "Page expired or of unknown origin (CSRF check failed); "
                                                "reload and try again", "request_id": r.headers["X-Request-ID"]}
    r = page.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": "guessed"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "csrf_failed"
    # Nothing changed: still in the department's pool.
    assert as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()["assignee"] is None

    # The page's own token (its meta tag) is what our script would send: then the cookie is enough.
    r = page.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": _page_token(page)})
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "gat_reviewer"


def test_a_multipart_form_and_a_job_run_with_the_cookie_are_refused(app, client) -> None:  # type: ignore[no-untyped-def]
    admin = _login(app, "demo_admin")
    r = admin.post("/api/attachments", data={"owner_type": "dispute", "owner_id": "1"},
                   files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "csrf_failed", r.text
    r = admin.post("/api/admin/jobs/escalate-overdue/run")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "csrf_failed", r.text


def test_reads_with_the_cookie_and_bearer_writes_need_no_token(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    task = _open_review_task(as_user)
    page = _login(app, "gat_reviewer")
    # The pages link to /api exports: a GET with the cookie still works.
    assert page.get("/api/me").json()["username"] == "gat_reviewer"
    # A bearer token is the credential even when the client also holds a page cookie.
    token = as_user("gat_reviewer").headers["Authorization"]
    r = page.post(f"/api/tasks/{task['id']}/claim", headers={"Authorization": token})
    assert r.status_code == 200, r.text
