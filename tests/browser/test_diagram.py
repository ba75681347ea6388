"""In a real browser at 1366×768: the 流程图 of a case, on the reviewer's task page and on the share
request's own page: the active step highlighted with who holds it, the path taken, a step's history."""

import re

import pytest

from tests.api.helpers import review_task, submit
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD

ACTIVE = re.compile(r"\bgf-active\b")
COMPLETED = re.compile(r"\bgf-completed\b")
TAKEN = re.compile(r"\bgf-taken\b")
MARKED = re.compile(r"\bgf-")


def test_reviewer_sees_the_diagram_on_the_task_page(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name=task["subject"]).click()
    page.get_by_role("button", name="签收", exact=True).click()

    box = page.locator("#diagram")
    expect(box.get_by_role("heading", name="流程图")).to_be_visible()
    host = box.locator(".gf-diagram-host[data-rendered]")
    expect(host.locator("svg").first).to_be_visible()
    # The reviewer's own step (element "review") is the active one; the untaken branches are not marked.
    active = host.locator('.djs-element[data-element-id="review"]')
    expect(active).to_have_class(ACTIVE)
    expect(host.locator('.djs-element[data-element-id="submitted"]')).to_have_class(COMPLETED)
    expect(host.locator('.djs-element[data-element-id="grant_at_once"]')).not_to_have_class(MARKED)
    expect(host.locator('.djs-connection[data-element-id="flow_conditional"]')).to_have_class(TAKEN)
    expect(host.locator('.djs-connection[data-element-id="flow_unconditional"]')).not_to_have_class(TAKEN)
    # Who holds it and until when, on the step itself.
    expect(host.locator(".gf-badge")).to_have_text("张伟（省公安厅审核人） · 11月9日到期")

    box.scroll_into_view_if_needed()
    active.click()
    panel = host.locator(".gf-diagram-panel")
    expect(panel.get_by_role("heading", name="审核共享申请")).to_be_visible()
    expect(panel).to_contain_text("办理中")
    expect(panel.locator("li")).to_have_count(2)
    expect(panel.locator("li").nth(0)).to_contain_text("生成待办，期限至 11月9日")
    expect(panel.locator("li").nth(1)).to_contain_text("签收任务")
    expect(panel.locator("li").nth(1)).to_contain_text("张伟（省公安厅审核人）")
    path = screenshot("task-diagram")
    assert path.stat().st_size > 10_000


def test_the_share_request_page_shows_the_diagram(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    created = submit(as_user("rst_clerk"))
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/share-requests/{created['id']}")
    host = page.locator("#diagram .gf-diagram-host[data-rendered]")
    expect(host.locator('.djs-element[data-element-id="review"]')).to_have_class(ACTIVE)
    expect(host.locator(".gf-badge")).to_have_text("待签收（审核人）河南省公安厅 · 11月9日到期")
    host.locator('.djs-element[data-element-id="submitted"]').click()
    expect(host.locator(".gf-diagram-panel li")).to_contain_text("流程启动")
    page.locator("#diagram").scroll_into_view_if_needed()
    screenshot("share-request-diagram")


def test_a_diagram_the_person_may_not_see_says_so(page, expect, as_user) -> None:  # type: ignore[no-untyped-def]
    # Another city's reviewer is refused the API (404): the box says so in Chinese, nothing is drawn.
    created = submit(as_user("rst_clerk"))
    log_in(page, "zz_reviewer", DEMO_PASSWORD)
    page.goto(f"/share-requests/{created['id']}")
    expect(page.get_by_text("共享申请不存在")).to_be_visible()
    expect(page.locator("#diagram")).to_have_count(0)


def _catalog_version(as_user):  # type: ignore[no-untyped-def]
    from tests.catalog.helpers import add, new_draft
    from tests.catalog.helpers import submit as submit_version

    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit_version(clerk, vid)
    return f"/catalog/versions/{vid}", "gat_clerk", "review"


def _open_list(as_user):  # type: ignore[no-untyped-def]
    from tests.open_data.helpers import submitted

    return f"/open-lists/{submitted(as_user('gat_clerk'))['id']}", "gat_clerk", "review"


def _dispute(as_user):  # type: ignore[no-untyped-def]
    from tests.disputes.helpers import open_dispute, refused_request

    d = open_dispute(as_user("rst_clerk"), refused_request(as_user)["id"])
    return f"/disputes/{d['id']}", "rst_clerk", "provider_position"


def _notice(as_user):  # type: ignore[no-untyped-def]
    from tests.rectification.helpers import issue

    return f"/rectification-notices/{issue(as_user('data_reviewer'))['id']}", "rst_clerk", "rectify"


@pytest.mark.parametrize("make", [_catalog_version, _open_list, _dispute, _notice],
                         ids=["catalog-version", "open-list", "dispute", "rectification-notice"])
def test_every_case_page_shows_its_diagram(page, expect, screenshot, as_user, make) -> None:  # type: ignore[no-untyped-def]
    url, username, waiting = make(as_user)
    log_in(page, username, DEMO_PASSWORD)
    page.goto(url)
    host = page.locator("#diagram .gf-diagram-host[data-rendered]")
    expect(host.locator(f'.djs-element[data-element-id="{waiting}"]')).to_have_class(ACTIVE)
    expect(host.locator(".gf-badge").first).to_be_visible()
    page.locator("#diagram").scroll_into_view_if_needed()
    screenshot("diagram")
