"""Art. 16 para 3 and Art. 17 end to end: settled with and without sharing; failed negotiation →
the data authority → share (grant and compliance) or not share (the refusal stands)."""

from datetime import datetime

from app.core.clock import SHANGHAI
from tests.api.helpers import NOT_SHARED
from tests.disputes.helpers import NOT_SHARE, OFFER_PART, open_dispute, refused_request, step


def _local_day(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).date().isoformat()


def _notes(client, title_part: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return [n for n in client.get("/api/notifications").json()["items"] if title_part in n["title"]]


def test_opening_starts_the_negotiation_with_the_provider(client, as_user) -> None:
    sr = refused_request(as_user)
    d = open_dispute(as_user("rst_clerk"), sr["id"])
    assert d["status"] == "negotiating" and d["status_label"] == "协商中"
    assert d["kind"] == "refused" and d["items"] == ["姓名", "公民身份号码"]
    # Both departments are provincial: the provincial data authority coordinates if needed.
    assert d["authority_department_code"] == "410000-data" and d["authority_level_label"] == "省级"
    # Opened Monday 2026-11-02: ten working days end on 11-16; the provider's position is due in five.
    assert _local_day(d["negotiation_due_at"]) == "2026-11-16"
    [first] = d["open_steps"]
    assert first["task_spec"] == "provider_position" and first["department_code"] == "410000-gat"
    assert _local_day(first["due_at"]) == "2026-11-09"
    reviewer = as_user("gat_reviewer")
    todo = reviewer.get("/api/tasks").json()["items"]
    assert [t["id"] for t in todo] == [first["task_id"]]
    assert todo[0]["due_rule"] == "5WD（dispute_statement）"
    assert _notes(reviewer, "请求协商")


def test_settled_with_sharing_records_the_terms_and_creates_the_grant(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    d = step(reviewer, d["id"], "provider-position", OFFER_PART)
    assert [s["task_spec"] for s in d["open_steps"]] == ["requester_position"]
    d = step(clerk, d["id"], "requester-reply", {"response": "accept", "position": "同意仅核验姓名"})
    assert d["status"] == "settled" and d["resolution"] == "settlement" and d["outcome"] == "share"
    assert d["outcome_items"] == ["姓名"] and d["terms"] == "仅用于资格认证，不得留存"
    assert d["negotiation_rounds"] == 1 and d["open_steps"] == [] and d["closed_at"]
    assert d["grant"]["items"] == ["姓名"] and d["grant"]["basis"] == "dispute_settlement"
    kinds = [r["kind"] for r in d["records"]]
    assert kinds == ["opened", "provider_position", "requester_position", "settled"]
    # The share request shows the grant the dispute produced, and where it came from.
    request = clerk.get(f"/api/share-requests/{sr['id']}").json()
    assert request["grant"]["items"] == ["姓名"] and request["grant"]["terms"] == "仅用于资格认证，不得留存"
    assert any(h["action"] == "share_grant.created" and h["detail"]["dispute_id"] == d["id"]
               for h in request["history"])
    assert "dispute.settled" in [h["action"] for h in d["history"]]
    assert _notes(clerk, "协商一致") and _notes(reviewer, "协商一致")
    assert clerk.get(f"/api/instances/{d['instance_id']}").json()["status"] == "completed"
    assert as_user("demo_admin").get("/api/admin/audit/verify").json()["ok"] is True


def test_settled_without_sharing_keeps_the_refusal_and_may_be_revisited(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    d = step(reviewer, d["id"], "provider-position",
             {**NOT_SHARE, "terms": "可按个案提供户籍核验结果（是/否）"})
    d = step(clerk, d["id"], "requester-reply", {"response": "accept", "position": "接受按个案核验"})
    assert d["status"] == "settled" and d["outcome"] == "not_share" and d["grant"] is None
    assert d["terms"] == "可按个案提供户籍核验结果（是/否）" and d["basis"] == "《个人信息保护法》第三十四条"
    assert clerk.get(f"/api/share-requests/{sr['id']}").json()["status"] == "refused"
    # An agreement is not a binding decision: once closed, the need may be raised again.
    again = open_dispute(clerk, sr["id"])
    assert again["id"] != d["id"] and again["status"] == "negotiating"


def test_failed_negotiation_goes_to_the_authority_which_decides_to_share(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk, reviewer, authority = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("data_reviewer")
    d = open_dispute(clerk, sr["id"])
    step(reviewer, d["id"], "provider-position", NOT_SHARE)
    d = step(clerk, d["id"], "requester-reply", {"response": "escalate", "position": "协商未果，请求协调"})
    assert d["status"] == "coordinating" and d["escalation_reason"] == "failed"
    assert d["escalation_label"] == "协商未果" and d["negotiation_rounds"] == 1
    [coordinate] = d["open_steps"]
    assert coordinate["task_spec"] == "coordinate" and coordinate["department_code"] == "410000-data"
    assert [t["id"] for t in authority.get("/api/tasks").json()["items"]] == [coordinate["task_id"]]
    assert _notes(authority, "提请协调")

    d = step(authority, d["id"], "statement-requests", {"party": "both", "question": "请说明数据用途及安全措施"})
    steps = {s["task_spec"]: s for s in d["open_steps"]}
    assert set(steps) == {"requester_statement", "provider_statement"}
    assert _local_day(steps["provider_statement"]["due_at"]) == "2026-11-09"
    assert _notes(clerk, "要求陈述") and _notes(reviewer, "要求陈述")
    up = clerk.post("/api/attachments",
                    data={"owner_type": "dispute", "owner_id": str(d["id"]), "note": "安全方案"},
                    files={"file": ("安全方案.pdf", b"%PDF-1.4 security plan", "application/pdf")})
    assert up.status_code == 201, up.text
    step(clerk, d["id"], "statements", {"statement": "用于养老金资格认证，接口调用全程留痕",
                                        "attachment_ids": [up.json()["id"]]})
    d = step(reviewer, d["id"], "statements", {"statement": "批量提供存在泄露风险"})
    assert [s["task_spec"] for s in d["open_steps"]] == ["coordinate"]
    d = step(authority, d["id"], "meetings", {"held_on": "2026-11-02", "participants": "省人社厅、省公安厅、省政务数据主管部门",
                                              "minutes": "双方同意以接口核验方式提供"})
    d = step(authority, d["id"], "decision", {"decision": "share", "items": ["姓名", "公民身份号码"],
                                              "terms": "仅通过接口核验，不得留存", "reasons": "资格认证属法定职责，接口核验风险可控",
                                              "basis": "《社会保险法》第七十四条"})
    assert d["status"] == "decided" and d["status_label"] == "已评判，待落实"
    assert d["resolution"] == "adjudication" and d["outcome"] == "share"
    assert d["resolved_by"] == "data_reviewer"
    assert d["grant"]["items"] == ["姓名", "公民身份号码"] and d["grant"]["basis"] == "dispute_adjudication"
    # The decision binds: the provider must put it into effect, within its reply limit (Art. 16: 5 days).
    [comply] = d["open_steps"]
    assert comply["task_spec"] == "compliance" and comply["department_code"] == "410000-gat"
    assert _local_day(comply["due_at"]) == "2026-11-09"
    assert _notes(clerk, "已评判：予以共享") and _notes(reviewer, "已评判：予以共享")
    kinds = [r["kind"] for r in d["records"]]
    assert kinds == ["opened", "provider_position", "requester_position", "escalated", "statement_requested",
                     "requester_statement", "provider_statement", "meeting", "decided"]
    statement = [r for r in d["records"] if r["kind"] == "requester_statement"][0]
    assert statement["detail"]["attachment_ids"] == [str(up.json()["id"])]
    assert statement["detail"]["question"] == "请说明数据用途及安全措施"

    d = step(reviewer, d["id"], "compliance", {"note": "已于11月2日开通核验接口"})
    assert d["status"] == "complied" and d["complied_at"] and d["closed_at"] and d["open_steps"] == []
    assert _notes(clerk, "已落实")
    assert clerk.get(f"/api/share-requests/{sr['id']}").json()["grant"]["basis"] == "dispute_adjudication"
    actions = [h["action"] for h in d["history"]]
    order = [actions.index(a) for a in ("dispute.escalated", "dispute.decided", "dispute.complied")]
    assert order == sorted(order)
    assert as_user("demo_admin").get("/api/admin/audit/verify").json()["ok"] is True


def test_authority_decides_not_to_share_and_the_decision_binds(client, as_user) -> None:
    sr = refused_request(as_user, entry_code=NOT_SHARED)
    clerk, reviewer, authority = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("data_reviewer")
    d = open_dispute(clerk, sr["id"])
    assert d["kind"] == "not_shared"
    # The provider may declare the negotiation failed itself.
    d = step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "request_coordination": True})
    # The round in which the provider stated its position and gave up counts: one round took place.
    assert d["status"] == "coordinating" and d["negotiation_rounds"] == 1
    d = step(authority, d["id"], "decision", {"decision": "not_share", "reasons": "侦查信息依法保密，使用部门可通过其他途径核验",
                                              "basis": "《刑事诉讼法》第一百五十二条"})
    assert d["status"] == "decided" and d["outcome"] == "not_share" and d["grant"] is None
    assert d["open_steps"] == [] and d["closed_at"]
    assert reviewer.get("/api/tasks").json()["items"] == []
    assert _notes(clerk, "已评判：不予共享") and _notes(reviewer, "已评判：不予共享")
    r = clerk.post("/api/disputes", json={"share_request_id": sr["id"], "duties": "社保资格核查", "need": "仍需使用"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "dispute_already_decided"
