"""The share request's hot path keeps its statement budget (a regression guard, not a timing).

A whole share request was ~25 small statements per instance, half of its time ORM bookkeeping around
them (issue 12). Each statement of submit and complete is counted here, with the request's outcome a
user checks; a change that adds a read or a write to either request fails until it says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.api.helpers import CONDITIONAL, review_task, submit

# Per request, after the per-process caches are warm (person, calendar, definitions). SQLite adds
# the BEGIN IMMEDIATE of each transaction. Test settings keep time travel on: the demo clock's read
# (with its own BEGIN on SQLite) is part of each request here; it is read in a read-only transaction, so
# on SQLite the write that follows on the same pooled connection first lifts query_only (one PRAGMA).
# Issue 16: a granted request goes on to the exchange platform's external task (exchange.grant): completing
# the review reads the instance's open external tasks and inserts the new one (two statements more).
BUDGET = {"sqlite": {"submit": 15, "complete": 20}, "postgresql": {"submit": 12, "complete": 17}}


@contextmanager
def _counted(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split())[:120])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _one_request(clerk, reviewer, engine) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    with _counted(engine) as submitted:
        created = submit(clerk, CONDITIONAL)
    assert created["status"] == "under_review"
    task = review_task(reviewer, created["instance_id"])
    with _counted(engine) as completed:
        r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                          json={"data": {"decision": "approve", "terms": "仅用于社保资格认证"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    detail = clerk.get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "granted" and detail["grant"]["terms"] == "仅用于社保资格认证"
    return submitted, completed


def test_submit_and_complete_stay_within_their_statement_budget(rt, as_user) -> None:
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    _one_request(clerk, reviewer, rt.db.engine)  # warms the caches, as any running service has them
    submitted, completed = _one_request(clerk, reviewer, rt.db.engine)
    budget = BUDGET[rt.db.engine.dialect.name]
    assert len(submitted) <= budget["submit"], "\n".join(submitted)
    assert len(completed) <= budget["complete"], "\n".join(completed)
    # The reviewers were told of the request and the applicant of the reply, once each per request;
    # the audit chain verifies with both requests' events.
    titles = [n["title"] for n in clerk.get("/api/notifications").json()["items"]]
    assert sum("已答复" in t for t in titles) == 2, titles
    titles = [n["title"] for n in reviewer.get("/api/notifications").json()["items"]]
    assert sum(t.startswith("新待办") for t in titles) == 2, titles
    assert as_user("demo_admin").get("/api/admin/audit/verify").json()["ok"] is True
