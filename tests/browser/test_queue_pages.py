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


def test_share_request_list_next_page_and_back(rt, page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, or_, select

    from app.org.models import User
    from app.sharing.models import ShareRequest

    seeds = _seeds(rt, as_user)
    with rt.db.engine.begin() as conn:
        for k in range(54):  # each copies requests filed and received by the clerk's department
            _grow(conn, seeds, k)
        department = conn.execute(select(User.department_id).where(User.username == "rst_clerk")).scalar_one()
        total = conn.execute(select(func.count()).select_from(ShareRequest).where(or_(
            ShareRequest.requester_department_id == department,
            ShareRequest.provider_department_id == department))).scalar_one()
    assert total > 100  # three pages of 50 and one shorter
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto("/share-requests")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_role("link", name="回到第一页")).to_have_count(0)
    numbers = [int(n.lstrip("#")) for n in rows.locator("td:first-child").all_inner_texts()]
    while len(numbers) < total:
        page.get_by_role("link", name="下一页").click()
        expect(rows).to_have_count(min(50, total - len(numbers)))
        numbers += [int(n.lstrip("#")) for n in rows.locator("td:first-child").all_inner_texts()]
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == total  # newest first, none twice
    screenshot("share-requests-last-page")
    page.get_by_role("link", name="回到第一页").click()
    expect(rows).to_have_count(50)
    assert page.url.endswith("/share-requests")
    # A spoiled link does not fail: the first page, with a notice.
    page.goto("/share-requests?cursor=not-a-cursor")
    expect(page.get_by_text("翻页链接已失效，已回到第一页")).to_be_visible()
    expect(rows).to_have_count(50)
