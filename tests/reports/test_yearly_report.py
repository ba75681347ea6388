"""The yearly evaluation (Art. 18): a seeded year built through the flows, its figures checked by hand;
reading rules of the drafts; publishing with improvement opinions; the public pages; the exports."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.core.clock import SHANGHAI, clock
from tests.api.helpers import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, review_task, share_request_body, submit
from tests.disputes.helpers import open_dispute
from tests.open_data.helpers import review as review_list
from tests.open_data.helpers import submitted as submitted_list
from tests.rectification.helpers import issue


def at(*args: int) -> None:
    clock.freeze(datetime(*args, tzinfo=SHANGHAI))  # type: ignore[misc]


def decide(reviewer: TestClient, instance_id: int, decision: str) -> None:
    task = review_task(reviewer, instance_id)
    data: dict[str, Any] = {"decision": "approve", "terms": "仅用于社保资格认证"} if decision == "approve" else \
        {"decision": "refuse", "reason": "申请用途超出共享条件", "legal_basis": "《户口登记条例》第三条"}
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
    assert r.status_code == 200, r.text


def seed_year(as_user: Any) -> dict[str, int]:
    """Build 2026 through the flows (hand-computed expectations in the tests below).

    Share requests filed Mon 2 Nov 2026 are due 24:00 Mon 9 Nov (5 working days, receipt day not counted).
    """
    rst, gat = as_user("rst_clerk"), as_user("gat_reviewer")
    at(2026, 11, 2, 9, 0)
    r1 = submit(rst)                      # conditional, approved the same day: on time
    decide(gat, r1["instance_id"], "approve")
    r2 = submit(rst)                      # conditional, refused with basis on Tue 10 Nov: late
    r3 = submit(rst)                      # conditional, never answered: overdue from 10 Nov
    r4 = submit(rst, NOT_SHARED)          # refused at once by the platform, basis from the catalog
    assert r4["status"] == "refused"
    r5 = submit(rst, UNCONDITIONAL)       # granted at once by the platform (provider 省市场监管局)
    assert r5["status"] == "granted"
    r6 = submit(rst)                      # withdrawn by the applicant: needs no reply
    r = rst.post(f"/api/share-requests/{r6['id']}/withdraw", json={"reason": "业务调整，不再需要"})
    assert r.status_code == 200, r.text
    # Two rectification notices to 省人社厅: one stays open, one is withdrawn.
    authority = as_user("data_reviewer")
    issue(authority)
    withdrawn = issue(authority)
    r = authority.post(f"/api/rectification-notices/{withdrawn['id']}/withdraw", json={"reason": "事实认定有误，撤回通知"})
    assert r.status_code == 200, r.text
    # 省公安厅's 2026 open list, published with a conditional and a not-open item.
    listed = submitted_list(as_user("gat_clerk"), year=2026)
    review_list(authority, listed["id"], "approve")
    at(2026, 11, 10, 10, 0)
    decide(gat, r2["instance_id"], "refuse")
    open_dispute(rst, r2["id"])
    # 郑州市人社局 asks 郑州市公安局 on Tue 10 Nov: due Tue 17 Nov, pending on the 12th.
    zz = as_user("zz_clerk").post("/api/share-requests", json={
        **share_request_body(CONDITIONAL), "entry_code": "410100-gaj-0001",
        "items": [i["name"] for i in as_user("zz_clerk").get("/api/catalog/entries/410100-gaj-0001").json()["items"]][:1]})
    assert zz.status_code == 201, zz.text
    # Thu 12 Nov: the review of r3 is overdue and goes to the province's supervision queue.
    at(2026, 11, 12, 9, 0)
    r = as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run")
    assert r.status_code == 200, r.text
    return {"r3": r3["instance_id"]}


def by_code(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["code"]: d["figures"] for d in report["departments"]}


def test_seeded_year_figures_match_the_hand_count(as_user: Any) -> None:
    seed_year(as_user)
    authority = as_user("data_reviewer")
    r = authority.get("/api/reports/yearly", params={"year": 2026})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["region_code"] == "410000" and report["year"] == 2026
    rows = by_code(report)
    gat = rows["410000-gat"]
    # Catalog (demo): one conditional and one not-shared entry, both citing their basis.
    assert (gat["catalog_unconditional"], gat["catalog_conditional"], gat["catalog_not_shared"]) == (0, 1, 1)
    assert (gat["catalog_restricted_with_basis"], gat["catalog_restricted_without_basis"]) == (2, 0)
    # r1 r2 r3 r4 r6 received; r1 r2 r3 need a reply: r1 on time, r2 late, r3 overdue.
    assert gat["requests_received"] == 5
    assert (gat["replies_due"], gat["replies_on_time"], gat["replies_late"], gat["replies_pending"]) == (3, 1, 2, 0)
    assert gat["on_time_rate"] == 33.3
    assert (gat["refused"], gat["refused_with_basis"], gat["refused_without_basis"]) == (2, 2, 0)
    assert (gat["disputes_as_provider"], gat["disputes_open"], gat["disputes_settled"]) == (1, 1, 0)
    assert (gat["escalations"], gat["escalations_open"]) == (1, 1)
    assert (gat["open_items_published"], gat["open_items_conditional"], gat["open_items_not_open"]) == (2, 1, 1)
    assert gat["provided_events"] == 0 and gat["flagged"] == 0
    scjg = rows["410000-scjg"]
    assert (scjg["catalog_unconditional"], scjg["requests_received"], scjg["replies_due"]) == (1, 1, 0)
    assert scjg["on_time_rate"] is None
    rst = rows["410000-rst"]
    assert (rst["requests_made"], rst["requests_received"], rst["disputes_as_requester"]) == (6, 0, 1)
    assert (rst["notices_received"], rst["notices_open"], rst["notices_withdrawn"], rst["notices_accepted"]) == (2, 1, 1, 0)
    # The province covers its cities and counties: 郑州市公安局 received 郑州市人社局's request.
    assert rows["410100-gaj"]["requests_received"] == 1 and rows["410100-rsj"]["requests_made"] == 1
    totals = report["totals"]
    assert (totals["requests_received"], totals["requests_made"], totals["refused"]) == (7, 7, 2)
    assert (totals["replies_due"], totals["replies_on_time"], totals["replies_late"], totals["replies_pending"]) == (4, 1, 2, 1)
    assert totals["on_time_rate"] == 33.3
    assert (totals["notices_received"], totals["escalations"], totals["disputes_as_provider"]) == (2, 1, 1)
    assert "410000-data" not in rows  # the authority has no figure of its own this year

    # A city's report holds its own departments only.
    city = as_user("zz_data_reviewer").get("/api/reports/yearly", params={"year": 2026}).json()
    assert city["region_code"] == "410100"
    assert set(by_code(city)) <= {d for d in rows if d.startswith("4101")}
    assert city["totals"]["requests_received"] == 1 and city["totals"]["replies_pending"] == 1

    # One department's report, for that department.
    own = as_user("gat_reviewer").get("/api/reports/yearly",
                                      params={"year": 2026, "department_code": "410000-gat"}).json()
    assert [d["code"] for d in own["departments"]] == ["410000-gat"] and own["totals"]["requests_received"] == 5


def test_drafts_are_for_the_level_and_its_authorities(as_user: Any, client: TestClient) -> None:
    assert as_user("rst_clerk").get("/api/reports/yearly").json()["region_code"] == "410000"
    r = as_user("zz_clerk").get("/api/reports/yearly", params={"region_code": "410000"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "report_forbidden"
    r = as_user("rst_clerk").get("/api/reports/yearly", params={"department_code": "410000-gat"})
    assert r.status_code == 403
    # The province's authority reads the city's draft (levels below it, read-only).
    assert as_user("data_reviewer").get("/api/reports/yearly", params={"region_code": "410100"}).status_code == 200
    assert client.get("/api/reports/yearly").status_code == 401
    r = as_user("data_reviewer").get("/api/reports/yearly", params={"region_code": "999999"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "region_not_found"
    assert as_user("data_reviewer").get("/api/reports/yearly", params={"year": 1800}).status_code == 422


def test_publish_freezes_the_figures_and_the_public_reads_them_without_login(as_user: Any, client: TestClient) -> None:
    ids = seed_year(as_user)
    authority = as_user("data_reviewer")
    opinions = "一、省公安厅应在5个工作日内答复共享申请。\n二、拒绝共享须列明法律依据。"
    r = authority.post("/api/reports/published", json={"year": 2026, "opinions": opinions})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "report_year_not_ended"
    at(2027, 1, 5, 9, 0)
    r = as_user("gat_reviewer").post("/api/reports/published", json={"year": 2026, "opinions": opinions})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "report_publish_forbidden"
    r = authority.post("/api/reports/published", json={"year": 2026, "opinions": " "})
    assert r.status_code == 422
    r = authority.post("/api/reports/published", json={"year": 2026, "opinions": opinions})
    assert r.status_code == 201, r.text
    published = r.json()
    assert published["figures"]["totals"]["refused"] == 2 and published["opinions"] == opinions
    again = authority.post("/api/reports/published", json={"year": 2026, "opinions": opinions})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "report_already_published"
    # The audit trail records who published what.
    history = as_user("demo_admin").get("/api/admin/audit/verify")
    assert history.status_code == 200, history.text
    # r3 is refused in 2027: the live draft of 2026 changes, the published report does not.
    decide(as_user("gat_reviewer"), ids["r3"], "refuse")
    assert authority.get("/api/reports/yearly", params={"year": 2026}).json()["totals"]["refused"] == 3
    public = client.get(f"/api/reports/published/{published['id']}")
    assert public.status_code == 200 and public.json()["figures"]["totals"]["refused"] == 2
    listed = client.get("/api/reports/published").json()
    assert [(p["year"], p["region_code"]) for p in listed] == [(2026, "410000")]
    page = client.get("/reports/published")
    assert page.status_code == 200 and "2026" in page.text and "河南省" in page.text
    page = client.get(f"/reports/published/{published['id']}")
    assert page.status_code == 200 and "省公安厅应在5个工作日内答复共享申请" in page.text and "<svg" in page.text
    assert client.get("/reports/published/999999").status_code == 404
    xlsx = client.get(f"/api/reports/published/{published['id']}/export", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["年度评估", "改进意见"]
    assert book["改进意见"]["A2"].value == "一、省公安厅应在5个工作日内答复共享申请。"


def test_exports_open_in_excel(as_user: Any) -> None:
    seed_year(as_user)
    authority = as_user("data_reviewer")
    r = authority.get("/api/reports/yearly/export", params={"year": 2026, "format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content))["年度评估"]
    header = [c.value for c in sheet[2]]
    values = {row[0].value: dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=3)}
    assert values["410000-gat"]["收到的共享申请"] == 5 and values["410000-gat"]["按时答复率（%）"] == 33.3
    totals = [row for row in sheet.iter_rows(min_row=3) if row[1].value == "合计"][0]
    assert dict(zip(header, (c.value for c in totals)))["收到的共享申请"] == 7
    r = authority.get("/api/reports/yearly/export", params={"year": 2026, "format": "csv"})
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[1][:3] == ["部门代码", "部门名称", "行政区划"]
    gat = next(line for line in lines if line[0] == "410000-gat")
    assert gat[lines[1].index("收到的共享申请")] == "5"
    r = authority.get("/api/reports/yearly/export", params={"year": 2026, "format": "pdf"})
    assert r.status_code == 422


def test_volume_of_use_comes_from_the_art12_log(as_user: Any) -> None:
    """Events reported by the exchange platform under a grant (Art. 12) are the report's volume of use: the
    providing and the using department each see their side, a flagged use counts once, on the using side."""
    from tests.usage.helpers import event, grant_of, post_events, register_system

    at(2026, 11, 2, 9, 0)
    grant_id = grant_of(as_user("rst_clerk"))  # 省人社厅 obtains 省市场监管局's 市场主体登记信息
    system = register_system(as_user("demo_admin"))
    at(2026, 11, 2, 18, 0)  # the platform reports the day's use in the evening
    machine = TestClient(as_user.app)  # the platform: its own credentials, no person's token
    r = post_events(machine, system, [
        event("y-1", grant_id, rows=100, occurred_at="2026-11-02T10:00:00+08:00"),
        event("y-2", grant_id, rows=50, occurred_at="2026-11-02T11:00:00+08:00"),
        event("y-3", grant_id, rows=7, method="file", occurred_at="2026-11-02T12:00:00+08:00"),  # not granted
        event("y-4", grant_id, rows=900, occurred_at="2025-12-31T23:00:00+08:00"),  # another year
    ])
    machine.close()
    assert r.status_code == 200, r.text
    # Flagged: the file (the grant is for the API) and the use before the grant's period (in 2025).
    assert (r.json()["accepted"], r.json()["flagged"]) == (4, 2), r.text
    at(2026, 11, 3, 9, 0)
    report = as_user("data_reviewer").get("/api/reports/yearly", params={"year": 2026}).json()
    rows = by_code(report)
    provider, consumer = rows["410000-scjg"], rows["410000-rst"]
    assert (provider["provided_events"], provider["provided_rows"], provider["obtained_events"]) == (3, 157, 0)
    assert (consumer["obtained_events"], consumer["obtained_rows"], consumer["provided_events"]) == (3, 157, 0)
    assert (provider["flagged"], consumer["flagged"]) == (0, 1)
    assert (report["totals"]["provided_rows"], report["totals"]["obtained_rows"], report["totals"]["flagged"]) == \
        (157, 157, 1)
