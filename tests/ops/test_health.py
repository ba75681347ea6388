"""/healthz and /readyz (issue 13): what a load balancer and an orchestrator see, on both databases."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select, text

from app.core.clock import SHANGHAI, clock
from app.main import create_app
from app.ops.jobs import Heartbeat
from app.ops.models import SchedulerHeartbeat
from app.runtime import Runtime, build_runtime
from app.scheduler.setup import build_scheduler
from app.workdays.calendar import WorkdayCalendar
from app.workdays.models import CalendarYear
from tests.conftest import _settings

CHECKS = {"database", "migrations", "calendar", "scheduler"}


def _ready(client: TestClient) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = client.get("/readyz")
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body["checks"]) == CHECKS
    return r.status_code, body


def _failed(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {name for name, check in body["checks"].items() if not check["ok"]}


def test_healthz_answers_without_touching_the_database_or_the_session(rt: Runtime, client: TestClient) -> None:
    statements: list[str] = []
    event.listen(rt.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert "set-cookie" not in r.headers
    assert statements == []  # not even the demo clock (time travel is on in tests)


def test_readyz_is_green_when_everything_is(rt: Runtime, client: TestClient) -> None:
    Heartbeat(rt.db).beat()
    status, body = _ready(client)
    assert (status, body["status"]) == (200, "ok"), body
    assert body["checks"]["scheduler"]["age_seconds"] == 0
    assert body["checks"]["calendar"]["message"].startswith("2026 年")


def test_readyz_without_any_scheduler_says_so(client: TestClient) -> None:
    status, body = _ready(client)
    assert (status, body["status"], _failed(body)) == (503, "fail", {"scheduler"})
    assert body["checks"]["scheduler"] == {"ok": False, "message": "未检测到定时任务进程", "age_seconds": None}


def test_a_stale_heartbeat_fails_readiness(rt: Runtime, client: TestClient) -> None:
    Heartbeat(rt.db).beat()
    clock.advance(timedelta(seconds=rt.settings.scheduler_heartbeat_stale_seconds))
    assert _ready(client)[0] == 200
    clock.advance(timedelta(seconds=1))
    status, body = _ready(client)
    assert (status, _failed(body)) == (503, {"scheduler"})
    assert body["checks"]["scheduler"]["age_seconds"] == rt.settings.scheduler_heartbeat_stale_seconds + 1


def test_a_database_behind_the_code_fails_readiness_without_naming_versions(rt: Runtime, client: TestClient
                                                                           ) -> None:
    Heartbeat(rt.db).beat()
    with rt.db.session() as session:
        current = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        session.execute(text("UPDATE alembic_version SET version_num = '0031'"))
        session.commit()
    r = client.get("/readyz")
    assert (r.status_code, _failed(r.json())) == (503, {"migrations"})
    assert "0031" not in r.text and current not in r.text
    assert "迁移" in r.json()["checks"]["migrations"]["message"]


def test_a_year_without_a_holiday_calendar_fails_readiness_until_it_is_loaded(rt: Runtime, client: TestClient
                                                                             ) -> None:
    year = next(y for y in range(2027, 2100) if not WorkdayCalendar().knows(y))
    clock.move_to(datetime(year, 3, 2, 9, 0, tzinfo=SHANGHAI))
    Heartbeat(rt.db).beat()
    status, body = _ready(client)
    assert (status, _failed(body)) == (503, {"calendar"})
    assert body["checks"]["calendar"]["message"] == f"{year} 年节假日安排尚未导入，办理期限无法准确计算"
    with rt.db.session() as session:
        session.execute(insert(CalendarYear.__table__).values(
            year=year, days=[{"date": f"{year}-01-01", "name": "元旦", "is_working_day": False}], papers=[],
            loaded_by="demo_admin", loaded_at=clock.now()))
        session.commit()
    status, body = _ready(client)
    assert status == 200 and body["checks"]["calendar"]["message"] == f"{year} 年节假日安排已导入"


def test_an_unreachable_database_answers_503_fast_and_healthz_stays_green(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on port 1. The app is built without running its start-up (no lifespan), as a web
    # process whose database went away after it started.
    url = "postgresql+psycopg://govflow:secret-password@127.0.0.1:1/govflow"
    rt = build_runtime(_settings(url).model_copy(update={"attachments_dir": tmp_path}))
    client = TestClient(create_app(rt.settings, runtime=rt))
    start = time.perf_counter()
    r = client.get("/readyz")
    elapsed = time.perf_counter() - start
    assert elapsed < 5, elapsed
    assert (r.status_code, r.json()["status"]) == (503, "fail")
    assert r.json()["checks"]["database"] == {"ok": False, "message": "无法连接数据库"}
    for secret in ("127.0.0.1", "secret-password", "govflow:", "psycopg", "5432", "Error"):
        assert secret not in r.text
    assert (client.get("/healthz").status_code, client.get("/healthz").json()) == (200, {"status": "ok"})


def test_each_scheduler_beats_under_its_own_row_and_prunes_the_long_gone(rt: Runtime) -> None:
    gone = datetime.now(timezone.utc) - timedelta(days=3)
    with rt.db.session() as session:
        session.execute(insert(SchedulerHeartbeat.__table__).values(
            process_id="old-host:1:abc", started_at=gone, beat_at=clock.base() - timedelta(days=1, seconds=1),
            jobs_run=5))
        session.commit()
    first, second = Heartbeat(rt.db), Heartbeat(rt.db)
    first.beat()
    second.beat()
    first.beat()
    with rt.db.session() as session:
        rows = session.execute(select(SchedulerHeartbeat.process_id)).scalars().all()
    assert sorted(rows) == sorted([first.process_id, second.process_id])
    assert first.process_id.count(":") == 2 and first.process_id != second.process_id
    # Every scheduler (embedded or standalone) carries the heartbeat job beside the registered jobs.
    scheduler = build_scheduler(rt, background=True)
    assert scheduler.get_job("scheduler-heartbeat") is not None
