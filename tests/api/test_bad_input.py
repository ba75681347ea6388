"""Bad input gets a clear 4xx with a Chinese message and a stable code, and changes nothing."""

import threading

from app.runtime import Runtime
from tests.api.helpers import CONDITIONAL, review_task, share_request_body, submit


def _audit_count(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent

    with rt.db.session() as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def test_unknown_entry(client, as_user, rt) -> None:
    before = _audit_count(rt)
    r = as_user("rst_clerk").post("/api/share-requests", json=share_request_body("no-such-entry"))
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "entry_not_found"
    assert "不存在" in r.json()["detail"]["message"]
    assert _audit_count(rt) == before


def test_items_not_in_the_entry(client, as_user, rt) -> None:
    before = _audit_count(rt)
    r = as_user("rst_clerk").post("/api/share-requests",
                                  json=share_request_body(items=["姓名", "银行账号"]))
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "items_not_in_entry"
    assert r.json()["detail"]["items"] == ["银行账号"]
    assert _audit_count(rt) == before


def test_period_to_before_period_from(client, as_user) -> None:
    r = as_user("rst_clerk").post("/api/share-requests",
                                  json=share_request_body(period_from="2027-01-01", period_to="2026-12-31"))
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "invalid_input"
    assert "结束日期不能早于开始日期" in r.json()["detail"]["message"]


def test_refusal_without_basis_is_refused_and_changes_nothing(client, as_user, rt) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    before = _audit_count(rt)
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "refuse", "reason": "用途不明"}})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "refusal_basis_required"
    assert [e["field"] for e in detail["errors"]] == ["legal_basis"]
    assert "依据" in detail["message"]
    assert reviewer.get(f"/api/tasks/{task['id']}").json()["status"] == "open"
    assert _audit_count(rt) == before
    # ...and the same task can then be answered properly.
    ok = reviewer.post(f"/api/tasks/{task['id']}/complete",
                       json={"data": {"decision": "refuse", "reason": "用途不明",
                                      "legal_basis": "《户口登记条例》"}})
    assert ok.status_code == 200


def test_form_data_that_does_not_fit(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    cases = [
        ({"decision": "maybe"}, "form_invalid"),
        ({}, "form_invalid"),
        ({"decision": "approve", "terms": "x", "unknown_field": 1}, "form_invalid"),
        ({"decision": "partial", "approved_items": ["银行账号"], "terms": "x"}, "form_invalid"),
        ({"decision": "partial", "terms": "x"}, "reply_invalid"),
        ({"decision": "approve"}, "reply_invalid"),
    ]
    for data, code in cases:
        r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
        assert r.status_code == 422, (data, r.text)
        assert r.json()["detail"]["code"] == code, data


def test_form_key_named_typename(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "approve", "terms": "x", "typename": "BpmnWorkflow"}})
    assert r.status_code == 422
    assert "保留" in r.json()["detail"]["message"]
    assert reviewer.get(f"/api/tasks/{task['id']}").json()["status"] == "open"


def test_working_another_departments_task_is_forbidden(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), created["instance_id"])
    other = as_user("scjg_reviewer")
    for action, body in (("claim", None), ("complete", {"data": {"decision": "approve", "terms": "x"}})):
        r = other.post(f"/api/tasks/{task['id']}/{action}", json=body)
        assert r.status_code == 404, r.text
    # The applicant's clerk may read the task of their request but not work it.
    r = as_user("rst_clerk").post(f"/api/tasks/{task['id']}/complete",
                                  json={"data": {"decision": "approve", "terms": "x"}})
    assert r.status_code == 403


def _second_reviewer(as_user) -> None:  # type: ignore[no-untyped-def]
    r = as_user("demo_admin").post("/api/admin/users", json={
        "username": "gat_reviewer2", "password": "Demo#2026", "display_name": "第二审核人",
        "department_code": "410000-gat", "roles": ["reviewer"]})
    assert r.status_code == 201, r.text


def test_task_claimed_by_a_colleague_is_a_conflict(client, as_user) -> None:
    _second_reviewer(as_user)
    created = submit(as_user("rst_clerk"))
    first, second = as_user("gat_reviewer"), as_user("gat_reviewer2")
    task = review_task(first, created["instance_id"])
    assert first.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    assert second.get("/api/tasks").json()["items"] == []
    for action, body in (("claim", None), ("complete", {"data": {"decision": "approve", "terms": "x"}}),
                         ("unclaim", None)):
        r = second.post(f"/api/tasks/{task['id']}/{action}", json=body)
        assert r.status_code == 409, (action, r.text)
        assert r.json()["detail"]["code"] == "task_claimed_by_other"


