"""In a real browser at 1366×768: with the SM suite and encryption on, a department uploads its report to a
rectification notice through the page; the 附件 list says 已加密（SM4）; the download is the file uploaded."""

from __future__ import annotations

from pathlib import Path

from tests.attachments.test_encryption import K1
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.rectification.helpers import issue

REPORT = b"%PDF-1.7\n(rectification report, browser upload)\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def test_an_uploaded_report_is_marked_encrypted_and_downloads_intact(
        page, expect, screenshot, rt, as_user, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rt.settings = rt.settings.model_copy(update={"crypto_suite": "sm", "encrypt_attachments": True,
                                                 "master_keys": {"k1": K1}, "master_key_id": "k1"})
    notice = issue(as_user("data_reviewer"))
    upload = tmp_path / "整改报告.pdf"
    upload.write_bytes(REPORT)
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/rectification-notices/{notice['id']}")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    page.locator("button[type=submit]", has_text="上传附件").click()
    expect(page.locator(".flash")).to_contain_text("已上传 1 个附件")
    card = page.locator(".card", has=page.get_by_role("heading", name="附件", exact=True))
    expect(card).to_contain_text("整改报告.pdf")
    expect(card).to_contain_text("已加密（SM4）")
    card.scroll_into_view_if_needed()
    screenshot("encrypted-attachment")
    with page.expect_download() as download:
        card.get_by_role("link", name="整改报告.pdf").click()
    assert Path(download.value.path()).read_bytes() == REPORT
