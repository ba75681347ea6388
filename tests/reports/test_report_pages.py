"""The report pages without JavaScript: bad input answers a readable page and changes nothing; the publish
form; the English page."""

from __future__ import annotations

from typing import Any

from tests.reports.test_yearly_report import at
from tests.web.test_pages import _csrf, _login


def test_bad_input_answers_a_readable_page(app, client) -> None:  # type: ignore[no-untyped-def]
    c = _login(app, "zz_clerk")
    r = c.get("/reports", params={"year": "20x6"})
    assert r.status_code == 422 and "年度应为四位数字" in r.text and "report_year_invalid" in r.text
    r = c.get("/reports", params={"region_code": "410000"})
    assert r.status_code == 403 and "report_forbidden" in r.text
    r = c.get("/reports", params={"department_code": "no-such"})
    assert r.status_code == 404 and "department_not_found" in r.text
    assert c.get("/reports/published/not-a-number").status_code == 422
    own = c.get("/reports")
    assert own.status_code == 200 and "郑州市" in own.text and "公布评估报告和改进意见" not in own.text


def test_publish_form_then_public_page(app, client, as_user: Any) -> None:  # type: ignore[no-untyped-def]
    at(2027, 1, 5, 9, 0)
    c = _login(app, "zz_data_reviewer")
    page = c.get("/reports", params={"year": "2026"})
    assert "公布评估报告和改进意见" in page.text
    token = _csrf(page.text)
    r = c.post("/reports/publish", data={"csrf_token": token, "year": "2026", "region_code": "410100",
                                         "opinions": " "})
    assert r.status_code == 422 and "report_publish_invalid" in r.text
    assert client.get("/api/reports/published").json() == []
    r = c.post("/reports/publish", data={"csrf_token": token, "year": "2026", "region_code": "410100",
                                         "opinions": "加快答复共享申请。"})
    assert r.status_code == 303 and r.headers["location"].startswith("/reports/published/")
    public = client.get(r.headers["location"])
    assert public.status_code == 200 and "加快答复共享申请。" in public.text and "郑州市" in public.text
    # Publishing again for the same year and level is refused.
    r = c.post("/reports/publish", data={"csrf_token": token, "year": "2026", "region_code": "410100",
                                         "opinions": "再次公布。"})
    assert r.status_code == 409 and "report_already_published" in r.text


def test_english_page(app, client) -> None:  # type: ignore[no-untyped-def]
    c = _login(app, "data_reviewer")
    page = c.get("/reports")
    r = c.post("/me/language", data={"csrf_token": _csrf(page.text), "language": "en", "next": "/reports"})
    assert r.status_code == 303
    page = c.get("/reports")
    assert "On-time reply rate" in page.text and "By department" in page.text
