"""Issue 4, "Done when", end to end over HTTP on the migrated database, real engine and calendar.

A clerk downloads the template and imports a catalog spreadsheet, submits it; the data authority returns
one entry with a comment; the clerk fixes it and resubmits; the authority publishes; another department's
share request for one of the entries goes through (an unpublished one is refused with a clear 4xx); a law
change gives two departments update tasks due in 10 working days, counted over the 2026 National Day
holiday and its make-up Saturday; an open list is drafted, reviewed and appears on the public page without
a login. The audit chain verifies and the instance histories hold every step.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.core.clock import SHANGHAI
from tests.api.helpers import review_task
from tests.catalog.helpers import entry_row, review
from tests.open_data.helpers import CRIMINAL

GAT = "410000-gat"
PASSPORT = "410000-gat-0501"   # imported, conditional: the entry another department requests
VEHICLE = "410000-gat-0502"    # imported, unconditional: returned once, then fixed
YEAR = 2027


class Users:
    """Log users in through the API; log them in again after the clock moves (tokens follow it)."""

    def __init__(self, as_user: Any) -> None:
        self.as_user = as_user
        self._clients: dict[str, TestClient] = {}

    def __call__(self, username: str) -> TestClient:
        if username not in self._clients:
            self._clients[username] = self.as_user(username)
        return self._clients[username]

    def move_clock(self, at: datetime) -> None:
        r = self("demo_admin").put("/api/admin/clock", json={"now": at.isoformat()})
        assert r.status_code == 200, r.text
        assert datetime.fromisoformat(r.json()["now"]) == at
        self._clients.clear()


def _local(iso: str | None) -> datetime:
    assert iso is not None
    return datetime.fromisoformat(iso).astimezone(SHANGHAI)


def _actions(history: list[dict[str, Any]]) -> list[str]:
    return [h["action"] for h in history]


def _in_order(actions: list[str], *expected: str) -> None:
    """Each expected action occurs, in this order (other actions may come between)."""
    positions = []
    for action in expected:
        assert action in actions, f"{action} missing: {actions}"
        start = positions[-1] + 1 if positions else 0
        assert action in actions[start:], f"{action} missing after position {start}: {actions}"
        positions.append(actions.index(action, start))


def _sheet_from_template(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    """Fill the downloaded template as a clerk would: drop the examples, one row per data item."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[1]]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        unknown = set(row) - set(headers)
        assert not unknown, unknown
        sheet.append([row.get(h, None) for h in headers])
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


PASSPORT_ENTRY = {"目录代码": PASSPORT, "资源名称": "出入境证件信息", "资源摘要": "全省出入境证件（护照、往来港澳通行证）签发信息。",
                  "资源分类": "部门信息资源/公安", "资源格式": "数据库", "共享类型": "有条件共享",
                  "共享条件": "仅限履行身份核验、社会保障等法定职责时使用，不得向第三方提供。",
                  "共享方式": "接口", "共享依据": "《中华人民共和国出境入境管理法》第十二条", "是否向社会开放": "否",
                  "更新周期": "每日", "涉密属性": "非涉密"}
VEHICLE_ENTRY = {"目录代码": VEHICLE, "资源名称": "机动车登记信息", "资源摘要": "机动车信息",
                 "资源分类": "部门信息资源/公安", "资源格式": "数据库", "共享类型": "无条件共享", "共享方式": "接口、库表",
                 "是否向社会开放": "是", "更新周期": "每日", "涉密属性": "非涉密"}


