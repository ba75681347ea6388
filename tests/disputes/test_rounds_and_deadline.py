"""Many negotiation rounds keep the stored instance flat; the negotiation deadline escalates by itself."""

import json
from datetime import datetime

from app.core.clock import SHANGHAI, clock
from app.engine.models import ProcessInstance
from tests.disputes.helpers import NOT_SHARE, earlier, open_dispute, refused_request, step


def _state(rt, instance_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return instance.state


def test_thirty_rounds_keep_the_stored_state_flat(client, as_user, rt) -> None:
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    sizes: list[int] = []
    tasks: list[int] = []
    for n in range(30):
        step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "position": f"第{n + 1}轮：仍不同意"})
        d = step(clerk, d["id"], "requester-reply", {"response": "continue", "position": f"第{n + 1}轮：请再考虑"})
        state = _state(rt, d["instance_id"])
        sizes.append(len(state))
        tasks.append(len(json.loads(state)["tasks"]) + sum(len(s["tasks"]) for s in
                                                           json.loads(state)["subprocesses"].values()))
    assert d["status"] == "negotiating" and d["negotiation_rounds"] == 30
    assert [s["task_spec"] for s in d["open_steps"]] == ["provider_position"]
    # The answer carries the latest entries of the file; 「更早的记录」 reads the others.
    assert len(d["records"]) == 20
    records = earlier(clerk, f"/api/disputes/{d['id']}/records", d["records"], d["records_next_cursor"])
    assert len(records) == 1 + 2 * 30
    # Finished rounds are pruned before each save: the same number of tasks after round 2 as after 30,
    # and only a few bytes per round (the loop's iteration count) on top.
    assert tasks[1] == tasks[-1], tasks
    assert sizes[-1] - sizes[1] < 10 * 28, sizes
    # The 31st round still settles the dispute normally.
    step(reviewer, d["id"], "provider-position", {"stance": "share", "terms": "按约使用", "position": "同意"})
    d = step(clerk, d["id"], "requester-reply", {"response": "accept", "position": "好"})
    assert d["status"] == "settled" and d["negotiation_rounds"] == 31
    assert d["grant"]["items"] == ["姓名", "公民身份号码"]


def test_negotiation_deadline_escalates_through_the_timer_job(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk = as_user("rst_clerk")
    d = open_dispute(clerk, sr["id"])
    step(as_user("gat_reviewer"), d["id"], "provider-position", NOT_SHARE)
    admin = as_user("demo_admin")
    # Due 2026-11-16 at the end of the day: nothing fires on the 16th itself.
    clock.freeze(datetime(2026, 11, 16, 18, 0, tzinfo=SHANGHAI))
    admin = as_user("demo_admin")
    assert admin.post("/api/admin/jobs/fire-due-timers/run").json()["result"] == 0
    clock.freeze(datetime(2026, 11, 17, 9, 0, tzinfo=SHANGHAI))
    admin = as_user("demo_admin")  # tokens expire after 8 hours of service time: log in again
    assert admin.post("/api/admin/jobs/fire-due-timers/run").json()["result"] == 1
    assert admin.post("/api/admin/jobs/fire-due-timers/run").json()["result"] == 0
    clerk = as_user("rst_clerk")
    d = clerk.get(f"/api/disputes/{d['id']}").json()
    assert d["status"] == "coordinating" and d["escalation_reason"] == "deadline"
    assert d["escalation_label"] == "协商期限届满"
    # The provider had stated its position: that round took place and is counted.
    assert d["negotiation_rounds"] == 1
    [escalated_record] = [r for r in d["records"] if r["kind"] == "escalated"]
    assert escalated_record["detail"]["rounds"] == 1
    # The unanswered reply is withdrawn; the authority now holds the dispute.
    assert [s["task_spec"] for s in d["open_steps"]] == ["coordinate"]
    assert clerk.get("/api/tasks").json()["items"] == []
    escalated = [h for h in d["history"] if h["action"] == "dispute.escalated"]
    assert len(escalated) == 1 and escalated[0]["actor"] == "system"
    assert escalated[0]["detail"]["reason_code"] == "deadline"
    assert escalated[0]["detail"]["reason"] == "协商期限届满"
    todo = as_user("data_reviewer").get("/api/tasks").json()["items"]
    assert [t["task_spec"] for t in todo] == ["coordinate"]
