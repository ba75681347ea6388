"""In a real browser: a form on another same-site origin cannot use the page cookie against /api, while
the page's own script can, with the token of the csrf-token meta tag (issue 9 hole 4)."""

from urllib.parse import urlsplit

from tests.api.helpers import review_task, submit
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_a_same_site_form_cannot_claim_through_the_api(page, expect, live_server, as_user) -> None:  # type: ignore[no-untyped-def]
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    log_in(page, "gat_reviewer", DEMO_PASSWORD)

    # Another service on the same host (another port: same site, so the Lax cookie is sent with a POST).
    port = urlsplit(live_server).port
    evil = f"http://127.0.0.1:{port + 1}/promo"
    page.route(evil, lambda route: route.fulfill(content_type="text/html; charset=utf-8", body=(
        f'<form method="post" action="{live_server}/api/tasks/{task["id"]}/claim">'
        '<button>领取奖品</button></form>')))
    page.goto(evil)
    page.get_by_role("button", name="领取奖品").click()
    expect(page.get_by_text("csrf_failed")).to_be_visible()
    assert as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()["assignee"] is None

    # GovFlow's own page script sends the meta tag's token and may use the cookie.
    page.goto("/tasks")
    status = page.evaluate("""async (url) => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch(url, {method: 'POST', headers: {'X-CSRF-Token': token}});
        return r.status;
    }""", f"/api/tasks/{task['id']}/claim")
    assert status == 200
    assert as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()["assignee"] == "gat_reviewer"
