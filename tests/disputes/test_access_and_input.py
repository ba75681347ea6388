"""Who may open, read and work a dispute; bad input is a 4xx with a stable code and a Chinese message."""

from tests.api.helpers import submit
from tests.disputes.helpers import NOT_SHARE, OFFER_PART, open_dispute, refused_request, step


def _refused(r, status: int, code: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail["code"] == code, detail
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail["message"]), detail  # a Chinese message
    return detail  # type: ignore[no-any-return]


def test_a_dispute_is_read_by_its_parties_and_authority_only(client, as_user) -> None:
    sr = refused_request(as_user)
    d = open_dispute(as_user("rst_clerk"), sr["id"])
    url = f"/api/disputes/{d['id']}"
    readers = ("rst_clerk", "gat_reviewer", "gat_head", "data_reviewer", "demo_admin", "gov_supervisor")
    for username in readers:
        assert as_user(username).get(url).status_code == 200, username
    # Another department, another city's authority and another city's clerk are not parties.
    for username in ("scjg_clerk", "zz_clerk", "zz_data_reviewer", "zz_supervisor"):
        _refused(as_user(username).get(url), 404, "dispute_not_found")
    assert as_user("scjg_clerk").get("/api/disputes").json()["items"] == []
    assert [x["id"] for x in as_user("data_reviewer").get("/api/disputes").json()["items"]] == [d["id"]]
    _refused(as_user("rst_clerk").get("/api/disputes/9999"), 404, "dispute_not_found")


def test_attachments_belong_to_the_parties_and_the_authority(client, as_user) -> None:
    sr = refused_request(as_user)
    d = open_dispute(as_user("rst_clerk"), sr["id"])
    pdf = {"file": ("说明.pdf", b"%PDF-1.4 x", "application/pdf")}
    form = {"owner_type": "dispute", "owner_id": str(d["id"])}
    up = as_user("gat_reviewer").post("/api/attachments", data=form, files=pdf)
    assert up.status_code == 201, up.text
    assert as_user("data_reviewer").get(f"/api/attachments/{up.json()['id']}").content == b"%PDF-1.4 x"
    outsider = as_user("scjg_clerk")
    _refused(outsider.post("/api/attachments", data=form, files=pdf), 404, "attachment_owner_not_found")
    _refused(as_user("scjg_clerk").get(f"/api/attachments/{up.json()['id']}"), 404, "attachment_not_found")
    _refused(as_user("zz_clerk").get("/api/attachments", params=form), 404, "attachment_owner_not_found")
    # The authority's process designer is no party to the case (issue 9).
    _refused(as_user("designer").get(f"/api/attachments/{up.json()['id']}"), 404, "attachment_not_found")
    listed = as_user("rst_clerk").get(f"/api/disputes/{d['id']}").json()["attachments"]
    assert [a["filename"] for a in listed] == ["说明.pdf"]


def test_only_the_requesters_clerk_opens_once_for_its_own_refused_request(client, as_user) -> None:
    sr = refused_request(as_user)
    body = {"share_request_id": sr["id"], "duties": "社保资格核查", "need": "须核验户籍状态"}
    _refused(as_user("gat_reviewer").post("/api/disputes", json=body), 403, "clerk_required")
    _refused(as_user("scjg_clerk").post("/api/disputes", json=body), 403, "dispute_not_requester")
    _refused(as_user("gat_clerk").post("/api/disputes", json=body), 403, "dispute_not_requester")
    _refused(as_user("rst_clerk").post("/api/disputes", json={**body, "share_request_id": 9999}),
             404, "share_request_not_found")
    pending = submit(as_user("rst_clerk"))  # still with the provider: nothing to dispute yet
    _refused(as_user("rst_clerk").post("/api/disputes", json={**body, "share_request_id": pending["id"]}),
             409, "share_request_not_refused")
    first = open_dispute(as_user("rst_clerk"), sr["id"])
    detail = _refused(as_user("rst_clerk").post("/api/disputes", json=body), 409, "dispute_already_open")
    assert detail["dispute_id"] == first["id"]


