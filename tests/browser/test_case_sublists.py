"""In a real browser at 1366×768: a notice's reports and an open list's review rounds show the latest 20;
「更早的记录」 puts the earlier rows (a table's) or rounds (listed newest first) in place, on the same page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.api.test_statement_counts import _clone, _table
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.open_data.helpers import HOUSEHOLD, review, submitted
from tests.rectification.helpers import issue, report, verify


def test_earlier_reports_load_in_place_in_the_table(page, expect, screenshot, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    n = issue(authority)
    report(clerk, n["id"], text="第1轮：已编制共享目录。")
    verify(authority, n["id"], decision="return", reason="材料不全", deadline_working_days=5)
    with rt.db.engine.begin() as conn:
        table = _table("rectification_submission")
        first = conn.execute(select(table.c.id).where(table.c.notice_id == n["id"])).scalar_one()
        for k in range(24):  # 25 reports in all
            _clone(conn, "rectification_submission", first, round=k + 2, text=f"第{k + 2}轮：继续整改。")

    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/rectification-notices/{n['id']}")
    rows = page.locator("#submissions tbody")
    expect(rows.locator("tr:not(.earlier)")).to_have_count(20)
    expect(rows).not_to_contain_text("第1轮：已编制共享目录。")
    more = rows.get_by_role("link", name="更早的记录")
    more.scroll_into_view_if_needed()
    screenshot("reports-latest")
    more.click()
    expect(rows.locator("tr")).to_have_count(25)
    expect(rows.locator("tr").first).to_contain_text("第1轮：已编制共享目录。")
    expect(rows.get_by_role("link", name="更早的记录")).to_have_count(0)
    assert page.url.endswith(f"/rectification-notices/{n['id']}")
    rows.locator("tr").first.scroll_into_view_if_needed()
    screenshot("reports-all")


def test_earlier_review_rounds_load_below_the_latest(page, expect, screenshot, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("gat_clerk"), as_user("data_reviewer")
    lid = submitted(clerk)["id"]
    review(reviewer, lid, "return", comment="第1轮：请细化开放条件", item_comments={HOUSEHOLD: "开放条件过宽"})
    with rt.db.engine.begin() as conn:
        table = _table("open_list_review")
        first: Any = conn.execute(select(table.c.id, table.c.task_id).where(table.c.open_list_id == lid)).one()
        for k in range(22):  # 23 rounds in all
            task = _clone(conn, "task", first.task_id, spiff_task_id=f"review-round-{k}")
            _clone(conn, "open_list_review", first.id, task_id=task, round=k + 2, comment=f"第{k + 2}轮：仍需修改",
                   item_comments={})

    log_in(page, "gat_clerk", DEMO_PASSWORD)
    page.goto(f"/open-lists/{lid}")
    rounds = page.locator("#reviews")
    expect(rounds.locator(".review-round")).to_have_count(20)
    expect(rounds.locator(".review-round").first).to_contain_text("第23轮")
    more = rounds.get_by_role("link", name="更早的记录")
    more.scroll_into_view_if_needed()
    screenshot("rounds-latest")
    more.click()
    expect(rounds.locator(".review-round")).to_have_count(23)
    expect(rounds.locator(".review-round").last).to_contain_text("第1轮：请细化开放条件")
    expect(rounds.locator(".review-round").last).to_contain_text("开放条件过宽")
    expect(rounds.get_by_role("link", name="更早的记录")).to_have_count(0)
    rounds.locator(".review-round").last.scroll_into_view_if_needed()
    screenshot("rounds-all")
