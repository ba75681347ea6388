"""Issue 13, logs: one structured access line per request with its request id, the id in the response header
and on every error a clerk sees, a clean 503 while the database is down, and a quiet scheduler."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from app.core.config import Settings
from app.core.logs import JsonFormatter, TextFormatter, configure_logging
from app.deps import SessionDep
from app.runtime import Runtime
from app.scheduler.setup import JOBS, run_job
from tests.api.helpers import submit
from tests.conftest import SECRET

GENERATED = re.compile(r"[0-9a-f]{32}")


def _access_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "govflow.access" and getattr(r, "request_id", None) == request_id]


def test_one_json_access_line_per_request_names_the_request_user_route_and_time(
        as_user, rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    reviewer = as_user("gat_reviewer")
    with caplog.at_level(logging.INFO, logger="govflow.access"):
        r = reviewer.get("/api/tasks/999999", headers={"X-Request-ID": "clerk-call-0001"})
    assert r.status_code == 404 and r.headers["X-Request-ID"] == "clerk-call-0001"
    [record] = _access_lines(caplog, "clerk-call-0001")
    line = json.loads(JsonFormatter().format(record))
    with rt.db.read_session() as session:
        user_id = session.execute(sql("SELECT id FROM app_user WHERE username = 'gat_reviewer'")).scalar_one()
    assert line["level"] == "INFO" and line["logger"] == "govflow.access"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["ts"])
    assert {k: line[k] for k in ("request_id", "method", "route", "path", "status", "user_id", "client")} == {
        "request_id": "clerk-call-0001", "method": "GET", "route": "/api/tasks/{task_id}",
        "path": "/api/tasks/999999", "status": 404, "user_id": user_id, "client": "testclient"}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["msg"].startswith("GET /api/tasks/{task_id} 404 ")


def test_anonymous_requests_and_static_files_are_logged_with_an_id_too(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="govflow.access"):
        r = client.get("/static/app.css")
    assert r.status_code == 200
    [record] = _access_lines(caplog, r.headers["X-Request-ID"])
    assert record.user_id is None and record.status == 200 and record.path == "/static/app.css"


@pytest.mark.parametrize("sent", ["short", "x" * 65, "has space in it", "<b>bold</b>", "id\u00e9-accent",
                                  "a/b/c/d/e/f"])
def test_an_insane_request_id_is_replaced_by_a_generated_one(client: TestClient, sent: str) -> None:
    r = client.get("/login", headers={"X-Request-ID": sent.encode("utf-8")})
    assert r.status_code == 200
    assert GENERATED.fullmatch(r.headers["X-Request-ID"])


def test_a_sane_request_id_is_echoed_and_a_missing_one_generated(client: TestClient) -> None:
    assert client.get("/login", headers={"X-Request-ID": "Lb-01.req_ABCDEFGH"}).headers["X-Request-ID"] \
        == "Lb-01.req_ABCDEFGH"
    first, second = client.get("/login").headers["X-Request-ID"], client.get("/login").headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_error_pages_and_json_errors_carry_the_servers_request_id(client: TestClient) -> None:
    page = client.get("/no-such-page", headers={"X-Request-ID": "<script>x</script>"})
    rid = page.headers["X-Request-ID"]
    assert page.status_code == 404 and GENERATED.fullmatch(rid)
    assert f"请求编号：<code>{rid}</code>（联系管理员时请提供）" in page.text
    assert "<script>x</script>" not in page.text

    api = client.get("/api/no-such-thing", headers={"X-Request-ID": "support-ticket-42"})
    assert api.status_code == 404 and api.json()["detail"]["request_id"] == "support-ticket-42"
    assert api.headers["X-Request-ID"] == "support-ticket-42"

    invalid = client.post("/api/auth/token", data={})
    assert invalid.status_code == 422
    assert invalid.json()["detail"]["request_id"] == invalid.headers["X-Request-ID"]

    too_big = client.post("/api/auth/token", content=b"x" * (2 * 1024 * 1024),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413
    assert too_big.json()["detail"]["request_id"] == too_big.headers["X-Request-ID"]


def test_an_unexpected_error_answers_500_with_the_request_id_and_logs_it(
        app, client: TestClient, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/test-boom", boom)
    app.add_api_route("/test-boom", boom)
    quiet = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        api = quiet.get("/api/test-boom", headers={"X-Request-ID": "boom-request-1"})
        page = quiet.get("/test-boom", headers={"X-Request-ID": "boom-request-2"})
    assert api.status_code == 500 and api.headers["X-Request-ID"] == "boom-request-1"
    assert api.json()["detail"] == {"code": "internal_error", "message": "系统内部错误，已记录，请联系管理员",
                                    "request_id": "boom-request-1"}
    assert page.status_code == 500 and "boom-request-2" in page.text and "Traceback" not in page.text
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR and r.request_id == "boom-request-1"]
    assert "a bug" in json.loads(JsonFormatter().format(error))["exc"]
    assert [r.status for r in _access_lines(caplog, "boom-request-1")] == [500]


def _down_app():  # type: ignore[no-untyped-def]
    """An app whose PostgreSQL is unreachable (nothing listens on port 1); built without start-up (lifespan)."""
    from app.main import create_app

    settings = Settings(environment="test", secret_key=SECRET,
                        database_url="postgresql+psycopg://govflow@127.0.0.1:1/govflow")
    return create_app(settings)


def test_with_the_database_down_pages_and_the_api_answer_a_clean_503(caplog: pytest.LogCaptureFixture) -> None:
    app = _down_app()
    client = TestClient(app)  # not entered: start-up (which needs the database) does not run
    with caplog.at_level(logging.INFO):
        page = client.get("/open-data")
        api = client.post("/api/auth/token", data={"username": "gat_reviewer", "password": "x"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "系统暂时无法访问数据库，请稍后再试" in page.text and "服务暂不可用" in page.text
    assert f"请求编号：<code>{page.headers['X-Request-ID']}</code>" in page.text
    assert "Traceback" not in page.text and "psycopg" not in page.text
    assert api.status_code == 503
    assert api.json()["detail"]["code"] == "database_unavailable"
    assert api.json()["detail"]["request_id"] == api.headers["X-Request-ID"]
    # Logged once per request as a warning naming it, without a traceback; nothing at ERROR.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "database unavailable" in r.getMessage()]
    assert [w.request_id for w in warnings] == [page.headers["X-Request-ID"], api.headers["X-Request-ID"]]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    app.state.runtime.db.dispose()


def test_a_database_bug_is_still_a_500_not_a_503(app, rt: Runtime) -> None:  # type: ignore[no-untyped-def]
    def bad_query(session: SessionDep) -> None:
        session.execute(sql("SELECT * FROM no_such_table"))

    app.add_api_route("/api/test-bad-query", bad_query)
    r = TestClient(app, raise_server_exceptions=False).get("/api/test-bad-query")
    assert r.status_code == 500 and r.json()["detail"]["code"] == "internal_error"


@pytest.fixture
def job_records(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="govflow.scheduler")
    return caplog


def test_an_idle_scheduler_tick_logs_nothing_at_info(rt: Runtime, job_records: pytest.LogCaptureFixture) -> None:
    with job_records.at_level(logging.INFO):
        job_records.set_level(logging.DEBUG, logger="govflow.scheduler")
        assert run_job(rt, "fire-due-timers") == 0
        assert run_job(rt, "escalate-overdue") == 0
    assert not [r for r in job_records.records if r.levelno >= logging.INFO], \
        [r.getMessage() for r in job_records.records]
    idle = [r for r in job_records.records if r.name == "govflow.scheduler"]
    assert [(r.levelno, r.job, r.outcome) for r in idle] == [(logging.DEBUG, "fire-due-timers", "idle"),
                                                            (logging.DEBUG, "escalate-overdue", "idle")]


def test_a_job_run_that_did_something_or_failed_is_one_line(rt: Runtime, job_records: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(_rt: Runtime) -> dict[str, Any]:
        return {"sessions": 2, "counters": 0}

    def failing(_rt: Runtime) -> int:
        raise ValueError("webhook answered nonsense")

    monkeypatch.setitem(JOBS, "test-busy", (busy, 60))
    monkeypatch.setitem(JOBS, "test-failing", (failing, 60))
    assert run_job(rt, "test-busy") == {"sessions": 2, "counters": 0}
    with pytest.raises(ValueError):
        run_job(rt, "test-failing")
    done, failed = [r for r in job_records.records if r.name == "govflow.scheduler"]
    line = json.loads(JsonFormatter().format(done))
    assert (line["level"], line["job"], line["outcome"], line["result"]) == \
        ("INFO", "test-busy", "done", {"sessions": 2, "counters": 0})
    assert isinstance(line["duration_ms"], float)
    failure = json.loads(JsonFormatter().format(failed))
    assert (failure["level"], failure["job"], failure["outcome"]) == ("ERROR", "test-failing", "failed")
    assert "webhook answered nonsense" in failure["exc"]


def test_configure_logging_writes_json_lines_or_text_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("govflow.test")
    try:
        configure_logging(Settings(environment="test", secret_key=SECRET, log_format="json"))
        configure_logging(Settings(environment="test", secret_key=SECRET, log_format="json"))  # idempotent
        log.warning("disk %s almost full", "/var", extra={"free_mb": 12})
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1
        assert {k: v for k, v in json.loads(lines[0]).items() if k != "ts"} == {
            "level": "WARNING", "logger": "govflow.test", "msg": "disk /var almost full", "free_mb": 12}
        configure_logging(Settings(environment="test", secret_key=SECRET, log_format="text"))
        log.warning("forged\nline", extra={"path": "/a\nb"})
        [text] = capsys.readouterr().err.strip().splitlines()
        assert text.endswith("WARNING govflow.test forged\\nline path=/a\\nb")
    finally:
        configure_logging(Settings(environment="test", secret_key=SECRET))


def test_log_level_setting_drops_what_is_below_it(capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("govflow.access")
    try:
        configure_logging(Settings(environment="test", secret_key=SECRET, log_level="WARNING"))
        log.info("GET /api/me 200")
        log.warning("slow request")
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith("WARNING govflow.access slow request")
        configure_logging(Settings(environment="test", secret_key=SECRET))  # INFO by default
        log.info("GET /api/me 200")
        assert capsys.readouterr().err.strip().endswith("INFO govflow.access GET /api/me 200")
    finally:
        configure_logging(Settings(environment="test", secret_key=SECRET))
    with pytest.raises(ValueError):
        Settings(environment="test", secret_key=SECRET, log_level="LOUD")


def test_json_is_the_default_format_in_production_only() -> None:
    strong = {"secret_key": "Zq8#kP2v!Lm9@Wt4%Rb7^Yc1&Hn6*Jd3(Xs5)",
              "audit_key": "Aa1!Bb2@Cc3#Dd4$Ee5%Ff6^Gg7&Hh8*Ii9("}
    assert Settings(environment="production", **strong).log_format == "json"
    assert Settings(environment="production", log_format="text", **strong).log_format == "text"
    assert Settings(environment="development").log_format == "text"
    assert isinstance(TextFormatter(), logging.Formatter)


def test_which_database_errors_mean_unavailable() -> None:
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError

    from app.core.db import database_unavailable

    def sqlite_error(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert database_unavailable(sqlite_error("database is locked"))
    assert database_unavailable(sqlite_error("unable to open database file"))
    assert not database_unavailable(sqlite_error("no such table: task"))  # a bug: 500
    assert not database_unavailable(sqlite_error("attempt to write a readonly database"))  # a write in a GET
    assert not database_unavailable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint")))
    assert not database_unavailable(ValueError("not a database error"))


def test_a_page_request_names_its_user_and_the_english_error_page_quotes_the_id(
        app, client: TestClient, rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_pages import _login

    page = _login(app, "gat_reviewer")
    with caplog.at_level(logging.INFO, logger="govflow.access"):
        r = page.get("/tasks", headers={"X-Request-ID": "page-request-01"})
    assert r.status_code == 200
    with rt.db.read_session() as session:
        user_id = session.execute(sql("SELECT id FROM app_user WHERE username = 'gat_reviewer'")).scalar_one()
    [record] = _access_lines(caplog, "page-request-01")
    assert (record.user_id, record.route, record.status) == (user_id, "/tasks", 200)

    english = client.get("/no-such-page", headers={"Accept-Language": "en"})
    rid = english.headers["X-Request-ID"]
    assert english.status_code == 404
    assert (f"Request ID: <code>{rid}</code> (please quote it when you contact the administrator)"
            in english.text)


def test_a_job_run_while_the_database_is_down_is_one_warning_without_traceback(
        job_records: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.exc import OperationalError

    app = _down_app()
    with pytest.raises(OperationalError):
        run_job(app.state.runtime, "fire-due-timers")
    [line] = [r for r in job_records.records if r.name == "govflow.scheduler"]
    assert (line.levelno, line.job, line.outcome, line.exc_info) == \
        (logging.WARNING, "fire-due-timers", "database_unavailable", None)
    assert "127.0.0.1" in line.getMessage()
    app.state.runtime.db.dispose()


def test_a_case_step_writes_no_log_line_with_the_cases_data(rt: Runtime, as_user, capsys) -> None:  # type: ignore[no-untyped-def]
    # SpiffWorkflow logs each task state change at INFO with the workflow's data (names, ID numbers).
    configure_logging(rt.settings)
    try:
        clerk = as_user("rst_clerk")
        capsys.readouterr()
        submit(clerk, purpose="核验申请人户籍信息 MARKER-7731")
        err = capsys.readouterr().err
        assert "govflow.access" in err  # the request itself is logged
        assert "MARKER-7731" not in err and "spiff" not in err
    finally:
        configure_logging(Settings(environment="test", secret_key=SECRET))
