"""Catalog versions (Art. 8, 15): drafting, review rounds, publication, snapshots, comparison, access."""

from tests.catalog.helpers import add, entry_body, entry_row, new_draft, review, submit

GAT_0001 = "410000-gat-0001"  # 居民户籍信息, conditional
GAT_0002 = "410000-gat-0002"  # 刑事案件侦查信息, not shared


def _published(client, code: str) -> dict | None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/catalog/entries/{code}")
    return r.json() if r.status_code == 200 else None


def test_draft_starts_as_a_copy_of_the_published_catalog(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    draft = new_draft(clerk)
    assert draft["status"] == "draft" and draft["status_label"] == "草稿"
    assert draft["number"] == 1 and draft["department_code"] == "410000-gat"
    assert [e["code"] for e in draft["entries"]] == [GAT_0001, GAT_0002]
    assert {e["change"] for e in draft["entries"]} == {"unchanged"}
    assert entry_row(draft, GAT_0001)["data"]["legal_basis"].startswith("《中华人民共和国户口登记条例》")
    assert draft["may_edit"] is True and draft["may_review"] is False
    # One version in the works per department.
    r = clerk.post("/api/catalog/versions")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "catalog_version_open"
    assert r.json()["detail"]["version_id"] == draft["id"]
    assert "正在编制或审定中" in r.json()["detail"]["message"]


def test_review_round_trip_return_one_entry_fix_resubmit_publish(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    draft = new_draft(clerk)
    vid = draft["id"]
    add(clerk, vid)  # 410000-gat-0100 出入境证件信息
    changed = {**entry_row(draft, GAT_0001)["data"], "update_cycle": "实时"}
    assert clerk.put(f"/api/catalog/versions/{vid}/entries/{GAT_0001}", json=changed).status_code == 200
    r = clerk.post(f"/api/catalog/versions/{vid}/entries/{GAT_0002}/withdraw")
    assert r.status_code == 200 and r.json()["change"] == "withdrawn"
    version = submit(clerk, vid, note="增补出入境数据")
    assert version["status"] == "under_review" and version["review_round"] == 1
    assert version["authority_department_code"] == "410000-data"
    assert version["counts"] == {"unchanged": 0, "added": 1, "changed": 1, "withdrawn": 1}
    # Under review nothing can be edited.
    r = clerk.put(f"/api/catalog/versions/{vid}/entries/{GAT_0001}", json=changed)
    assert r.status_code == 409 and r.json()["detail"]["code"] == "catalog_version_not_editable"

    authority = as_user("data_reviewer")
    todo = authority.get("/api/tasks").json()["items"]
    assert [(t["name"], t["department_code"], t["role"]) for t in todo] == [
        ("审定政务数据资源目录", "410000-data", "authority_reviewer")]
    assert todo[0]["subject"] == "河南省公安厅政务数据资源目录第1版"
    # A city authority has nothing to review here.
    assert as_user("zz_data_reviewer").get("/api/tasks").json()["items"] == []

    version = review(authority, vid, {
        "410000-gat-0100": {"decision": "return", "comment": "摘要过简，请写明数据范围"},
        GAT_0001: "approve", GAT_0002: "approve"}, comment="请补充后重新提交")
    assert version["status"] == "returned" and version["status_label"] == "已退回"
    returned = entry_row(version, "410000-gat-0100")
    assert returned["decision"] == "return" and returned["comment"] == "摘要过简，请写明数据范围"
    assert returned["decided_round"] == 1
    assert entry_row(version, GAT_0001)["decision"] == "approve"
    assert version["review_comment"] == "请补充后重新提交"
    clerk_todo = clerk.get("/api/tasks").json()["items"]
    assert [t["name"] for t in clerk_todo] == ["修改目录并重新提交"]
    # Nothing is published yet.
    assert _published(clerk, "410000-gat-0100") is None
    assert _published(clerk, GAT_0001)["update_cycle"] == "每日"

    # Resubmitting without touching the returned entry is refused.
    r = clerk.post(f"/api/catalog/versions/{vid}/submit")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "returned_entries_unrevised"
    assert r.json()["detail"]["entries"] == ["410000-gat-0100"]
    fixed = entry_body(summary="全省出入境证件办理信息，含护照、往来港澳通行证，按日更新。")
    r = clerk.put(f"/api/catalog/versions/{vid}/entries/410000-gat-0100", json=fixed)
    assert r.status_code == 200 and r.json()["needs_decision"] is True
    assert r.json()["comment"] == "摘要过简，请写明数据范围"  # last comment stays visible
    version = submit(clerk, vid, note="已补充摘要")
    assert version["status"] == "under_review" and version["review_round"] == 2
    assert version["note"] == "已补充摘要"
    # Only the revised entry is pending; the approvals of round 1 stand.
    assert [e["code"] for e in version["entries"] if e["needs_decision"]] == ["410000-gat-0100"]

    version = review(authority, vid, {"410000-gat-0100": "approve"})
    assert version["status"] == "published" and version["published_by"] == "data_reviewer"
    assert version["open_task"] is None
    added = _published(clerk, "410000-gat-0100")
    assert added["status"] == "published" and added["summary"].startswith("全省出入境证件办理信息")
    assert added["department_code"] == "410000-gat"
    assert _published(clerk, GAT_0001)["update_cycle"] == "实时"
    assert _published(clerk, GAT_0002)["status"] == "withdrawn"
    listed = clerk.get("/api/catalog/entries", params={"department_code": "410000-gat"}).json()
    assert [e["code"] for e in listed] == [GAT_0001, "410000-gat-0100"]

    page = clerk.get(f"/api/catalog/versions/{vid}/history", params={"limit": 100}).json()
    assert page["next_cursor"] is None  # the whole trail fits in one page of 100
    history = [h["action"] for h in page["items"]]
    for action in ("catalog_version.created", "catalog_version.submitted", "catalog_version.reviewed",
                   "catalog_version.returned", "catalog_version.resubmitted", "catalog_version.published"):
        assert action in history, action
    assert history.index("catalog_version.returned") < history.index("catalog_version.resubmitted") \
        < history.index("catalog_version.published")
    assert as_user("demo_admin").get("/api/admin/audit/verify").json()["ok"] is True
    # A new draft starts from the published result.
    second = new_draft(clerk)
    assert second["number"] == 2 and second["base_version_id"] == vid
    assert [e["code"] for e in second["entries"]] == [GAT_0001, "410000-gat-0100"]


def test_each_decision_is_checked(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    add(clerk, vid, code="410000-gat-0101", name="驾驶证信息")
    submit(clerk, vid)
    authority = as_user("data_reviewer")
    # A return without a comment, an undecided entry, an unchanged entry, an unknown code.
    r = authority.post(f"/api/catalog/versions/{vid}/review", json={"decisions": [
        {"code": "410000-gat-0100", "decision": "return"},
        {"code": GAT_0001, "decision": "approve"},
        {"code": "nope-1", "decision": "approve"}]})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "review_decisions_invalid"
    messages = " ".join(e["message"] for e in detail["errors"])
    assert "退回条目 410000-gat-0100 时必须写明意见" in messages
    assert f"条目 {GAT_0001} 未变更，无需审定" in messages
    assert "该版本中没有目录条目“nope-1”" in messages
    assert detail["pending"] == ["410000-gat-0101"]
    # The task is untouched: still open, still the authority's.
    assert [t["name"] for t in authority.get("/api/tasks").json()["items"]] == ["审定政务数据资源目录"]
    # Through the generic task inbox the same rules apply (JSON field of the form).
    task = authority.get(f"/api/tasks/{authority.get('/api/tasks').json()['items'][0]['id']}").json()
    assert {f["id"] for f in task["form"]} == {"decisions", "comment"}
    r = authority.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decisions": {
        "410000-gat-0100": {"decision": "approve"}}}})
    assert r.status_code == 422 and r.json()["detail"]["pending"] == ["410000-gat-0101"]
    r = authority.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decisions": {
        "410000-gat-0100": "approve", "410000-gat-0101": "approve"}}})
    assert r.status_code == 200, r.text
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["status"] == "published"


