"""Art. 12 through the API: an exchange system reports uses under a grant; each is checked against the
grant, flagged uses notify the parties once per grant and day and open a rectification notice in one click;
usage reads follow the regulation's lines of sight; exports download."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import text

from app.usage.service import volume_by_department
from tests.usage.helpers import basic, event, grant_of, post_events, register_system


def _notifications(user, kind: str = "usage_flagged") -> list[dict]:  # type: ignore[no-untyped-def]
    return [n for n in user.get("/api/notifications").json()["items"] if n["kind"] == kind]


def test_a_system_reports_uses_once_each_and_uses_outside_the_grant_are_flagged(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    system = register_system(admin)
    assert len(system["secret"]) >= 40 and system["scopes"] == ["usage:report"]
    assert "secret" not in admin.get("/api/usage/systems").json()[0]  # shown once only
    grant_id = grant_of(as_user("rst_clerk"))
    batch = [
        event("e-1", grant_id),
        event("e-2", grant_id, occurred_at="2026-10-20T10:00:00+08:00"),           # before the grant's period
        event("e-3", grant_id, items=["企业名称", "法定代表人"]),                      # an item not granted
        event("e-4", grant_id, method="table", rows=None, calls=3),               # not the granted method
        event("e-5", 999999),                                                      # no such grant
        event("e-6", grant_id, occurred_at="2026-11-05T10:00:00+08:00"),           # in the future
    ]
    r = post_events(client, system, batch)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["duplicates"], result["flagged"]) == (4, 0, 3)
    assert result["flags"] == {"outside_period": 1, "items_not_granted": 1, "method_not_granted": 1}
    assert [(x["event_id"], x["code"]) for x in result["rejected"]] == [("e-5", "grant_not_found"),
                                                                        ("e-6", "occurred_in_future")]
    assert result["new_flags"] == 2  # (grant, 10-20) and (grant, 11-01)

    # A resend is counted as duplicate, not stored twice.
    again = post_events(client, system, batch[:4]).json()
    assert (again["accepted"], again["duplicates"], again["flagged"]) == (0, 4, 0)

    # The providing and using departments and their authority are told once per grant and day: the batch's
    # two new flags in one message each.
    for username in ("scjg_clerk", "rst_clerk", "data_reviewer"):
        notes = _notifications(as_user(username))
        assert len(notes) == 1, (username, notes)
        assert "2026-10-20" in notes[0]["body"] and "2026-11-01" in notes[0]["body"]
        assert "超出使用期限" in notes[0]["body"] and "使用了未获授权的数据项" in notes[0]["body"]
    more = post_events(client, system, [event("e-7", grant_id, items=["法定代表人"])]).json()
    assert more["flagged"] == 1 and more["new_flags"] == 0
    assert len(_notifications(as_user("scjg_clerk"))) == 1
    later = post_events(client, system, [event("e-8", grant_id, items=["法定代表人"],
                                               occurred_at="2026-11-02T08:00:00+08:00")]).json()
    assert later["new_flags"] == 1
    notes = _notifications(as_user("scjg_clerk"))
    assert len(notes) == 2 and notes[0]["link"] == f"/usage/grants/{grant_id}"

    # The grant's usage as either department reads it.
    usage = as_user("rst_clerk").get(f"/api/usage/grants/{grant_id}").json()
    assert usage["grant"]["provider"]["name"] == "河南省市场监督管理局"
    months = {m["month"]: m for m in usage["monthly"]}
    assert months["2026-11"]["events"] == 5 and months["2026-11"]["flagged"] == 4
    assert months["2026-10"]["events"] == 1 and months["2026-10"]["flagged"] == 1
    flags = {f["day"]: f for f in usage["flags"]}
    assert flags["2026-11-01"]["events"] == 3
    assert set(flags["2026-11-01"]["reasons"]) == {"items_not_granted", "method_not_granted"}

    # The yearly volumes the Art. 18 report reads.
    with rt.db.session() as session:
        volumes = volume_by_department(session, 2026)
        provider = session.execute(text("SELECT id FROM department WHERE code = '410000-scjg'")).scalar_one()
        consumer = session.execute(text("SELECT id FROM department WHERE code = '410000-rst'")).scalar_one()
        assert volumes[provider] == {"provided_events": 6, "provided_rows": 600, "provided_calls": 3,
                                     "obtained_events": 0, "obtained_rows": 0, "obtained_calls": 0, "flagged": 0}
        assert volumes[consumer]["obtained_events"] == 6 and volumes[consumer]["flagged"] == 5
        assert volume_by_department(session, 2025) == {}
        assert set(volume_by_department(session, 2026, [consumer])) == {consumer}


def test_a_withdrawn_grant_flags_its_uses(client, as_user, rt) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    # No flow takes a grant back yet (a later dispute decision may): set the request's state as one would.
    with rt.db.session() as session:
        session.execute(text("UPDATE share_request SET status = 'withdrawn' WHERE id = "
                             "(SELECT share_request_id FROM share_grant WHERE id = :g)"), {"g": grant_id})
        session.commit()
    result = post_events(client, system, [event("w-1", grant_id)]).json()
    assert result["flags"] == {"grant_withdrawn": 1}


def test_a_department_system_reports_only_its_own_grants(client, as_user) -> None:
    system = register_system(as_user("demo_admin"), code="zz-rsj-gateway", department_code="410100-rsj")
    grant_id = grant_of(as_user("rst_clerk"))
    result = post_events(client, system, [event("x-1", grant_id)]).json()
    assert result["accepted"] == 0 and result["rejected"][0]["code"] == "grant_out_of_scope"


def test_credentials_are_checked_and_wrong_secrets_throttled(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    system = register_system(admin)
    grant_id = grant_of(as_user("rst_clerk"))
    body = {"events": [event("a-1", grant_id)]}
    r = client.post("/api/usage/events", json=body)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.json()["detail"]["code"] == "client_not_authenticated"
    # A person's token is not a system's credential.
    assert as_user("rst_clerk").post("/api/usage/events", json=body).status_code == 401
    for _ in range(5):
        r = client.post("/api/usage/events", json=body, headers=basic(system["code"], "wrong"))
        assert r.status_code == 401
    r = client.post("/api/usage/events", json=body, headers=basic(system["code"], system["secret"]))
    assert r.status_code == 429 and r.json()["detail"]["code"] == "client_locked"

    other = register_system(admin, code="exchange-two")
    rotated = admin.post(f"/api/usage/systems/{other['id']}/rotate").json()
    assert post_events(client, other, [event("b-1", grant_id)]).status_code == 401
    assert post_events(client, rotated, [event("b-1", grant_id)]).status_code == 200
    assert admin.post(f"/api/usage/systems/{other['id']}/deactivate").json()["is_active"] is False
    assert post_events(client, rotated, [event("b-2", grant_id)]).status_code == 401
    assert as_user("rst_clerk").post("/api/usage/systems", json={}).status_code == 403
    with rt.db.session() as session:
        actions = session.execute(text("SELECT action FROM audit_event WHERE entity_type = 'system_client' "
                                       "AND entity_id = :id ORDER BY seq"), {"id": str(other["id"])}).scalars().all()
    assert actions == ["system_client.created", "system_client.rotated", "usage.batch_ingested",
                       "system_client.deactivated"]


def test_malformed_batches_are_refused_whole(client, as_user) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    bad = [
        {"events": []},
        {"events": [event("m-1", grant_id, rows=None)]},                               # neither rows nor calls
        {"events": [event("m-1", grant_id, occurred_at="2026-11-01T10:00:00")]},       # no time zone
        {"events": [event("m-1", grant_id, method="ftp")]},
        {"events": [event(f"m-{i}", grant_id) for i in range(10_001)]},
        {"rows": 1},
    ]
    for body in bad:
        r = client.post("/api/usage/events", json=body, headers=basic(system["code"], system["secret"]))
        assert r.status_code == 422, (str(body)[:80], r.status_code)
        assert "detail" in r.json()
    broken = client.post("/api/usage/events", content=b"{", headers={
        **basic(system["code"], system["secret"]), "Content-Type": "application/json"})
    assert broken.status_code == 400 and "detail" in broken.json()
    duplicate_key = post_events(client, system, [event("d-1", grant_id), event("d-1", grant_id)]).json()
    assert (duplicate_key["accepted"], duplicate_key["duplicates"]) == (1, 1)


def test_usage_is_read_along_the_lines_and_exported(client, as_user) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    post_events(client, system, [event(f"r-{i}", grant_id, occurred_at=f"2026-10-{10 + i}T09:00:00+08:00")
                                 for i in range(5)] + [event("r-x", grant_id, items=["法定代表人"])])
    for username in ("rst_clerk", "scjg_clerk", "data_reviewer", "gov_supervisor", "demo_admin"):
        assert as_user(username).get(f"/api/usage/grants/{grant_id}").status_code == 200, username
    for username in ("zz_clerk", "zz_data_reviewer", "gat_clerk", "designer"):
        r = as_user(username).get(f"/api/usage/grants/{grant_id}")
        assert r.status_code == 404 and r.json()["detail"]["code"] == "grant_not_found", username
    clerk = as_user("rst_clerk")
    page = clerk.get(f"/api/usage/grants/{grant_id}/events", params={"limit": 4}).json()
    assert [e["event_id"] for e in page["items"]] == ["r-x", "r-4", "r-3", "r-2"]
    rest = clerk.get(f"/api/usage/grants/{grant_id}/events", params={"limit": 4, "cursor": page["next_cursor"]}).json()
    assert [e["event_id"] for e in rest["items"]] == ["r-1", "r-0"] and rest["next_cursor"] is None
    assert clerk.get(f"/api/usage/grants/{grant_id}/events", params={"cursor": "zz"}).status_code == 422

    dept = clerk.get("/api/usage/grants/%d" % grant_id).json()["grant"]["consumer"]["id"]
    summary = clerk.get(f"/api/usage/departments/{dept}").json()
    assert summary["year"]["obtained_events"] == 6 and summary["grants"][0]["events"] == 6
    assert as_user("zz_data_reviewer").get(f"/api/usage/departments/{dept}").status_code == 404

    csv = clerk.get(f"/api/usage/grants/{grant_id}/export", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("使用时间,共享授权编号") and len(lines) == 7
    assert "使用了未获授权的数据项" in lines[1]
    xlsx = clerk.get(f"/api/usage/departments/{dept}/export", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 7 and sheet["B2"].value == grant_id
    bad = clerk.get(f"/api/usage/grants/{grant_id}/export", params={"date_from": "2026-12-01", "date_to": "2026-01-01"})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "period_invalid"


def test_a_flag_opens_a_rectification_notice_in_one_click(client, as_user) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    post_events(client, system, [event("f-1", grant_id, items=["法定代表人"])])
    flag = as_user("data_reviewer").get(f"/api/usage/grants/{grant_id}").json()["flags"][0]
    # Only an authority reviewer issues notices (the rectification flow's own check).
    assert as_user("rst_clerk").post(f"/api/usage/flags/{flag['id']}/rectification-notice", json={}).status_code == 403
    reviewer = as_user("data_reviewer")
    r = reviewer.post(f"/api/usage/flags/{flag['id']}/rectification-notice", json={})
    assert r.status_code == 201, r.text
    notice = reviewer.get(f"/api/rectification-notices/{r.json()['notice_id']}").json()
    assert notice["article_item"] == 5
    assert f"共享授权（编号 {grant_id}" in notice["facts"] and "使用了未获授权的数据项" in notice["facts"]
    assert notice["department"]["code"] == "410000-rst" if isinstance(notice.get("department"), dict) else True
    again = reviewer.post(f"/api/usage/flags/{flag['id']}/rectification-notice", json={})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "usage_flag_notice_exists"
    flags = reviewer.get(f"/api/usage/grants/{grant_id}").json()["flags"]
    assert flags[0]["rectification_notice_id"] == r.json()["notice_id"]
    assert as_user("zz_data_reviewer").post(f"/api/usage/flags/{flag['id']}/rectification-notice",
                                            json={}).status_code == 404
