"""In a real browser at 1366×768: a collaboration (two pools messaging each other) drawn on the reviewer's
task page with both pools' steps marked, and on the designer's page of the deployed version."""

import re

from sqlalchemy import select

from app.org.models import Department
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.engine.support import fixture

ACTIVE = re.compile(r"\bgf-active\b")
COMPLETED = re.compile(r"\bgf-completed\b")


def _started(rt, as_user) -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        rt.runner.deploy(session, fixture("collaboration").xml, filename="collaboration.bpmn", actor="system")
        gat = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "test_collab", variables={}, actor="system", subject="协作试验：户籍信息",
                                   business_ref="COLLAB-B1", department_id=gat)
        session.commit()
        instance_id = int(instance.id)
    clerk = as_user("gat_clerk")
    [fill] = [t for t in clerk.get("/api/tasks", params={"view": "todo"}).json()["items"]
              if t["instance_id"] == instance_id]
    r = clerk.post(f"/api/tasks/{fill['id']}/complete", json={"data": {"title": "居民户籍信息"}})
    assert r.status_code == 200, r.text
    return instance_id


def test_the_reviewer_sees_both_pools_on_the_task_page(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    _started(rt, as_user)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="协作试验：户籍信息").click()
    expect(page.get_by_role("heading", name="审批")).to_be_visible()
    host = page.locator("#diagram .gf-diagram-host[data-rendered]")
    expect(host.locator("svg").first).to_be_visible()
    # The reviewer's step in 审批方, and 申请方's steps: what it did and where it is now.
    expect(host.locator('.djs-element[data-element-id="approve"]')).to_have_class(ACTIVE)
    expect(host.locator('.djs-element[data-element-id="prepare"]')).to_have_class(ACTIVE)
    expect(host.locator('.djs-element[data-element-id="fill"]')).to_have_class(COMPLETED)
    expect(host.locator('.djs-element[data-element-id="approval_start"]')).to_have_class(COMPLETED)
    expect(host.locator('.djs-element[data-element-id="p_order"]')).to_be_visible()
    expect(host.locator('.djs-element[data-element-id="p_approval"]')).to_be_visible()
    page.locator("#diagram").scroll_into_view_if_needed()
    path = screenshot("collaboration-task-diagram")
    assert path.stat().st_size > 10_000


def test_the_designer_sees_the_deployed_collaboration(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    _started(rt, as_user)
    log_in(page, "designer", DEMO_PASSWORD)
    page.goto("/designer/processes/test_collab/versions/1")
    expect(page.get_by_role("heading", name=re.compile("共享申请与审批（协作）"))).to_be_visible()
    canvas = page.locator("#diff-canvas")
    # Both pools, their steps and the message flows between them (a vertical line: counted, not "visible").
    expect(canvas.locator('.djs-element[data-element-id="p_approval"]')).to_be_visible()
    expect(canvas.locator('.djs-element[data-element-id="approve"]')).to_be_visible()
    expect(canvas.locator('.djs-connection[data-element-id="mf_request"]')).to_have_count(1)
    expect(canvas.locator('.djs-connection[data-element-id="mf_reply"]')).to_have_count(1)
    expect(page.locator("#diff-error")).to_be_hidden()
    screenshot("collaboration-version")
