"""In a real browser at 1366×768: the administrator's stuck-instance report, empty, then after the check finds
an instance whose open task row was lost."""

from __future__ import annotations

from sqlalchemy import update

from app.engine.models import Task
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.ops.test_stuck_instances import _start


def test_the_administrator_runs_the_check_and_sees_the_stuck_instance(  # type: ignore[no-untyped-def]
        browser, live_server, page, expect, screenshot, rt) -> None:
    healthy = _start(rt, "XC-2026-101")
    lost = _start(rt, "XC-2026-102")
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.goto("/admin/stuck-instances")
    expect(page.get_by_role("heading", name="停滞的流程实例")).to_be_visible()
    expect(page.locator("#stuck-instances")).to_contain_text("没有停滞的流程实例。")
    expect(page.locator("#stuck-scan")).to_contain_text("尚未完成过完整检查")

    with rt.db.session() as session:
        session.execute(update(Task).where(Task.instance_id == lost).values(status="cancelled"))
        session.commit()
    page.get_by_role("button", name="立即检查停滞的流程实例").click()
    expect(page.get_by_text("已运行“检查停滞的流程实例”：处理 1 项")).to_be_visible()
    row = page.locator(f'#stuck-instances tr[data-instance="{lost}"]')
    expect(row).to_contain_text(f"#{lost}")
    expect(row).to_contain_text("协查 XC-2026-102")
    expect(row).to_contain_text("协查等待")
    expect(row).to_contain_text("发出协查函（ask）")
    expect(page.locator(f'#stuck-instances tr[data-instance="{healthy}"]')).to_have_count(0)
    expect(page.locator("#stuck-scan")).to_contain_text("共 1 个")
    screenshot("stuck-instances")
