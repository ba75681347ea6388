"""The administrators' page of external task incidents in a browser: an administrator registers a worker
system with the external-task scope, the worker's retries run out, the incident is listed with its reason
and retried with one click; the worker fetches the task again."""

from __future__ import annotations

from sqlalchemy import select

from app.external.models import ExternalTask
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.external.helpers import basic, fetch, start


def test_an_administrator_sees_an_incident_and_retries_it(page, expect, screenshot, client, rt) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.goto("/usage/systems")
    page.get_by_label("系统编码（小写字母、数字、. _ -）").fill("exchange-worker")
    page.get_by_label("名称", exact=True).fill("共享交换平台任务执行器")
    page.get_by_label("报送数据提供使用日志").uncheck()
    page.get_by_label("领取并办理外部任务（按主题）").check()
    page.get_by_role("button", name="登记并生成密钥").click()
    expect(page.locator(".error")).to_contain_text("须至少填写一个可领取的主题")  # a worker names its topics
    page.get_by_label("领取并办理外部任务（按主题）").check()
    topics = page.get_by_label("勾选“领取并办理外部任务”时必填", exact=False)
    topics.fill("notify_applicant")
    topics.scroll_into_view_if_needed()
    screenshot("system-form-topics")
    page.get_by_role("button", name="登记并生成密钥").click()
    secret = page.locator("#secret-shown code.secret").inner_text().strip()
    row = page.get_by_role("row").filter(has_text="exchange-worker")
    expect(row).to_contain_text("领取并办理外部任务")
    expect(row.locator("td.client-topics")).to_contain_text("notify_applicant")
    auth = basic("exchange-worker", secret)
    instance_id = start(rt, "GX-2026-0042")
    refused = client.post("/api/external-tasks/fetch-and-lock", headers=auth, json={
        "worker_id": "worker-1", "max_tasks": 1, "topics": [{"name": "exchange.grant", "lock_duration_ms": 60000}]})
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "topic_not_allowed"

    # The administrator adds the exchange platform's topics on the page.
    row.get_by_text("修改主题").click()
    row.get_by_label("可领取的主题（每行一个，或用逗号分隔）").fill("notify_applicant\nexchange.*")
    screenshot("system-topics-form")
    row.get_by_role("button", name="保存主题").click()
    expect(page.get_by_role("status")).to_contain_text("系统凭据 exchange-worker 的可领取主题已更新")
    expect(row.locator("td.client-topics")).to_contain_text("exchange.*")
    screenshot("system-topics-saved")

    [task] = fetch(client, auth, "worker-1")
    r = client.post(f"/api/external-tasks/{task['id']}/failure", headers=auth, json={
        "worker_id": "worker-1", "error_message": "共享交换系统拒绝开通：目标库表不存在",
        "error_details": "ERROR 1146: Table 'share.grant_410000' doesn't exist", "retries": 0})
    assert r.json()["status"] == "incident"

    page.goto("/admin/calendar")
    page.locator("header.top details.nav-more summary").click()
    page.get_by_role("link", name="外部任务故障").click()
    expect(page.get_by_role("heading", name="外部任务故障")).to_be_visible()
    row = page.locator("#incidents tbody tr").filter(has_text="GX-2026-0042")
    expect(row).to_contain_text("交换平台开通")
    expect(row).to_contain_text("exchange.grant")
    expect(row).to_contain_text("共享交换系统拒绝开通：目标库表不存在")
    expect(row).to_contain_text("exchange-worker/worker-1")
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot("incidents")
    row.get_by_label("重试次数").fill("2")
    row.get_by_role("button", name="重试").click()
    expect(page.get_by_text("已重新排队，可重试 2 次")).to_be_visible()
    expect(page.get_by_text("没有待处理的故障。")).to_be_visible()
    expect(page.locator("#resolved")).to_contain_text("待领取")
    screenshot("incident-retried")
    [again] = fetch(client, auth, "worker-2")
    assert again["id"] == task["id"] and again["retries"] == 2
    with rt.db.session() as session:
        row_db = session.execute(select(ExternalTask).where(ExternalTask.instance_id == instance_id)).scalar_one()
        assert row_db.resolved_by == "demo_admin"
