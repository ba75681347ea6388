"""In a real browser at 1366×768: a designer moves running instances of v1 to v2 from the migration page."""

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.designer.migration_helpers import PROCESS, open_tasks, three_instances, version_of


def test_designer_migrates_the_selected_instance(page, expect, screenshot, rt) -> None:  # type: ignore[no-untyped-def]
    at_prepare, at_review, at_archive = three_instances(rt)
    log_in(page, "designer", DEMO_PASSWORD)
    page.goto(f"/designer/processes/{PROCESS}/migrate")
    expect(page.get_by_role("heading", name="迁移运行中的实例到版本 2")).to_be_visible()
    blocked = page.locator(f'tr[data-instance="{at_archive}"]')
    expect(blocked).to_contain_text("当前所在步骤 归档（archive） 在新版本中已删除或改名")
    expect(blocked.get_by_role("checkbox")).to_be_disabled()
    screenshot("candidates")

    page.get_by_role("checkbox", name=f"选择实例 {at_review}").check()
    page.get_by_role("button", name="迁移所选").click()
    expect(page.locator(".flash")).to_have_text("已将 1 个实例迁移到版本 2")
    expect(page.locator(f'tr[data-instance="{at_review}"]')).to_have_count(0)
    assert version_of(rt, at_review) == 2 and version_of(rt, at_prepare) == 1
    assert [t.task_spec for t in open_tasks(rt, at_review)] == ["review"]

    page.get_by_role("button", name="全部迁移").click()
    expect(page.locator(".flash")).to_contain_text("已将 1 个实例迁移到版本 2；1 个未迁移（实例")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="全部迁移")).to_have_count(0)  # nothing left that can move
    assert version_of(rt, at_prepare) == 2 and version_of(rt, at_archive) == 1
    screenshot("after-all")
