"""Issue 9, hole 6: with write access to the database alone, the audit trail cannot be forged unseen.

Before: rewriting one event and recomputing the plain SHA-256 chain passed `verify-audit`, so did
deleting the last event and moving audit_head back, and TRUNCATE was not blocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit.export import parse_line
from app.audit.flows import check
from app.audit.models import KEYED, UNKEYED
from app.audit.service import chain_key, head
from app.cli import main as cli
from app.core.config import get_settings
from app.runtime import Runtime
from app.scheduler.setup import run_job
from tests.audit.helpers import (
    HEAD,
    add_events,
    cut_tail,
    hmac_under,
    plain_sha256,
    rewrite_event,
    rows,
)
from tests.conftest import SECRET


def export_path(rt: Runtime) -> Path:
    return rt.settings.audit_head_export_path


def verify_now(rt: Runtime):  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return check(session, path=export_path(rt))


@pytest.fixture
def run_cli(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """Run `python -m app.cli verify-audit` in-process on the test's database and export file."""
    for name, value in {"GOVFLOW_DATABASE_URL": rt.settings.database_url, "GOVFLOW_ENVIRONMENT": "test",
                        "GOVFLOW_SECRET_KEY": SECRET,
                        "GOVFLOW_AUDIT_HEAD_EXPORT_PATH": str(export_path(rt))}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield lambda *args: cli(["verify-audit", *args])
    get_settings.cache_clear()


def test_a_clean_chain_verifies_against_its_exported_head(rt: Runtime, run_cli, capsys) -> None:
    add_events(rt, 3)
    assert run_job(rt, "export-audit-head")["exported"] is True
    add_events(rt, 2)  # after the export: verified by the key alone
    outcome = verify_now(rt)
    assert outcome.verification.ok and outcome.exit_code == 0
    assert outcome.export.head is not None and outcome.export.head.seq == outcome.verification.head_seq - 2
    assert run_cli() == 0
    out = capsys.readouterr().out
    assert "审计链完整" in out and "与导出的链头一致" in out


def test_new_events_are_keyed_and_the_key_is_not_in_the_database(rt: Runtime) -> None:
    add_events(rt, 1)
    with rt.db.engine.connect() as conn:
        events = rows(conn)
        dump = json.dumps([list(map(str, r)) for r in conn.execute(select(HEAD)).all()] +
                          [list(map(str, r)) for r in events])
    assert {r.hash_alg for r in events} == {KEYED}
    key = rt.settings.audit_hmac_key()
    assert key.hex() not in dump and key.decode("latin-1") not in dump


def test_export_job_appends_one_signed_line_per_run(rt: Runtime, as_user) -> None:
    first = run_job(rt, "export-audit-head")
    add_events(rt, 2)
    second = as_user("demo_admin").post("/api/admin/jobs/export-audit-head/run").json()["result"]
    assert first["exported"] and second["exported"] and second["seq"] == first["seq"] + 2
    lines = export_path(rt).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    with rt.db.session() as session:
        key, (head_seq, head_hash, chain) = chain_key(session), head(session)
    heads = [parse_line(key, line) for line in lines]
    assert [h.seq for h in heads if h] == [first["seq"], head_seq]
    assert heads[1] is not None and heads[1].hash == head_hash and heads[1].chain == chain
    # A line edited by hand no longer carries a valid HMAC: it is not taken as an exported head.
    edited = json.loads(lines[1]) | {"seq": head_seq + 5}
    assert parse_line(key, json.dumps(edited)) is None


def test_export_job_posts_the_head_to_the_webhook(rt: Runtime) -> None:
    import dataclasses

    from tests.notifications.conftest import Receiver

    with Receiver() as receiver:
        hooked = dataclasses.replace(rt, settings=rt.settings.model_copy(
            update={"audit_head_webhook_url": receiver.url}))
        result = run_job(hooked, "export-audit-head")
    assert result["exported"] is True and len(receiver.requests) == 1
    with rt.db.session() as session:
        posted = parse_line(chain_key(session), receiver.requests[0]["body"])
    assert posted is not None and posted.seq == result["seq"]
    assert receiver.requests[0]["body"].decode() == export_path(rt).read_text(encoding="utf-8")


@pytest.mark.parametrize("forgery", ["plain sha256", "plain sha256, labelled unkeyed", "hmac, wrong key"])
def test_an_event_rewritten_with_sql_alone_fails_verification_at_its_seq(rt: Runtime, run_cli, capsys,
                                                                       forgery: str) -> None:
    add_events(rt, 4)
    assert run_job(rt, "export-audit-head")["exported"] is True
    add_events(rt, 3)
    with rt.db.engine.connect() as conn:
        target = rows(conn)[-5].seq  # before the exported head
    if forgery == "plain sha256":
        rewrite_event(rt, target, plain_sha256)
    elif forgery == "plain sha256, labelled unkeyed":
        rewrite_event(rt, target, plain_sha256, alg=UNKEYED)
    else:
        rewrite_event(rt, target, hmac_under(b"a guessed key that is long enough 0123"))
    outcome = verify_now(rt)
    assert not outcome.verification.ok
    assert outcome.verification.first_bad_seq == target
    assert outcome.verification.reason == ("downgraded" if "unkeyed" in forgery else "altered_event")
    assert run_cli() == 1
    err = capsys.readouterr().err
    assert f"第 {target} 条起异常" in err


