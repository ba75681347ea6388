"""Art. 12: the usage log keeps 24 months. Younger events cannot be deleted or changed; older months are
archived by the job to a gzip'd JSON-lines file with its checksum, and stay searchable with the live table."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import insert, text

from app.usage.jobs import archive_usage_events, create_partition_sql, create_usage_partitions
from app.usage.models import UsageEvent
from app.usage.search import search_usage
from tests.usage.helpers import event, grant_of, post_events, register_system


def _old_event(system_id: int, grant_id: int, event_id: str, at: datetime, provider: int, consumer: int) -> dict:
    return {"system_client_id": system_id, "event_id": event_id, "occurred_at": at, "grant_id": grant_id,
            "provider_department_id": provider, "consumer_department_id": consumer, "items": ["企业名称"],
            "row_count": 7, "call_count": None, "method": "api", "requesting_system": "旧系统",
            "requesting_user": "op-1", "flags": None, "received_at": at}


def test_young_events_cannot_be_deleted_or_changed(client, as_user, rt) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    assert post_events(client, system, [event("y-1", grant_id)]).json()["accepted"] == 1
    for statement in ("DELETE FROM usage_event WHERE event_id = 'y-1'",
                      "UPDATE usage_event SET row_count = 0 WHERE event_id = 'y-1'"):
        with rt.db.session() as session:
            with pytest.raises(Exception) as refused:  # the database's own refusal, whatever its driver's type
                session.execute(text(statement))
                session.commit()
            assert "usage" in str(refused.value)
    with rt.db.session() as session:
        assert session.execute(text("SELECT count(*) FROM usage_event")).scalar_one() == 1


def test_old_months_are_archived_with_a_checksum_and_found_by_the_search(client, as_user, rt) -> None:
    system = register_system(as_user("demo_admin"))
    grant_id = grant_of(as_user("rst_clerk"))
    assert post_events(client, system, [event("live-1", grant_id)]).json()["accepted"] == 1
    old = datetime(2023, 5, 10, 2, 0, tzinfo=timezone.utc)
    with rt.db.session() as session:
        provider, consumer = session.execute(text(
            "SELECT provider_department_id, consumer_department_id FROM share_grant WHERE id = :g"),
            {"g": grant_id}).one()
        pg = session.get_bind().dialect.name == "postgresql"
        if pg:  # a month partition as the job makes them, so that archiving drops it whole
            session.execute(text(create_partition_sql(date(2023, 5, 1))))
        session.execute(insert(UsageEvent.__table__), [  # type: ignore[attr-defined]
            _old_event(system["id"], grant_id, f"old-{i}", old.replace(day=10 + i), provider, consumer)
            for i in range(3)])
        session.commit()

    result = archive_usage_events(rt)
    assert [(a["month"], a["events"]) for a in result["archived"]] == [("2023-05", 3)]
    path = rt.settings.usage_archive_dir / "usage-events-2023-05.jsonl.gz"
    lines = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    assert sorted(line["event_id"] for line in lines) == ["old-0", "old-1", "old-2"]
    import hashlib
    assert (path.with_name(path.name + ".sha256").read_text().split()[0]
            == hashlib.sha256(path.read_bytes()).hexdigest())
    with rt.db.session() as session:
        assert session.execute(text("SELECT event_id FROM usage_event")).scalars().all() == ["live-1"]
        if pg:
            assert session.execute(text("SELECT to_regclass('usage_event_p202305')")).scalar() is None
        actions = session.execute(text("SELECT action FROM audit_event WHERE entity_type = 'usage_archive'")
                                  ).scalars().all()
    assert actions == ["usage.archived"]
    assert archive_usage_events(rt)["archived"] == []  # nothing left to archive

    out, err = io.StringIO(), io.StringIO()
    assert search_usage(rt, grant_id=grant_id, date_from="2023-01-01", date_to="2026-12-31", directory=None,
                        out=out, err=err) == 0
    found = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(f["source"], f["event_id"]) for f in found][-1] == ("database", "live-1")
    assert {f["event_id"] for f in found if f["source"] == path.name} == {"old-0", "old-1", "old-2"}
    assert "找到 4 条记录" in err.getvalue()
    out = io.StringIO()
    assert search_usage(rt, grant_id=grant_id, date_from="2023-05-11", date_to="2023-05-11", directory=None,
                        out=out, err=io.StringIO()) == 0
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == ["old-1"]

    # A changed archive is not read, and the search says so.
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    err = io.StringIO()
    assert search_usage(rt, grant_id=grant_id, date_from=None, date_to=None, directory=None,
                        out=io.StringIO(), err=err) == 1
    assert "校验值不符" in err.getvalue()


def test_partitions_are_made_ahead(rt) -> None:
    result = create_usage_partitions(rt)
    if rt.db.engine.dialect.name != "postgresql":
        assert result["skipped"] == "sqlite"
        return
    assert result["failed"] == {}
    with rt.db.session() as session:
        for month in ("202611", "202612", "202701", "202702"):
            assert session.execute(text(f"SELECT to_regclass('usage_event_p{month}')")).scalar() is not None