def test_art15_problems_are_shown_while_drafting_and_block_submission(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    row = add(clerk, vid, share_type="conditional", share_conditions="限于身份核验")
    assert [p["code"] for p in row["problems"]] == ["legal_basis_required"]
    r = clerk.post(f"/api/catalog/versions/{vid}/submit")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "legal_basis_required"
    assert detail["errors"][0]["entry"] == "410000-gat-0100"
    assert "第十五条" in detail["message"] and "410000-gat-0100" in detail["message"]
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["status"] == "draft"
    fixed = entry_body(share_type="conditional", share_conditions="限于身份核验", legal_basis="《出境入境管理法》第十二条")
    assert clerk.put(f"/api/catalog/versions/{vid}/entries/410000-gat-0100", json=fixed).json()["problems"] == []
    version = submit(clerk, vid)
    aid = version["review_aids"]["entries"][0]
    assert aid["code"] == "410000-gat-0100"
    assert aid["art15"]["ok"] is True and aid["art15"]["share_type_label"] == "有条件共享"
    assert aid["art15"]["legal_basis"] == "《出境入境管理法》第十二条"
    assert aid["classification"] == {"ok": True, "value": "非涉密", "message": "非涉密，可编入目录"}
    # Classified data never gets into a draft.
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(code="410000-gat-0109",
                                                                         classification="机密"))
    assert r.status_code in (409, 422)


