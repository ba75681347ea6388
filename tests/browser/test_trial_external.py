"""In a real browser at 1366×768: a designer's trial of the share-request process reaches the exchange
platform's external task (hand_over, topic exchange.grant), which no worker takes for a trial; the designer
acts as the outside system: an error the process does not catch is shown readably and changes nothing,
then 模拟外部系统完成 takes the trial to its end."""

import json

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.designer.trial_helpers import SHARE_VARIABLES


def test_a_designer_acts_as_the_exchange_platform_in_a_trial(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "designer", DEMO_PASSWORD)
    page.goto("/designer/trials")
    page.get_by_label("流程", exact=False).first.select_option("sharing_share_request")
    page.get_by_label("流程变量").fill(json.dumps(SHARE_VARIABLES, ensure_ascii=False))
    page.get_by_role("button", name="启动试运行").click()
    expect(page.locator(".flash")).to_have_text("试运行已启动")
    page.get_by_label("同意", exact=True).check()
    page.get_by_label("使用要求", exact=False).fill("仅用于试运行")
    page.get_by_role("button", name="以此角色办理").click()
    expect(page.locator(".flash")).to_have_text("已以审核人（reviewer）身份办理“审核共享申请”")

    card = page.locator(".card.external-task")
    expect(card.get_by_role("heading", name="共享交换系统开通授权", exact=False)).to_be_visible()
    expect(card).to_contain_text("hand_over")
    expect(card).to_contain_text("exchange.grant")
    card.scroll_into_view_if_needed()
    screenshot("trial-external-task")

    # The share process draws no error boundary event on hand_over: the error is refused, readably.
    card.get_by_label("业务错误码", exact=False).fill("EXCHANGE_REJECTED")
    card.get_by_label("错误说明").fill("目标库表不存在")
    card.get_by_role("button", name="模拟业务错误").click()
    alert = page.locator(".card.external-task [role=alert]")
    expect(alert).to_contain_text("没有边界错误事件捕获")
    expect(alert).to_contain_text("hand_over")
    expect(alert).to_be_in_viewport()  # the form's action names the card: the answer opens at the error
    expect(page.locator("h1 .status")).to_have_text("运行中")
    expect(card.get_by_label("业务错误码", exact=False)).to_have_value("EXCHANGE_REJECTED")
    screenshot("trial-external-error")

    card.get_by_label("完成时带回的变量", exact=False).fill('{"access_id": "GX-ACCESS-1"}')
    card.get_by_role("button", name="模拟外部系统完成").click()
    expect(page.locator(".flash")).to_have_text("已模拟外部系统完成“共享交换系统开通授权”")
    expect(page.locator("h1 .status")).to_have_text("已结束")
    expect(page.locator(".card.external-task")).to_have_count(0)
    done = page.locator("ol.trail li").filter(has_text="外部系统完成任务")
    expect(done).to_contain_text("（模拟外部系统）")
    expect(done).to_contain_text('access_id="GX-ACCESS-1"')
    screenshot("trial-external-done")
