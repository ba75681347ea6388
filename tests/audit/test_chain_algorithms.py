"""Issue 15 (Art. 26): the keyed audit chain under HMAC-SM3, and a change of crypto suite.

A province that switches GOVFLOW_CRYPTO_SUITE keeps its history as written: new events are keyed with
the new suite's HMAC after an `audit.algorithm_changed` event, the chain verifies across the segments,
and `verify-audit` names the algorithm of each. The hashes are recomputed here with
app.crypto.algorithms (a second path to the same HMACs), so a segment labelled HMAC-SM3 is HMAC-SM3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.audit import service as audit
from app.audit.export import head_line, latest_head, parse_line
from app.audit.flows import check
from app.audit.models import ALGORITHM_CHANGED, KEYED, KEYED_SM3, UNKEYED
from app.audit.service import ChainKey, ExportedHead
from app.cli import main as cli
from app.core.config import get_settings
from app.crypto.algorithms import hmac_hex
from app.runtime import Runtime, build_runtime
from app.scheduler.setup import run_job
from tests.audit.helpers import HEAD, add_events, plain_sha256, rewrite_event, rows
from tests.conftest import SECRET

SM3_LABEL = "HMAC-SM3（GB/T 32905）"


@contextmanager
def under_suite(rt: Runtime, name: str) -> Iterator[Runtime]:
    """A second process on the same database whose settings name another crypto suite."""
    other = build_runtime(rt.settings.model_copy(update={"crypto_suite": name}))
    try:
        yield other
    finally:
        other.db.dispose()


def head_seq(rt: Runtime) -> int:
    with rt.db.session() as session:
        return audit.head(session)[0]


def verify_now(rt: Runtime):  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return check(session, path=rt.settings.audit_head_export_path)


def recomputed(rt: Runtime, row) -> str:  # type: ignore[no-untyped-def]
    """The event's hash recomputed from its stored fields with app.crypto.algorithms (or hashlib)."""
    payload = audit._payload(row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity_type,
                             row.entity_id, row.instance_id, row.detail)
    if row.hash_alg == UNKEYED:
        return plain_sha256(payload)
    return hmac_hex(row.hash_alg, rt.settings.audit_hmac_key(), payload)


def hmac_sm3_under(key: bytes):  # type: ignore[no-untyped-def]
    return lambda payload: hmac_hex("hmac-sm3", key, payload)


