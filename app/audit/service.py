"""Append to and verify the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, event, insert, select, text, update
from sqlmodel import Session

from app.audit.models import ALGORITHM_CHANGED, KEYED, KEYED_SM3, UNKEYED, AuditEvent, AuditHead
from app.core.history_page import PAGE_SIZE, decode_cursor, page_of
from app.crypto.algorithms import LABELS_ZH, suite

GENESIS = "0" * 64
# The key of Session.info (and of the session factory's info) that holds the ChainKey.
KEY_INFO = "audit_chain_key"
_PENDING = "audit_pending"
_EVENT = AuditEvent.__table__  # type: ignore[attr-defined]
# What a 流转记录 cursor pages (app.core.history_page).
HISTORY_CURSOR = "history"
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
# Built once (every write request runs them; a prebuilt statement's cache key is memoized).
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.last_hash, _HEAD.c.hash_alg).where(_HEAD.c.id == 1).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), last_hash=bindparam("new_hash"),
                                                         hash_alg=bindparam("new_alg"))
_INSERT_EVENTS = insert(_EVENT)
# json.dumps(..., <these options>) builds an encoder per call; these are the same encoders, built once.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
_PLAIN = json.JSONEncoder(ensure_ascii=False, default=str)
# PostgreSQL: all of a commit's events in one INSERT from one JSON document (an executemany costs a
# statement per row; arrays of text are quoted element by element in Python).
_PG_COLUMNS = {"seq": "integer", "at": "timestamptz", "actor": "varchar", "action": "varchar",
               "entity_type": "varchar", "entity_id": "varchar", "instance_id": "integer", "detail": "json",
               "prev_hash": "varchar", "hash": "varchar", "hash_alg": "varchar"}
_PG_INSERT = text(f"INSERT INTO {_EVENT.name} ({', '.join(_PG_COLUMNS)}) SELECT {', '.join(_PG_COLUMNS)} "
                  f"FROM json_to_recordset(CAST(:rows AS json)) AS r("
                  + ", ".join(f"{c} {t}" for c, t in _PG_COLUMNS.items()) + ")")


# The hash function of each keyed algorithm (models.KEYED_ALGS), by its stored name: the suites' HMACs.
_MAC_HASH = {KEYED: "sha256", KEYED_SM3: "sm3"}


class ChainKey:
    """The audit chain's HMAC key, from settings (never written to the database), and the algorithm new
    events are written with (the crypto suite's: HMAC-SHA256 or HMAC-SM3).

    Whoever can write the database but does not hold the key cannot compute the hash of an event they
    rewrote, nor of the events after it: the rewrite fails verification. Events written under the other
    keyed algorithm (before the suite changed) verify with the same key.
    """

    __slots__ = ("_key", "alg", "_hash")

    def __init__(self, key: bytes, alg: str = KEYED) -> None:
        try:
            self._hash = _MAC_HASH[alg]
        except KeyError:
            raise ValueError(f"not a keyed audit chain algorithm: {alg!r}") from None
        try:  # at start-up, not at the first commit: an OpenSSL without SM3 (a FIPS build) says so here
            hmac.digest(b"", b"", self._hash)
        except ValueError:
            raise ValueError(f"{alg}: this Python's OpenSSL has no {self._hash}") from None
        self._key = key
        self.alg = alg

    @classmethod
    def from_settings(cls, settings: Any) -> ChainKey:
        """Return the chain key of settings: GOVFLOW_AUDIT_KEY under the suite's HMAC (GOVFLOW_CRYPTO_SUITE)."""
        return cls(settings.audit_hmac_key(), suite(settings.crypto_suite).hmac)

    def mac(self, payload: bytes) -> str:
        """Return the hex HMAC of a payload under this key's algorithm (one C call: the append path is hot)."""
        return hmac.digest(self._key, payload, self._hash).hex()

    def mac_under(self, alg: str, payload: bytes) -> str:
        """Return the hex HMAC of a payload under a named keyed algorithm (KeyError if it is not one)."""
        return hmac.digest(self._key, payload, _MAC_HASH[alg]).hex()

    def __repr__(self) -> str:
        return f"ChainKey(<hidden>, {self.alg!r})"


def alg_label_zh(hash_alg: str) -> str:
    """Return the Chinese name of an event's hash algorithm (verify-audit, the admin API)."""
    return LABELS_ZH.get("sha256-unkeyed" if hash_alg == UNKEYED else hash_alg, hash_alg)


def segments_zh(segments: list[tuple[int, int, str]]) -> str:
    """Tell which events were hashed with which algorithm: “第 1–1200 条：HMAC-SHA256；第 1201–1250 条：…”."""
    return "；".join(f"第 {first}–{last} 条：{alg_label_zh(alg)}" if first != last
                    else f"第 {first} 条：{alg_label_zh(alg)}" for first, last, alg in segments)


def _payload(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str,
             entity_id: str, instance_id: int | None, detail: dict[str, Any]) -> bytes:
    return _CANONICAL.encode(
        [prev_hash, seq, at.isoformat(timespec="microseconds"), actor, action, entity_type, entity_id,
         instance_id, detail]).encode("utf-8")


def chain_key(session: Session) -> ChainKey:
    """Return the chain key the session's database was opened with (app.runtime puts it there)."""
    key = session.info.get(KEY_INFO)
    if not isinstance(key, ChainKey):
        # Fail closed: an event written without the key would be forgeable.
        raise RuntimeError("the audit chain key is missing from the session: open sessions through Database")
    return key


def _lock_head(session: Session) -> tuple[int, str, str]:
    # The head row is the chain's mutex: appenders queue on it until their transaction ends, so
    # two transactions can never link to the same predecessor.
    row = session.connection().execute(_LOCK_HEAD).first()
    if row is None:
        raise RuntimeError("audit_head row missing: run the migrations")
    return int(row[0]), str(row[1]), str(row[2])


def append(session: Session, *, at: datetime, actor: str, action: str, entity_type: str,
           entity_id: str | int, detail: dict[str, Any] | None = None,
           instance_id: int | None = None) -> dict[str, Any]:
    """Queue one event; it is chained and written when the caller's transaction commits.

    Return the queued event: until the commit a caller may still link it to the process instance the
    event starts (``event["instance_id"] = instance.id``), so the instance's history begins with it.
    """
    event = dict(at=at, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
                 detail=detail, instance_id=instance_id)
    session.info.setdefault(_PENDING, []).append(event)
    return event


def pending(session: Session) -> list[dict[str, Any]]:
    """Return the events queued in this transaction and not yet written."""
    return list(session.info.get(_PENDING, []))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    # The chain head is locked only for the moment of commit, and once per transaction however many
    # events it carries; the events commit with the state change they record, or not at all.
    events = session.info.pop(_PENDING, None)
    if events:
        append_many(session, events)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _as_json(detail: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of the detail as JSON would give it back (what is stored, and what verify() hashes)."""
    if all(type(k) is str and type(v) in _SCALARS for k, v in detail.items()):
        return dict(detail)  # flat and plain already: the JSON round trip would give an equal dict
    return json.loads(_PLAIN.encode(detail))


def append_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Chain and insert events under one lock of the chain head (Core statements: this is hot).

    When the key's algorithm is not the one of the chain's last event (the suite was changed), the
    events are preceded by an ``audit.algorithm_changed`` event, the first of the new segment: the
    switch is on the record, in the chain itself, and nothing written before is rehashed.
    """
    key = chain_key(session)
    seq, prev, head_alg = _lock_head(session)
    if head_alg != key.alg and seq > 0:
        events = [dict(at=events[0]["at"], actor="system", action=ALGORITHM_CHANGED, entity_type="audit_chain",
                       entity_id="head", detail={"from": head_alg, "to": key.alg}, instance_id=None), *events]
    alg = key.alg
    rows: list[dict[str, Any]] = []
    for ev in events:
        seq += 1
        detail = _as_json(ev.get("detail") or {})
        at = ev["at"].astimezone(timezone.utc)
        entity_id = str(ev["entity_id"])
        digest = key.mac(_payload(prev, seq, at, ev["actor"], ev["action"], ev["entity_type"], entity_id,
                                  ev.get("instance_id"), detail))
        rows.append(dict(seq=seq, at=at, actor=ev["actor"], action=ev["action"],
                         entity_type=ev["entity_type"], entity_id=entity_id,
                         instance_id=ev.get("instance_id"), detail=detail, prev_hash=prev, hash=digest,
                         hash_alg=alg))
        prev = digest
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # json.dumps, as the JSON column would: each detail is stored as the same text. The events of
        # one commit mostly share one instant, so its text is computed once.
        conn.execute(_PG_INSERT, {"rows": json.dumps(rows, default=lru_cache(maxsize=8)(datetime.isoformat))})
    else:
        conn.execute(_INSERT_EVENTS, rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev, "new_alg": alg})


@dataclass(frozen=True)
class ExportedHead:
    """A chain head as the export-audit-head job wrote it (its HMAC already checked by the reader)."""

    chain: str
    seq: int
    hash: str
    keyed_from: int | None  # the first keyed event at the time of export (None: none yet)
    at: str  # when it was exported (ISO 8601, UTC)
    alg: str = KEYED  # the HMAC of the exported line (version 1 lines: HMAC-SHA256)


# Why verification stopped, in the words an auditor reads (CLI, API, logs).
REASON_ZH = {
    "missing_event": "缺少该序号的事件",
    "truncated": "链尾的事件被删除（链头 audit_head 指向的事件不存在）",
    "broken_link": "该事件记录的前一哈希与前一事件不符（链被断开）",
    "altered_event": "该事件的内容与其哈希不符（被改写，或审计密钥与写入时不同）",
    "downgraded": "该事件未用密钥计算哈希，而在它之前已有带密钥的事件或已导出的链头（伪造者降级了算法）",
    "unknown_algorithm": "该事件的哈希算法无法识别",
    "head_mismatch": "链头 audit_head 记录的哈希与最后一个事件不符",
    "anchor_mismatch": "该事件的哈希与导出的链头不符（导出之前的记录被改写）",
    "anchor_missing": "导出的链头所指的事件已不在链中（链尾被删除，或链头被回退）",
}


@dataclass
class Verification:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS
    keyed_from: int | None = None
    chain: str = ""
    # The events walked, in runs of one hash algorithm: [(first seq, last seq, hash_alg), ...] (up to the
    # first bad event when verification failed). A change of suite starts a new segment.
    segments: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def reason_zh(self) -> str | None:
        return REASON_ZH.get(self.reason or "")

    @property
    def segments_zh(self) -> str:
        return segments_zh(self.segments)


_VERIFY_COLUMNS = (_EVENT.c.seq, _EVENT.c.at, _EVENT.c.actor, _EVENT.c.action, _EVENT.c.entity_type,
                   _EVENT.c.entity_id, _EVENT.c.instance_id, _EVENT.c.detail, _EVENT.c.prev_hash,
                   _EVENT.c.hash, _EVENT.c.hash_alg)


def head(session: Session) -> tuple[int, str, str]:
    """Return the chain head as recorded in the database: (seq, hash, chain id)."""
    row = session.execute(
        select(_HEAD.c.seq, _HEAD.c.last_hash, _HEAD.c.chain_id).where(_HEAD.c.id == 1)).first()
    if row is None:
        raise RuntimeError("audit_head row missing: run the migrations")
    return int(row[0]), str(row[1]), str(row[2])


def verify(session: Session, *, anchor: ExportedHead | None = None, since: ExportedHead | None = None,
           key: ChainKey | None = None, batch: int = 5000) -> Verification:
    """Recompute the chain up to its head and report the first bad event.

    ``anchor``: the latest exported head; the chain must hold that event with that hash (a rewrite before
    it, or a cut tail with the head moved back, fails). ``since``: an exported head already checked (the
    export job's previous one): only the events after it are walked, from its hash.
    Events are an HMAC under the key (HMAC-SHA256 or HMAC-SM3, each event naming its own, in any order:
    a change of suite starts a segment), except a prefix written before the chain was keyed; an unkeyed
    event after a keyed one, or after an exported head, is a downgrade and fails.
    """
    key = key or chain_key(session)
    head_seq, head_hash, chain = head(session)
    start = since or ExportedHead(chain, 0, GENESIS, None, "")
    seq, prev, keyed_from = start.seq, start.hash, start.keyed_from
    # From here on every event must be keyed: the exporter runs keyed code, so whatever was appended
    # after an export, and whatever followed the first keyed event it saw, was written keyed.
    must_key_from = min((h.keyed_from or h.seq + 1 for h in (anchor, since) if h is not None), default=None)
    result = Verification(False, 0, head_seq=head_seq, head_hash=head_hash, keyed_from=keyed_from,
                          chain=chain)
    segments: list[list[Any]] = []  # [first, last, alg], extended event by event

    def done() -> Verification:
        result.keyed_from = keyed_from
        result.segments = [(first, last, alg) for first, last, alg in segments]
        return result

    def fail(bad_seq: int, reason: str) -> Verification:
        result.first_bad_seq, result.reason = bad_seq, reason
        return done()

    if anchor is not None and anchor.chain != chain:
        raise ValueError("the exported head belongs to another chain")
    if since is not None and head_seq < since.seq:
        return fail(head_seq + 1, "anchor_missing")
    while seq < head_seq:
        rows = session.execute(select(*_VERIFY_COLUMNS).where(_EVENT.c.seq > seq, _EVENT.c.seq <= head_seq)
                               .order_by(_EVENT.c.seq).limit(batch)).all()
        if not rows:
            return fail(seq + 1, "truncated")
        for row in rows:
            seq += 1
            if row.seq != seq:
                return fail(seq, "missing_event")
            if row.prev_hash != prev:
                return fail(seq, "broken_link")
            payload = _payload(row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity_type,
                               row.entity_id, row.instance_id, row.detail)
            alg = row.hash_alg
            if alg in _MAC_HASH:
                keyed_from = keyed_from or seq
                digest = key.mac(payload) if alg == key.alg else key.mac_under(alg, payload)
            elif alg == UNKEYED:
                if keyed_from is not None or (must_key_from is not None and seq >= must_key_from):
                    return fail(seq, "downgraded")
                digest = hashlib.sha256(payload).hexdigest()
            else:
                return fail(seq, "unknown_algorithm")
            # As bytes: compare_digest raises on a str with non-ASCII characters (a hash a forger wrote).
            if not hmac.compare_digest(digest.encode(), row.hash.encode("utf-8", "replace")):
                return fail(seq, "altered_event")
            if anchor is not None and seq == anchor.seq and row.hash != anchor.hash:
                return fail(seq, "anchor_mismatch")
            prev = row.hash
            result.events += 1
            if segments and segments[-1][2] == alg:
                segments[-1][1] = seq
            else:
                segments.append([seq, seq, alg])
    if prev != head_hash:
        return fail(head_seq, "head_mismatch")
    if anchor is not None and anchor.seq > head_seq:
        return fail(head_seq + 1, "anchor_missing")
    result.ok = True
    return done()


def history(session: Session, *, entity_type: str | None = None, entity_id: str | int | None = None,
            instance_id: int | None = None) -> list[AuditEvent]:
    """Return the events of one entity or one process instance, oldest first."""
    stmt = select(AuditEvent)
    if instance_id is not None:
        stmt = stmt.where(AuditEvent.instance_id == instance_id)
    if entity_type is not None:
        stmt = stmt.where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
    return list(session.execute(stmt.order_by(AuditEvent.seq)).scalars().all())


def trail(session: Session, instance_id: int | None, entity_type: str, entity_id: int | str
          ) -> list[dict[str, Any]]:
    """Return the 流转记录 of a business object and its process instance, oldest first."""
    events = {e.seq: e for e in history(session, entity_type=entity_type, entity_id=entity_id)}
    if instance_id is not None:
        events.update({e.seq: e for e in history(session, instance_id=instance_id)})
    return _lines(session, [e for _, e in sorted(events.items())])


def trail_page(session: Session, instance_id: int | None, entity_type: str, entity_id: int | str, *,
               cursor: str | None = None, limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest `limit` lines of a 流转记录 before the cursor, oldest first, and the cursor to the
    earlier lines (None when these are the first).

    Two reads of at most limit + 1 rows each, from (entity_type, entity_id, seq) and (instance_id, seq):
    the cost does not grow with the case's history.
    """
    before = decode_cursor(cursor, HISTORY_CURSOR)
    owners = [and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))]
    if instance_id is not None:
        owners.append(AuditEvent.instance_id == instance_id)
    events: dict[int, AuditEvent] = {}
    for owner in owners:
        stmt = select(AuditEvent).where(owner)
        if before is not None:
            stmt = stmt.where(AuditEvent.seq < before)
        events.update((e.seq, e) for e in session.execute(
            stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)).scalars())
    newest = [events[seq] for seq in sorted(events, reverse=True)][:limit + 1]
    rows, next_cursor = page_of(newest, kind=HISTORY_CURSOR, limit=limit, key=lambda e: e.seq)
    return _lines(session, rows), next_cursor


def instance_history_page(session: Session, instance: Any, cursor: str | None = None, limit: int = PAGE_SIZE
                          ) -> tuple[list[dict[str, Any]], str | None]:
    """Return the latest lines of a process instance's 流转记录 before the cursor (its events and those
    recorded on the instance itself), and the cursor to earlier ones."""
    return trail_page(session, instance.id, "process_instance", instance.id or 0, cursor=cursor, limit=limit)


def _lines(session: Session, events: list[AuditEvent]) -> list[dict[str, Any]]:
    names = actor_names(session, {e.actor for e in events})
    return [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "actor_name": names.get(e.actor, e.actor),
             "action": e.action, "detail": e.detail} for e in events]


def actor_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """Return the display names of the actors of some events (one query); the scheduler is 系统."""
    from app.org.models import User  # the audit area is below org: imported here, not at module level

    names = {"system": "系统"}
    wanted = usernames - names.keys()
    if wanted:
        names.update(session.execute(select(User.username, User.display_name)
                                     .where(User.username.in_(wanted))).all())
    return names
