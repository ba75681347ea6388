"""Issue 9 hole 5: the banner shows only what the server put in the session, once; never text from the URL."""

import re

from tests.api.helpers import review_task, submit
from tests.web.test_pages import _csrf, _login

PHISH = "请将账号密码发送至 evil@example.com"


def _banner(html: str) -> str | None:
    found = re.search(r'<div class="flash"[^>]*>(.*?)</div>', html, re.DOTALL)
    return found.group(1) if found else None


def test_a_flash_parameter_in_the_url_shows_nothing(app, client) -> None:  # type: ignore[no-untyped-def]
    page = _login(app, "gat_reviewer")
    for url in ("/tasks", "/share-requests", "/catalog", "/login"):
        r = page.get(url, params={"flash": PHISH})
        assert r.status_code == 200, url
        assert "请将账号密码发送至" not in r.text and _banner(r.text) is None, url


def test_an_actions_message_shows_once_and_not_on_reload(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    page = _login(app, "gat_reviewer")
    url = f"/tasks/{task['id']}"
    r = page.post(f"{url}/claim", data={"csrf_token": _csrf(page.get(url).text)})
    assert r.status_code == 303 and r.headers["location"] == url  # nothing for a link to copy
    assert _banner(page.get(url).text) == "已签收，可以办理"
    assert _banner(page.get(url).text) is None  # reload: gone
    # Another person's session never sees it.
    other = _login(app, "rst_clerk")
    assert _banner(other.get("/tasks").text) is None