def test_issue4_done_when(client: TestClient, as_user: Any) -> None:
    users = Users(as_user)
    # Thursday 24 September 2026, before the Mid-Autumn and National Day holidays.
    users.move_clock(datetime(2026, 9, 24, 9, 0, tzinfo=SHANGHAI))
    clerk = users("gat_clerk")

    # ---- 1. The clerk downloads the template and imports the department's catalog spreadsheet. ----------
    r = clerk.get("/api/catalog/template", params={"format": "xlsx"})
    assert r.status_code == 200, r.text
    assert "catalog-template.xlsx" in r.headers["content-disposition"]
    sheet = _sheet_from_template(r.content, [
        {**PASSPORT_ENTRY, "信息项名称": "证件号码", "信息项类型": "字符型", "信息项长度": 32},
        {"目录代码": PASSPORT, "信息项名称": "持证人姓名", "信息项类型": "字符型", "信息项长度": 50},
        {"目录代码": PASSPORT, "信息项名称": "签发日期", "信息项类型": "日期型"},
        {**VEHICLE_ENTRY, "信息项名称": "号牌号码", "信息项类型": "字符型", "信息项长度": 16},
        {"目录代码": VEHICLE, "信息项名称": "车辆类型", "信息项类型": "字符型", "信息项长度": 32},
        {"目录代码": VEHICLE, "信息项名称": "注册登记日期", "信息项类型": "日期型"},
    ])
    r = clerk.post("/api/catalog/versions")
    assert r.status_code == 201, r.text
    version = r.json()
    vid = version["id"]
    assert version["status"] == "draft" and version["department_code"] == GAT
    r = clerk.post(f"/api/catalog/versions/{vid}/import", files={"file": ("公安厅目录.xlsx", sheet)})
    assert r.status_code == 200, r.text
    imported = r.json()
    assert (imported["entries"], imported["added"], imported["changed"]) == (2, 2, 0), imported
    version = clerk.get(f"/api/catalog/versions/{vid}").json()
    passport = entry_row(version, PASSPORT)
    assert passport["change"] == "added" and passport["problems"] == []
    assert [i["name"] for i in passport["data"]["items"]] == ["证件号码", "持证人姓名", "签发日期"]
    assert passport["data"]["share_type"] == "conditional" and passport["data"]["share_methods"] == ["api"]
    assert entry_row(version, VEHICLE)["data"]["share_methods"] == ["api", "table"]

    # ---- 2. Submitted to the provincial data authority. ------------------------------------------------
    r = clerk.post(f"/api/catalog/versions/{vid}/submit", json={"note": "按表格导入新增两项资源"})
    assert r.status_code == 200, r.text
    version = r.json()
    assert version["status"] == "under_review" and version["review_round"] == 1
    assert version["authority_department_code"] == "410000-data"
    review_instance = version["instance_id"]

    # Nothing is published yet: a share request for an imported entry is refused clearly.
    requester = users("rst_clerk")
    early = requester.post("/api/share-requests", json={
        "entry_code": PASSPORT, "items": ["证件号码"], "purpose": "社会保险待遇资格认证",
        "scope": "省人社厅社保经办人员", "period_from": "2026-10-01", "period_to": "2027-09-30", "method": "api",
        "legal_basis": "《社会保险法》第七十四条"})
    assert early.status_code == 422, early.text
    assert early.json()["detail"]["code"] in ("entry_not_found", "entry_not_published")
    assert PASSPORT in early.json()["detail"]["message"] or "出入境证件信息" in early.json()["detail"]["message"]

    # ---- 3. The authority returns one entry with a comment, approves the other. -------------------------
    authority = users("data_reviewer")
    [task] = [t for t in authority.get("/api/tasks").json()["items"] if t["instance_id"] == review_instance]
    assert task["name"] == "审定政务数据资源目录" and task["department_code"] == "410000-data"
    aids = {a["code"]: a for a in authority.get(f"/api/catalog/versions/{vid}/review-aids").json()["entries"]}
    assert aids[PASSPORT]["art15"]["ok"] is True
    assert aids[PASSPORT]["classification"]["ok"] is True
    comment = "资源摘要过简，请写明数据范围（登记车辆种类、覆盖地区）和更新方式"
    version = review(authority, vid, {PASSPORT: "approve", VEHICLE: {"decision": "return", "comment": comment}},
                     comment="一项退回修改")
    assert version["status"] == "returned" and version["status_label"] == "已退回"
    assert entry_row(version, VEHICLE)["comment"] == comment
    assert entry_row(version, PASSPORT)["decision"] == "approve"
    assert [t["name"] for t in clerk.get("/api/tasks").json()["items"]] == ["修改目录并重新提交"]
    # The clerk sees the comment on the version page too.
    assert comment in _page(client, "gat_clerk", f"/catalog/versions/{vid}")

    # ---- 4. The clerk fixes the returned entry and resubmits. -------------------------------------------
    fixed = {**entry_row(version, VEHICLE)["data"],
             "summary": "全省登记的汽车、摩托车、挂车登记信息，含号牌、车辆类型和注册登记日期，按日更新。"}
    r = clerk.put(f"/api/catalog/versions/{vid}/entries/{VEHICLE}", json=fixed)
    assert r.status_code == 200, r.text
    assert r.json()["needs_decision"] is True
    r = clerk.post(f"/api/catalog/versions/{vid}/submit", json={"note": "已补充摘要"})
    assert r.status_code == 200, r.text
    version = r.json()
    assert version["status"] == "under_review" and version["review_round"] == 2
    assert [e["code"] for e in version["entries"] if e["needs_decision"]] == [VEHICLE]

    # ---- 5. The authority publishes. --------------------------------------------------------------------
    version = review(authority, vid, {VEHICLE: "approve"})
    assert version["status"] == "published" and version["published_by"] == "data_reviewer"
    published = {e["code"]: e for e in requester.get("/api/catalog/entries", params={"department_code": GAT}).json()}
    assert {PASSPORT, VEHICLE} <= set(published)
    assert published[VEHICLE]["summary"].startswith("全省登记的汽车")
    # The published catalog exports again.
    r = clerk.get(f"/api/catalog/versions/{vid}/export", params={"format": "xlsx"})
    exported = {row[2] for row in load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True)}
    assert {PASSPORT, VEHICLE} <= exported

    # ---- 6. Another department's share request for one of its entries goes through. --------------------
    r = requester.post("/api/share-requests", json={
        "entry_code": PASSPORT, "items": ["证件号码", "持证人姓名"], "purpose": "社会保险待遇资格认证",
        "scope": "省人社厅社保经办人员，社保业务系统", "period_from": "2026-10-01", "period_to": "2027-09-30",
        "method": "api", "legal_basis": "《社会保险法》第七十四条"})
    assert r.status_code == 201, r.text
    share = r.json()
    assert share["status"] == "under_review"
    reviewer = users("gat_reviewer")
    share_task = review_task(reviewer, share["instance_id"])
    r = reviewer.post(f"/api/tasks/{share_task['id']}/complete",
                      json={"data": {"decision": "approve", "terms": "仅用于资格认证，不得留存或向第三方提供"}})
    assert r.status_code == 200, r.text
    share = requester.get(f"/api/share-requests/{share['id']}").json()
    assert share["status"] == "granted"
    assert share["grant"]["items"] == ["证件号码", "持证人姓名"]

    # ---- 7. A law is revised: two departments get update tasks due in 10 working days. ------------------
    # Recorded Tuesday 29 September. Working days after it: 9/30, then 10/1–10/7 off (National Day),
    # 10/8, 10/9, Saturday 10/10 (make-up workday), 10/12–10/16, 10/19: the 10th is Monday 19 October.
    # Counting weekdays only would give Tuesday 13 October.
    users.move_clock(datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI))
    authority = users("data_reviewer")
    r = authority.post("/api/catalog/update-triggers", json={
        "kind": "law_revised", "document_number": "豫人常〔2026〕31号", "document_date": "2026-09-24",
        "effective_on": "2026-09-29",
        "summary": "《河南省公共安全技术防范管理条例》修订，调整公安、市场监管部门数据采集职责",
        "department_codes": ["410000-gat", "410000-scjg"]})
    assert r.status_code == 201, r.text
    trigger = r.json()
    duties = {d["department_code"]: d for d in trigger["duties"]}
    assert set(duties) == {"410000-gat", "410000-scjg"}
    for code, username in (("410000-gat", "gat_clerk"), ("410000-scjg", "scjg_clerk")):
        duty = duties[code]
        assert duty["status"] == "open"
        assert _local(duty["due_at"]).date().isoformat() == "2026-10-19", duty
        [todo] = [t for t in users(username).get("/api/tasks").json()["items"]
                  if t["instance_id"] == duty["instance_id"]]
        assert todo["name"] == "提交更新后的目录" and todo["department_code"] == code
        assert todo["due_rule"] == "10WD（catalog_update）"
        due = _local(todo["due_at"])
        assert due.date().isoformat() == "2026-10-19" and (due.hour, due.minute) == (23, 59)
        assert todo.get("due_provisional") in (False, None)
        assert "豫人常〔2026〕31号" in todo["subject"]
    # The calendar the users see agrees.
    r = users("demo_admin").get("/api/calendar/deadline",
                                params={"start": "2026-09-29T10:00:00+08:00", "working_days": 10})
    assert r.status_code == 200, r.text
    assert _local(r.json()["due_at"]).date().isoformat() == "2026-10-19" and r.json()["provisional"] is False

    # ---- 8. An open list is drafted from the own catalog, reviewed and published. -----------------------
    clerk = users("gat_clerk")
    r = clerk.post("/api/open-lists", json={"year": YEAR, "note": "2027年度公安数据开放"})
    assert r.status_code == 201, r.text
    open_list = r.json()
    list_id = open_list["id"]
    for body in (
        {"entry_code": VEHICLE, "data_domain": "交通出行", "data_items": ["车辆类型", "注册登记日期"],
         "data_format": "CSV", "open_type": "unconditional", "update_frequency": "每月",
         "summary": "按车辆类型、注册登记日期汇总的机动车登记信息"},
        {"entry_code": PASSPORT, "data_domain": "公共安全", "data_items": ["签发日期"], "data_format": "CSV",
         "open_type": "conditional", "open_conditions": "仅向经认证的科研机构提供按月汇总的签发数量",
         "basis": "《中华人民共和国个人信息保护法》第十三条", "update_frequency": "每月"},
        {"entry_code": CRIMINAL, "data_domain": "公共安全", "open_type": "not_open",
         "basis": "《中华人民共和国刑事诉讼法》第一百五十二条；国家有关保密规定"},
    ):
        r = clerk.post(f"/api/open-lists/{list_id}/items", json=body)
        assert r.status_code == 201, r.text
    # An entry the department only obtained by sharing may not be listed (the requester's side).
    r = users("rst_clerk").post("/api/open-lists", json={"year": YEAR})
    assert r.status_code == 201, r.text
    r = users("rst_clerk").post(f"/api/open-lists/{r.json()['id']}/items", json={
        "entry_code": PASSPORT, "data_domain": "公共安全", "open_type": "unconditional"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_obtained_by_sharing", r.text
    r = clerk.post(f"/api/open-lists/{list_id}/submit", json={"note": "请审查"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review"
    # Not public while under review.
    public = TestClient(client.app, follow_redirects=False)
    assert public.get(f"/api/open-data/lists/{list_id}").status_code == 404
    authority = users("data_reviewer")
    r = authority.post(f"/api/open-lists/{list_id}/review", json={"decision": "approve", "comment": "同意公布"})
    assert r.status_code == 200, r.text
    open_list = r.json()
    assert open_list["status"] == "published"
    open_instance = open_list["instance_id"]

    # ---- 9. The public sees it without logging in. ------------------------------------------------------
    lists = public.get("/api/open-data/lists", params={"department_code": GAT}).json()
    assert [(x["id"], x["year"]) for x in lists] == [(list_id, YEAR)]
    items = {i["entry_code"]: i for i in lists[0]["items"]}
    assert set(items) == {VEHICLE, PASSPORT, CRIMINAL}
    assert items[VEHICLE]["open_type"] == "unconditional"
    restricted = {i["entry_code"]: i for i in public.get("/api/open-data/restricted",
                                                           params={"department_code": GAT}).json()}
    assert restricted[PASSPORT]["basis"] == "《中华人民共和国个人信息保护法》第十三条"
    assert restricted[CRIMINAL]["open_type"] == "not_open"
    page = public.get("/open-data")
    assert page.status_code == 200
    assert "河南省公安厅 2027年度政务数据开放清单" in page.text and "机动车登记信息" in page.text
    one = public.get(f"/open-data/lists/{list_id}")
    assert one.status_code == 200 and "出入境证件信息" in one.text
    page = public.get("/open-data/restricted")
    assert page.status_code == 200 and "《中华人民共和国个人信息保护法》第十三条" in page.text

    # ---- 10. After the holiday, the police department submits its updated catalog: its duty is done. ----
    users.move_clock(datetime(2026, 10, 9, 10, 0, tzinfo=SHANGHAI))
    clerk = users("gat_clerk")
    r = clerk.post("/api/catalog/versions", json={"note": "按豫人常〔2026〕31号更新"})
    assert r.status_code == 201, r.text
    update = r.json()
    assert update["base_version_id"] == vid
    changed = {**entry_row(update, PASSPORT)["data"], "update_cycle": "实时"}
    assert clerk.put(f"/api/catalog/versions/{update['id']}/entries/{PASSPORT}", json=changed).status_code == 200
    r = clerk.post(f"/api/catalog/versions/{update['id']}/submit")
    assert r.status_code == 200, r.text
    by_department = {d["department_code"]: d for d in users("data_reviewer").get("/api/catalog/update-duties").json()
                     if d["trigger"]["id"] == trigger["id"]}
    assert by_department["410000-gat"]["status"] == "fulfilled"
    assert by_department["410000-gat"]["version_id"] == update["id"]
    assert by_department["410000-scjg"]["status"] == "open"
    assert [t for t in clerk.get("/api/tasks").json()["items"] if t["name"] == "提交更新后的目录"] == []
    # Comparing the two versions shows the change field by field.
    r = clerk.get("/api/catalog/versions/compare", params={"from_version_id": vid, "to_version_id": update["id"]})
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["added"] == [] and diff["withdrawn"] == []
    assert [(c["code"], [f["field"] for f in c["fields"]]) for c in diff["changed"]] == [(PASSPORT, ["update_cycle"])]

    # ---- 11. The audit chain verifies; every step is in the histories. ----------------------------------
    admin = users("demo_admin")
    verified = admin.get("/api/admin/audit/verify").json()
    assert verified["ok"] is True, verified

    page = clerk.get(f"/api/catalog/versions/{vid}/history", params={"limit": 100}).json()
    assert page["next_cursor"] is None  # the whole trail in one page (issue 12: the trail pages)
    trail = _actions(page["items"])
    _in_order(trail, "catalog_version.created", "catalog_version.imported", "catalog_version.submitted",
              "catalog_version.reviewed", "catalog_version.returned", "catalog_version.entry_changed",
              "catalog_version.resubmitted", "catalog_version.reviewed", "catalog_version.published")
    instance = clerk.get(f"/api/instances/{review_instance}").json()
    assert instance["status"] == "completed"
    _in_order(_actions(instance["history"]), "catalog_version.submitted", "instance.started", "task.created",
              "task.completed", "catalog_version.reviewed", "catalog_version.returned", "task.completed",
              "catalog_version.resubmitted", "task.completed", "catalog_version.reviewed",
              "catalog_version.published")
    assert "instance.completed" in _actions(instance["history"])

    share_history = _actions(users("rst_clerk").get(f"/api/share-requests/{share['id']}").json()["history"])
    _in_order(share_history, "share_request.submitted", "task.created", "task.completed", "share_grant.created")

    for code, duty in duties.items():
        instance = admin.get(f"/api/instances/{duty['instance_id']}").json()
        assert instance["status"] == ("completed" if code == "410000-gat" else "running")
        history = instance["history"]
        _in_order(_actions(history), "catalog_update_duty.assigned", "instance.started", "task.created")
        assigned = history[0]
        assert assigned["actor"] == "data_reviewer"
        assert assigned["detail"]["document_number"] == "豫人常〔2026〕31号"
        assert assigned["detail"]["department"] == code and assigned["detail"]["trigger_id"] == trigger["id"]
    gat_duty = _actions(admin.get(f"/api/instances/{duties['410000-gat']['instance_id']}").json()["history"])
    _in_order(gat_duty, "catalog_update_duty.assigned", "instance.started", "task.created", "task.completed",
              "instance.completed", "catalog_update_duty.fulfilled")

    opened = clerk.get(f"/api/open-lists/{list_id}").json()
    _in_order(_actions(opened["history"]), "open_list.created", "open_list.item_added", "open_list.submitted",
              "open_list.published")
    open_instance_history = _actions(clerk.get(f"/api/instances/{open_instance}").json()["history"])
    _in_order(open_instance_history, "open_list.submitted", "instance.started", "task.created", "task.completed",
              "open_list.published")
    assert "instance.completed" in open_instance_history


def _page(client: TestClient, username: str, url: str) -> str:
    """Log in through the login page and return a page's HTML."""
    import re

    from tests.conftest import DEMO_PASSWORD

    c = TestClient(client.app, follow_redirects=False)
    login = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token, "next": url})
    assert r.status_code == 303, r.text
    page = c.get(url)
    assert page.status_code == 200, page.text
    return page.text
