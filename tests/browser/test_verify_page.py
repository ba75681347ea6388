"""In a real browser at 1366×768: the printed rectification notice with its signature block, and the public
/verify page a visitor uses without logging in (valid, then not found)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import Runtime
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.rectification.helpers import issue
from tests.signing.helpers import SM_SIGNING, runtime


@pytest.fixture
def rt(db_url: str, frozen_clock: object, tmp_path: Path) -> Iterator[Runtime]:
    built = runtime(db_url, tmp_path, **SM_SIGNING)
    yield built
    built.db.dispose()


def test_printed_notice_and_public_verification(browser, live_server, page, expect, screenshot,  # type: ignore[no-untyped-def]
                                                as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    signature = as_user("data_reviewer").get(f"/api/rectification-notices/{notice['id']}").json()["signature"]
    log_in(page, "data_reviewer", DEMO_PASSWORD)
    page.goto(f"/rectification-notices/{notice['id']}")
    expect(page.locator("#signature")).to_contain_text(signature["verification_code"])
    page.goto(f"/rectification-notices/{notice['id']}/print")
    block = page.locator(".signature-block")
    expect(block).to_contain_text(f"文号：{notice['number']}")
    expect(block).to_contain_text(signature["verification_code"])
    expect(block).to_contain_text("SM2 / SM3")
    expect(block).to_contain_text("核验（无需登录）：访问 /verify，输入核验码")
    page.screenshot(path=str(screenshot("print").parent / "sign-print-full.png"), full_page=True)

    visitor_context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                          base_url=live_server)
    try:
        visitor = visitor_context.new_page()
        visitor.goto("/verify")
        expect(visitor.get_by_role("heading", name="政务文书核验")).to_be_visible()
        visitor.get_by_label("核验码").fill(signature["verification_code"].lower())
        visitor.get_by_label("文号（可选）").fill(notice["number"])
        visitor.get_by_role("button", name="核验").click()
        result = visitor.locator("#verify-result")
        expect(result).to_have_attribute("data-status", "valid")
        expect(result.locator(".stamp")).to_have_text("有效")
        expect(result).to_contain_text("河南省行政审批和政务信息管理局")
        expect(result).to_contain_text(signature["key_fingerprint"])
        expect(result).to_contain_text("现行密钥")
        visitor.screenshot(path=str(screenshot("valid").parent / "sign-verify-valid.png"), full_page=True)
        visitor.get_by_label("核验码").fill("0000-0000-0000-0000")
        visitor.get_by_role("button", name="核验").click()
        expect(visitor.locator("#verify-result")).to_have_attribute("data-status", "not_found")
        expect(visitor.locator("#verify-result")).to_contain_text("未找到该核验码对应的文书")
        visitor.screenshot(path=str(screenshot("not-found").parent / "sign-verify-not-found.png"))
    finally:
        visitor_context.close()


def test_administrator_rotates_a_key_and_the_printed_reply_carries_its_signature(  # type: ignore[no-untyped-def]
        page, expect, screenshot, as_user) -> None:
    from tests.api.helpers import UNCONDITIONAL, submit

    granted = submit(as_user("rst_clerk"), UNCONDITIONAL)  # 省市场监管局's first signature makes its key
    signature = as_user("rst_clerk").get(f"/api/share-requests/{granted['id']}").json()["signature"]
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/share-requests/{granted['id']}")
    expect(page.locator("#signature")).to_contain_text(signature["verification_code"])
    with page.expect_popup() as popup:
        page.get_by_role("link", name="打印答复书").click()
    reply = popup.value
    expect(reply.get_by_role("heading", name="政务数据共享申请答复书")).to_be_visible()
    expect(reply.locator(".signature-block")).to_contain_text(signature["verification_code"])
    reply.screenshot(path=str(screenshot("reply").parent / "sign-reply-print.png"), full_page=True)
    reply.close()

    page.get_by_role("button", name="退出").click()
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.locator("header.top details.nav-more summary").click()
    page.get_by_role("link", name="签名密钥").click()
    row = page.locator("tr[data-status='active']", has_text="河南省市场监督管理局")
    expect(row).to_contain_text(signature["key_fingerprint"])
    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="更换密钥").click()
    expect(page.locator(".flash")).to_contain_text("已更换签名密钥")
    expect(page.locator("tr[data-status='retired']", has_text="河南省市场监督管理局")).to_contain_text(
        signature["key_fingerprint"])
    expect(page.locator("tr[data-status='active']", has_text="河南省市场监督管理局")).not_to_contain_text(
        signature["key_fingerprint"])
    page.screenshot(path=str(screenshot("keys").parent / "sign-keys.png"), full_page=True)


def test_printed_adjudication_carries_its_signature(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.authority.helpers import escalated_dispute
    from tests.disputes.helpers import step

    d = escalated_dispute(as_user)
    decided = step(as_user("data_reviewer"), d["id"], "decision",
                   {"decision": "share", "items": ["姓名"], "terms": "仅核验身份",
                    "reasons": "养老金资格认证确需核验户籍状态", "basis": "《河南省政务数据管理办法》第十七条"})
    signature = decided["signature"]
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/disputes/{d['id']}/decision")
    expect(page.get_by_role("heading", name="政务数据共享争议评判决定书")).to_be_visible()
    block = page.locator(".signature-block")
    expect(block).to_contain_text(signature["number"])
    expect(block).to_contain_text(signature["verification_code"])
    expect(block).to_contain_text("核验（无需登录）：访问 /verify，输入核验码")
    # The shared sheet style applies: the title is centred in the A4 sheet.
    assert page.locator("h1").evaluate("e => getComputedStyle(e).textAlign") == "center"
    page.screenshot(path=str(screenshot("decision").parent / "sign-decision-print.png"), full_page=True)
