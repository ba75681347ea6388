"""Append to and verify the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import event, insert, select, text, update
from sqlmodel import Session

from app.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64
_PENDING = "audit_pending"
_EVENT = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
# json.dumps(..., <these options>) builds an encoder per call; these are the same encoders, built once.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
_PLAIN = json.JSONEncoder(ensure_ascii=False, default=str)
# PostgreSQL: all of a commit's events in one INSERT from one JSON document (an executemany costs a
# statement per row; arrays of text are quoted element by element in Python).
_PG_COLUMNS = {"seq": "integer", "at": "timestamptz", "actor": "varchar", "action": "varchar",
               "entity_type": "varchar", "entity_id": "varchar", "instance_id": "integer", "detail": "json",
               "prev_hash": "varchar", "hash": "varchar"}
_PG_INSERT = text(f"INSERT INTO {_EVENT.name} ({', '.join(_PG_COLUMNS)}) SELECT {', '.join(_PG_COLUMNS)} "
                  f"FROM json_to_recordset(CAST(:rows AS json)) AS r("
                  + ", ".join(f"{c} {t}" for c, t in _PG_COLUMNS.items()) + ")")


def _digest(prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str,
            entity_id: str, instance_id: int | None, detail: dict[str, Any]) -> str:
    payload = _CANONICAL.encode(
        [prev_hash, seq, at.isoformat(timespec="microseconds"), actor, action, entity_type, entity_id,
         instance_id, detail])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> tuple[int, str]:
    # The head row is the chain's mutex: appenders queue on it until their transaction ends, so
    # two transactions can never link to the same predecessor.
    row = session.connection().execute(
        select(_HEAD.c.seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
    ).first()
    if row is None:
        raise RuntimeError("audit_head row missing: run the migrations")
    return int(row[0]), str(row[1])


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
    """Chain and insert events under one lock of the chain head (Core statements: this is hot)."""
    seq, prev = _lock_head(session)
    rows: list[dict[str, Any]] = []
    for ev in events:
        seq += 1
        detail = _as_json(ev.get("detail") or {})
        at = ev["at"].astimezone(timezone.utc)
        entity_id = str(ev["entity_id"])
        digest = _digest(prev, seq, at, ev["actor"], ev["action"], ev["entity_type"], entity_id,
                         ev.get("instance_id"), detail)
        rows.append(dict(seq=seq, at=at, actor=ev["actor"], action=ev["action"], entity_type=ev["entity_type"],
                         entity_id=entity_id, instance_id=ev.get("instance_id"), detail=detail,
                         prev_hash=prev, hash=digest))
        prev = digest
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # json.dumps, as the JSON column would: each detail is stored as the same text. The events of
        # one commit mostly share one instant, so its text is computed once.
        conn.execute(_PG_INSERT, {"rows": json.dumps(rows, default=lru_cache(maxsize=8)(datetime.isoformat))})
    else:
        conn.execute(insert(_EVENT), rows)
    conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, last_hash=prev))


@dataclass
class Verification:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute the chain from the first event; report the first broken link."""
    prev = GENESIS
    expected_seq = 0
    count = 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq > expected_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            expected_seq += 1
            if row.seq != expected_seq:
                return Verification(False, count, expected_seq, "missing_event")
            if row.prev_hash != prev:
                return Verification(False, count, row.seq, "broken_link")
            digest = _digest(row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity_type,
                             row.entity_id, row.instance_id, row.detail)
            if digest != row.hash:
                return Verification(False, count, row.seq, "altered_event")
            prev = row.hash
            count += 1
            last_seq = row.seq
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.last_hash != prev):
        return Verification(False, count, last_seq + 1, "truncated")
    return Verification(True, count)


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
    names = actor_names(session, {e.actor for e in events.values()})
    return [{"at": e.at.isoformat(), "actor": e.actor, "actor_name": names.get(e.actor, e.actor),
             "action": e.action, "detail": e.detail}
            for _, e in sorted(events.items())]


def actor_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """Return the display names of the actors of some events (one query); the scheduler is 系统."""
    from app.org.models import User  # the audit area is below org: imported here, not at module level

    names = {"system": "系统"}
    wanted = usernames - names.keys()
    if wanted:
        names.update(session.execute(select(User.username, User.display_name)
                                     .where(User.username.in_(wanted))).all())
    return names