@pytest.fixture
def run_cli(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """Run `python -m app.cli verify-audit` in-process, its settings from the environment (suite "sm")."""
    for name, value in {"GOVFLOW_DATABASE_URL": rt.settings.database_url, "GOVFLOW_ENVIRONMENT": "test",
                        "GOVFLOW_SECRET_KEY": SECRET, "GOVFLOW_CRYPTO_SUITE": "sm",
                        "GOVFLOW_AUDIT_HEAD_EXPORT_PATH": str(rt.settings.audit_head_export_path)}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield lambda *args: cli(["verify-audit", *args])
    get_settings.cache_clear()


def test_chain_key_macs_are_the_suites_hmacs() -> None:
    key, payload = b"k" * 32, b'["0",1,"x"]'
    assert ChainKey(key).alg == KEYED and ChainKey(key).mac(payload) == hmac_hex("hmac-sha256", key, payload)
    sm3 = ChainKey(key, KEYED_SM3)
    assert sm3.mac(payload) == hmac_hex("hmac-sm3", key, payload) != ChainKey(key).mac(payload)
    assert sm3.mac_under(KEYED, payload) == ChainKey(key).mac(payload)
    with pytest.raises(ValueError):
        ChainKey(key, UNKEYED)  # never write an unkeyed event
    assert "k" * 8 not in repr(sm3)


def test_intl_then_sm_then_intl_verifies_in_three_named_segments(rt: Runtime, run_cli, capsys) -> None:
    add_events(rt, 2)
    intl_end = head_seq(rt)
    with under_suite(rt, "sm") as sm:
        add_events(sm, 3)
    sm_end = head_seq(rt)
    add_events(rt, 1)
    end = head_seq(rt)
    # Each switch is one event on the record, the first of its segment, in the commit that needed it.
    assert (sm_end, end) == (intl_end + 4, sm_end + 2)

    with rt.db.engine.connect() as conn:
        events = rows(conn)
        head_alg = conn.execute(HEAD.select()).one().hash_alg
    by_seq = {r.seq: r for r in events}
    assert [r.hash_alg for r in events[:intl_end]] == [KEYED] * intl_end  # history as it was written
    switch = by_seq[intl_end + 1]
    assert (switch.action, switch.actor, switch.detail, switch.hash_alg) == (
        ALGORITHM_CHANGED, "system", {"from": KEYED, "to": KEYED_SM3}, KEYED_SM3)
    assert {by_seq[s].hash_alg for s in range(intl_end + 1, sm_end + 1)} == {KEYED_SM3}
    back = by_seq[sm_end + 1]
    assert (back.action, back.detail, back.hash_alg) == (ALGORITHM_CHANGED, {"from": KEYED_SM3, "to": KEYED}, KEYED)
    assert by_seq[end].hash_alg == KEYED and head_alg == KEYED
    # The labels are true: every hash recomputes under the algorithm its row names.
    assert all(recomputed(rt, r) == r.hash for r in events)

    outcome = verify_now(rt)
    assert outcome.verification.ok and outcome.verification.events == end
    assert outcome.verification.segments == [(1, intl_end, KEYED), (intl_end + 1, sm_end, KEYED_SM3),
                                             (sm_end + 1, end, KEYED)]
    # The command line (its own settings: suite "sm") names each segment's algorithm in Chinese.
    assert run_cli() == 2  # recomputes; no exported head yet
    err = capsys.readouterr().err
    assert (f"哈希算法：第 1–{intl_end} 条：HMAC-SHA256；第 {intl_end + 1}–{sm_end} 条：{SM3_LABEL}；"
            f"第 {sm_end + 1}–{end} 条：HMAC-SHA256。") in err


def test_the_admin_api_reports_the_segments(rt: Runtime, as_user) -> None:
    admin = as_user("demo_admin")
    with under_suite(rt, "sm") as sm:
        add_events(sm, 1)
    report = admin.get("/api/admin/audit/verify").json()
    assert report["ok"] is True
    last = report["segments"][-1]
    assert (last["alg"], last["label"], last["last_seq"]) == (KEYED_SM3, SM3_LABEL, report["head_seq"])
    assert last["first_seq"] == report["head_seq"] - 1  # the switch and the event
    assert report["segments"][0]["alg"] == KEYED and "HMAC-SM3" in report["message"]


def test_a_fresh_chain_under_sm_starts_without_a_switch_event(blank_url: str, frozen_clock, tmp_path: Path) -> None:
    """Nothing was written under another algorithm: the first event is simply HMAC-SM3."""
    from app.cli import migrate
    from tests.conftest import _settings

    migrate(blank_url)
    rt = build_runtime(_settings(blank_url).model_copy(update={
        "crypto_suite": "sm", "audit_head_export_path": tmp_path / "audit-head.jsonl"}))
    try:
        add_events(rt, 2)
        with rt.db.engine.connect() as conn:
            events = rows(conn)
        assert [(r.seq, r.action, r.hash_alg) for r in events] == [(1, "task.completed", KEYED_SM3),
                                                                  (2, "task.completed", KEYED_SM3)]
        assert verify_now(rt).verification.segments == [(1, 2, KEYED_SM3)]
    finally:
        rt.db.dispose()


@pytest.fixture
def blank_url(tmp_path: Path) -> Iterator[str]:
    from tests.conftest import blank_database

    with blank_database(tmp_path / "fresh.db", "h15a_fresh") as url:
        yield url


@pytest.mark.parametrize("forgery, reason", [
    ("hmac-sm3 under a guessed key", "altered_event"),
    ("plain sha256, still labelled hmac-sm3", "altered_event"),
    ("plain sha256, labelled unkeyed", "downgraded"),
    ("hmac-sm3 under the key, labelled hmac-sha256", "altered_event"),
    ("labelled plain sm3", "unknown_algorithm"),
    ("a hash with a non-ASCII character", "altered_event"),
])
def test_a_forged_event_in_the_sm3_segment_is_found_at_its_seq(rt: Runtime, forgery: str, reason: str) -> None:
    with under_suite(rt, "sm") as sm:
        add_events(sm, 4)
        assert run_job(sm, "export-audit-head")["exported"] is True
        add_events(sm, 1)
        target = head_seq(sm) - 2  # inside the SM3 segment, before the exported head
        guessed = b"a guessed key that is long enough 0123"
        if forgery == "hmac-sm3 under a guessed key":
            rewrite_event(sm, target, hmac_sm3_under(guessed))
        elif forgery == "plain sha256, still labelled hmac-sm3":
            rewrite_event(sm, target, plain_sha256)
        elif forgery == "plain sha256, labelled unkeyed":
            rewrite_event(sm, target, plain_sha256, alg=UNKEYED)
        elif forgery == "hmac-sm3 under the key, labelled hmac-sha256":
            # Not a forgery anyone without the key can make: the label alone is wrong, and that is seen.
            rewrite_event(sm, target, hmac_sm3_under(sm.settings.audit_hmac_key()), alg=KEYED)
        elif forgery == "labelled plain sm3":
            rewrite_event(sm, target, lambda payload: hmac_hex("hmac-sm3", b"", payload), alg="sm3")
        else:  # compare_digest would raise on it: verification must report it, not fail with a 500
            rewrite_event(sm, target, lambda payload: "é" + plain_sha256(payload)[1:])
        outcome = verify_now(sm)
    assert not outcome.verification.ok
    assert (outcome.verification.first_bad_seq, outcome.verification.reason) == (target, reason)
    assert outcome.exit_code == 1
    # The events before the forgery are reported with their algorithms.
    assert outcome.verification.segments[-1] == (outcome.verification.segments[-1][0], target - 1, KEYED_SM3)
    assert "哈希算法：" in "".join(outcome.lines_zh())


def test_the_exported_head_under_sm3(rt: Runtime, run_cli, capsys) -> None:
    path = rt.settings.audit_head_export_path
    add_events(rt, 1)
    assert run_job(rt, "export-audit-head")["alg"] == KEYED  # a version 2 line under HMAC-SHA256
    with under_suite(rt, "sm") as sm:
        add_events(sm, 2)
        result = run_job(sm, "export-audit-head")
        key = ChainKey.from_settings(sm.settings)
    assert result["exported"] is True and result["alg"] == KEYED_SM3 and key.alg == KEYED_SM3
    first, line = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(line)
    assert (data["v"], data["alg"], data["seq"]) == (2, KEYED_SM3, result["seq"])
    # The mac is HMAC-SM3 over the domain label and the other fields (recomputed independently).
    fields = {k: v for k, v in data.items() if k != "mac"}
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert data["mac"] == hmac_hex("hmac-sm3", rt.settings.audit_hmac_key(), b"govflow audit head v2\n" + canonical)
    # Either suite's reader takes either line: the line names its algorithm.
    intl_key = ChainKey.from_settings(rt.settings)
    parsed = parse_line(intl_key, line)
    assert parsed is not None and (parsed.seq, parsed.alg) == (result["seq"], KEYED_SM3)
    assert parse_line(key, first) is not None and parse_line(key, first).alg == KEYED
    # Changing the named algorithm, or any field, breaks the mac.
    for edit in ({"alg": KEYED}, {"alg": UNKEYED}, {"alg": "hmac-md5"}, {"seq": data["seq"] + 1}):
        assert parse_line(key, json.dumps({**data, **edit})) is None, edit
    found = latest_head(path, intl_key, parsed.chain)
    assert found.status == "found" and found.head == parsed

    assert run_cli() == 0
    out = capsys.readouterr().out
    assert "审计链完整" in out and f"{SM3_LABEL} 校验" in out and "哈希算法：" in out


def test_version_1_lines_still_parse_and_anchor(rt: Runtime, run_cli, capsys) -> None:
    """A head file written before the suites existed: version 1 lines, HMAC-SHA256 over the v1 fields."""
    add_events(rt, 2)
    with rt.db.session() as session:
        seq, digest, chain = audit.head(session)
    fields = {"v": 1, "chain": chain, "seq": seq, "hash": digest, "keyed_from": 1, "at": "2026-11-02T01:00:00+00:00"}
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    mac = hmac_hex("hmac-sha256", rt.settings.audit_hmac_key(), b"govflow audit head v1\n" + canonical)
    v1 = json.dumps({**fields, "mac": mac}) + "\n"
    path = rt.settings.audit_head_export_path
    path.write_text(v1, encoding="utf-8")
    sm_key = ChainKey(rt.settings.audit_hmac_key(), KEYED_SM3)
    assert parse_line(sm_key, v1) == ExportedHead(chain, seq, digest, 1, fields["at"], KEYED)
    # A v1 line is no v2 line: its mac does not carry over.
    assert parse_line(sm_key, json.dumps({**fields, "v": 2, "alg": KEYED, "mac": mac})) is None
    # head_line writes version 2 under the key's algorithm, whatever the head says.
    assert json.loads(head_line(sm_key, ExportedHead(chain, seq, digest, 1, fields["at"])))["alg"] == KEYED_SM3
    assert run_cli() == 0
    assert "与导出的链头一致" in capsys.readouterr().out


@pytest.mark.parametrize("line", [
    '{"v": 2, "alg": "hmac-sm3", "chain": "\\ud800", "seq": 1, "hash": "x", "keyed_from": 1, "at": "", "mac": "é"}',
    '{"v": 2, "alg": ["hmac-sm3"], "chain": "c", "seq": 1, "hash": "x", "keyed_from": 1, "at": "", "mac": "0"}',
    '{"v": true, "chain": "c", "seq": 1, "hash": "x", "keyed_from": 1, "at": "", "mac": "0"}',
    '{"v": 2, "chain": "c", "seq": 1, "hash": "x", "keyed_from": 1, "at": "", "mac": "0"}',
    '{"v": 1, "chain": "c", "seq": 1, "hash": "x", "keyed_from": 1, "at": "", "mac": "é"}',
])
def test_a_damaged_head_line_is_ignored_not_an_exception(line: str) -> None:
    assert parse_line(ChainKey(b"k" * 32, KEYED_SM3), line) is None


def test_migration_0040_gives_the_head_its_last_events_algorithm(blank_url: str) -> None:
    """A chain whose last event is HMAC-SM3 (written by a later version, restored onto 0039) keeps
    appending HMAC-SM3 without a switch event; no event is touched by the migration."""
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from alembic import command
    from app.core.config import ROOT

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", blank_url)
    command.upgrade(cfg, "0039")
    engine = create_engine(blank_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO audit_event (seq, at, actor, action, entity_type, entity_id, instance_id, detail, "
                "prev_hash, hash, hash_alg) VALUES (1, :at, 'system', 'demo.seeded', 'system', '1', NULL, '{}', "
                ":prev, :hash, 'hmac-sm3')"), {"at": "2026-11-02 01:00:00+00:00", "prev": audit.GENESIS,
                                               "hash": "ab" * 32})
            conn.execute(text("UPDATE audit_head SET seq = 1, last_hash = :hash"), {"hash": "ab" * 32})
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT seq, hash_alg FROM audit_head")).one() == (1, KEYED_SM3)
            assert conn.execute(text("SELECT hash FROM audit_event")).scalar_one() == "ab" * 32
    finally:
        engine.dispose()


def test_backup_and_restore_of_a_chain_with_an_sm3_segment_verifies(rt: Runtime, monkeypatch, capsys,
                                                                     tmp_path: Path) -> None:
    """The restored database and head file verify under the SM suite; the restore summary reads the
    HMAC-SM3 head lines (to warn of events exported after the backup)."""
    from app.backup import _latest_exported_seq
    from tests.conftest import blank_database

    with under_suite(rt, "sm") as sm:
        add_events(sm, 2)
        assert run_job(sm, "export-audit-head")["alg"] == KEYED_SM3
    segments = verify_now(rt).verification.segments
    for name, value in {"GOVFLOW_DATABASE_URL": rt.settings.database_url, "GOVFLOW_ENVIRONMENT": "test",
                        "GOVFLOW_SECRET_KEY": SECRET, "GOVFLOW_CRYPTO_SUITE": "sm",
                        "GOVFLOW_ATTACHMENTS_DIR": str(rt.settings.attachments_dir),
                        "GOVFLOW_AUDIT_HEAD_EXPORT_PATH": str(rt.settings.audit_head_export_path)}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert cli(["backup", "--out", str(tmp_path / "backups")]) == 0
        archive = Path(capsys.readouterr().out.strip())
        with under_suite(rt, "sm") as sm:  # after the backup: a later head in the live file
            add_events(sm, 1)
            later = run_job(sm, "export-audit-head")["seq"]
        with rt.db.session() as session:
            chain = audit.head(session)[2]
        # What the restore summary reads to warn that events exported after the backup are not in it.
        assert _latest_exported_seq(get_settings(), rt.settings.audit_head_export_path, chain) == later
        head_file = tmp_path / "restored-head.jsonl"
        with blank_database(tmp_path / "restored" / "govflow.db", "h15a_r") as url:
            assert cli(["restore", str(archive), "--database-url", url, "--attachments-dir",
                        str(tmp_path / "restored-files"), "--audit-head-file", str(head_file)]) == 0
            out = capsys.readouterr().out
            assert "与备份清单一致" in out
            monkeypatch.setenv("GOVFLOW_DATABASE_URL", url)
            monkeypatch.setenv("GOVFLOW_AUDIT_HEAD_EXPORT_PATH", str(head_file))
            get_settings.cache_clear()
            assert cli(["verify-audit"]) == 0
            out = capsys.readouterr().out
            assert "审计链完整" in out and f"{SM3_LABEL} 校验" in out
            assert f"哈希算法：{audit.segments_zh(segments)}。" in out
    finally:
        get_settings.cache_clear()
