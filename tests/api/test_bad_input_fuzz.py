"""Found by fuzzing (schemathesis and by hand): values the databases cannot hold were 500s; now a 422.

Integers beyond 64 bits (SQLite: OverflowError) or beyond an INTEGER column (PostgreSQL: SQLSTATE 22003)
in path, query or body, and text with NUL characters (PostgreSQL refuses them; SQLite kept them) answer
422 `number_out_of_range` / `nul_character` on both databases, and change nothing.
"""

import pytest

from tests.api.helpers import review_task, share_request_body, submit

BIG = 2**63  # one past the largest 64-bit integer
BEYOND_INTEGER = 2**31  # fits 64 bits, not a PostgreSQL INTEGER id


def _audit_count(rt) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent

    with rt.db.session() as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def _refused(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/tasks/{}"), ("POST", "/api/tasks/{}/claim"), ("POST", "/api/tasks/{}/unclaim"),
    ("POST", "/api/tasks/{}/resume"), ("GET", "/api/share-requests/{}"), ("GET", "/api/instances/{}"),
])
@pytest.mark.parametrize("value", [BIG, -BIG - 1])
def test_ids_beyond_64_bits_in_the_path(client, as_user, rt, method, path, value) -> None:
    before = _audit_count(rt)
    r = as_user("gat_reviewer").request(method, path.format(value))
    _refused(r, 422, "number_out_of_range")
    assert _audit_count(rt) == before


def test_id_beyond_an_integer_column(client, as_user, rt) -> None:
    # SQLite stores 64-bit integers, so there the id is merely unknown; PostgreSQL ids are INTEGER.
    r = as_user("gat_reviewer").get(f"/api/tasks/{BEYOND_INTEGER}")
    if rt.db.is_postgres:
        _refused(r, 422, "number_out_of_range")
    else:
        _refused(r, 404, "task_not_found")


@pytest.mark.parametrize("user, path, params", [
    ("gat_reviewer", "/api/tasks", {"offset": BIG}),
    ("gov_supervisor", "/api/supervision/items", {"offset": BIG}),
    ("gov_supervisor", "/api/supervision/items", {"min_overdue_days": BIG}),
])
def test_huge_numbers_in_the_query(client, as_user, user, path, params) -> None:
    _refused(as_user(user).get(path, params=params), 422, "number_out_of_range")


@pytest.mark.parametrize("action", ["urge", "close"])
def test_huge_supervision_item_id(client, as_user, action) -> None:
    r = as_user("gov_supervisor").post(f"/api/supervision/items/{BIG}/{action}", json={"note": "请尽快办理"})
    _refused(r, 422, "number_out_of_range")


@pytest.mark.parametrize("user, path, params", [
    ("gat_reviewer", "/api/tasks", {"process_key": "\x00x"}),
    ("gov_supervisor", "/api/supervision/items", {"department_code": "\x00"}),
])
def test_nul_in_the_query(client, as_user, user, path, params) -> None:
    _refused(as_user(user).get(path, params=params), 422, "nul_character")


def test_nul_in_a_share_request_changes_nothing(client, as_user, rt) -> None:
    clerk = as_user("rst_clerk")
    before = _audit_count(rt)
    r = clerk.post("/api/share-requests", json=share_request_body(purpose="社会保险\x00待遇资格认证"))
    _refused(r, 422, "nul_character")
    assert _audit_count(rt) == before
    assert clerk.get("/api/share-requests").json() == []
    assert as_user("gat_reviewer").get("/api/tasks").json()["items"] == []


def test_nul_in_a_task_answer_changes_nothing(client, as_user, rt) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    before = _audit_count(rt)
    r = reviewer.post(f"/api/tasks/{task['id']}/complete",
                      json={"data": {"decision": "approve", "terms": "仅用于\x00资格认证"}})
    _refused(r, 422, "nul_character")
    assert reviewer.get(f"/api/tasks/{task['id']}").json()["status"] == "open"
    assert _audit_count(rt) == before
    # The same task is then answered properly, from the state before the refused attempt.
    ok = reviewer.post(f"/api/tasks/{task['id']}/complete",
                       json={"data": {"decision": "approve", "terms": "仅用于资格认证"}})
    assert ok.status_code == 200, ok.text
    detail = as_user("rst_clerk").get(f"/api/share-requests/{created['id']}").json()
    assert detail["status"] == "granted"
    assert [h["action"] for h in detail["history"]].count("task.completed") == 1


def test_nul_in_login_and_user_fields(client, as_user, rt) -> None:
    r = client.post("/api/auth/token", data={"username": "rst_clerk\x00", "password": "Demo#2026"})
    _refused(r, 422, "nul_character")
    before = _audit_count(rt)
    r = as_user("demo_admin").post("/api/admin/users", json={
        "username": "gat_reviewer9", "password": "Demo#2026", "display_name": "第\x00九审核人",
        "department_code": "410000-gat", "roles": ["reviewer"]})
    _refused(r, 422, "nul_character")
    assert _audit_count(rt) == before
    r = client.post("/api/auth/token", data={"username": "gat_reviewer9", "password": "Demo#2026"})
    assert r.status_code == 401


def test_nul_in_a_process_key(client, as_user) -> None:
    r = as_user("designer").post("/api/processes/%00/instances", json={})
    _refused(r, 422, "nul_character")


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
                                 "9999-12-31T10:00:00+08:00", "1949-12-31T23:00:00+08:00"])
def test_demo_clock_outside_the_calendar_years(client, as_user, now) -> None:
    admin = as_user("demo_admin")
    before = admin.get("/api/admin/clock").json()["now"]
    r = admin.put("/api/admin/clock", json={"now": now})
    _refused(r, 422, "time_out_of_range")
    assert admin.get("/api/admin/clock").json()["now"] == before
    # Deadlines still compute (a clock at 9999 made every new deadline overflow).
    assert as_user("rst_clerk").post("/api/share-requests", json=share_request_body()).status_code == 201


@pytest.mark.parametrize("method, path, kwargs, expected", [
    ("POST", "/api/open-lists", {"json": {"year": 2027.5}}, "必须是整数"),
    ("POST", "/api/open-lists", {"content": b'{"year": 1e400}'}, "必须是有限的数值"),
    ("GET", "/api/calendar/deadline", {"params": {"start": "2026-02-30T09:00:00+08:00", "working_days": "5"}},
     "必须是日期时间"),
    ("GET", "/api/calendar/deadline", {"params": {"start": "2026-11-02T09:00:00+08:00",
                                                  "working_days": "9" * 5000}}, "数值超出允许范围"),
    ("POST", "/api/catalog/update-triggers", {"json": {"document_date": "2026-10-30T09:00:00"}},
     "必须是 YYYY-MM-DD 日期"),
])
def test_validation_messages_are_chinese(client, as_user, method, path, kwargs, expected) -> None:
    # These pydantic error types fell back to pydantic's English text.
    if "content" in kwargs:
        kwargs = {**kwargs, "headers": {"Content-Type": "application/json"}}
    r = as_user("gat_clerk").request(method, path, **kwargs)
    _refused(r, 422, "invalid_input")
    assert expected in r.json()["detail"]["message"]