def test_possible_duplicate_collection_is_flagged_naming_the_other_entry(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    market = [{"name": n, "type": "字符型"} for n in ("统一社会信用代码", "企业名称", "法定代表人", "成立日期")]
    add(clerk, vid, code="410000-gat-0200", name="企业登记信息（公安）", items=market)  # same 4 names
    add(clerk, vid, code="410000-gat-0201", name="涉案企业信息",
        items=[*market, {"name": "涉案编号", "type": "字符型"}])  # 4 of 5: Jaccard 0.8
    add(clerk, vid, code="410000-gat-0202", name="企业联系人",
        items=[*market[:2], {"name": "联系人", "type": "字符型"}, {"name": "电话", "type": "字符型"}])  # 2/6
    add(clerk, vid, code="410000-gat-0203", name="姓名清单", items=[{"name": "姓名", "type": "字符型"}])
    aids = {a["code"]: a for a in clerk.get(f"/api/catalog/versions/{vid}/review-aids").json()["entries"]}
    same = aids["410000-gat-0200"]["duplicates"]
    assert [(d["code"], d["department_name"], d["similarity"]) for d in same] == [
        ("410000-scjg-0001", "河南省市场监督管理局", 1.0)]
    assert "市场主体登记信息" in same[0]["message"] and "第十条" in same[0]["message"]
    assert aids["410000-gat-0201"]["duplicates"][0]["similarity"] == 0.8
    assert aids["410000-gat-0202"]["duplicates"] == []
    assert aids["410000-gat-0203"]["duplicates"] == []  # one common name says nothing
    # The department's own published entries are not "another department's".
    assert all(d["department_code"] != "410000-gat" for a in aids.values() for d in a.get("duplicates", []))
    # Full-width and spacing variants of a name still match.
    add(clerk, vid, code="410000-gat-0204", name="变体",
        items=[{"name": "统一社会信用代码 ", "type": "字符型"}, {"name": "企业名称", "type": "字符型"},
               {"name": "法定代表人", "type": "字符型"}, {"name": "成立日期", "type": "字符型"}])
    aids = {a["code"]: a for a in clerk.get(f"/api/catalog/versions/{vid}/review-aids").json()["entries"]}
    assert aids["410000-gat-0204"]["duplicates"][0]["code"] == "410000-scjg-0001"


def test_a_county_department_goes_to_the_nearest_authority_above(client, as_user) -> None:
    clerk = as_user("zm_clerk")  # 中牟县人社局: no county data authority in the demo
    vid = new_draft(clerk)["id"]
    add(clerk, vid, code="410122-rsj-0001", name="中牟县社保参保信息",
        items=[{"name": "参保人姓名", "type": "字符型"}, {"name": "参保状态", "type": "字符型"}])
    version = submit(clerk, vid)
    assert version["authority_department_code"] == "410100-data"
    assert [t["department_code"] for t in as_user("zz_data_reviewer").get("/api/tasks").json()["items"]] == [
        "410100-data"]
    assert as_user("data_reviewer").get("/api/tasks").json()["items"] == []
    # The province's authority may read it (levels below), not work it.
    assert as_user("data_reviewer").get(f"/api/catalog/versions/{vid}").status_code == 200


def test_a_county_with_its_own_authority_reviews_its_departments(client, as_user) -> None:
    admin = as_user("demo_admin")
    for dept in ({"code": "410105-data", "name": "金水区大数据管理局", "kind": "data_authority", "region_code": "410105"},
                 {"code": "410105-rsj", "name": "金水区人力资源和社会保障局", "kind": "department",
                  "region_code": "410105"}):
        assert admin.post("/api/admin/departments", json=dept).status_code == 201
    for user in ({"username": "js_clerk", "display_name": "金水区经办人", "department_code": "410105-rsj",
                  "roles": ["clerk"], "password": "Demo#2026-js"},
                 {"username": "js_data", "display_name": "金水区审核员", "department_code": "410105-data",
                  "roles": ["authority_reviewer"], "password": "Demo#2026-js"}):
        r = admin.post("/api/admin/users", json=user)
        assert r.status_code == 201, r.text
    clerk = as_user("js_clerk", "Demo#2026-js")
    vid = new_draft(clerk)["id"]
    add(clerk, vid, code="410105-rsj-0001", name="金水区就业登记信息",
        items=[{"name": "劳动者姓名", "type": "字符型"}, {"name": "就业状态", "type": "字符型"}])
    assert submit(clerk, vid)["authority_department_code"] == "410105-data"
    assert len(as_user("js_data", "Demo#2026-js").get("/api/tasks").json()["items"]) == 1
    assert as_user("zz_data_reviewer").get("/api/tasks").json()["items"] == []


def test_another_department_gets_404(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    other = as_user("scjg_clerk")
    r = other.get(f"/api/catalog/versions/{vid}")
    # Out of sight answers as missing (issue 9): ids are sequential and reveal nothing.
    assert r.status_code == 404 and r.json()["detail"]["code"] == "catalog_version_not_found"
    assert r.json()["detail"]["message"] == "目录版本不存在"
    r = other.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(code="410000-scjg-0100"))
    assert r.status_code == 403
    assert other.post(f"/api/catalog/versions/{vid}/submit").status_code == 403
    assert other.get("/api/catalog/versions").json() == []
    # A city authority does not see a provincial department's versions.
    assert as_user("zz_data_reviewer").get(f"/api/catalog/versions/{vid}").status_code == 404
    # A reviewer of the same department reads it but cannot draft.
    reviewer = as_user("gat_reviewer")
    assert reviewer.get(f"/api/catalog/versions/{vid}").json()["may_edit"] is False
    r = reviewer.post(f"/api/catalog/versions/{vid}/entries", json=entry_body())
    assert r.status_code == 403 and r.json()["detail"]["code"] == "clerk_required"
    # The owner cannot review its own version.
    add(clerk, vid)
    submit(clerk, vid)
    r = clerk.post(f"/api/catalog/versions/{vid}/review", json={"decisions": [
        {"code": "410000-gat-0100", "decision": "approve"}]})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "task_not_yours"


def test_bad_input_is_a_4xx_with_a_chinese_message_and_a_stable_code(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    r = clerk.get("/api/catalog/versions/424242")
    assert r.status_code == 404 and r.json()["detail"]["code"] == "catalog_version_not_found"
    vid = new_draft(clerk)["id"]
    r = clerk.post(f"/api/catalog/versions/{vid}/submit")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "catalog_version_unchanged"
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(format="纸质", items=[]))
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_input"
    assert "格式必须是以下之一" in r.json()["detail"]["message"]
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body(code="410000-scjg-0001"))
    assert r.status_code == 409 and r.json()["detail"]["code"] == "entry_code_taken"
    add(clerk, vid)
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json=entry_body())
    assert r.status_code == 409 and r.json()["detail"]["code"] == "version_entry_exists"
    r = clerk.post(f"/api/catalog/versions/{vid}/entries/410000-gat-0100/withdraw")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_not_published_yet"
    r = clerk.put(f"/api/catalog/versions/{vid}/entries/{GAT_0001}", json=entry_body(code="410000-gat-0999"))
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_code_mismatch"
    r = clerk.delete(f"/api/catalog/versions/{vid}/entries/{GAT_0001}")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_published_use_withdraw"
    r = clerk.put(f"/api/catalog/versions/{vid}/entries/nope-9", json=entry_body(code="nope-9"))
    assert r.status_code == 404 and r.json()["detail"]["code"] == "version_entry_not_found"
    r = clerk.post(f"/api/catalog/versions/{vid}/review", json={"decisions": [{"code": "x", "decision": "maybe"}]})
    assert r.status_code == 422
    # Another draft's addition reserves its code; the direct path respects it too.
    r = as_user("demo_admin").post("/api/catalog/entries", json=entry_body())
    assert r.status_code == 409 and r.json()["detail"]["code"] == "entry_code_taken"
    assert clerk.delete(f"/api/catalog/versions/{vid}/entries/410000-gat-0100").status_code == 204
    r = clerk.post(f"/api/catalog/versions/{vid}/discard", json={"reason": "重新编制"})
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    r = clerk.post(f"/api/catalog/versions/{vid}/submit")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "catalog_version_not_submittable"


