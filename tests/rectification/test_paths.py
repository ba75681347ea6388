"""Each path of a rectification notice through the API, as the parties and the supervisor see it."""

from app.core.clock import clock
from tests.rectification.helpers import actions, at, day, issue, report, upload, verify


def test_accepted_first_time(as_user) -> None:
    authority = as_user("data_reviewer")
    notice = issue(authority)
    assert notice["number"] == "豫数整改〔2026〕1号"
    assert notice["status"] == "rectifying" and notice["status_label"] == "整改中"
    assert notice["article_item_label"] == "第二十九条第（一）项"
    assert notice["article_item_text"].startswith("未按照要求编制或者发布本部门政务数据共享目录")
    # Issued Monday 2026-11-02: ten working days, the day of receipt not counted.
    assert day(notice["due_at"]) == "2026-11-16" and notice["deadline_label"] == "剩余10个工作日"

    clerk = as_user("rst_clerk")
    todo = clerk.get("/api/tasks").json()["items"]
    assert [(t["name"], day(t["due_at"]), t["due_rule"]) for t in todo] == [("整改并报告", "2026-11-16", "10WD（整改期限）")]
    received = [n for n in clerk.get("/api/notifications").json()["items"] if "豫数整改〔2026〕1号" in n["title"]]
    assert received and "2026年11月16日" in received[0]["body"]

    clock.freeze(at(2026, 11, 9, 10, 0))
    clerk, authority = as_user("rst_clerk"), as_user("data_reviewer")
    file_id = upload(clerk, notice["id"])
    reported = report(clerk, notice["id"], attachment_ids=[file_id])
    assert reported["status"] == "reported" and reported["current_step"]["label"] == "主管部门核验整改情况"
    assert [a["filename"] for a in reported["submissions"][0]["attachments"]] == ["整改报告.pdf"]
    assert clerk.get("/api/tasks").json()["items"] == []
    assert [t["name"] for t in authority.get("/api/tasks").json()["items"]] == ["核验整改情况"]
    # The authority reads the report's attachment.
    assert authority.get(f"/api/attachments/{file_id}").status_code == 200

    done = verify(authority, notice["id"], "accept", reason="已发布共享目录，核验通过")
    assert done["status"] == "accepted" and done["status_label"] == "整改完成（核验通过）"
    assert done["closed_at"] is not None and done["current_step"] is None
    assert done["submissions"][0]["decision_label"] == "核验通过"
    assert actions(done)[-3:] == ["rectification.accepted", "task.completed", "instance.completed"]
    assert "rectification.issued" in actions(done) and "rectification.reported" in actions(done)


