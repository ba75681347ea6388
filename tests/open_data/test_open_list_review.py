"""Art. 20–21 end to end: draft from the own catalog, review rounds, publication, the public lists."""

from tests.api.helpers import UNCONDITIONAL
from tests.api.helpers import submit as submit_share_request
from tests.open_data.helpers import (CRIMINAL, HOUSEHOLD, MARKET, YEAR, add, conditional_item, drafted,
                                     new_list, not_open_item, review, submitted)


def _task(client, process_instance_id: int, spec: str) -> dict:
    todo = client.get("/api/tasks", params={"view": "todo"}).json()["items"]
    mine = [t for t in todo if t["instance_id"] == process_instance_id and t["task_spec"] == spec]
    assert len(mine) == 1, todo
    return mine[0]


def test_return_with_an_item_comment_fix_resubmit_and_publish(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = submitted(clerk)
    list_id = created["id"]
    assert created["status"] == "under_review"
    assert created["reviewer_department_name"] == "河南省行政审批和政务信息管理局"
    # Under review the department cannot change it, and the public does not see it.
    r = clerk.put(f"/api/open-lists/{list_id}/items/{HOUSEHOLD}", json=conditional_item())
    assert r.status_code == 409 and r.json()["detail"]["code"] == "open_list_not_editable"
    assert client.get(f"/api/open-data/lists/{list_id}").status_code == 404
    assert client.get("/api/open-data/lists").json() == []

    # The province's data authority holds the review task, due in 10 working days.
    reviewer = as_user("data_reviewer")
    task = _task(reviewer, created["instance_id"], "review")
    assert task["name"] == "审查开放清单" and task["department_code"] == "410000-data"
    assert task["role"] == "authority_reviewer" and task["due_at"].startswith("2026-11-16")
    returned = review(reviewer, list_id, "return", comment="请细化开放条件",
                      item_comments={HOUSEHOLD: "开放条件过宽，应限定为脱敏统计数据并写明申请方式"})
    assert returned["status"] == "returned"
    assert returned["reviews"] == [{
        "round": 1, "decision": "return", "decision_label": "退回修改", "comment": "请细化开放条件",
        "item_comments": {HOUSEHOLD: "开放条件过宽，应限定为脱敏统计数据并写明申请方式"},
        "reviewer": "data_reviewer", "decided_at": returned["reviews"][0]["decided_at"]}]

    # The clerk sees the comment beside the item, and holds the revise task.
    detail = clerk.get(f"/api/open-lists/{list_id}").json()
    by_code = {i["entry_code"]: i for i in detail["items"]}
    assert by_code[HOUSEHOLD]["review_comment"] == "开放条件过宽，应限定为脱敏统计数据并写明申请方式"
    assert by_code[CRIMINAL]["review_comment"] is None
    assert detail["may_edit"] is True
    revise = _task(clerk, created["instance_id"], "revise")
    assert revise["name"] == "修改开放清单并重新提交" and revise["department_code"] == "410000-gat"
    assert reviewer.get("/api/tasks").json()["items"] == []

    r = clerk.put(f"/api/open-lists/{list_id}/items/{HOUSEHOLD}", json=conditional_item(
        open_conditions="仅提供按县区汇总的脱敏统计数据；申请人须在开放平台实名注册并签署数据使用协议"))
    assert r.status_code == 200, r.text
    r = clerk.post(f"/api/open-lists/{list_id}/submit", json={"note": "已按意见细化开放条件"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "under_review"
    assert clerk.get("/api/tasks").json()["items"] == []

    published = review(reviewer, list_id, "approve", comment="同意公布")
    assert published["status"] == "published" and published["review_rounds"] == 2
    assert [r["decision"] for r in published["reviews"]] == ["return", "approve"]
    actions = [h["action"] for h in published["history"]]
    assert actions.index("open_list.submitted") < actions.index("open_list.returned") \
        < actions.index("open_list.resubmitted") < actions.index("open_list.published")
    returned_event = next(h for h in published["history"] if h["action"] == "open_list.returned")
    assert returned_event["actor"] == "data_reviewer"
    assert returned_event["detail"]["item_comments"] == {HOUSEHOLD: "开放条件过宽，应限定为脱敏统计数据并写明申请方式"}
    resubmitted = next(h for h in published["history"] if h["action"] == "open_list.resubmitted")
    assert resubmitted["actor"] == "gat_clerk" and resubmitted["detail"] == {"round": 2, "note": "已按意见细化开放条件"}

    # Public, without any login: the published list and the restricted items with their basis.
    lists = client.get("/api/open-data/lists").json()
    assert [(x["department_name"], x["year"], x["version"]) for x in lists] == [("河南省公安厅", YEAR, 1)]
    items = {i["entry_code"]: i for i in lists[0]["items"]}
    assert items[HOUSEHOLD]["open_conditions"].startswith("仅提供按县区汇总的脱敏统计数据")
    assert "review_comment" not in items[HOUSEHOLD] and "history" not in lists[0]
    assert client.get(f"/api/open-data/lists/{list_id}").json()["status_label"] == "已公布"
    page = client.get("/open-data")
    assert page.status_code == 200
    assert "河南省公安厅 2027年度政务数据开放清单" in page.text and "居民户籍信息" in page.text
    assert "仅提供按县区汇总的脱敏统计数据" in page.text


def test_review_through_the_generic_task_form_is_recorded_too(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = submitted(clerk)
    reviewer = as_user("data_reviewer")
    task = reviewer.get(f"/api/tasks/{_task(reviewer, created['instance_id'], 'review')['id']}").json()
    assert {f["id"] for f in task["form"]} == {"decision", "comment", "item_comments"}
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "return", "item_comments": f'{{"{CRIMINAL}": "依据不完整"}}'}})
    assert r.status_code == 200, r.text
    detail = clerk.get(f"/api/open-lists/{created['id']}").json()
    assert detail["status"] == "returned"
    assert detail["reviews"][0]["item_comments"] == {CRIMINAL: "依据不完整"}
    revise = _task(clerk, created["instance_id"], "revise")
    r = clerk.post(f"/api/tasks/{revise['id']}/complete", json={"data": {"note": "补充依据"}})
    assert r.status_code == 200, r.text
    assert clerk.get(f"/api/open-lists/{created['id']}").json()["status"] == "under_review"


def test_an_entry_obtained_by_sharing_is_refused_citing_the_regulation(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    grant = submit_share_request(clerk, UNCONDITIONAL)  # 省人社厅 obtains 市场主体登记信息 by sharing
    assert grant["status"] == "granted"
    created = new_list(clerk)
    r = clerk.post(f"/api/open-lists/{created['id']}/items",
                   json={"entry_code": MARKET, "data_domain": "市场监管", "open_type": "unconditional"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "entry_obtained_by_sharing"
    assert "通过共享从河南省市场监督管理局获取" in detail["message"] and "第二十一条" in detail["message"]
    assert "不纳入本部门的开放清单" in detail["message"]
    # Another department's entry it never obtained: refused as not its own.
    r = clerk.post(f"/api/open-lists/{created['id']}/items", json=conditional_item())
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_not_own"
    assert clerk.get(f"/api/open-lists/{created['id']}").json()["items"] == []
    # The provider itself may list it.
    owner = as_user("scjg_clerk")
    own = new_list(owner)
    item = add(owner, own["id"], {"entry_code": MARKET, "data_domain": "市场监管", "open_type": "unconditional",
                                  "basis": "不适用", "open_conditions": "不适用"})
    assert item["open_type_label"] == "无条件开放"
    # Conditions and basis belong to the restricted kinds only.
    assert item["basis"] is None and item["open_conditions"] is None
    assert item["data_items"] == ["统一社会信用代码", "企业名称", "法定代表人", "成立日期"]
    assert item["data_format"] == "数据库" and item["update_frequency"] == "每日"


def test_restricted_list_shows_not_open_and_conditional_items_with_basis(client, as_user) -> None:
    gat = as_user("gat_clerk")
    gat_list = submitted(gat)
    scjg = as_user("scjg_clerk")
    scjg_list = new_list(scjg)
    add(scjg, scjg_list["id"], {"entry_code": MARKET, "data_domain": "市场监管", "open_type": "unconditional",
                                "data_items": ["统一社会信用代码", "企业名称"], "data_format": "CSV"})
    assert scjg.post(f"/api/open-lists/{scjg_list['id']}/submit").status_code == 200
    reviewer = as_user("data_reviewer")
    review(reviewer, gat_list["id"], "approve")
    review(reviewer, scjg_list["id"], "approve")

    rows = client.get("/api/open-data/restricted").json()
    assert [(r["entry_code"], r["open_type_label"], r["department_name"]) for r in rows] == [
        (HOUSEHOLD, "有条件开放", "河南省公安厅"), (CRIMINAL, "不予开放", "河南省公安厅")]
    assert rows[0]["open_conditions"] == "仅向经认证的科研机构提供脱敏后的统计数据"
    assert rows[0]["basis"] == "《中华人民共和国个人信息保护法》第十三条"
    assert rows[1]["basis"].startswith("《中华人民共和国刑事诉讼法》")
    only = client.get("/api/open-data/restricted", params={"open_type": "not_open"}).json()
    assert [r["entry_code"] for r in only] == [CRIMINAL]
    assert client.get("/api/open-data/restricted", params={"department_code": "410000-scjg"}).json() == []
    assert len(client.get("/api/open-data/lists").json()) == 2
    assert [x["department_code"] for x in
            client.get("/api/open-data/lists", params={"department_code": "410000-scjg"}).json()] == ["410000-scjg"]

    page = client.get("/open-data/restricted")
    assert page.status_code == 200
    assert "依法不予开放、有条件开放的政务数据目录及其依据" in page.text
    assert "刑事案件侦查信息" in page.text and "《中华人民共和国刑事诉讼法》第一百五十二条" in page.text
    assert "仅向经认证的科研机构提供脱敏后的统计数据" in page.text
    assert "市场主体登记信息" not in page.text


def test_a_revision_keeps_the_published_version_until_it_is_published(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    reviewer = as_user("data_reviewer")
    first = submitted(clerk)
    review(reviewer, first["id"], "approve")
    second = new_list(clerk)
    assert second["version"] == 2 and second["revises_id"] == first["id"] and second["status"] == "draft"
    assert [i["entry_code"] for i in second["items"]] == [HOUSEHOLD, CRIMINAL]  # starts from what is published
    r = clerk.delete(f"/api/open-lists/{second['id']}/items/{CRIMINAL}")
    assert r.status_code == 204
    assert clerk.post(f"/api/open-lists/{second['id']}/submit").status_code == 200
    # Meanwhile the public still sees version 1 in full.
    lists = client.get("/api/open-data/lists").json()
    assert [(x["version"], len(x["items"])) for x in lists] == [(1, 2)]
    review(reviewer, second["id"], "approve")
    lists = client.get("/api/open-data/lists").json()
    assert [(x["version"], len(x["items"])) for x in lists] == [(2, 1)]
    old = client.get(f"/api/open-data/lists/{first['id']}").json()
    assert old["status"] == "superseded" and old["status_label"] == "已被新版本替代"
    assert [r["entry_code"] for r in client.get("/api/open-data/restricted").json()] == [HOUSEHOLD]
    history = clerk.get(f"/api/open-lists/{first['id']}").json()["history"]
    assert history[-1]["action"] == "open_list.superseded"


def test_another_departments_clerk_cannot_touch_the_list(client, as_user) -> None:
    gat = as_user("gat_clerk")
    created = drafted(gat)
    list_id = created["id"]
    other = as_user("scjg_clerk")
    for method, url, body in (
            ("post", f"/api/open-lists/{list_id}/items", {"entry_code": MARKET, "data_domain": "市场监管",
                                                          "open_type": "unconditional"}),
            ("put", f"/api/open-lists/{list_id}/items/{HOUSEHOLD}", conditional_item()),
            ("delete", f"/api/open-lists/{list_id}/items/{HOUSEHOLD}", None),
            ("post", f"/api/open-lists/{list_id}/submit", {}),
            ("post", f"/api/open-lists/{list_id}/discard", None)):
        r = other.request(method, url, json=body)
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["detail"]["code"] in ("open_list_not_yours", "open_list_forbidden")
    assert other.get(f"/api/open-lists/{list_id}").status_code == 404
    # Colleagues without the clerk role may read but not edit.
    reviewer_same_dept = as_user("gat_reviewer")
    assert reviewer_same_dept.get(f"/api/open-lists/{list_id}").status_code == 200
    r = reviewer_same_dept.delete(f"/api/open-lists/{list_id}/items/{HOUSEHOLD}")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "clerk_required"
    assert len(gat.get(f"/api/open-lists/{list_id}").json()["items"]) == 2
    # Only the reviewing authority reviews: not the department itself, not another city's authority.
    assert gat.post(f"/api/open-lists/{list_id}/submit").status_code == 200
    r = gat.post(f"/api/open-lists/{list_id}/review", json={"decision": "approve"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "task_not_yours"
    r = as_user("zz_data_reviewer").post(f"/api/open-lists/{list_id}/review", json={"decision": "approve"})
    assert r.status_code == 404
    assert gat.get(f"/api/open-lists/{list_id}").json()["status"] == "under_review"


def test_lists_i_work_on(client, as_user) -> None:
    gat = as_user("gat_clerk")
    created = submitted(gat)
    new_list(as_user("scjg_clerk"))
    assert [x["id"] for x in gat.get("/api/open-lists").json()] == [created["id"]]
    reviewer = as_user("data_reviewer")
    mine = reviewer.get("/api/open-lists", params={"status": "under_review"}).json()
    assert [(x["department_code"], x["status"]) for x in mine] == [("410000-gat", "under_review")]
    assert as_user("zz_data_reviewer").get("/api/open-lists").json() == []


def test_discard_a_draft(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = drafted(clerk)
    r = clerk.post(f"/api/open-lists/{created['id']}/discard")
    assert r.status_code == 200 and r.json()["status_label"] == "已作废"
    assert r.json()["history"][-1]["action"] == "open_list.discarded"
    assert clerk.get("/api/open-lists").json() == []
    assert [x["id"] for x in clerk.get("/api/open-lists", params={"status": "discarded"}).json()] == [created["id"]]
    r = clerk.put(f"/api/open-lists/{created['id']}/items/{HOUSEHOLD}", json=conditional_item())
    assert r.status_code == 409
    again = new_list(clerk)  # the year is free again
    assert again["version"] == 2 and again["items"] == []
    assert clerk.post(f"/api/open-lists/{again['id']}/submit").status_code == 422  # empty
    add(clerk, again["id"], not_open_item())
    assert clerk.post(f"/api/open-lists/{again['id']}/submit").status_code == 200
    r = clerk.post(f"/api/open-lists/{again['id']}/discard")
    assert r.status_code == 409
