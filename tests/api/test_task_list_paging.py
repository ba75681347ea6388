"""The task lists page with a cursor: every row exactly once, in the order shown, ties and empty deadlines
included; a forged cursor is a 422; the tab counts stop at "99+"; and on SQLite the lists read their indexes."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select

from app.engine.models import ProcessInstance, Task
from app.org.models import User
from tests.api.helpers import submit
from tests.web.test_pages import _login

DAY = datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)


class _Person:
    def __init__(self, user: User) -> None:
        self.id, self.department_id = user.id, user.department_id


def _user(rt, username: str) -> _Person:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return _Person(session.execute(select(User).where(User.username == username)).scalar_one())


def _add_tasks(rt, instance_id: int, dues: list[datetime | None], *, department_id: int,  # type: ignore[no-untyped-def]
               status: str = "open", completed_by: int | None = None, name: str = "补充审核") -> list[int]:
    """Insert task rows of one case (a cheap stand-in for many cases' steps), one per deadline given."""
    ids = []
    with rt.db.session() as session:
        initiator = session.get(ProcessInstance, instance_id).started_by_id  # as the runner copies it
        for n, due in enumerate(dues):
            row = Task(instance_id=instance_id, process_key="sharing_share_request", spiff_task_id=str(uuid.uuid4()),
                       initiator_id=initiator,
                       task_spec="review", name=name, department_id=department_id, role="reviewer", status=status,
                       due_at=due, created_at=DAY + timedelta(minutes=n % 3), form=[],
                       completed_at=DAY + timedelta(hours=1 + n % 4) if status == "completed" else None,
                       completed_by_id=completed_by)
            session.add(row)
            session.flush()
            ids.append(row.id)
        session.commit()
    return ids


def _walk(client, limit: int, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Follow next_cursor from the first page to the last; return every item in the order received."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        r = client.get("/api/tasks", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert body["items"], "a page that promises more is never empty"
    raise AssertionError("the pages never end")


def _due_key(item: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(item["due_at"]) if item["due_at"] else None


def _setup_todo(rt, as_user) -> tuple[Any, list[int]]:  # type: ignore[no-untyped-def]
    reviewer = as_user("gat_reviewer")
    instance_id = submit(as_user("rst_clerk"))["instance_id"]
    me = _user(rt, "gat_reviewer")
    # Four tasks share each deadline, three have none: ties and empty deadlines straddle the pages.
    dues = [DAY + timedelta(days=d) for d in (3, 1, 2, 1, 3, 2) for _ in range(2)] + [None, None, None]
    return reviewer, _add_tasks(rt, instance_id, dues, department_id=me.department_id)


def test_todo_pages_list_every_task_once_in_deadline_order(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer, added = _setup_todo(rt, as_user)
    whole = reviewer.get("/api/tasks", params={"view": "todo"}).json()["items"]
    assert len(whole) == len(added) + 1
    for sort in (None, "due_at", "-due_at", "created_at", "-created_at"):
        params = {"view": "todo", **({"sort": sort} if sort else {})}
        for limit in (1, 4, 5):
            paged = _walk(reviewer, limit, **params)
            ids = [t["id"] for t in paged]
            assert sorted(ids) == sorted(t["id"] for t in whole), (sort, limit)  # each exactly once
            assert ids == [t["id"] for t in _walk(reviewer, 100, **params)], (sort, limit)  # same order whole
        if sort in (None, "due_at", "-due_at"):
            # Deadlines in order (latest first for -due_at), ties by id the same way, no deadline last.
            desc = sort == "-due_at"
            dated = [t for t in paged if t["due_at"]]
            assert [(_due_key(t), t["id"]) for t in dated] == sorted(((_due_key(t), t["id"]) for t in dated),
                                                                     reverse=desc)
            assert all(t["due_at"] is None for t in paged[len(dated):])
            assert [t["id"] for t in paged[len(dated):]] == sorted((t["id"] for t in paged[len(dated):]),
                                                                   reverse=desc)
        else:
            desc = sort.startswith("-")
            keys = [(datetime.fromisoformat(t["created_at"]), t["id"]) for t in paged]
            assert keys == sorted(keys, reverse=desc)
    # List items carry what a list shows, not the form or the data (GET /api/tasks/{id} has them).
    assert "form" not in whole[0] and "data" not in whole[0]
    assert "form" in reviewer.get(f"/api/tasks/{whole[0]['id']}").json()


def test_filters_hold_across_pages(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer, _ = _setup_todo(rt, as_user)
    paged = _walk(reviewer, 2, view="todo", q="补充")
    assert len(paged) == 15 and {t["name"] for t in paged} == {"补充审核"}
    # Overdue only: the clock is frozen on 2 November, before every deadline.
    assert _walk(reviewer, 2, view="todo", overdue=True) == []
    # The web page's 下一页 keeps the filters.
    page = _login(reviewer.app, "gat_reviewer")
    html = page.get("/tasks", params={"q": "补充", "sort": "due_at"}).text
    assert "下一页" not in html  # 15 rows: one page of 100


def test_done_and_initiated_pages(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer = as_user("gat_reviewer")
    clerk = as_user("rst_clerk")
    instance_id = submit(clerk)["instance_id"]
    me = _user(rt, "gat_reviewer")
    done = _add_tasks(rt, instance_id, [DAY] * 9, department_id=me.department_id, status="completed",
                      completed_by=me.id)
    paged = _walk(reviewer, 2, view="done")
    assert sorted(t["id"] for t in paged) == sorted(done)
    keys = [(datetime.fromisoformat(t["completed_at"]), t["id"]) for t in paged]
    assert keys == sorted(keys, reverse=True)  # newest first, ties by id
    for sort in ("due_at", "-created_at"):
        assert sorted(t["id"] for t in _walk(reviewer, 4, view="done", sort=sort)) == sorted(done)
    # 我发起的: the cases I started, newest first, each case's tasks newest first.
    second = submit(clerk)["instance_id"]
    mine = _walk(clerk, 3, view="initiated")
    assert [(t["instance_id"], t["id"]) for t in mine] == sorted(((t["instance_id"], t["id"]) for t in mine),
                                                                 reverse=True)
    assert {t["instance_id"] for t in mine} == {instance_id, second} and len(mine) == 2 + len(done)


def _cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_bad_or_forged_cursor_is_a_422(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer, _ = _setup_todo(rt, as_user)
    todo_cursor = reviewer.get("/api/tasks", params={"limit": 2}).json()["next_cursor"]
    assert todo_cursor
    bad = ["%%%", "x", "a" * 1000, _cursor({"l": "todo:", "b": 0, "k": "not a time", "i": 5}),
           _cursor({"l": "todo:", "b": 0, "k": "2026-11-10T01:00:00", "i": 5}),  # no time zone
           _cursor({"l": "todo:", "b": 2, "k": None, "i": 5}), _cursor({"l": "todo:", "b": 0, "k": None, "i": 5}),
           _cursor({"l": "todo:", "b": 1, "k": None, "i": "5"}), _cursor({"l": "todo:", "b": 1, "k": None, "i": -1}),
           _cursor({"l": "todo:", "b": 1, "k": None, "i": 2**70}), _cursor([1, 2]),
           base64.urlsafe_b64encode(b"\xff\xfe").decode()]
    for cursor in bad:
        r = reviewer.get("/api/tasks", params={"cursor": cursor})
        assert r.status_code == 422, (cursor, r.text)
        assert r.json()["detail"]["code"] == "cursor_invalid" and "游标" in r.json()["detail"]["message"]
    # A cursor belongs to its list and its order: another view or sort refuses it.
    r = reviewer.get("/api/tasks", params={"sort": "created_at", "cursor": _cursor({"l": "todo:created_at", "b": 1,
                                                                                   "k": None, "i": 5})})
    assert r.status_code == 422  # arrival times are never empty: no such page
    for params in ({"view": "done"}, {"sort": "-due_at"}, {"view": "initiated"}):
        r = reviewer.get("/api/tasks", params={**params, "cursor": todo_cursor})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid", params
    for path in ("/api/side-tasks", "/api/me/deputy/tasks", "/api/me/copies"):
        r = reviewer.get(path, params={"cursor": "%%%"})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid", path
    # The page falls back to the first page with a notice, never an error.
    page = _login(reviewer.app, "gat_reviewer")
    html = page.get("/tasks", params={"cursor": "%%%"}).text
    assert "翻页链接已失效" in html and html.count('href="/tasks/') >= 1


def test_counts_stop_at_99_plus(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer = as_user("gat_reviewer")
    instance_id = submit(as_user("rst_clerk"))["instance_id"]
    me = _user(rt, "gat_reviewer")
    counts = reviewer.get("/api/me/inbox-counts").json()
    assert counts["todo"] == 1 and counts["labels"]["todo"] == "1"
    _add_tasks(rt, instance_id, [DAY] * 98, department_id=me.department_id)
    counts = reviewer.get("/api/me/inbox-counts").json()
    assert counts["todo"] == 99 and counts["labels"]["todo"] == "99"
    _add_tasks(rt, instance_id, [DAY] * 2, department_id=me.department_id)
    _add_tasks(rt, instance_id, [DAY] * 101, department_id=me.department_id, status="completed",
               completed_by=me.id)
    counts = reviewer.get("/api/me/inbox-counts").json()
    assert (counts["todo"], counts["done"]) == (100, 100)
    assert counts["labels"]["todo"] == counts["labels"]["done"] == "99+"
    html = _login(reviewer.app, "gat_reviewer").get("/tasks").text
    assert '<span class="badge">99+</span>' in html and '<span class="muted tab-count">99+</span>' in html


def _plans(rt, call) -> list[str]:  # type: ignore[no-untyped-def]
    """Run a list call and return the EXPLAIN QUERY PLAN of each SELECT it issued (SQLite)."""
    statements: list[tuple[str, Any]] = []
    engine = rt.db.engine

    def capture(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    raw = engine.raw_connection()
    try:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT") and "FROM task" in statement:
                rows = raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
                plans.append("\n".join(r[-1] for r in rows))
    finally:
        raw.close()
    return plans


def test_sqlite_lists_read_their_indexes_in_order(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    if rt.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan text (PostgreSQL's plans: bench/explain_task_lists.py)")
    reviewer, _ = _setup_todo(rt, as_user)
    me = _user(rt, "gat_reviewer")
    _add_tasks(rt, submit(as_user("rst_clerk"))["instance_id"], [DAY] * 3, department_id=me.department_id,
               status="completed", completed_by=me.id)
    cursor = reviewer.get("/api/tasks", params={"limit": 2}).json()["next_cursor"]
    expect = {("todo", None): "ix_task_todo_due", ("todo", "-created_at"): "ix_task_todo_created",
              ("done", None): "ix_task_done", ("done", "due_at"): "ix_task_done_due",
              ("done", "-created_at"): "ix_task_done_created"}
    for (view, sort), index in expect.items():
        plans = _plans(rt, lambda: reviewer.get("/api/tasks", params={"view": view, **({"sort": sort} if sort else {})}))
        keyed = [p for p in plans if "USING INDEX" in p and index in p]
        assert keyed, (view, sort, plans)
        assert not any("TEMP B-TREE" in p for p in keyed), (view, sort, plans)
    plans = _plans(rt, lambda: reviewer.get("/api/tasks", params={"cursor": cursor}))
    assert any("ix_task_todo_due" in p and "TEMP B-TREE" not in p for p in plans), plans
    assert not any("SCAN task" in p for p in plans), plans
    # 我发起的: the initiator's tasks in each order, from the task's own copy of who started the case.
    clerk = as_user("rst_clerk")
    for sort, index in ((None, "ix_task_initiated"), ("due_at", "ix_task_initiated_due"),
                        ("-created_at", "ix_task_initiated_created"), ("created_at", "ix_task_initiated_created")):
        plans = _plans(rt, lambda: clerk.get("/api/tasks", params={"view": "initiated",
                                                                   **({"sort": sort} if sort else {})}))
        keyed = [p for p in plans if "USING INDEX" in p and f"{index} " in p]
        assert keyed and not any("TEMP B-TREE" in p for p in keyed), (sort, plans)


def _statements(rt, call) -> int:  # type: ignore[no-untyped-def]
    """Count the SQL statements a call issues."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    return len(seen)


def test_list_calls_issue_as_many_statements_for_a_long_page_as_for_a_short_one(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    reviewer, _ = _setup_todo(rt, as_user)
    me = _user(rt, "gat_reviewer")
    clerk = as_user("rst_clerk")
    cases = [submit(clerk)["instance_id"] for _ in range(6)]
    _add_tasks(rt, cases[0], [DAY] * 12, department_id=me.department_id, status="completed", completed_by=me.id)
    scjg = as_user("scjg_clerk")
    scjg_id = _user(rt, "scjg_clerk").id
    for instance_id in cases:
        r = reviewer.post(f"/api/instances/{instance_id}/copies", json={"user_ids": [scjg_id]})
        assert r.status_code == 201, r.text
    # Pages of 2 and of 5 rows, both with more to come: the same statements, however long the page.
    for client, path, params in ((reviewer, "/api/tasks", {"view": "todo"}), (reviewer, "/api/tasks", {"view": "done"}),
                                 (clerk, "/api/tasks", {"view": "initiated"}), (scjg, "/api/me/copies", {}),
                                 (reviewer, "/api/tasks", {"view": "todo", "sort": "-created_at", "q": "补充"})):
        assert client.get(path, params={**params, "limit": 5}).json()["next_cursor"], (path, params)
        short = _statements(rt, lambda: client.get(path, params={**params, "limit": 2}))
        long = _statements(rt, lambda: client.get(path, params={**params, "limit": 5}))
        assert short == long, (path, params, short, long)
