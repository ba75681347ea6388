"""Next deadlines in working days: overdue cases marked and first, 今日到期, provisional and paused deadlines."""

from app.core.clock import clock
from tests.authority.helpers import cases, escalated_dispute, keys, province_dispute, province_notice
from tests.rectification.helpers import at, day


def test_a_case_past_its_deadline_is_marked_overdue_and_sorted_first(as_user) -> None:
    # Mon 11-02: a notice with 20 working days (due 11-30) and a dispute (the provider's position due 11-09).
    slow = province_notice(as_user, deadline_working_days=20)
    dispute = province_dispute(as_user)
    clock.freeze(at(2026, 11, 3, 10, 0))
    short = province_notice(as_user, deadline_working_days=3)  # due Fri 11-06
    clock.freeze(at(2026, 11, 9, 10, 0))
    today = province_notice(as_user, deadline_working_days=1)  # due Tue 11-10
    assert day(slow["due_at"]) == "2026-11-30" and day(short["due_at"]) == "2026-11-06"

    clock.freeze(at(2026, 11, 10, 9, 0))
    authority = as_user("data_reviewer")
    listing = cases(authority)
    assert keys(listing) == [("rectification_notice", short["id"]), ("dispute", dispute["id"]),
                             ("rectification_notice", today["id"]), ("rectification_notice", slow["id"])]
    labels = [(c["overdue"], c["overdue_working_days"], c["working_days_left"], c["deadline_label"])
              for c in listing["items"]]
    assert labels == [(True, 2, -2, "已超期2个工作日"), (True, 1, -1, "已超期1个工作日"),
                      (False, 0, 0, "今日到期"), (False, 0, 14, "剩余14个工作日")]
    assert [c["age_days"] for c in listing["items"]] == [7, 8, 1, 8]
    assert listing["summary"]["overdue"] == 2 and listing["summary"]["overdue_notices"] == 1
    assert listing["summary"]["overdue_disputes"] == 1
    assert listing["items"][1]["next_step"]["department_name"] == "河南省公安厅"

    overdue = cases(authority, overdue="1")
    assert keys(overdue) == keys(listing)[:2] and overdue["total"] == 2
    # The Zhengzhou authority has nothing late of its own, whatever the province's state.
    assert cases(as_user("zz_data_reviewer"))["summary"]["overdue"] == 0


def test_a_provisional_deadline_is_flagged(as_user) -> None:
    # Issued in late December: ten working days reach into 2027, whose holidays are not loaded yet.
    clock.freeze(at(2026, 12, 28, 10, 0))
    notice = province_notice(as_user, deadline_working_days=10)
    [case] = cases(as_user("data_reviewer"))["items"]
    assert case["id"] == notice["id"] and case["due_provisional"] is True
    assert case["deadline_label"] == "剩余10个工作日（暂定）"


def test_a_paused_deadline_is_not_overdue_and_comes_after_running_ones(as_user) -> None:
    paused = province_notice(as_user, deadline_working_days=3)  # due Thu 11-05
    running = province_notice(as_user, deadline_working_days=10)  # due Mon 11-16
    authority = as_user("data_reviewer")
    [task] = [c for c in cases(authority)["items"] if c["id"] == paused["id"]]
    r = authority.post(f"/api/tasks/{task['next_step']['task_id']}/pause", json={"reason": "等待补充材料"})
    assert r.status_code == 200, r.text

    clock.freeze(at(2026, 11, 9, 10, 0))
    listing = cases(as_user("data_reviewer"))
    assert keys(listing) == [("rectification_notice", running["id"]), ("rectification_notice", paused["id"])]
    last = listing["items"][1]
    assert last["paused"] is True and last["overdue"] is False and last["deadline_label"] == "已挂起（期限暂停计算）"
    assert listing["summary"]["overdue"] == 0
    assert cases(as_user("data_reviewer"), overdue="1")["items"] == []


def test_a_step_without_a_deadline_comes_after_dated_ones(as_user) -> None:
    # The regulation sets no time limit for the authority's coordination.
    dispute = escalated_dispute(as_user)
    notice = province_notice(as_user)
    listing = cases(as_user("data_reviewer"))
    assert keys(listing) == [("rectification_notice", notice["id"]), ("dispute", dispute["id"])]
    coordinating = listing["items"][1]
    assert coordinating["status_label"] == "主管部门协调中"
    assert coordinating["next_step"]["name"] == "协调评判"
    assert coordinating["next_step"]["department_name"] == "河南省行政审批和政务信息管理局"
    assert coordinating["next_due_at"] is None and coordinating["deadline_label"] is None
    assert coordinating["overdue"] is False and coordinating["working_days_left"] is None