def test_an_event_rewritten_after_the_last_export_fails_too(rt: Runtime) -> None:
    """The key alone catches forgeries the exported head cannot see yet (the newest events)."""
    assert run_job(rt, "export-audit-head")["exported"] is True
    add_events(rt, 3)
    with rt.db.engine.connect() as conn:
        target = rows(conn)[-2].seq
    rewrite_event(rt, target, plain_sha256, alg=UNKEYED)
    outcome = verify_now(rt)
    assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (target, "downgraded")


def test_the_whole_chain_recomputed_unkeyed_fails_against_the_exported_head(rt: Runtime) -> None:
    """Downgrading every event to plain SHA-256 makes a chain that recomputes; the export names it."""
    add_events(rt, 2)
    assert run_job(rt, "export-audit-head")["exported"] is True
    rewrite_event(rt, 1, plain_sha256, alg=UNKEYED)
    outcome = verify_now(rt)
    assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (1, "downgraded")
    assert outcome.exit_code == 1


def test_cutting_the_tail_and_moving_the_head_back_fails_against_the_exported_head(rt: Runtime, run_cli,
                                                                                   capsys) -> None:
    add_events(rt, 3)
    # Without an exported head the shortened chain recomputes: verify-audit says it cannot tell (exit 2).
    deleted = cut_tail(rt)
    assert verify_now(rt).verification.ok and run_cli() == 2
    capsys.readouterr()
    add_events(rt, 1)
    assert run_job(rt, "export-audit-head")["exported"] is True
    deleted = cut_tail(rt)
    outcome = verify_now(rt)
    assert not outcome.verification.ok
    assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (deleted, "anchor_missing")
    assert run_cli() == 1
    assert "导出的链头所指的事件已不在链中" in capsys.readouterr().err
    # The export job refuses to vouch for the shortened chain.
    refused = run_job(rt, "export-audit-head")
    assert refused["exported"] is False and refused["reason"] == "anchor_missing"
    assert len(export_path(rt).read_text(encoding="utf-8").splitlines()) == 1


def test_a_missing_export_file_is_reported_not_a_traceback(rt: Runtime, run_cli, capsys) -> None:
    assert not export_path(rt).exists()
    assert run_cli() == 2
    captured = capsys.readouterr()
    assert "审计链可重算通过" in captured.err and "不存在" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert run_cli("--head-file", str(export_path(rt).parent / "elsewhere.jsonl")) == 2


def test_the_admin_api_reports_the_exported_head(rt: Runtime, as_user) -> None:
    admin = as_user("demo_admin")
    before = admin.get("/api/admin/audit/verify").json()
    assert before["ok"] is True and before["anchored"] is False and before["export"]["status"] == "missing"
    admin.post("/api/admin/jobs/export-audit-head/run")
    after = admin.get("/api/admin/audit/verify").json()
    assert after["ok"] is True and after["anchored"] is True and after["export"]["seq"] == after["head_seq"]
    cut_tail(rt)
    broken = admin.get("/api/admin/audit/verify").json()
    assert broken["ok"] is False and broken["reason"] == "anchor_missing"
    assert "链尾被删除" in broken["message"]


def _refused(rt: Runtime, statement: str) -> str:
    with rt.db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            conn.execute(text(statement))
        conn.rollback()
    return str(caught.value)


def test_truncate_and_moving_the_head_back_are_refused(rt: Runtime) -> None:
    add_events(rt, 2)
    with rt.db.engine.connect() as conn:
        count = len(rows(conn))
    if rt.db.is_postgres:
        assert "may not be truncated" in _refused(rt, "TRUNCATE audit_event")
        assert "may not be truncated" in _refused(rt, "TRUNCATE audit_head")
        assert "may not be truncated" in _refused(rt, "TRUNCATE audit_event, audit_head")
    # SQLite has no TRUNCATE: its nearest, DELETE with no WHERE, meets the row trigger (no truncate
    # optimisation on a table with triggers); PostgreSQL refuses it the same way.
    assert "24 months" in _refused(rt, "DELETE FROM audit_event")
    assert "audit_head" in _refused(rt, "UPDATE audit_head SET seq = seq - 1")
    assert "audit_head" in _refused(rt, "DELETE FROM audit_head")
    with rt.db.engine.connect() as conn:
        assert len(rows(conn)) == count
    assert verify_now(rt).verification.ok


