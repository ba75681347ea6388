"""In a real browser at 1366×768: the yearly evaluation (Art. 18) with its SVG charts, the XLSX download, publishing
with improvement opinions, and the public page read without logging in."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.reports.test_yearly_report import at, seed_year


def test_report_page_charts_download_publish_and_public_page(browser, live_server, page, expect, screenshot,  # type: ignore[no-untyped-def]
                                                             as_user) -> None:
    seed_year(as_user)
    at(2027, 1, 5, 9, 0)
    log_in(page, "data_reviewer", DEMO_PASSWORD)
    page.locator("header.top details.nav-more summary").click()  # less frequent pages: under 更多
    page.get_by_role("link", name="年度评估").click()
    expect(page.locator("header.top details.nav-more summary")).to_have_class("active")
    page.get_by_label("年度：").select_option("2026")
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("heading", name="河南省 2026年度政务数据共享评估报告")).to_be_visible()
    # Server-drawn charts, each an image named by its <title>.
    expect(page.get_by_role("img", name="按时答复率")).to_be_visible()
    expect(page.get_by_role("img", name="各部门收到的共享申请")).to_be_visible()
    expect(page.locator("table.report-table tbody tr", has_text="河南省公安厅")).to_contain_text("33.3%")
    page.screenshot(path=str(screenshot("draft").parent / "draft-full.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 XLSX").click()
    sheet = load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))["年度评估"]
    header = [c.value for c in sheet[2]]
    gat = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] == "410000-gat")
    assert gat[header.index("收到的共享申请")] == 5

    page.get_by_label("改进意见").fill("一、提高共享申请按时答复率。\n二、拒绝共享须列明依据。")
    page.get_by_role("button", name="公布").click()
    expect(page.get_by_text("评估报告和改进意见已公布")).to_be_visible()
    report_url = page.url
    assert "/reports/published/" in report_url

    # Anyone, without logging in.
    public = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", base_url=live_server)
    try:
        visitor = public.new_page()
        visitor.goto("/reports/published")
        visitor.get_by_role("link", name="河南省 2026年度评估报告").click()
        expect(visitor.get_by_role("heading", name="改进意见")).to_be_visible()
        expect(visitor.get_by_text("一、提高共享申请按时答复率。")).to_be_visible()
        expect(visitor.get_by_role("img", name="按时答复率")).to_be_visible()
        expect(visitor.get_by_role("link", name="工作人员登录")).to_be_visible()
        visitor.screenshot(path=str(screenshot("published").parent / "public-report.png"))
        visitor.goto(visitor.url + "/print")
        expect(visitor.get_by_role("heading", name="河南省 2026年度政务数据共享评估报告")).to_be_visible()
        visitor.screenshot(path=str(screenshot("published").parent / "public-print.png"), full_page=True)
    finally:
        public.close()