def test_bad_opening_input_is_refused_in_chinese(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk = as_user("rst_clerk")
    body = {"share_request_id": sr["id"], "duties": "社保资格核查", "need": "须核验户籍状态"}
    detail = _refused(clerk.post("/api/disputes", json={**body, "need": "   "}), 422, "invalid_input")
    assert detail["errors"][0]["field"] == "need" and detail["errors"][0]["message"] == "不能为空"
    without_duties = {k: v for k, v in body.items() if k != "duties"}
    _refused(clerk.post("/api/disputes", json=without_duties), 422, "invalid_input")
    _refused(clerk.post("/api/disputes", json={**body, "need": "长" * 2001}), 422, "invalid_input")
    _refused(clerk.post("/api/disputes", json={**body, "items": ["婚姻状况"]}), 422,
             "dispute_items_not_in_request")
    _refused(clerk.post("/api/disputes", json={**body, "items": []}), 422, "invalid_input")
    _refused(clerk.post("/api/disputes", json={**body, "share_request_id": "abc"}), 422, "invalid_input")
    r = clerk.post("/api/disputes", content=b"{not json", headers={"Content-Type": "application/json"})
    _refused(r, 400, "malformed_json")
    assert clerk.get("/api/disputes").json()["items"] == []
    narrowed = open_dispute(clerk, sr["id"], items=["公民身份号码"])
    assert narrowed["items"] == ["公民身份号码"]


def test_steps_out_of_turn_or_by_the_wrong_side_are_refused(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer, authority = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("data_reviewer")
    d = open_dispute(clerk, sr["id"])
    _refused(clerk.post(f"/api/disputes/{d['id']}/provider-position", json=NOT_SHARE), 403, "task_not_yours")
    _refused(as_user("gat_clerk").post(f"/api/disputes/{d['id']}/provider-position", json=NOT_SHARE),
             403, "task_not_yours")
    accept = {"response": "accept", "position": "好"}
    reply_url = f"/api/disputes/{d['id']}/requester-reply"
    _refused(clerk.post(reply_url, json=accept), 409, "dispute_step_not_open")
    _refused(authority.post(f"/api/disputes/{d['id']}/decision", json={"decision": "share", "reasons": "x"}),
             409, "dispute_step_not_open")
    _refused(as_user("scjg_reviewer").post(f"/api/disputes/{d['id']}/provider-position", json=NOT_SHARE),
             404, "dispute_not_found")
    _refused(authority.post(f"/api/disputes/{d['id']}/statements", json={"statement": "x"}), 403,
             "dispute_not_party")
    step(reviewer, d["id"], "provider-position", OFFER_PART)
    step(clerk, d["id"], "requester-reply", {"response": "accept", "position": "同意"})
    _refused(clerk.post(reply_url, json=accept), 409, "dispute_step_not_open")


def test_positions_follow_article_16(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    url = f"/api/disputes/{d['id']}/provider-position"
    detail = _refused(reviewer.post(url, json={**NOT_SHARE, "basis": None}), 422, "refusal_basis_required")
    assert "第十六条" in detail["message"]
    _refused(reviewer.post(url, json={**OFFER_PART, "offered_items": []}), 422, "dispute_position_invalid")
    _refused(reviewer.post(url, json={**OFFER_PART, "offered_items": ["姓名", "公民身份号码"]}), 422,
             "dispute_position_invalid")
    _refused(reviewer.post(url, json={**OFFER_PART, "terms": ""}), 422, "dispute_position_invalid")
    _refused(reviewer.post(url, json={**OFFER_PART, "offered_items": ["婚姻状况"]}), 422, "form_invalid")
    _refused(reviewer.post(url, json={**OFFER_PART, "request_coordination": True}), 422,
             "dispute_position_invalid")
    _refused(reviewer.post(url, json={**OFFER_PART, "stance": "maybe"}), 422, "invalid_input")
    # Nothing was recorded by the refused attempts.
    d = clerk.get(f"/api/disputes/{d['id']}").json()
    assert [r["kind"] for r in d["records"]] == ["opened"]
    assert [s["task_spec"] for s in d["open_steps"]] == ["provider_position"]


def test_coordination_input_is_checked(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer, authority = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("data_reviewer")
    d = open_dispute(clerk, sr["id"])
    step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "request_coordination": True})
    base = f"/api/disputes/{d['id']}"
    _refused(authority.post(f"{base}/decision", json={"decision": "share", "reasons": "理由", "items": ["姓名"]}),
             422, "decision_terms_required")
    _refused(authority.post(f"{base}/decision", json={"decision": "share", "reasons": "理由", "terms": "按约"}),
             422, "decision_items_required")
    _refused(authority.post(f"{base}/decision", json={"decision": "not_share"}), 422, "invalid_input")
    _refused(authority.post(f"{base}/meetings", json={"held_on": "2026-12-01", "participants": "双方",
                                                      "minutes": "纪要"}), 422, "meeting_date_in_future")
    _refused(authority.post(f"{base}/meetings", json={"held_on": "11/02", "participants": "双方",
                                                      "minutes": "纪要"}), 422, "invalid_input")
    _refused(authority.post(f"{base}/statement-requests", json={"party": "nobody", "question": "?"}),
             422, "invalid_input")
    # The generic task form goes through the same rules (Art. 17: a decision states its reasons).
    [task] = authority.get("/api/tasks").json()["items"]
    _refused(authority.post(f"/api/tasks/{task['id']}/complete", json={"data": {"action": "decide",
                                                                                  "decision": "not_share"}}),
             422, "decision_reasons_required")
    _refused(authority.post(f"/api/tasks/{task['id']}/complete", json={"data": {"action": "ask_provider"}}),
             422, "statement_question_required")
    step(authority, d["id"], "statement-requests", {"party": "requester", "question": "请说明用途"})
    foreign = reviewer.post("/api/attachments", data={"owner_type": "dispute", "owner_id": str(d["id"])},
                            files={"file": ("p.pdf", b"%PDF-1.4 p", "application/pdf")}).json()
    _refused(clerk.post(f"{base}/statements", json={"statement": "说明", "attachment_ids": [foreign["id"]]}),
             422, "statement_attachment_invalid")
    _refused(reviewer.post(f"{base}/statements", json={"statement": "说明"}), 409, "dispute_step_not_open")
    d = step(clerk, d["id"], "statements", {"statement": "用于资格认证"})
    assert d["status"] == "coordinating" and [s["task_spec"] for s in d["open_steps"]] == ["coordinate"]
