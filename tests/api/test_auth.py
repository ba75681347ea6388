"""Logging in and who am I."""

from datetime import timedelta

from app.core.clock import clock


def test_token_and_me(client, as_user) -> None:
    me = as_user("gat_reviewer").get("/api/me").json()
    assert me["username"] == "gat_reviewer"
    assert me["roles"] == ["reviewer"]
    assert me["department"] == {"code": "410000-gat", "name": "河南省公安厅", "kind": "department",
                                "level": "province", "region_code": "410000"}


def test_wrong_credentials_reveal_nothing(client) -> None:
    # The same request id both times: the answers' only per-request field (detail.request_id) then agrees too.
    same_id = {"X-Request-ID": "same-request-id-1"}
    unknown = client.post("/api/auth/token", data={"username": "nobody", "password": "Demo#2026"}, headers=same_id)
    wrong = client.post("/api/auth/token", data={"username": "gat_reviewer", "password": "wrong-password"},
                        headers=same_id)
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert wrong.json()["detail"]["code"] == "bad_credentials"


def test_expired_token_is_refused(client, as_user, real_time) -> None:
    c = as_user("rst_clerk")
    assert c.get("/api/me").status_code == 200
    real_time.advance(timedelta(hours=9))
    r = c.get("/api/me")
    assert r.status_code == 401
    assert r.json()["detail"]["code"] == "not_authenticated"


def test_moving_the_demo_clock_logs_no_one_out(client, as_user) -> None:
    c = as_user("demo_admin")
    clock.advance(timedelta(days=3))
    assert c.get("/api/me").status_code == 200


def test_no_token_is_401_in_chinese(client) -> None:
    r = client.get("/api/tasks")
    assert r.status_code == 401
    assert r.json()["detail"]["message"] == "请先登录"


def test_admin_creates_department_and_user(client, as_user) -> None:
    admin = as_user("demo_admin")
    r = admin.post("/api/admin/departments", json={"code": "411002-gaj", "name": "许昌市公安局魏都分局",
                                                   "kind": "department", "region_code": "411002"})
    assert r.status_code == 201, r.text
    r = admin.post("/api/admin/users", json={"username": "weidu_clerk", "password": "S3cure-pass",
                                             "display_name": "魏都经办人", "department_code": "411002-gaj",
                                             "roles": ["clerk"]})
    assert r.status_code == 201, r.text
    me = as_user("weidu_clerk", "S3cure-pass").get("/api/me").json()
    assert me["department"]["level"] == "county"
    assert me["department"]["region_code"] == "411002"


def test_admin_endpoints_need_admin(client, as_user) -> None:
    r = as_user("rst_clerk").post("/api/admin/departments", json={"code": "x-1", "name": "某部门",
                                                                 "kind": "department", "region_code": "410000"})
    assert r.status_code == 403
    assert r.json()["detail"]["code"] == "role_required"


def test_department_in_unknown_region_is_refused(client, as_user) -> None:
    r = as_user("demo_admin").post("/api/admin/departments", json={"code": "x-2", "name": "某部门",
                                                                   "kind": "department", "region_code": "999999"})
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "region_not_found"


def test_a_token_verified_once_is_still_judged_on_every_request() -> None:
    """Verified signatures are remembered per process (issue 12); expiry, secret and signature still decide."""
    from datetime import datetime, timezone

    from app.core.security import create_access_token, decode_access_token

    now = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
    token = create_access_token(user_id=7, session_id="s1", secret="k" * 40, now=now, minutes=30)
    assert decode_access_token(token, secret="k" * 40, now=now) == (7, "s1")
    assert decode_access_token(token, secret="k" * 40, now=now) == (7, "s1")  # remembered
    assert decode_access_token(token, secret="k" * 40, now=now + timedelta(minutes=31)) is None
    assert decode_access_token(token, secret="x" * 40, now=now) is None
    head, body, signature = token.split(".")
    forged = ".".join((head, body, ("A" if signature[0] != "A" else "B") + signature[1:]))
    assert decode_access_token(forged, secret="k" * 40, now=now) is None
