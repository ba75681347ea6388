"""The inbox filters by process, keyword and the day a task arrived (Asia/Shanghai), on the API and the page."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.api.helpers import submit
from tests.web.test_pages import _login


def _ids(client, **params) -> list[int]:  # type: ignore[no-untyped-def]
    r = client.get("/api/tasks", params={"view": "todo", **params})
    assert r.status_code == 200, r.text
    return [t["instance_id"] for t in r.json()["items"]]


def test_filters_by_day_of_arrival_keyword_and_process(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(datetime(2026, 11, 2, 23, 30, tzinfo=SHANGHAI))  # late on Monday, Beijing time (15:30 UTC)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    monday = submit(clerk, purpose="社保资格认证")["instance_id"]
    clock.freeze(datetime(2026, 11, 3, 0, 30, tzinfo=SHANGHAI))  # just after midnight: Tuesday in Beijing
    tuesday = submit(clerk, purpose="就业登记核验")["instance_id"]
    assert set(_ids(reviewer)) == {monday, tuesday}
    # Days are Beijing days, not UTC days (both requests fall on 2 November in UTC).
    assert _ids(reviewer, received_from="2026-11-03") == [tuesday]
    assert _ids(reviewer, received_to="2026-11-02") == [monday]
    assert _ids(reviewer, received_from="2026-11-02", received_to="2026-11-02") == [monday]
    # Keyword in the matter or the step; the process.
    assert set(_ids(reviewer, q="居民户籍")) == {monday, tuesday}
    assert set(_ids(reviewer, q="审核")) == {monday, tuesday}
    assert _ids(reviewer, q="没有这样的事项") == []
    assert _ids(reviewer, q="100%_") == []  # wildcards are literal text
    assert set(_ids(reviewer, process_key="sharing_share_request")) == {monday, tuesday}
    assert _ids(reviewer, process_key="catalog_catalog_review") == []
    # The page has the same filters, with Chinese labels, and ignores a malformed date with a notice.
    page = _login(app, "gat_reviewer")
    html = page.get("/tasks", params={"received_from": "2026-11-03"}).text
    assert "到达日期" in html and "清除条件" in html
    assert html.count('href="/tasks/') == 1
    html = page.get("/tasks", params={"received_from": "2026-13-40"}).text
    assert "应为“年-月-日”格式" in html and html.count('href="/tasks/') == 2
    html = page.get("/tasks", params={"q": "没有这样的事项"}).text
    assert "没有符合条件的事项" in html


def test_bad_ranges_are_refused(client, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer = as_user("gat_reviewer")
    r = reviewer.get("/api/tasks", params={"received_from": "2026-11-05", "received_to": "2026-11-01"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "received_range_invalid"
    r = reviewer.get("/api/tasks", params={"received_from": "0001-01-01"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "time_out_of_range"
    r = reviewer.get("/api/tasks", params={"received_from": "2026-02-30"})
    assert r.status_code == 422
    r = reviewer.get("/api/tasks", params={"q": "字" * 101})
    assert r.status_code == 422
