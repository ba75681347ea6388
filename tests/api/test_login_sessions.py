"""Issue 9, hole 7: login throttling, and logout that revokes page sessions and API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.audit.service import verify
from app.runtime import Runtime
from tests.conftest import DEMO_PASSWORD


def _token(c: TestClient, username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    return c.post("/api/auth/token", data={"username": username, "password": password})


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _page_login(c: TestClient, username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    token = _csrf(c.get("/login").text)
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                  "next": "/tasks"})


def test_thirty_wrong_passwords_lock_the_account_until_the_window_ends(client, real_time, rt: Runtime
                                                                       ) -> None:
    answers = [_token(client, "gat_reviewer", f"wrong-{i}") for i in range(30)]
    # Four plain refusals, the fifth locks; later tries are refused before any password check.
    assert [a.status_code for a in answers[:4]] == [401] * 4
    assert {a.status_code for a in answers[4:]} == {429}
    locked = _token(client, "gat_reviewer")
    assert locked.status_code == 429
    detail = locked.json()["detail"]
    assert detail["code"] == "login_locked" and detail["scope"] == "account"
    assert "登录失败次数过多" in detail["message"] and "北京时间" in detail["message"]
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    # Other accounts from the same address still log in (5 failures are far from the address limit).
    assert _token(client, "rst_clerk").status_code == 200

    real_time.advance(timedelta(minutes=14))
    assert _token(client, "gat_reviewer").status_code == 429
    real_time.advance(timedelta(minutes=1, seconds=1))
    ok = _token(client, "gat_reviewer")
    assert ok.status_code == 200
    assert client.get("/api/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}).json()[
        "username"] == "gat_reviewer"

    with rt.db.session() as session:
        locks = session.execute(text("SELECT actor, action, entity_type, entity_id FROM audit_event "
                                     "WHERE action LIKE '%locked'")).all()
        assert [tuple(r) for r in locks] == [("system", "user.login_locked", "user", "gat_reviewer")]
        assert verify(session).ok


def test_a_success_resets_the_account_count(client, real_time) -> None:
    for _ in range(4):
        assert _token(client, "gat_reviewer", "wrong").status_code == 401
    assert _token(client, "gat_reviewer").status_code == 200
    for _ in range(4):
        assert _token(client, "gat_reviewer", "wrong").status_code == 401
    assert _token(client, "gat_reviewer").status_code == 200


def test_unknown_names_are_counted_like_real_ones(client, real_time) -> None:
    answers = [_token(client, "nobody-here", "x").status_code for _ in range(6)]
    assert answers == [401] * 4 + [429] * 2
    # Case variants of a name share its count.
    assert _token(client, "NOBODY-HERE", "x").status_code == 429


def test_one_address_trying_many_names_is_locked_out(app, client, real_time, rt: Runtime) -> None:
    attacker = TestClient(app, client=("203.0.113.7", 40000))
    names = ["gat_reviewer", "rst_clerk", "gat_clerk", "scjg_clerk", "designer", "demo_admin", "gat_head"]
    statuses = [_token(attacker, names[i % len(names)], "guess").status_code for i in range(20)]
    assert statuses == [401] * 19 + [429]  # no account reached 5 failures; the address reached 20
    refused = _token(attacker, "data_reviewer")
    assert refused.status_code == 429
    assert refused.json()["detail"]["scope"] == "address"
    assert "网络地址" in refused.json()["detail"]["message"]
    # Another address is not affected, and the accounts tried are not locked.
    assert _token(TestClient(app, client=("198.51.100.9", 40000)), "gat_reviewer").status_code == 200
    real_time.advance(timedelta(minutes=16))
    assert _token(attacker, "data_reviewer").status_code == 200
    with rt.db.session() as session:
        locks = session.execute(text("SELECT action, entity_id FROM audit_event WHERE action LIKE '%locked'")).all()
        assert [tuple(r) for r in locks] == [("login_address.locked", "203.0.113.7")]


def test_locked_account_costs_no_password_hash(client, real_time, monkeypatch) -> None:
    from app.core import security

    for _ in range(5):
        _token(client, "gat_reviewer", "wrong")
    calls: list[str] = []
    real_verify = security.verify_password
    monkeypatch.setattr(security, "verify_password", lambda *a: calls.append("hash") or real_verify(*a))
    assert _token(client, "gat_reviewer", "wrong").status_code == 429
    assert _token(client, "gat_reviewer").status_code == 429
    assert calls == []


def test_page_login_shows_the_lockout_readably(app, client, real_time) -> None:
    c = TestClient(app, follow_redirects=False)
    for _ in range(5):
        r = _page_login(c, "gat_reviewer", "wrong")
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text and "北京时间" in r.text and 'name="password"' in r.text
    assert int(r.headers["Retry-After"]) > 0
    assert _page_login(c, "gat_reviewer").status_code == 429


def test_page_logout_revokes_a_saved_cookie(app, client, real_time) -> None:
    c = TestClient(app, follow_redirects=False)
    assert _page_login(c, "gat_reviewer").status_code == 303
    saved = c.cookies.get("govflow_session")
    assert c.get("/tasks").status_code == 200
    page = c.get("/tasks")
    assert c.post("/logout", data={"csrf_token": _csrf(page.text)}).headers["location"] == "/login"

    thief = TestClient(app, follow_redirects=False, cookies={"govflow_session": saved})
    r = thief.get("/tasks")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert thief.get("/api/me").status_code == 401


def test_page_session_ends_after_its_lifetime_whatever_the_demo_clock(app, client, real_time) -> None:
    from app.core.clock import clock

    c = TestClient(app, follow_redirects=False)
    assert _page_login(c, "gat_reviewer").status_code == 303
    clock.advance(timedelta(days=2))  # the demo clock: nobody is logged out
    assert c.get("/tasks").status_code == 200
    real_time.advance(timedelta(hours=8, seconds=1))
    assert c.get("/tasks").headers["location"].startswith("/login")


def test_api_logout_revokes_the_token(client, as_user, real_time) -> None:
    c = as_user("gat_reviewer")
    other = as_user("gat_reviewer")  # a second login of the same person stays valid
    assert c.get("/api/me").status_code == 200
    assert c.post("/api/auth/logout").status_code == 204
    r = c.get("/api/me")
    assert r.status_code == 401 and r.json()["detail"]["code"] == "not_authenticated"
    assert c.post("/api/auth/logout").status_code == 401
    assert other.get("/api/me").status_code == 200


def test_logout_everywhere_ends_pages_and_tokens(app, client, as_user, real_time, rt: Runtime) -> None:
    api = as_user("gat_reviewer")
    page = TestClient(app, follow_redirects=False)
    assert _page_login(page, "gat_reviewer").status_code == 303
    bystander = as_user("rst_clerk")
    r = as_user("gat_reviewer").post("/api/auth/logout-everywhere")
    assert r.status_code == 200 and r.json() == {"revoked": 3}
    assert api.get("/api/me").status_code == 401
    assert page.get("/tasks").headers["location"].startswith("/login")
    assert bystander.get("/api/me").status_code == 200


def test_admin_logs_a_user_out_everywhere(client, as_user, real_time, rt: Runtime) -> None:
    victim = as_user("gat_reviewer")
    assert as_user("rst_clerk").post("/api/admin/users/gat_reviewer/logout-everywhere").status_code == 403
    admin = as_user("demo_admin")
    r = admin.post("/api/admin/users/gat_reviewer/logout-everywhere")
    assert r.status_code == 200 and r.json() == {"username": "gat_reviewer", "revoked": 1}
    assert victim.get("/api/me").status_code == 401
    missing = admin.post("/api/admin/users/nobody/logout-everywhere")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "user_not_found"
    with rt.db.session() as session:
        row = session.execute(text("SELECT actor FROM audit_event WHERE action = 'user.sessions_revoked'")).one()
        assert row.actor == "demo_admin"


def test_a_revoked_session_is_refused_even_with_the_actor_cached(client, as_user, real_time,
                                                                 rt: Runtime) -> None:
    a, b = as_user("gat_reviewer"), as_user("gat_reviewer")
    assert a.get("/api/me").status_code == b.get("/api/me").status_code == 200
    # The actor is now in this process's cache (10 s TTL); the session row is what decides.
    # Revoked by another replica: straight in the database, this process is not told.
    with rt.db.session() as session:
        session.execute(text("UPDATE user_session SET revoked_at = created_at"))
        session.commit()
    assert a.get("/api/me").status_code == b.get("/api/me").status_code == 401


def test_a_token_without_a_session_is_refused(client, rt: Runtime, real_time) -> None:
    import jwt

    old_style = jwt.encode({"sub": "1", "typ": "access", "exp": int((real_time.now + timedelta(hours=1))
                                                                     .timestamp())}, rt.settings.secret_key)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {old_style}"}).status_code == 401


def test_old_sessions_and_spent_counters_are_pruned(client, as_user, real_time, rt: Runtime) -> None:
    from app.scheduler.setup import run_job

    gone = as_user("gat_reviewer")
    assert gone.post("/api/auth/logout").status_code == 204
    for _ in range(3):
        _token(client, "rst_clerk", "wrong")
    real_time.advance(timedelta(days=31))
    kept = as_user("gat_reviewer")  # a live session stays
    for _ in range(2):
        _token(client, "gat_clerk", "wrong")  # counts inside their window stay (the address starts anew)
    assert run_job(rt, "prune-logins") == {"sessions": 1, "counters": 1}  # the logged-out one; rst_clerk's count
    assert kept.get("/api/me").status_code == 200
    assert run_job(rt, "prune-logins") == {"sessions": 0, "counters": 0}


def test_concurrent_failures_all_count(app, client, real_time, rt: Runtime) -> None:
    """Five wrong passwords at once, as from five replicas: none is lost, the account locks exactly once."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(5)

    def guess(i: int) -> int:
        c = TestClient(app, client=(f"192.0.2.{i + 1}", 40000))
        barrier.wait()
        return _token(c, "gat_reviewer", f"guess-{i}").status_code

    with ThreadPoolExecutor(5) as pool:
        statuses = sorted(pool.map(guess, range(5)))
    assert statuses == [401, 401, 401, 401, 429]
    assert _token(client, "gat_reviewer").status_code == 429
    with rt.db.session() as session:
        assert session.execute(text("SELECT count(*) FROM audit_event WHERE action LIKE '%locked'")).scalar() == 1
