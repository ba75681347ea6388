"""A case's next deadline (dispute.next_due_at, rectification_notice.next_due_at) follows its open tasks through
its life, in the same transaction as the step, and the console's order is the order of the deadlines it shows."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.core.clock import clock
from app.disputes.models import Dispute
from app.rectification.models import RectificationNotice
from app.runtime import Runtime
from tests.authority.helpers import cases, keys, province_dispute, province_notice, zz_notice
from tests.disputes.helpers import OFFER_PART, step
from tests.rectification.helpers import at, report, verify


def _stored(rt: Runtime, model: Any, case_id: int) -> datetime | None:
    with rt.db.session() as session:
        return session.execute(select(model.next_due_at).where(model.id == case_id)).scalar_one()  # type: ignore[no-any-return]


def _shown(listing: dict[str, Any], kind: str, case_id: int) -> dict[str, Any]:
    [item] = [c for c in listing["items"] if (c["kind"], c["id"]) == (kind, case_id)]
    return item


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_disputes_next_deadline_follows_its_steps_to_the_close(rt: Runtime, as_user: Any) -> None:
    clerk, reviewer, authority = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("data_reviewer")
    d = province_dispute(as_user)  # Mon 11-02: the provider's position is due in five working days
    [first] = d["open_steps"]
    assert _stored(rt, Dispute, d["id"]) == _iso(first["due_at"]) is not None
    assert _shown(cases(authority), "dispute", d["id"])["next_due_at"] == first["due_at"]

    # The provider answers: the requester's reply is now awaited, with a deadline of its own.
    d = step(reviewer, d["id"], "provider-position", OFFER_PART)
    [reply] = d["open_steps"]
    assert reply["task_spec"] == "requester_position"
    assert _stored(rt, Dispute, d["id"]) == _iso(reply["due_at"])

    # Paused (挂起), its clock stops: no running deadline; resumed, the deadline runs again (moved on).
    r = authority.post(f"/api/tasks/{reply['task_id']}/pause", json={"reason": "等待补充材料"})
    assert r.status_code == 200, r.text
    assert _stored(rt, Dispute, d["id"]) is None
    r = authority.post(f"/api/tasks/{reply['task_id']}/resume")
    assert r.status_code == 200, r.text
    resumed = _stored(rt, Dispute, d["id"])
    assert resumed is not None and resumed >= _iso(reply["due_at"])  # type: ignore[operator]

    # Past it: overdue, first in the console and counted.
    clock.freeze(resumed + timedelta(days=30))
    listing = cases(authority, overdue="1")
    assert keys(listing) == [("dispute", d["id"])] and listing["summary"]["overdue_disputes"] == 1

    # Settled: no open task, no deadline; listed among the closed cases only.
    d = step(clerk, d["id"], "requester-reply", {"response": "accept", "position": "同意仅核验姓名"})
    assert d["closed_at"] and d["open_steps"] == []
    assert _stored(rt, Dispute, d["id"]) is None
    assert cases(authority)["items"] == [] and cases(authority)["summary"]["overdue"] == 0
    assert keys(cases(authority, state="closed")) == [("dispute", d["id"])]


def test_a_notices_next_deadline_follows_its_rounds_to_the_close(rt: Runtime, as_user: Any) -> None:
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    notice = province_notice(as_user, deadline_working_days=3)
    assert _stored(rt, RectificationNotice, notice["id"]) == _iso(notice["due_at"]) is not None

    # Overdue while the department still holds it.
    clock.freeze(at(2026, 11, 12, 10, 0))
    late = cases(authority, overdue="1")
    assert keys(late) == [("rectification_notice", notice["id"])]
    assert _shown(late, "rectification_notice", notice["id"])["overdue"] is True

    # Reported: the department's task is done; the authority's verification is what is next.
    report(clerk, notice["id"])
    shown = _shown(cases(authority), "rectification_notice", notice["id"])
    assert _stored(rt, RectificationNotice, notice["id"]) == _iso(shown["next_due_at"])

    # Returned for a new round: a new deadline from now.
    returned = verify(authority, notice["id"], "return", reason="整改报告缺少目录编制说明",
                      deadline_working_days=5)
    assert returned["status"] == "rectifying"
    stored = _stored(rt, RectificationNotice, notice["id"])
    assert stored is not None and stored > clock.now() and stored == _iso(returned["due_at"])

    # Accepted: closed, no deadline.
    report(clerk, notice["id"])
    verify(authority, notice["id"], "accept")
    assert _stored(rt, RectificationNotice, notice["id"]) is None
    assert keys(cases(authority, state="closed")) == [("rectification_notice", notice["id"])]


def test_the_console_order_is_the_order_of_the_deadlines_shown_on_every_page(rt: Runtime, as_user: Any) -> None:
    made = []
    for minute, days in enumerate((9, 2, 5, 2)):  # Mon 11-02, a minute apart
        clock.freeze(at(2026, 11, 2, 10, minute))
        made.append(province_notice(as_user, deadline_working_days=days))
    made.append(zz_notice(as_user, deadline_working_days=4))
    dispute = province_dispute(as_user)
    authority = as_user("demo_admin")
    clock.freeze(at(2026, 11, 5, 10, 0))  # the two-day notices are overdue
    whole = cases(authority)
    dated = [_iso(c["next_due_at"]) for c in whole["items"]]
    assert len(dated) == 6 and None not in dated and dated == sorted(dated)  # type: ignore[type-var]
    # Equal deadlines: the newest first.
    twins = [c for c in whole["items"] if c["id"] in (made[1]["id"], made[3]["id"])]
    assert [c["id"] for c in twins] == [made[3]["id"], made[1]["id"]]
    assert ("dispute", dispute["id"]) in keys(whole)

    # Paged two at a time with the cursor: the same cases in the same order, each once.
    paged, cursor = [], None
    while True:
        page = cases(authority, limit=2, **({"cursor": cursor} if cursor else {}))
        paged += keys(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == keys(whole)

    # The Zhengzhou authority sees its own notice only; the province sees its own and Zhengzhou's.
    assert keys(cases(as_user("zz_data_reviewer"))) == [("rectification_notice", made[4]["id"])]
    assert len(cases(as_user("data_reviewer"))["items"]) == 6
