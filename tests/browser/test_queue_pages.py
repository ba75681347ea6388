"""In a real browser at 1366×768: the supervision queue pages with 下一页 and 回到第一页."""

from __future__ import annotations

from tests.api.test_statement_counts import _grow, _seeds
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_supervision_queue_next_page_and_back(rt, page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    seeds = _seeds(rt, as_user)
    with rt.db.engine.begin() as conn:
        for k in range(54):  # 55 items: one page of 50 and a second of 5
            _grow(conn, seeds, k)
    log_in(page, "gov_supervisor", DEMO_PASSWORD)
    page.goto("/supervision")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_role("link", name="回到第一页")).to_have_count(0)
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(5)
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    screenshot("supervision-second-page")
    page.get_by_role("link", name="回到第一页").click()
    expect(rows).to_have_count(50)
    assert "cursor" not in page.url and "state=open" in page.url


def test_case_lists_next_page_and_back(rt, page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    seeds = _seeds(rt, as_user)
    with rt.db.engine.begin() as conn:
        for k in range(54):  # 55 disputes and 55 notices: the console holds 110 open cases
            _grow(conn, seeds, k)
    log_in(page, "data_reviewer", DEMO_PASSWORD)
    page.goto("/authority")
    rows = page.locator("table tbody tr.case")
    expect(rows).to_have_count(50)
    # Counts stop at 100: more than 99 reads 99+.
    expect(page.locator("#count-open-disputes")).to_have_text("55")
    expect(page.get_by_text("共 99+ 件")).to_be_visible()
    first = rows.evaluate_all("rs => rs.map(r => r.dataset.kind + r.dataset.id)")
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(50)
    second = rows.evaluate_all("rs => rs.map(r => r.dataset.kind + r.dataset.id)")
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(10)
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    third = rows.evaluate_all("rs => rs.map(r => r.dataset.kind + r.dataset.id)")
    assert len(set(first + second + third)) == 110
    screenshot("authority-console-last-page")
    page.get_by_role("link", name="回到第一页").click()
    expect(rows).to_have_count(50)
    assert "cursor" not in page.url

    page.goto("/rectification-notices?status=all")
    notices = page.locator("table tbody tr")
    expect(notices).to_have_count(50)
    page.get_by_role("link", name="下一页").click()
    expect(notices).to_have_count(5)
    assert "status=all" in page.url
    screenshot("rectification-notices-second-page")
    page.get_by_role("link", name="回到第一页").click()
    expect(notices).to_have_count(50)