def test_any_two_versions_can_be_compared(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    authority = as_user("data_reviewer")
    v1 = new_draft(clerk)["id"]
    add(clerk, v1)
    submit(clerk, v1)
    review(authority, v1, {"410000-gat-0100": "approve"})
    v2 = new_draft(clerk)
    base = entry_row(v2, "410000-gat-0100")["data"]
    items = [{"name": "证件号码", "type": "字符型", "length": 64}, {"name": "持证人姓名", "type": "字符型"}]
    clerk.put(f"/api/catalog/versions/{v2['id']}/entries/410000-gat-0100",
              json={**base, "share_type": "conditional", "share_conditions": "限于身份核验",
                    "legal_basis": "《出境入境管理法》", "items": items}).raise_for_status()
    clerk.post(f"/api/catalog/versions/{v2['id']}/entries/{GAT_0002}/withdraw").raise_for_status()
    add(clerk, v2["id"], code="410000-gat-0300", name="交通违法信息")
    submit(clerk, v2["id"])
    review(authority, v2["id"], {"410000-gat-0100": "approve", GAT_0002: "approve", "410000-gat-0300": "approve"})

    diff = clerk.get("/api/catalog/versions/compare",
                     params={"from_version_id": v1, "to_version_id": v2["id"]}).json()
    assert diff["from"]["number"] == 1 and diff["to"]["number"] == 2
    assert diff["added"] == [{"code": "410000-gat-0300", "name": "交通违法信息"}]
    assert diff["withdrawn"] == [{"code": GAT_0002, "name": "刑事案件侦查信息"}]
    assert diff["unchanged"] == 1
    [changed] = diff["changed"]
    fields = {f["field"]: f for f in changed["fields"]}
    assert set(fields) == {"share_type", "share_conditions", "legal_basis", "items"}
    assert (fields["share_type"]["label"], fields["share_type"]["before"], fields["share_type"]["after"]) == (
        "共享类型", "无条件共享", "有条件共享")
    assert fields["items"]["items"] == {
        "added": ["持证人姓名"], "removed": ["签发日期"],
        "changed": [{"name": "证件号码", "before": "证件号码（字符型，32）", "after": "证件号码（字符型，64）"}]}
    # Reversed, the same changes read the other way.
    back = clerk.get("/api/catalog/versions/compare", params={"from_version_id": v2["id"], "to_version_id": v1}).json()
    assert back["added"] == diff["withdrawn"] and back["withdrawn"] == diff["added"]
    # Each published version keeps its own snapshot.
    snap1 = clerk.get(f"/api/catalog/versions/{v1}/changes").json()
    assert snap1["added"] == [{"code": "410000-gat-0100", "name": "出入境证件信息"}]
    assert clerk.get(f"/api/catalog/versions/{v1}").json()["status"] == "published"


def test_review_rounds_do_not_grow_the_instance_state(client, as_user, rt) -> None:
    from app.engine.models import ProcessInstance

    clerk = as_user("gat_clerk")
    authority = as_user("data_reviewer")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    version = submit(clerk, vid)
    sizes = []
    for n in range(6):
        review(authority, vid, {"410000-gat-0100": {"decision": "return", "comment": f"第{n + 1}次退回"}})
        clerk.put(f"/api/catalog/versions/{vid}/entries/410000-gat-0100",
                  json=entry_body(summary=f"第{n + 1}次修改后的摘要")).raise_for_status()
        submit(clerk, vid)
        with rt.db.session() as session:
            sizes.append(len(session.get(ProcessInstance, version["instance_id"]).state))
    assert clerk.get(f"/api/catalog/versions/{vid}").json()["review_round"] == 7
    # Finished rounds are pruned: the saved state stays the same size however many rounds ran.
    assert max(sizes) - min(sizes) < 200, sizes
    assert review(authority, vid, {"410000-gat-0100": "approve"})["status"] == "published"
