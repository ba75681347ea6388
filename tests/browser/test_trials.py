"""In a real browser at 1366×768: a designer starts a trial of the share-request process from the trial page
and completes its first task as a role of the task."""

import json

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.designer.trial_helpers import SHARE_VARIABLES


def test_a_designer_tries_the_share_request_process(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "designer", DEMO_PASSWORD)
    page.goto("/designer/trials")
    page.get_by_label("流程", exact=False).first.select_option("sharing_share_request")
    page.get_by_label("流程变量").fill(json.dumps(SHARE_VARIABLES, ensure_ascii=False))
    page.get_by_role("button", name="启动试运行").click()

    expect(page.locator(".flash")).to_have_text("试运行已启动")
    expect(page.get_by_role("heading", name="审核共享申请", exact=False)).to_be_visible()
    expect(page.get_by_label("办理角色")).to_have_value("reviewer")
    page.get_by_label("同意", exact=True).check()
    page.get_by_label("使用要求", exact=False).fill("仅用于试运行")
    screenshot("trial-started")
    page.get_by_role("button", name="以此角色办理").click()

    expect(page.locator(".flash")).to_have_text("已以审核人（reviewer）身份办理“审核共享申请”")
    # Granted: the trial goes on to the exchange platform's external task, which no worker takes for a trial.
    expect(page.locator("h1 .status")).to_have_text("运行中")
    expect(page.get_by_text("环节：共享交换系统开通授权")).to_be_visible()
    expect(page.get_by_text("办理任务", exact=False).first).to_be_visible()
    screenshot("trial-completed")

    page.get_by_role("link", name="返回试运行列表").click()
    expect(page.get_by_role("cell", name="运行中")).to_be_visible()
    screenshot("trial-list")
