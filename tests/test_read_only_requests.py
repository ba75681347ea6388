"""Requests that change nothing read on read-only sessions: on SQLite they neither wait for a writer nor
hold one up (two workers share one file), and a write in one fails loudly, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.core.db import Database
from app.deps import SessionDep
from app.org.models import User
from tests.api.helpers import review_task, submit
from tests.designer.helpers import audit_actions
from tests.web.test_pages import _login

# Only so that a regression fails instead of hanging: no test waits on time for its outcome.
GUARD_SECONDS = 60
REVIEWER = "gat_reviewer"
OLD_NAME = "张伟（省公安厅审核人）"


def _no_waiting(db: Database) -> Database:
    """On SQLite, make a connection that finds the write lock taken fail at once instead of queueing."""
    if db.engine.dialect.name == "sqlite":
        event.listen(db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=0"))
        db.engine.dispose()
    return db


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A second Database on the test's file or database: another worker process, as far as locks go."""
    database = _no_waiting(Database(db_url))
    yield database
    database.dispose()


def _name(session: Session) -> str:
    return session.execute(select(User.display_name).where(User.username == REVIEWER)).scalar_one()


def _rename(session: Session, name: str) -> None:
    session.execute(update(User).where(User.username == REVIEWER).values(display_name=name))


def _in_thread(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_long_read_does_not_block_a_writers_commit(db: Database) -> None:
    read_once, written = threading.Event(), threading.Event()
    seen: list[str] = []
    errors: list[BaseException] = []

    def long_read() -> None:
        with db.read_session() as session:
            seen.append(_name(session))
            read_once.set()
            assert written.wait(GUARD_SECONDS)
            seen.append(_name(session))  # the same request, still on its snapshot

    reader = _in_thread(long_read, errors)
    assert read_once.wait(GUARD_SECONDS)
    try:
        with db.session() as session:  # would fail at once if the reader held the write lock
            _rename(session, "张伟（改名）")
            session.commit()
    finally:
        written.set()
        reader.join(GUARD_SECONDS)
    assert not errors, errors
    # SQLite: the read keeps its snapshot; PostgreSQL (READ COMMITTED) sees each statement's committed state.
    assert seen == [OLD_NAME, OLD_NAME if db.engine.dialect.name == "sqlite" else "张伟（改名）"]
    with db.read_session() as session:
        assert _name(session) == "张伟（改名）"


def test_a_read_is_not_blocked_by_a_writer_holding_the_lock(db: Database) -> None:
    holding, read_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with db.session() as session:
            _rename(session, "张伟（改名）")  # the write lock is taken and kept until the commit
            holding.set()
            assert read_done.wait(GUARD_SECONDS)
            session.commit()

    thread = _in_thread(writer, errors)
    assert holding.wait(GUARD_SECONDS)
    try:
        with db.read_session() as session:  # would fail at once if it asked for the write lock
            seen = _name(session)
    finally:
        read_done.set()
        thread.join(GUARD_SECONDS)
    assert not errors, errors
    assert seen == OLD_NAME  # the last committed state, not the writer's uncommitted one
    with db.read_session() as session:
        assert _name(session) == "张伟（改名）"


def test_a_write_in_a_read_only_session_fails(db: Database) -> None:
    with db.read_session() as session:
        _name(session)
        with pytest.raises(DBAPIError):
            _rename(session, "张伟（改名）")
            session.flush()
    # The next writer, on the same pooled connection, writes as before.
    with db.session() as session:
        _rename(session, "张伟（改名）")
        session.commit()
    with db.read_session() as session:
        assert _name(session) == "张伟（改名）"


def _rename_route(app: FastAPI) -> None:
    """A route that writes, on both methods: the GET is the bug every real GET route must not have."""
    def rename(session: SessionDep) -> dict[str, Any]:
        _rename(session, "张伟（改名）")
        session.commit()
        return {"ok": True}

    app.add_api_route("/test-only/rename", rename, methods=["GET", "POST"])


def test_a_get_that_writes_fails(app: FastAPI, client: TestClient, db: Database) -> None:
    _rename_route(app)
    with pytest.raises(DBAPIError):
        client.get("/test-only/rename")
    with db.read_session() as session:
        assert _name(session) == OLD_NAME
    assert client.post("/test-only/rename").status_code == 200
    with db.read_session() as session:
        assert _name(session) == "张伟（改名）"


def test_pages_and_api_answer_while_another_worker_holds_the_write_lock(rt: Any, app: FastAPI, client: TestClient,
                                                                         as_user: Any, db: Database) -> None:
    _no_waiting(rt.db)  # the service's own connections give up at once too, rather than queue
    reviewer = as_user(REVIEWER)
    page = _login(app, REVIEWER)
    request = submit(as_user("rst_clerk"))
    task = review_task(reviewer, request["instance_id"])
    with db.session() as other_worker:
        _rename(other_worker, "张伟（改名）")  # holds the write lock (SQLite) or the row (PostgreSQL)
        r = reviewer.get("/api/tasks", params={"view": "todo"})
        assert r.status_code == 200 and [t["id"] for t in r.json()["items"]] == [task["id"]]
        assert reviewer.get(f"/api/tasks/{task['id']}").status_code == 200
        r = page.get(f"/tasks/{task['id']}")
        assert r.status_code == 200 and "审核共享申请" in r.text
        assert page.get("/tasks").status_code == 200
        other_worker.commit()
    with db.read_session() as session:
        assert _name(session) == "张伟（改名）"


def test_opening_a_copied_case_marks_the_copy_read_on_that_page(rt: Any, app: FastAPI, client: TestClient,
                                                               as_user: Any) -> None:
    reviewer = as_user(REVIEWER)
    request = submit(as_user("rst_clerk"))
    task = review_task(reviewer, request["instance_id"])
    with rt.db.read_session() as session:
        outsider_id = session.execute(select(User.id).where(User.username == "scjg_clerk")).scalar_one()
    r = reviewer.post(f"/api/instances/{request['instance_id']}/copies", json={"user_ids": [outsider_id]})
    assert r.status_code == 201, r.text
    outsider = _login(app, "scjg_clerk")
    # A GET records the reading (its own short write) and the page it answers already says so.
    first = outsider.get(f"/tasks/{task['id']}")
    assert first.status_code == 200
    assert '赵静（省市场监管局经办人）<span class="muted">（已阅）' in first.text
    assert outsider.get(f"/tasks/{task['id']}").status_code == 200
    actions = [a for a, _ in audit_actions(rt, "process_instance", request["instance_id"])]
    assert actions.count("case.copy_read") == 1
