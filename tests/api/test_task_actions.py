"""退回, 退回补正, 撤回, 加签, 委派 and 代理 on any process: who may, what the holder sees, the record."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import SHANGHAI, clock
from tests.api.task_action_helpers import complete, deploy_three_steps, open_task, start, user_id


def _history(client, instance_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/instances/{instance_id}").json()["history"]


def _titles(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [n["title"] for n in client.get("/api/notifications").json()["items"]]


def _todo_ids(client) -> list[int]:  # type: ignore[no-untyped-def]
    return [t["id"] for t in client.get("/api/tasks", params={"view": "todo"}).json()["items"]]


def test_return_to_an_earlier_step_reopens_it_for_whoever_did_it_with_a_fresh_deadline(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer = as_user("gat_clerk"), as_user("gat_reviewer")
    draft = open_task(clerk, instance_id)
    complete(clerk, draft["id"], "拟同意")
    check = open_task(reviewer, instance_id)
    # Two days later the reviewer sends it back.
    clock.freeze(datetime(2026, 11, 4, 10, 0, tzinfo=SHANGHAI))
    r = reviewer.get(f"/api/tasks/{check['id']}/returnable-steps")
    assert r.status_code == 200 and r.json()["items"] == [
        {"step": "draft", "name": "拟办", "holder_name": "王芳（省公安厅经办人）"}]
    r = reviewer.post(f"/api/tasks/{check['id']}/return", json={"step": "draft", "reason": "请补充共享依据"})
    assert r.status_code == 200, r.text
    reopened = r.json()
    assert reopened["name"] == "拟办" and reopened["status"] == "open" and reopened["assignee"] == "gat_clerk"
    assert reopened["id"] != draft["id"]
    # 5 working days from Wednesday 4 November: Wednesday 11 November, not the first pass's 9 November.
    assert datetime.fromisoformat(reopened["due_at"]).astimezone(SHANGHAI).date().isoformat() == "2026-11-11"
    assert reviewer.get(f"/api/tasks/{check['id']}").json()["status"] == "cancelled"
    assert open_task(clerk, instance_id)["id"] == reopened["id"]
    assert any(t.startswith("退回：拟办") for t in _titles(clerk))
    [line] = [h for h in _history(clerk, instance_id) if h["action"] == "task.returned"]
    assert line["actor"] == "gat_reviewer" and line["detail"]["to_name"] == "拟办"
    assert line["detail"]["reason"] == "请补充共享依据"
    # The process goes on from there.
    complete(clerk, reopened["id"], "已补充依据")
    check2 = open_task(reviewer, instance_id)
    complete(reviewer, check2["id"], "同意")
    assert open_task(as_user("gat_head"), instance_id)["name"] == "审批"


def test_return_refusals(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer, head = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("gat_head")
    draft = open_task(clerk, instance_id)
    # The first step has nowhere to go back to.
    assert clerk.get(f"/api/tasks/{draft['id']}/returnable-steps").json()["items"] == []
    r = clerk.post(f"/api/tasks/{draft['id']}/return", json={"step": "draft", "reason": "试试看"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "step_not_returnable"
    complete(clerk, draft["id"])
    check = open_task(reviewer, instance_id)
    # Not mine: the clerk may read the task but is not its holder; another department sees nothing.
    r = clerk.post(f"/api/tasks/{check['id']}/return", json={"step": "draft", "reason": "我想改改"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "task_not_yours"
    assert as_user("scjg_reviewer").post(f"/api/tasks/{check['id']}/return",
                                         json={"step": "draft", "reason": "越权退回"}).status_code == 404
    # A step that is not behind this one, and a missing reason.
    r = reviewer.post(f"/api/tasks/{check['id']}/return", json={"step": "approve", "reason": "退到后面"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "step_not_returnable"
    assert reviewer.post(f"/api/tasks/{check['id']}/return", json={"step": "draft", "reason": ""}).status_code == 422
    complete(reviewer, check["id"])
    approve = open_task(head, instance_id)
    # The designer forbade returning from 审批 (allow_return="false").
    assert head.get(f"/api/tasks/{approve['id']}/returnable-steps").json()["items"] == []
    r = head.post(f"/api/tasks/{approve['id']}/return", json={"step": "check", "reason": "需重新审核"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "return_not_allowed"
    complete(head, approve["id"])
    # Closed.
    r = head.post(f"/api/tasks/{approve['id']}/return", json={"step": "check", "reason": "已办结还想退"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_closed"


def test_withdraw_my_step_while_the_next_has_not_acted(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer = as_user("gat_clerk"), as_user("gat_reviewer")
    draft = open_task(clerk, instance_id)
    complete(clerk, draft["id"], "拟同意")
    check = open_task(reviewer, instance_id)
    # Someone else may not withdraw my step; I may.
    r = reviewer.post(f"/api/tasks/{draft['id']}/withdraw")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "withdraw_not_yours"
    r = clerk.post(f"/api/tasks/{draft['id']}/withdraw")
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["name"] == "拟办" and mine["status"] == "open" and mine["assignee"] == "gat_clerk"
    assert reviewer.get(f"/api/tasks/{check['id']}").json()["status"] == "cancelled"
    assert check["id"] not in _todo_ids(reviewer)
    assert [h["action"] for h in _history(clerk, instance_id)].count("task.withdrawn") == 1
    # Once the next step is claimed, it is too late.
    complete(clerk, mine["id"], "拟同意（修改）")
    check2 = open_task(reviewer, instance_id)
    assert reviewer.post(f"/api/tasks/{check2['id']}/claim").status_code == 200
    r = clerk.post(f"/api/tasks/{mine['id']}/withdraw")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "withdraw_too_late"
    assert "已签收" in r.json()["detail"]["message"]
    # And a step still open cannot be withdrawn.
    r = reviewer.post(f"/api/tasks/{check2['id']}/withdraw")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_not_completed"


def test_supplement_by_the_applicant_pauses_the_deadline_and_comes_back(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer = as_user("gat_clerk"), as_user("gat_reviewer")
    complete(clerk, open_task(clerk, instance_id)["id"])
    check = open_task(reviewer, instance_id)
    assert datetime.fromisoformat(check["due_at"]).astimezone(SHANGHAI).date().isoformat() == "2026-11-09"
    r = reviewer.post(f"/api/tasks/{check['id']}/supplement", json={"reason": "请补充使用范围说明"})
    assert r.status_code == 201, r.text
    side = r.json()
    assert side["kind"] == "supplement" and side["assignee_name"] == "王芳（省公安厅经办人）"
    # Out of the reviewer's inbox, paused, and not to be completed meanwhile.
    assert check["id"] not in _todo_ids(reviewer)
    assert reviewer.get(f"/api/tasks/{check['id']}").json()["paused"] is True
    r = reviewer.post(f"/api/tasks/{check['id']}/complete", json={"data": {"opinion": "同意"}})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_waiting"
    # The applicant is told and answers three working days later (Thursday 5 November).
    assert any(t.startswith("请补正") for t in _titles(clerk))
    assert [s["id"] for s in clerk.get("/api/side-tasks").json()["items"]] == [side["id"]]
    assert reviewer.post(f"/api/side-tasks/{side['id']}/answer", json={"reply": "不是我的"}).status_code == 404
    clock.freeze(datetime(2026, 11, 5, 9, 0, tzinfo=SHANGHAI))
    r = clerk.post(f"/api/side-tasks/{side['id']}/answer", json={"reply": "使用范围限省人社厅社保经办"})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    r = clerk.post(f"/api/side-tasks/{side['id']}/answer", json={"reply": "再答一次"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "side_task_closed"
    back = reviewer.get(f"/api/tasks/{check['id']}").json()
    assert back["paused"] is False and back["assignee"] == "gat_reviewer"
    # Paused Monday 2 to Thursday 5 November: the deadline moves by the working days paused.
    assert datetime.fromisoformat(back["due_at"]).astimezone(SHANGHAI).date() > datetime(2026, 11, 9).date()
    assert check["id"] in _todo_ids(reviewer)
    assert any(t.startswith("申请人已补正") for t in _titles(reviewer))
    actions = [h["action"] for h in _history(reviewer, instance_id)]
    assert "task.supplement_requested" in actions and "task.supplemented" in actions
    complete(reviewer, check["id"])


def test_addsign_before_waits_for_the_colleague_then_comes_back_with_their_opinion(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer, other = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("scjg_reviewer")
    complete(clerk, open_task(clerk, instance_id)["id"])
    check = open_task(reviewer, instance_id)
    colleague = user_id(rt, "scjg_reviewer")
    r = reviewer.post(f"/api/tasks/{check['id']}/addsign",
                      json={"user_id": user_id(rt, "gat_reviewer"), "reason": "自己"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "addsign_target_invalid"
    assert clerk.post(f"/api/tasks/{check['id']}/addsign",
                      json={"user_id": colleague, "reason": "请会签"}).status_code == 403
    r = reviewer.post(f"/api/tasks/{check['id']}/addsign", json={"user_id": colleague, "reason": "请市场监管局会签"})
    assert r.status_code == 201, r.text
    side = r.json()
    assert check["id"] not in _todo_ids(reviewer)
    # A second action while it waits is refused.
    r = reviewer.post(f"/api/tasks/{check['id']}/delegate", json={"user_id": colleague, "reason": "再委派"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_waiting"
    assert any(t.startswith("请加签") for t in _titles(other))
    r = other.post(f"/api/side-tasks/{side['id']}/answer", json={"reply": "同意共享，注意脱敏"})
    assert r.status_code == 200, r.text
    assert check["id"] in _todo_ids(reviewer)
    [line] = [h for h in _history(reviewer, instance_id) if h["action"] == "task.addsign_signed"]
    assert line["actor"] == "scjg_reviewer" and line["detail"]["reply"] == "同意共享，注意脱敏"
    complete(reviewer, check["id"])


def test_addsign_after_completes_the_step_only_when_the_colleague_signs(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer, other = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("scjg_reviewer")
    complete(clerk, open_task(clerk, instance_id)["id"])
    check = open_task(reviewer, instance_id)
    body = {"user_id": user_id(rt, "scjg_reviewer"), "reason": "请在我之后会签", "position": "after"}
    r = reviewer.post(f"/api/tasks/{check['id']}/addsign", json={**body, "data": {}})
    assert r.status_code == 422  # my own opinion is required first
    r = reviewer.post(f"/api/tasks/{check['id']}/addsign", json={**body, "data": {"opinion": "同意"}})
    assert r.status_code == 201, r.text
    assert reviewer.get(f"/api/tasks/{check['id']}").json()["status"] == "open"
    assert other.post(f"/api/side-tasks/{r.json()['id']}/answer", json={"reply": "会签同意"}).status_code == 200
    done = reviewer.get(f"/api/tasks/{check['id']}").json()
    assert done["status"] == "completed" and done["data"] == {"opinion": "同意"}
    assert open_task(as_user("gat_head"), instance_id)["name"] == "审批"


def test_delegate_fills_the_opinion_and_the_holder_confirms(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer, other = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("scjg_reviewer")
    complete(clerk, open_task(clerk, instance_id)["id"])
    check = open_task(reviewer, instance_id)
    r = reviewer.post(f"/api/tasks/{check['id']}/delegate",
                      json={"user_id": user_id(rt, "scjg_reviewer"), "reason": "请代拟审核意见"})
    assert r.status_code == 201, r.text
    side = r.json()
    assert any(t.startswith("委派给您") for t in _titles(other))
    assert [s["kind_zh"] for s in other.get("/api/side-tasks").json()["items"]] == ["委派"]
    assert other.post(f"/api/side-tasks/{side['id']}/answer", json={"reply": "建议同意"}).status_code == 200
    assert any(t.startswith("受委派人已填写意见") for t in _titles(reviewer))
    complete(reviewer, check["id"], "建议同意（已确认）")
    actions = [(h["action"], h["actor"]) for h in _history(reviewer, instance_id)]
    assert ("task.delegated", "gat_reviewer") in actions and ("task.delegate_answered", "scjg_reviewer") in actions


def test_a_deputy_works_the_principals_tasks_during_the_period(rt, client, as_user) -> None:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk, reviewer, deputy = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("gat_head")
    complete(clerk, open_task(clerk, instance_id)["id"])
    check = open_task(reviewer, instance_id)
    r = deputy.post(f"/api/tasks/{check['id']}/complete-as-deputy", json={"data": {"opinion": "同意"}})
    assert r.status_code == 404  # not (yet) a deputy
    r = reviewer.put("/api/me/deputy", json={"deputy_id": user_id(rt, "gat_head"), "starts_on": "2026-11-02",
                                            "ends_on": "2026-11-06"})
    assert r.status_code == 200 and r.json()["deputy"]["name"] == "杨帆（省公安厅部门负责人）"
    r = reviewer.put("/api/me/deputy", json={"deputy_id": user_id(rt, "gat_head"), "starts_on": "2026-11-06",
                                            "ends_on": "2026-11-02"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "deputy_range_invalid"
    items = deputy.get("/api/me/deputy/tasks").json()["items"]
    assert [(t["id"], t["on_behalf_of_name"]) for t in items] == [(check["id"], "张伟（省公安厅审核人）")]
    r = deputy.post(f"/api/tasks/{check['id']}/complete-as-deputy", json={"data": {"opinion": "代为同意"}})
    assert r.status_code == 200, r.text
    [line] = [h for h in _history(reviewer, instance_id) if h["action"] == "task.deputy_acted"]
    assert line["actor"] == "gat_head" and line["detail"]["on_behalf_of"] == "gat_reviewer"
    # After the period the deputy sees nothing more.
    clock.freeze(datetime(2026, 11, 9, 9, 0, tzinfo=SHANGHAI))
    assert deputy.get("/api/me/deputy/tasks").json()["items"] == []


def test_side_items_go_away_when_the_case_is_withdrawn(rt, client, as_user) -> None:
    from tests.api.helpers import review_task, submit

    applicant, reviewer, head = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("gat_head")
    request = submit(applicant)  # the shipped share-request process
    task = review_task(reviewer, request["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/delegate", json={"user_id": user_id(rt, "gat_head"),
                                                                 "reason": "请代拟审核意见"})
    assert r.status_code == 201, r.text
    side_id = r.json()["id"]
    assert [s["id"] for s in head.get("/api/side-tasks").json()["items"]] == [side_id]
    r = applicant.post(f"/api/share-requests/{request['id']}/withdraw", json={"reason": "需求已变化"})
    assert r.status_code == 200, r.text
    assert head.get("/api/side-tasks").json()["items"] == []
    r = head.post(f"/api/side-tasks/{side_id}/answer", json={"reply": "建议同意"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "side_task_closed"
