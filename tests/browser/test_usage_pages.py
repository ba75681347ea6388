"""The usage pages in a browser (Art. 12): the grant's chart is drawn, the flag is listed, exports download,
and an authority reviewer opens the rectification notice in one click."""

from __future__ import annotations

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.usage.helpers import event, grant_of, post_events, register_system


def test_usage_page_shows_the_chart_and_downloads_the_exports(page, expect, screenshot, client, as_user,
                                                             tmp_path) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    # Six uses on 1 November within the grant, one of them of an item not granted; two in October, before
    # the grant's period began (2026-11-01).
    result = post_events(client, system, [
        *(event(f"b-{i}", grant_id, occurred_at=f"2026-11-01T0{i}:30:00+08:00") for i in range(5)),
        event("b-x", grant_id, items=["法定代表人"]),
        *(event(f"o-{i}", grant_id, occurred_at=f"2026-10-2{i}T10:00:00+08:00") for i in range(2))]).json()
    assert (result["accepted"], result["flagged"]) == (8, 3)
    log_in(page, "data_reviewer", DEMO_PASSWORD)
    expect(page.get_by_role("link", name="数据使用")).to_be_hidden()  # in the bar's 更多 menu, closed
    page.locator("header.top details.nav-more summary").click()
    page.get_by_role("link", name="数据使用").click()
    expect(page.get_by_role("heading", name="数据使用记录")).to_be_visible()
    page.goto(f"/usage/grants/{grant_id}")
    chart = page.locator("figure.usage-chart svg")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 150  # type: ignore[index]
    bars = page.locator("figure.usage-chart rect[fill='#2563eb']")
    expect(bars).to_have_count(12)  # a bar per month, empty months drawn flat
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(12)]
    assert heights[-1] > heights[-2] > 0 and heights[:-2] == [0.0] * 10  # November 6, October 2
    expect(page.locator("figure.usage-chart rect[fill='#dc2626']")).to_have_count(2)  # the flagged parts
    expect(page.get_by_text("近 12 个月共 8 条，异常 3 条")).to_be_visible()
    expect(page.get_by_text("使用了未获授权的数据项").first).to_be_visible()
    screenshot("grant-usage")

    with page.expect_download() as xlsx:
        page.get_by_role("link", name="导出 Excel").click()
    path = tmp_path / "usage.xlsx"
    xlsx.value.save_as(path)
    from openpyxl import load_workbook
    assert load_workbook(path).active.max_row == 9  # the header and 8 uses
    with page.expect_download() as csv:
        page.get_by_role("link", name="导出 CSV").click()
    assert csv.value.suggested_filename.endswith(".csv")

    page.get_by_role("row").filter(has_text="b-x").get_by_role("button", name="发出整改通知").click()
    page.wait_for_url("**/rectification-notices/*")
    expect(page.get_by_text("未落实政务数据安全职责").first).to_be_visible()
    screenshot("notice-from-flag")


def test_department_and_system_pages(page, expect, screenshot, client, as_user) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    post_events(client, system, [event(f"d-{i}", grant_id, occurred_at=f"2026-11-01T0{i}:00:00+08:00")
                                 for i in range(4)] + [event("d-x", grant_id, method="file")])
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto("/usage")
    page.get_by_role("link", name="本部门的数据使用").click()
    expect(page.get_by_role("heading", name="河南省人力资源和社会保障厅的数据使用")).to_be_visible()
    expect(page.locator("figure.usage-chart svg")).to_be_visible()
    expect(page.get_by_text("共享方式与授权不符").first).to_be_visible()
    screenshot("department-usage")
    page.context.clear_cookies()
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.goto("/usage/systems")
    page.get_by_label("系统编码（小写字母、数字、. _ -）").fill("zz-gateway")
    page.get_by_label("名称", exact=True).fill("郑州市数据交换网关")
    page.get_by_role("button", name="登记并生成密钥").click()
    expect(page.locator("#secret-shown code.secret")).to_be_visible()
    screenshot("system-secret-once")
