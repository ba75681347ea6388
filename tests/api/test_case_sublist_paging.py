"""A case's sub-lists are paged like a dispute's file (issue 12): the case and the list's own API return the
latest 20 rows with a cursor to the earlier ones, the case page shows 20 with 「更早的记录」, and none of
these calls issues more statements for a long list than for a short one.

Each case is made by the real flows once; its list is then grown by copying a row in SQL (cheap), and the
calls are counted at 3 rows and at 3 + GROW rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.core.clock import clock
from app.core.history_page import encode_cursor
from app.runtime import Runtime
from tests.api.test_statement_counts import _clone, _table, counted
from tests.disputes.helpers import earlier, open_dispute, refused_request
from tests.open_data.helpers import HOUSEHOLD, review, submitted
from tests.rectification.helpers import at, issue, report, upload, verify
from tests.web.test_pages import _login

GROW = 42  # 45 rows: three pages of 20


def _count(rt: Runtime, call: Callable[[], Any]) -> int:
    """Statements of one call (after a warm-up call: caches of people and calendar)."""
    r = call()
    assert r.status_code == 200, r.text[:300]
    with counted(rt.db.engine) as seen:
        r = call()
    assert r.status_code == 200, r.text[:300]
    return len(seen)


def _grow(rt: Runtime, table: str, row_id: int, times: int) -> None:
    with rt.db.engine.begin() as conn:
        for _ in range(times):
            _clone(conn, table, row_id)


def test_rectification_submissions_are_paged_and_cost_the_same_at_any_length(rt: Runtime, app: Any,
                                                                             as_user: Any) -> None:
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    n = issue(authority)
    report(clerk, n["id"], attachment_ids=[upload(clerk, n["id"])])
    verify(authority, n["id"], decision="return", reason="材料不全，请补充", deadline_working_days=5)
    report(clerk, n["id"], text="已补充材料。")
    verify(authority, n["id"], decision="return", reason="仍不完整", deadline_working_days=5)
    report(clerk, n["id"], text="再次补充。", attachment_ids=[upload(clerk, n["id"], "补充.pdf")])
    nid = n["id"]
    page = _login(app, "rst_clerk")
    calls = {
        "notice": lambda: clerk.get(f"/api/rectification-notices/{nid}"),
        "list": lambda: clerk.get(f"/api/rectification-notices/{nid}/submissions"),
        "page": lambda: page.get(f"/rectification-notices/{nid}"),
    }
    small = {k: _count(rt, c) for k, c in calls.items()}
    whole = clerk.get(f"/api/rectification-notices/{nid}").json()
    assert len(whole["submissions"]) == 3 and whole["submissions_next_cursor"] is None

    with rt.db.read_session() as session:
        table = _table("rectification_submission")
        first = session.execute(select(table.c.id).where(table.c.notice_id == nid).order_by(table.c.id)
                                ).scalars().first()
    _grow(rt, "rectification_submission", first, GROW)  # the copies carry the first report's attachment
    large = {k: _count(rt, c) for k, c in calls.items()}
    assert large == small, (small, large)

    one = clerk.get(f"/api/rectification-notices/{nid}").json()
    assert len(one["submissions"]) == 20 and one["submissions_next_cursor"]
    listed = clerk.get(f"/api/rectification-notices/{nid}/submissions").json()
    assert listed["items"] == one["submissions"] and listed["next_cursor"] == one["submissions_next_cursor"]
    rows = earlier(clerk, f"/api/rectification-notices/{nid}/submissions", listed["items"], listed["next_cursor"])
    ids = [s["id"] for s in rows]
    assert ids == sorted(set(ids)) and len(ids) == 3 + GROW  # each once, oldest first
    assert rows[0]["text"] == "已编制共享目录并提交审定，现报告整改情况。" and rows[0]["decision"] == "returned"
    assert rows[0]["attachments"][0]["filename"] == "整改报告.pdf" and rows[0]["decided_by"]
    assert [a["filename"] for a in rows[-1]["attachments"]] == ["整改报告.pdf"]  # a copy of the first

    # The page: 20 rows and the link to the earlier ones; without script a page of them, with it the rows.
    html = page.get(f"/rectification-notices/{nid}").text
    card = html[html.index('id="submissions"'):]
    card = card[:card.index("</table>")]
    assert card.count("<tr>") == 1 + 20 and "更早的记录" in card
    url = f"/rectification-notices/{nid}/submissions?cursor={one['submissions_next_cursor']}"
    assert f'href="{url}"' in card
    older = page.get(url)
    assert older.status_code == 200 and "<html" in older.text and "整改报告与免责申请" in older.text
    assert "更早的记录" in older.text  # 45 rows: 20 shown, 20 on this page, 5 before
    fragment = page.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count("<tr>") == 20 and 'class="earlier noprint"' in fragment.text
    assert _count(rt, lambda: page.get(url, headers={"HX-Request": "true"})) == \
        _count(rt, lambda: page.get(f"/rectification-notices/{nid}/submissions"))

    # Someone who may not read the case gets what the case itself answers.
    for user in ("gat_clerk", "gov_supervisor"):
        other = as_user(user)
        case = other.get(f"/api/rectification-notices/{nid}")
        r = other.get(f"/api/rectification-notices/{nid}/submissions")
        assert r.status_code == case.status_code, (user, r.text)
        if r.status_code == 200:
            assert r.json()["items"] == case.json()["submissions"]
    # A forged cursor or a page size out of range: 422 with its code.
    r = clerk.get(f"/api/rectification-notices/{nid}/submissions", params={"cursor": "garbage!"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"
    r = clerk.get(f"/api/rectification-notices/{nid}/submissions", params={"limit": 0})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "limit_invalid"
    assert page.get(f"/rectification-notices/{nid}/submissions", params={"cursor": "garbage!"}).status_code == 422


def test_supervision_items_of_a_case_are_paged_and_cost_the_same_at_any_length(rt: Runtime, app: Any,
                                                                               as_user: Any) -> None:
    n = issue(as_user("data_reviewer"), deadline_working_days=10)  # due 2026-11-16
    clock.freeze(at(2026, 11, 18, 9, 0))
    assert as_user("demo_admin").post("/api/admin/jobs/escalate-overdue/run").json()["result"] == 1
    nid, supervisor = n["id"], as_user("gov_supervisor")
    page = _login(app, "gov_supervisor")
    calls = {
        "notice": lambda: supervisor.get(f"/api/rectification-notices/{nid}"),
        "list": lambda: supervisor.get(f"/api/rectification-notices/{nid}/supervision"),
        "page": lambda: page.get(f"/rectification-notices/{nid}"),
    }
    small = {k: _count(rt, c) for k, c in calls.items()}

    # Later overdue rounds' items, all decided: the one still awaiting a decision is the oldest.
    with rt.db.engine.begin() as conn:
        item = _table("supervision_item")
        first = conn.execute(select(item.c.id, item.c.task_id).where(item.c.instance_id == n["instance_id"])).one()
        for k in range(GROW + 2):
            task = _clone(conn, "task", first.task_id, spiff_task_id=f"overdue-round-{k}", status="completed")
            _clone(conn, "supervision_item", first.id, task_id=task, decision="order_to_correct",
                   decision_note=f"第{k + 2}次督办", decided_by="gov_supervisor", decided_at=clock.now())
    large = {k: _count(rt, c) for k, c in calls.items()}
    assert large == small, (small, large)

    one = supervisor.get(f"/api/rectification-notices/{nid}").json()
    assert len(one["supervision"]) == 20 and one["supervision_next_cursor"]
    assert one["may"]["supervise"]  # the undecided item is on an earlier page: the decision is still offered
    listed = supervisor.get(f"/api/rectification-notices/{nid}/supervision").json()
    assert listed["items"] == one["supervision"] and listed["next_cursor"] == one["supervision_next_cursor"]
    rows = earlier(supervisor, f"/api/rectification-notices/{nid}/supervision", listed["items"],
                   listed["next_cursor"])
    assert [r["id"] for r in rows] == sorted({r["id"] for r in rows}) and len(rows) == 3 + GROW
    assert rows[0]["decision"] is None and rows[-1]["decision_note"] == f"第{GROW + 3}次督办"

    html = page.get(f"/rectification-notices/{nid}").text
    card = html[html.index('id="supervision"'):]
    card = card[:card.index("</table>")]
    assert card.count("<tr>") == 1 + 20 and "作出督办决定" not in card  # the 20 shown are decided
    url = f"/rectification-notices/{nid}/supervision?cursor={one['supervision_next_cursor']}"
    assert f'href="{url}"' in card
    fragment = page.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and fragment.text.count("<tr>") == 20
    last = page.get(f"/rectification-notices/{nid}/supervision?cursor=" +
                    supervisor.get(f"/api/rectification-notices/{nid}/supervision",
                                   params={"cursor": one["supervision_next_cursor"]}).json()["next_cursor"])
    assert last.status_code == 200 and "<html" in last.text and "作出督办决定" in last.text  # the oldest item
    assert "更早的记录" not in last.text.split("<tbody>", 1)[1]
    r = supervisor.get(f"/api/rectification-notices/{nid}/supervision",
                       params={"cursor": one["submissions_next_cursor"] or "garbage!"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"


def test_open_list_review_rounds_are_paged_and_cost_the_same_at_any_length(rt: Runtime, app: Any,
                                                                           as_user: Any) -> None:
    clerk, reviewer = as_user("gat_clerk"), as_user("data_reviewer")
    created = submitted(clerk)
    lid = created["id"]
    review(reviewer, lid, "return", comment="请细化开放条件", item_comments={HOUSEHOLD: "开放条件过宽"})
    page = _login(app, "gat_clerk")
    calls = {
        "list": lambda: clerk.get(f"/api/open-lists/{lid}"),
        "reviews": lambda: clerk.get(f"/api/open-lists/{lid}/reviews"),
        "page": lambda: page.get(f"/open-lists/{lid}"),
    }
    small = {k: _count(rt, c) for k, c in calls.items()}

    with rt.db.engine.begin() as conn:
        table = _table("open_list_review")
        first = conn.execute(select(table.c.id, table.c.task_id).where(table.c.open_list_id == lid)).one()
        for k in range(GROW + 2):
            task = _clone(conn, "task", first.task_id, spiff_task_id=f"review-round-{k}")
            _clone(conn, "open_list_review", first.id, task_id=task, round=k + 2, comment=f"第{k + 2}轮意见")
    large = {k: _count(rt, c) for k, c in calls.items()}
    assert large == small, (small, large)

    one = clerk.get(f"/api/open-lists/{lid}").json()
    assert len(one["reviews"]) == 20 and one["reviews_next_cursor"]
    assert one["reviews"][-1]["comment"] == f"第{GROW + 3}轮意见"
    by_code = {i["entry_code"]: i for i in one["items"]}
    assert by_code[HOUSEHOLD]["review_comment"] == "开放条件过宽"  # the latest round's, beside the item
    listed = clerk.get(f"/api/open-lists/{lid}/reviews").json()
    assert listed["items"] == one["reviews"] and listed["next_cursor"] == one["reviews_next_cursor"]
    rounds = earlier(clerk, f"/api/open-lists/{lid}/reviews", listed["items"], listed["next_cursor"])
    assert [r["round"] for r in rounds] == list(range(1, GROW + 4))
    assert rounds[0]["comment"] == "请细化开放条件"

    html = page.get(f"/open-lists/{lid}").text
    card = html[html.index('id="reviews"'):]
    card = card[:card.index('id="history"')]
    assert card.count('class="review-round"') == 20 and f"第{GROW + 3}轮意见" in card and "请细化开放条件" not in card
    url = f"/open-lists/{lid}/reviews?cursor={one['reviews_next_cursor']}"
    assert f'href="{url}"' in card
    older = page.get(url)
    assert older.status_code == 200 and "<html" in older.text and "审查意见" in older.text
    fragment = page.get(f"/open-lists/{lid}/reviews?cursor=" + clerk.get(
        f"/api/open-lists/{lid}/reviews", params={"cursor": one["reviews_next_cursor"]}).json()["next_cursor"],
        headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count('class="review-round"') == 5 and "更早的记录" not in fragment.text
    assert "请细化开放条件" in fragment.text and "开放条件过宽" in fragment.text
    r = clerk.get(f"/api/open-lists/{lid}/reviews", params={"cursor": one["reviews_next_cursor"][:-2] + "!!"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"


def test_dispute_attachments_are_paged_and_cost_the_same_at_any_length(rt: Runtime, app: Any,
                                                                       as_user: Any) -> None:
    clerk = as_user("rst_clerk")
    d = open_dispute(clerk, refused_request(as_user)["id"])
    did = d["id"]
    for name in ("用途说明.pdf", "职责依据.pdf", "安全方案.pdf"):
        r = clerk.post("/api/attachments", data={"owner_type": "dispute", "owner_id": str(did), "note": name},
                       files={"file": (name, b"%PDF-1.4 " + name.encode(), "application/pdf")})
        assert r.status_code == 201, r.text
    page = _login(app, "rst_clerk")
    calls = {
        "dispute": lambda: clerk.get(f"/api/disputes/{did}"),
        "list": lambda: clerk.get(f"/api/disputes/{did}/attachments"),
        "page": lambda: page.get(f"/disputes/{did}"),
    }
    small = {k: _count(rt, c) for k, c in calls.items()}
    with rt.db.read_session() as session:
        table = _table("attachment")
        last = session.execute(select(table.c.id).where(table.c.owner_type == "dispute", table.c.owner_id == did)
                               .order_by(table.c.id.desc())).scalars().first()
    _grow(rt, "attachment", last, GROW)
    large = {k: _count(rt, c) for k, c in calls.items()}
    assert large == small, (small, large)

    one = clerk.get(f"/api/disputes/{did}").json()
    assert len(one["attachments"]) == 20 and one["attachments_next_cursor"]
    listed = clerk.get(f"/api/disputes/{did}/attachments").json()
    assert listed["items"] == one["attachments"] and listed["next_cursor"] == one["attachments_next_cursor"]
    files = earlier(clerk, f"/api/disputes/{did}/attachments", listed["items"], listed["next_cursor"])
    assert [f["filename"] for f in files[:3]] == ["用途说明.pdf", "职责依据.pdf", "安全方案.pdf"]
    assert len({f["id"] for f in files}) == 3 + GROW and files[0]["department_name"] and files[0]["uploaded_by"]

    html = page.get(f"/disputes/{did}").text
    card = html[html.index('id="attachments"'):]
    card = card[:card.index("</table>")]
    assert card.count("<tr>") == 1 + 20 and "用途说明.pdf" not in card
    url = f"/disputes/{did}/attachments?cursor={one['attachments_next_cursor']}"
    assert f'href="{url}"' in card
    older = page.get(url)
    assert older.status_code == 200 and "<html" in older.text and "附件" in older.text
    fragment = page.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and fragment.text.count("<tr>") == 20

    # Readers who are not parties (the province's supervisor) get none, as in the dispute itself.
    supervisor = as_user("gov_supervisor")
    case = supervisor.get(f"/api/disputes/{did}")
    assert case.status_code == 200 and case.json()["attachments"] == []
    assert supervisor.get(f"/api/disputes/{did}/attachments").json() == {"items": [], "next_cursor": None}
    r = clerk.get(f"/api/disputes/{did}/attachments", params={"cursor": encode_cursor("dispute_records", last)})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"  # another list's cursor
