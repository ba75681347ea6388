"""One demo clock for the whole deployment: moved through any worker, kept in the database, read by
every request and job; token expiry stays on real time, so moving the clock logs no one out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.clock import SHANGHAI, clock
from app.main import create_app
from app.runtime import build_runtime
from app.scheduler.setup import run_job
from tests.conftest import DEMO_PASSWORD

START = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)  # the frozen clock of the `rt` fixture


def _now(c: TestClient) -> datetime:
    r = c.get("/api/admin/clock")
    assert r.status_code == 200, r.text
    return datetime.fromisoformat(r.json()["now"])


def _row(session):  # type: ignore[no-untyped-def]
    from app.workdays.models import ServiceClock  # here: the module must load on the old code too

    return session.get(ServiceClock, 1)


def _forget_the_offset() -> None:
    """Make this process's clock like a worker's that never saw the move (same frozen instant, no offset)."""
    clock.reset()
    clock.freeze(START)


def test_a_move_is_stored_with_who_and_when_and_audited(rt, as_user) -> None:
    admin = as_user("demo_admin")
    moved = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    r = admin.put("/api/admin/clock", json={"now": moved.isoformat()})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["now"]) == moved
    with rt.db.session() as session:
        row = _row(session)
        assert row is not None and row.moved_by == "demo_admin" and row.moved_to == moved
        assert timedelta(microseconds=row.offset_us) == moved - START
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "clock.moved")).scalar_one()
        assert event.actor == "demo_admin"
        assert datetime.fromisoformat(event.detail["to"]) == moved


def test_a_request_after_the_move_sees_the_moved_time(rt, as_user) -> None:
    admin = as_user("demo_admin")
    moved = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert admin.put("/api/admin/clock", json={"now": moved.isoformat()}).status_code == 200
    _forget_the_offset()
    assert _now(admin) == moved  # the request took the offset from the database first
    assert clock.now() == moved


def test_a_token_issued_before_a_day_move_still_works(rt, as_user) -> None:
    admin, clerk = as_user("demo_admin"), as_user("rst_clerk")
    r = admin.put("/api/admin/clock", json={"now": (START + timedelta(days=1)).isoformat()})
    assert r.status_code == 200, r.text
    assert admin.get("/api/me").status_code == 200
    assert clerk.get("/api/me").status_code == 200
    # A month ahead: still logged in, the administrator too (the README's demo path moves the clock so).
    month_on = (START + timedelta(days=30)).isoformat()
    assert admin.put("/api/admin/clock", json={"now": month_on}).status_code == 200
    assert clerk.get("/api/tasks").status_code == 200
    assert _now(admin) == START + timedelta(days=30)


def test_a_second_app_on_the_same_database_sees_the_offset(rt, as_user) -> None:
    admin = as_user("demo_admin")
    other_rt = build_runtime(rt.settings)
    try:
        with TestClient(create_app(rt.settings, runtime=other_rt)) as other:
            token = other.post("/api/auth/token", data={"username": "demo_admin", "password": DEMO_PASSWORD})
            other.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            moved = datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
            assert admin.put("/api/admin/clock", json={"now": moved.isoformat()}).status_code == 200
            _forget_the_offset()
            assert _now(other) == moved
    finally:
        other_rt.db.dispose()


def test_a_scheduler_job_runs_on_the_stored_offset(rt, as_user) -> None:
    clerk, admin = as_user("rst_clerk"), as_user("demo_admin")
    from tests.api.helpers import share_request_body

    assert clerk.post("/api/share-requests", json=share_request_body()).status_code == 201
    assert run_job(rt, "escalate-overdue") == 0
    weeks_on = (START + timedelta(days=40)).isoformat()
    assert admin.put("/api/admin/clock", json={"now": weeks_on}).status_code == 200
    _forget_the_offset()  # as a scheduler replica that has not seen the move
    assert run_job(rt, "escalate-overdue") >= 1


def test_an_out_of_range_move_changes_nothing(rt, as_user) -> None:
    admin = as_user("demo_admin")
    r = admin.put("/api/admin/clock", json={"now": "1900-01-01T00:00:00+08:00"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "time_out_of_range"
    with rt.db.session() as session:
        assert _row(session).offset_us == 0  # type: ignore[union-attr]
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "clock.moved")).first() is None
    assert _now(admin) == START


def test_the_calendar_page_moves_the_clock_for_everyone(rt, app, client) -> None:
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": "demo_admin", "password": DEMO_PASSWORD, "csrf_token": csrf,
                               "next": "/admin/calendar"})
    assert r.status_code == 303, r.text
    page = c.get("/admin/calendar")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post("/admin/clock", data={"now": "2026-11-25T14:30", "csrf_token": csrf})
    assert r.status_code == 303, r.text
    _forget_the_offset()
    page = c.get("/admin/calendar")  # still logged in, and the page shows the moved time
    assert page.status_code == 200
    assert 'value="2026-11-25T14:30"' in page.text
    assert "上次由 系统管理员" in page.text and "调整为 2026-11-25 14:30" in page.text
    with rt.db.session() as session:
        assert _row(session).moved_by == "demo_admin"  # type: ignore[union-attr]


def test_without_time_travel_the_clock_never_reads_the_table(rt, as_user) -> None:
    with rt.db.session() as session:  # a deployment that was once a demo: an offset is left behind
        _row(session).offset_us = 86_400_000_000
        session.commit()
    settings = rt.settings.model_copy(update={"enable_time_travel": False})
    prod_rt = build_runtime(settings)
    try:
        with TestClient(create_app(settings, runtime=prod_rt)) as c:
            token = c.post("/api/auth/token", data={"username": "rst_clerk", "password": DEMO_PASSWORD})
            c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            assert c.get("/api/me").status_code == 200
            run_job(prod_rt, "escalate-overdue")
            assert clock.now() == START
    finally:
        prod_rt.db.dispose()