def test_returned_with_a_new_deadline_then_accepted(as_user) -> None:
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    notice = issue(authority, deadline_working_days=5)
    report(clerk, notice["id"], text="已自查，目录正在编制。")
    clock.freeze(at(2026, 11, 4, 15, 0))
    authority = as_user("data_reviewer")
    r = authority.post(f"/api/rectification-notices/{notice['id']}/verification", json={"decision": "return"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "decision_reason_required"
    r = authority.post(f"/api/rectification-notices/{notice['id']}/verification",
                       json={"decision": "return", "reason": "目录尚未发布", "deadline_working_days": 0})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "deadline_invalid"
    returned = verify(authority, notice["id"], "return", reason="目录尚未发布，请完成发布后再报告",
                      deadline_working_days=3)
    assert returned["status"] == "rectifying" and returned["round"] == 2
    assert returned["submissions"][0]["decision_label"] == "核验不通过，退回整改"
    assert returned["submissions"][0]["new_deadline_working_days"] == 3
    # The new round is due three working days after the return (Wed 11/4 → Mon 11/9).
    assert day(returned["due_at"]) == "2026-11-09" and returned["round_working_days"] == 3
    clerk = as_user("rst_clerk")
    todo = clerk.get("/api/tasks").json()["items"]
    assert [(t["name"], day(t["due_at"])) for t in todo] == [("整改并报告", "2026-11-09")]
    assert any("退回" in n["title"] for n in clerk.get("/api/notifications").json()["items"])

    report(clerk, notice["id"], text="共享目录已于11月6日发布。")
    done = verify(as_user("data_reviewer"), notice["id"], "accept")
    assert done["status"] == "accepted"
    assert [(s["round"], s["decision"]) for s in done["submissions"]] == [(1, "returned"), (2, "accepted")]
    # The printed notice keeps the deadline as issued.
    assert done["deadline_working_days"] == 5 and day(done["issued_due_at"]) == "2026-11-09"


def test_deadline_passed_goes_to_the_government_then_rectified_and_verified(as_user) -> None:
    notice = issue(as_user("data_reviewer"), deadline_working_days=10)  # due 2026-11-16
    clock.freeze(at(2026, 11, 18, 9, 0))
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    assert admin.post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 0

    supervisor = as_user("gov_supervisor")
    items = supervisor.get("/api/supervision/items", params={"process_key": "rectification_notice"}).json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["government_office"] == "河南省人民政府办公厅（督查室）" and item["level"] == "province"
    assert item["department_code"] == "410000-rst" and item["task_name"] == "整改并报告"
    assert "豫数整改〔2026〕1号" in item["subject"] and item["overdue_working_days"] == 2
    assert item["decision"] is None
    assert as_user("zz_supervisor").get("/api/supervision/items").json()["items"] == []

    r = supervisor.post(f"/api/supervision/items/{item['id']}/decide", json={"decision": "nonsense"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "supervision_decision_invalid"
    assert as_user("zz_supervisor").post(f"/api/supervision/items/{item['id']}/decide",
                                         json={"decision": "order_to_correct"}).status_code == 404
    r = supervisor.post(f"/api/supervision/items/{item['id']}/decide",
                        json={"decision": "order_to_correct", "note": "责令于2026年11月25日前改正"})
    assert r.status_code == 200, r.text
    assert r.json()["decision_label"] == "责令改正" and r.json()["decided_by"] == "gov_supervisor"
    assert r.json()["state"] == "open"
    again = supervisor.post(f"/api/supervision/items/{item['id']}/decide", json={"decision": "order_to_correct"})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "supervision_item_decided"
    listed = supervisor.get("/api/supervision/items").json()["items"][0]
    assert listed["decision"] == "order_to_correct"

    clerk = as_user("rst_clerk")
    told = [n for n in clerk.get("/api/notifications").json()["items"] if n["title"] == "督办决定：责令改正"]
    assert len(told) == 1 and "责令于2026年11月25日前改正" in told[0]["body"]
    case = clerk.get(f"/api/rectification-notices/{notice['id']}").json()
    assert case["overdue"] is True and case["deadline_label"] == "已超期2个工作日"
    assert case["current_step"]["escalated"] is True
    assert [(s["government_office"], s["decision_label"], s["decision_note"]) for s in case["supervision"]] == [
        ("河南省人民政府办公厅（督查室）", "责令改正", "责令于2026年11月25日前改正")]
    assert ["task.escalated", "supervision.decided"] == [a for a in actions(case) if a.startswith(("task.esc", "supervision"))]
    # The supervisor reads the case (read-only) but not the department's files.
    assert supervisor.get(f"/api/rectification-notices/{notice['id']}").status_code == 200

    # The case continues until verified: the department reports, the item closes, the authority accepts.
    clock.freeze(at(2026, 11, 20, 9, 0))
    report(as_user("rst_clerk"), notice["id"])
    supervisor = as_user("gov_supervisor")
    item = supervisor.get("/api/supervision/items").json()["items"][0]
    assert item["state"] == "closed" and item["close_reason"] == "task_done" and item["decision"] == "order_to_correct"
    done = verify(as_user("data_reviewer"), notice["id"], "accept")
    assert done["status"] == "accepted" and done["supervision"][0]["state"] == "closed"


def test_exemption_granted(as_user) -> None:
    notice = issue(as_user("data_reviewer"), article_item=3,
                   facts="你单位人口库部分记录的出生日期有误，经多次通知未予更正。")
    clerk = as_user("rst_clerk")
    proof = upload(clerk, notice["id"], "停电证明.pdf")
    r = clerk.post(f"/api/rectification-notices/{notice['id']}/exemption-claim",
                   json={"ground": "force_majeure", "explanation": "机房因暴雨停电，数据无法校核。",
                         "attachment_ids": [proof]})
    assert r.status_code == 200, r.text
    claimed = r.json()
    assert claimed["status"] == "exemption_claimed" and claimed["status_label"] == "免责申请审查中"
    assert claimed["current_step"]["label"] == "主管部门审查免责申请"
    assert claimed["submissions"][0]["ground_label"] == "存在不可抗力情形"

    authority = as_user("data_reviewer")
    r = authority.post(f"/api/rectification-notices/{notice['id']}/exemption-decision", json={"decision": "grant"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "decision_reason_required"
    r = authority.post(f"/api/rectification-notices/{notice['id']}/exemption-decision",
                       json={"decision": "grant", "reason": "停电属实，符合第三十条不可抗力情形"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "exempted" and done["status_label"] == "已免责办结" and done["closed_at"]
    assert done["submissions"][0]["decision_label"] == "准予免责"
    assert "rectification.exemption_granted" in actions(done) and actions(done)[-1] == "instance.completed"
    assert as_user("rst_clerk").get("/api/tasks").json()["items"] == []


def test_exemption_refused_then_rectified(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    clerk = as_user("rst_clerk")
    clerk.post(f"/api/rectification-notices/{notice['id']}/exemption-claim",
               json={"ground": "duties_performed", "explanation": "已按规定履行监督管理职责。"}).raise_for_status()
    clock.freeze(at(2026, 11, 5, 10, 0))
    authority = as_user("data_reviewer")
    r = authority.post(f"/api/rectification-notices/{notice['id']}/exemption-decision",
                       json={"decision": "refuse", "reason": "未提供履职证明"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "deadline_invalid"
    r = authority.post(f"/api/rectification-notices/{notice['id']}/exemption-decision",
                       json={"decision": "refuse", "reason": "未提供履职证明材料，不符合第三十条", "deadline_working_days": 5})
    assert r.status_code == 200, r.text
    refused = r.json()
    assert refused["status"] == "rectifying" and refused["round"] == 2
    assert refused["submissions"][0]["decision_label"] == "不予免责"
    assert day(refused["due_at"]) == "2026-11-12"
    assert "rectification.exemption_refused" in actions(refused)
    clerk = as_user("rst_clerk")
    assert [t["name"] for t in clerk.get("/api/tasks").json()["items"]] == ["整改并报告"]
    report(clerk, notice["id"])
    assert verify(as_user("data_reviewer"), notice["id"])["status"] == "accepted"


def test_the_generic_inbox_applies_the_same_rules(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    clerk = as_user("rst_clerk")
    task = clerk.get("/api/tasks").json()["items"][0]
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {"action": "report"}})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "report_required"
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {"action": "report", "report": "已整改完毕。"}})
    assert r.status_code == 200, r.text
    case = clerk.get(f"/api/rectification-notices/{notice['id']}").json()
    assert case["status"] == "reported" and case["submissions"][0]["text"] == "已整改完毕。"


def test_withdrawn_notice_closes_the_case(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    assert as_user("rst_clerk").post(f"/api/rectification-notices/{notice['id']}/withdraw",
                                     json={"reason": "误发"}).status_code == 403
    r = as_user("data_reviewer").post(f"/api/rectification-notices/{notice['id']}/withdraw", json={"reason": ""})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "withdraw_reason_required"
    r = as_user("data_reviewer").post(f"/api/rectification-notices/{notice['id']}/withdraw",
                                      json={"reason": "被通知部门有误"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["number"] == notice["number"]
    assert as_user("rst_clerk").get("/api/tasks").json()["items"] == []
    r = as_user("rst_clerk").post(f"/api/rectification-notices/{notice['id']}/report", json={"report": "已整改"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "rectification_notice_closed"