def test_completing_a_done_task_again_is_a_conflict(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    body = {"data": {"decision": "approve", "terms": "x"}}
    assert reviewer.post(f"/api/tasks/{task['id']}/complete", json=body).status_code == 200
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json=body)
    assert r.status_code == 409
    assert r.json()["detail"]["code"] == "task_closed"


def test_two_concurrent_completions_exactly_one_wins(client, as_user) -> None:
    _second_reviewer(as_user)
    clerk = as_user("rst_clerk")
    created = submit(clerk)
    reviewers = [as_user("gat_reviewer"), as_user("gat_reviewer2")]
    task = review_task(reviewers[0], created["instance_id"])
    barrier = threading.Barrier(2)
    results: list[int] = []
    bodies = [{"data": {"decision": "approve", "terms": "甲的意见"}},
              {"data": {"decision": "refuse", "reason": "乙的理由", "legal_basis": "乙的依据"}}]

    def work(i: int) -> None:
        barrier.wait()
        results.append(reviewers[i].post(f"/api/tasks/{task['id']}/complete", json=bodies[i]).status_code)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    completions = [h for h in detail["history"] if h["action"] == "task.completed"]
    assert len(completions) == 1
    assert detail["status"] in ("granted", "refused")
    assert (detail["grant"] is not None) == (detail["status"] == "granted")


def test_body_over_one_megabyte(client, as_user, rt) -> None:
    before = _audit_count(rt)
    big = share_request_body(purpose="数" * 400_000)  # ~1.2 MB of UTF-8
    r = as_user("rst_clerk").post("/api/share-requests", json=big)
    assert r.status_code == 413
    assert r.json()["detail"]["code"] == "body_too_large"
    assert _audit_count(rt) == before


def test_malformed_json(client, as_user) -> None:
    r = as_user("rst_clerk").post("/api/share-requests", content=b'{"entry_code": "x",',
                                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"]["code"] == "malformed_json"


def test_unknown_task_and_request_are_404(client, as_user) -> None:
    c = as_user("rst_clerk")
    assert c.get("/api/tasks/999999").json()["detail"]["code"] == "task_not_found"
    assert c.get("/api/share-requests/999999").status_code == 404
    assert c.get("/api/tasks/not-a-number").status_code == 422


def test_other_departments_cannot_read_a_request_it_is_not_found(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    r = as_user("scjg_clerk").get(f"/api/share-requests/{created['id']}")
    assert r.status_code == 404
    assert as_user("gat_reviewer").get(f"/api/share-requests/{created['id']}").status_code == 200


def test_clock_route_exists_only_with_time_travel(rt) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = rt.settings.model_copy(update={"enable_time_travel": False})
    with TestClient(create_app(settings, runtime=rt)) as c:
        token = c.post("/api/auth/token", data={"username": "demo_admin", "password": "Demo#2026"}).json()
        r = c.put("/api/admin/clock", json={"now": "2026-12-01T09:00:00+08:00"},
                  headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == 404


def test_catalog_entry_art15(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    base = {"code": "410000-gat-0100", "name": "出入境证件信息", "summary": "出入境证件办理信息",
            "format": "数据库", "items": [{"name": "证件号码", "type": "字符型", "length": 32}],
            "update_cycle": "每日"}
    r = clerk.post("/api/catalog/entries", json={**base, "share_type": "conditional",
                                                 "share_conditions": "限于身份核验"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "legal_basis_required"
    r = clerk.post("/api/catalog/entries", json={**base, "share_type": "not_shared"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "legal_basis_required"
    r = clerk.post("/api/catalog/entries", json={**base, "share_type": "conditional",
                                                 "legal_basis": "《出境入境管理法》"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "share_conditions_required"
    r = clerk.post("/api/catalog/entries", json={**base, "share_type": "unconditional", "classification": "秘密"})
    assert r.status_code == 422
    r = clerk.post("/api/catalog/entries", json={**base, "share_type": "conditional",
                                                 "legal_basis": "《出境入境管理法》", "share_conditions": "限于身份核验"})
    assert r.status_code == 201, r.text
    listed = clerk.get("/api/catalog/entries", params={"department_code": "410000-gat",
                                                       "share_type": "conditional"}).json()
    assert "410000-gat-0100" in [e["code"] for e in listed]
    assert clerk.post("/api/catalog/entries", json={**base, "share_type": "unconditional"}).status_code == 409
    assert as_user("gat_reviewer").post("/api/catalog/entries",
                                        json={**base, "code": "x-9", "share_type": "unconditional"}).status_code == 403


def test_request_for_own_entry_is_refused(client, as_user) -> None:
    r = as_user("gat_clerk").post("/api/share-requests", json=share_request_body(CONDITIONAL))
    assert r.status_code == 422 and r.json()["detail"]["code"] == "own_entry"
