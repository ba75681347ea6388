"""转办 from the task page."""

from tests.api.helpers import review_task, submit
from tests.api.test_reassign import _colleague
from tests.web.test_pages import _csrf, _login


def test_the_holder_reassigns_from_the_task_page(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    _colleague(as_user)
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    page = _login(app, "gat_reviewer")
    assert "转办给" not in page.get(f"/tasks/{task['id']}").text  # not held yet: nothing to hand over
    html = page.get(f"/tasks/{task['id']}").text
    page.post(f"/tasks/{task['id']}/claim", data={"csrf_token": _csrf(html)})
    html = page.get(f"/tasks/{task['id']}").text
    assert "转办给" in html and "钱程（省公安厅审核人）" in html
    r = page.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": _csrf(html), "username": "gat_reviewer2",
                                                         "note": "出差"})
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task['id']}", r.text
    html = page.get(f"/tasks/{task['id']}").text
    assert '<div class="flash" role="status">已转办</div>' in html
    assert "钱程（省公安厅审核人）" in html and "转办" in html  # the holder and the history line
    # The former holder may no longer hand it on: a readable page, not a 500.
    r = page.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": _csrf(html), "username": "gat_reviewer2"})
    assert r.status_code == 403 and "转办" in r.text