@pytest.fixture
def blank_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind (migrated by the test itself)."""
    from tests.conftest import blank_database

    with blank_database(tmp_path / "legacy.db", "t_legacy") as url:
        yield url

def test_an_unkeyed_history_stays_as_written_and_cannot_be_extended_unkeyed(blank_url: str, frozen_clock,
                                                                            tmp_path: Path) -> None:
    """A database from before the keyed chain: its events keep their SHA-256 hashes (no row rewritten),
    new ones are keyed, and a forger cannot pass keyed events off as unkeyed ones."""
    from datetime import datetime, timezone

    from alembic.config import Config
    from sqlalchemy import insert, update

    from alembic import command
    from app.audit.service import GENESIS, _payload
    from app.core.config import ROOT
    from app.runtime import build_runtime
    from tests.audit.helpers import OLD_EVENT
    from tests.conftest import _settings

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", blank_url)
    command.upgrade(cfg, "0010")
    rt = build_runtime(_settings(blank_url).model_copy(
        update={"audit_head_export_path": tmp_path / "audit-head.jsonl"}))
    try:
        with rt.db.engine.begin() as conn:  # what the code before the keyed chain wrote
            prev = GENESIS
            for seq in (1, 2, 3):
                row = dict(seq=seq, at=datetime(2026, 10, seq, 1, tzinfo=timezone.utc), actor="system",
                           action="demo.seeded", entity_type="system", entity_id=str(seq), instance_id=None,
                           detail={"n": seq})
                digest = plain_sha256(_payload(prev, *row.values()))
                conn.execute(insert(OLD_EVENT).values(**row, prev_hash=prev, hash=digest))
                prev = digest
            conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=3, last_hash=prev))
        command.upgrade(cfg, "heads")
        with rt.db.engine.connect() as conn:
            legacy = rows(conn)
        assert [(r.seq, r.hash_alg) for r in legacy] == [(1, UNKEYED), (2, UNKEYED), (3, UNKEYED)]
        assert legacy[-1].hash == prev  # untouched
        assert verify_now(rt).verification.ok and verify_now(rt).verification.keyed_from is None

        add_events(rt, 3)
        outcome = verify_now(rt)
        # Migration 0040 gave the head its last event's algorithm (unkeyed): the first keyed commit
        # begins with the switch on the record, then its 3 events.
        assert outcome.verification.ok and outcome.verification.events == 7
        assert outcome.verification.keyed_from == 4
        assert outcome.verification.segments == [(1, 3, UNKEYED), (4, 7, KEYED)]
        with rt.db.engine.connect() as conn:
            switch = rows(conn)[3]
        assert (switch.action, switch.detail) == ("audit.algorithm_changed", {"from": UNKEYED, "to": KEYED})
        assert run_job(rt, "export-audit-head")["exported"] is True

        # Rewriting an unkeyed event and everything after it with plain SHA-256: caught at the first
        # event that was keyed (the export remembers where keying began).
        rewrite_event(rt, 2, plain_sha256, alg=UNKEYED)
        outcome = verify_now(rt)
        assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (4, "downgraded")
    finally:
        rt.db.dispose()


def test_an_append_by_code_from_before_the_keyed_chain_is_refused_or_flagged(rt: Runtime) -> None:
    """A worker still on the old code during a rolling upgrade: PostgreSQL refuses its unlabelled insert;
    on SQLite (one embedded process) such a row would be labelled unkeyed, and the verifier names it."""
    from sqlalchemy import insert

    from app.audit.service import _payload
    from tests.audit.helpers import OLD_EVENT

    head_seq, head_hash, _ = _head(rt)
    row = dict(seq=head_seq + 1, at=rows_of(rt)[-1].at, actor="system", action="demo.seeded",
               entity_type="system", entity_id="x", instance_id=None, detail={})
    digest = plain_sha256(_payload(head_hash, *row.values()))
    with rt.db.engine.connect() as conn:
        statement = insert(OLD_EVENT).values(**row, prev_hash=head_hash, hash=digest)
        if rt.db.is_postgres:
            with pytest.raises(DBAPIError, match="hash_alg"):
                conn.execute(statement)
            return
        conn.execute(statement)
        conn.execute(HEAD.update().where(HEAD.c.id == 1).values(seq=head_seq + 1, last_hash=digest))
        conn.commit()
    outcome = verify_now(rt)
    assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (head_seq + 1, "downgraded")


def _head(rt: Runtime) -> tuple[int, str, str]:
    with rt.db.session() as session:
        return head(session)


def rows_of(rt: Runtime) -> list:  # type: ignore[type-arg]
    with rt.db.engine.connect() as conn:
        return rows(conn)
