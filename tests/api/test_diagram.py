"""The 流程图 API: steps finished and waiting (who holds them, until when, overdue), the sequence flows
taken and not the branches left aside, each step's history, and the case's own lines of sight."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.core.clock import SHANGHAI, clock
from tests.access.test_reads_by_level import PROVINCE_CASE_OUTSIDERS, PROVINCE_CASE_READERS
from tests.api.helpers import CONDITIONAL, review_task, submit
from tests.external.helpers import fetch, register_worker
from tests.catalog.helpers import add, entry_body, new_draft, review
from tests.catalog.helpers import submit as submit_version


def _diagram(client, instance_id: int) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/instances/{instance_id}/diagram")
    assert r.status_code == 200, r.text
    return r.json()


def _states(diagram: dict) -> dict[str, str]:
    return {element: e["state"] for element, e in diagram["elements"].items()}


def test_a_share_request_under_review_shows_the_reviewers_step_waiting(client, as_user) -> None:
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    d = _diagram(as_user("rst_clerk"), created["instance_id"])
    assert d["process_key"] == "sharing_share_request" and d["version"] == 1
    assert d["xml"].startswith("<?xml") and 'id="review"' in d["xml"]
    assert _states(d) == {"submitted": "completed", "by_share_type": "completed", "review": "active"}
    review_step = d["elements"]["review"]
    assert review_step["name"] == "审核共享申请"
    # Nobody has claimed it yet: the role of the providing department holds it.
    assert review_step["holder"] == "待签收（审核人）河南省公安厅"
    # Art. 16: 5 working days from Monday 2 November 2026 -> Monday 9 November, end of day (Beijing).
    due = datetime.fromisoformat(review_step["due_at"]).astimezone(SHANGHAI)
    assert due.date().isoformat() == "2026-11-09"
    assert review_step["due_text"] == "11月9日到期"
    # The conditional branch was taken; the unconditional and not-shared branches were not.
    assert d["flows"] == ["flow_conditional", "flow_to_type"]
    assert [h["action"] for h in review_step["history"]] == ["task.created"]
    assert review_step["history"][0]["text"] == "生成待办，期限至 11月9日"
    assert d["elements"]["submitted"]["history"][0]["actor"] == "李明（省人社厅经办人）"


def test_claimed_then_decided_review_shows_who_and_the_path_to_the_end(client, as_user) -> None:
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    step = _diagram(reviewer, created["instance_id"])["elements"]["review"]
    assert step["state"] == "active" and step["holder"] == "张伟（省公安厅审核人）"
    assert [h["text"] for h in step["history"]] == ["生成待办，期限至 11月9日", "签收任务"]

    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "approve", "terms": "仅用于资格认证"}})
    assert r.status_code == 200, r.text
    d = _diagram(as_user("rst_clerk"), created["instance_id"])
    assert d["status"] == "running" and _states(d)["hand_over"] == "active"  # the exchange platform's turn
    auth = register_worker(as_user("demo_admin"))
    [handed] = fetch(client, auth, "exchange-1")
    assert client.post(f"/api/external-tasks/{handed['id']}/complete", headers=auth,
                       json={"worker_id": "exchange-1"}).status_code == 200
    d = _diagram(as_user("rst_clerk"), created["instance_id"])
    assert d["status"] == "completed"
    assert _states(d) == {"submitted": "completed", "by_share_type": "completed", "review": "completed",
                          "record_reply": "completed", "by_reply": "completed", "to_exchange": "completed",
                          "hand_over": "completed", "granted": "completed"}
    assert d["flows"] == ["flow_conditional", "flow_provisioned", "flow_replied_end", "flow_reply_granted",
                          "flow_reviewed", "flow_to_hand_over", "flow_to_type"]
    done = d["elements"]["review"]
    # Who did it, and whether in time.
    assert done["holder"] == "张伟（省公安厅审核人）" and done["due_text"] == "按期办结"
    last = done["history"][-1]
    assert last["action"] == "task.completed" and last["actor"] == "张伟（省公安厅审核人）"
    assert last["text"] == "办理任务：审核结论：同意；同意共享的数据项：姓名、公民身份号码；使用要求：仅用于资格认证"


def test_an_overdue_review_is_red_with_the_working_days_it_is_late(client, as_user) -> None:
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    # Due end of Monday 9 November; on Thursday 12 November it is 3 working days late (10, 11, 12).
    clock.freeze(datetime(2026, 11, 12, 10, 0, tzinfo=SHANGHAI))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert task["overdue"] is True
    step = _diagram(reviewer, created["instance_id"])["elements"]["review"]
    assert step["state"] == "overdue"
    assert step["due_text"] == f"已超期 {task['overdue_working_days']} 个工作日" == "已超期 3 个工作日"
    assert step["holder"] == "待签收（审核人）河南省公安厅"
    # The day before it was due, it was not.
    clock.freeze(datetime(2026, 11, 9, 17, 0, tzinfo=SHANGHAI))
    step = _diagram(reviewer, created["instance_id"])["elements"]["review"]
    assert step["state"] == "active" and step["due_text"] == "今日到期"


def test_a_returned_catalog_version_shows_review_done_and_revision_waiting(client, as_user) -> None:
    clerk, authority = as_user("gat_clerk"), as_user("data_reviewer")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    instance_id = submit_version(clerk, vid)["instance_id"]
    review(authority, vid, {"410000-gat-0100": {"decision": "return", "comment": "摘要过简"}})
    d = _diagram(clerk, instance_id)
    states = _states(d)
    assert states["review"] == "completed" and states["by_outcome"] == "completed"
    assert states["revise"] == "active" and "round_approved" not in states
    assert d["elements"]["revise"]["holder"] == "待签收（经办人）河南省公安厅"
    assert "flow_returned" in d["flows"] and "flow_all_approved" not in d["flows"]
    review_lines = [h["action"] for h in d["elements"]["review"]["history"]]
    assert review_lines == ["task.created", "task.completed"]

    # Round 2: the engine has pruned round 1, the diagram still shows it (from the task rows).
    clerk.put(f"/api/catalog/versions/{vid}/entries/410000-gat-0100",
              json=entry_body(summary="全省出入境证件办理信息，含护照、往来港澳通行证。"))
    submit_version(clerk, vid)
    d = _diagram(authority, instance_id)
    states = _states(d)
    assert states["review"] == "active" and d["elements"]["review"]["holder"].startswith("待签收")
    assert states["revise"] == "completed" and states["round_resubmitted"] == "completed"
    assert states["by_outcome"] == "completed" and states["review_round"] == "active"
    assert {"flow_to_round", "flow_to_review", "flow_to_outcome", "flow_returned",
            "flow_resubmitted"} <= set(d["flows"])
    assert "flow_all_approved" not in d["flows"] and "flow_to_publish" not in d["flows"]
    assert [h["action"] for h in d["elements"]["review"]["history"]] == [
        "task.created", "task.completed", "task.created"]


@pytest.mark.parametrize("username", PROVINCE_CASE_OUTSIDERS)
def test_the_diagram_is_not_found_outside_the_cases_lines(client, as_user, username) -> None:
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    r = as_user(username).get(f"/api/instances/{created['instance_id']}/diagram")
    assert r.status_code == 404, r.text
    assert r.json()["detail"]["code"] == "instance_not_found"
    assert "review" not in r.text and "bpmn" not in r.text  # nothing of the process leaks


@pytest.mark.parametrize("username", PROVINCE_CASE_READERS)
def test_the_diagram_is_read_along_the_cases_lines(client, as_user, username) -> None:
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    assert _states(_diagram(as_user(username), created["instance_id"]))["review"] == "active"


def test_a_missing_instance_and_no_login_answer_like_the_rest(client, as_user) -> None:
    r = as_user("demo_admin").get("/api/instances/999999/diagram")
    assert r.status_code == 404 and r.json()["detail"]["code"] == "instance_not_found"
    assert "不存在" in r.json()["detail"]["message"]
    assert client.get("/api/instances/1/diagram").status_code == 401
    assert as_user("demo_admin").get("/api/instances/abc/diagram").status_code == 422


def test_a_withdrawn_request_shows_the_path_up_to_the_withdrawn_review(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    created = submit(clerk, CONDITIONAL)
    r = clerk.post(f"/api/share-requests/{created['id']}/withdraw", json={"reason": "业务需求已变化"})
    assert r.status_code == 200, r.text
    d = _diagram(clerk, created["instance_id"])
    assert d["status"] == "cancelled"
    # Nothing is waiting any more, and the review was never done.
    assert _states(d) == {"submitted": "completed", "by_share_type": "completed"}
    assert d["flows"] == ["flow_conditional", "flow_to_type"]


def test_a_published_catalog_version_shows_both_rounds_and_how_each_ended(client, as_user) -> None:
    clerk, authority = as_user("gat_clerk"), as_user("data_reviewer")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    instance_id = submit_version(clerk, vid)["instance_id"]
    review(authority, vid, {"410000-gat-0100": {"decision": "return", "comment": "摘要过简"}})
    clerk.put(f"/api/catalog/versions/{vid}/entries/410000-gat-0100",
              json=entry_body(summary="全省出入境证件办理信息，含护照、往来港澳通行证。"))
    submit_version(clerk, vid)
    review(authority, vid, {"410000-gat-0100": "approve"})
    d = _diagram(clerk, instance_id)
    assert d["status"] == "completed"
    # Round 1 ended in 重新提交, round 2 in 全部通过: both ends and both branches of the gateway show.
    assert _states(d) == {e: "completed" for e in (
        "submitted", "review_round", "round_start", "review", "by_outcome", "revise", "round_resubmitted",
        "round_approved", "publish", "published")}
    assert d["flows"] == sorted(["flow_to_round", "flow_to_review", "flow_to_outcome", "flow_returned",
                                 "flow_resubmitted", "flow_all_approved", "flow_to_publish", "flow_to_end"])
    assert [h["action"] for h in d["elements"]["review"]["history"]] == [
        "task.created", "task.completed", "task.created", "task.completed"]


def test_a_dispute_escalated_by_its_deadline_shows_the_timer_path(client, as_user) -> None:
    from tests.disputes.helpers import NOT_SHARE, open_dispute, refused_request, step

    d = open_dispute(as_user("rst_clerk"), refused_request(as_user)["id"])
    step(as_user("gat_reviewer"), d["id"], "provider-position", NOT_SHARE)
    clock.freeze(datetime(2026, 11, 17, 9, 0, tzinfo=SHANGHAI))  # the negotiation's 10 working days are over
    assert as_user("demo_admin").post("/api/admin/jobs/fire-due-timers/run").json()["result"] == 1
    diagram = _diagram(as_user("rst_clerk"), d["instance_id"])
    states = _states(diagram)
    # The boundary timer ended the negotiation; the authority's coordination now waits.
    assert states["negotiation_expired"] == "completed" and states["mark_expired"] == "completed"
    assert states["provider_position"] == "completed" and "requester_position" not in states
    assert states["coordinate"] == "active" and states["coordination"] == "active"
    assert {"flow_expired", "flow_expired_to_coordination"} <= set(diagram["flows"])
    assert "flow_negotiated" not in diagram["flows"]
    assert diagram["elements"]["coordinate"]["holder"].endswith("河南省行政审批和政务信息管理局")
