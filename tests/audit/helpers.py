"""What a hostile database administrator does to the audit trail, with SQL alone (no audit key)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import (JSON, Column, Connection, Integer, MetaData, String, Table, delete, select, text,
                        update)

from app.audit import service as audit
from app.audit.models import AuditEvent, AuditHead
from app.core.clock import clock
from app.core.types import UTCDateTime
from app.runtime import Runtime

EVENT = AuditEvent.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
# audit_event as the code before the keyed chain (revision 0010) wrote it: no hash_alg.
OLD_EVENT = Table("audit_event", MetaData(), Column("seq", Integer), Column("at", UTCDateTime),
                  Column("actor", String), Column("action", String), Column("entity_type", String),
                  Column("entity_id", String), Column("instance_id", Integer), Column("detail", JSON),
                  Column("prev_hash", String), Column("hash", String))


def add_events(rt: Runtime, n: int) -> None:
    """Commit n ordinary events the way the service does."""
    with rt.db.session() as session:
        for i in range(n):
            audit.append(session, at=clock.now() + timedelta(seconds=i), actor="gat_reviewer",
                         action="task.completed", entity_type="task", entity_id=1000 + i,
                         detail={"decision": "approve", "round": i})
        session.commit()


def plain_sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def hmac_under(key: bytes) -> Callable[[bytes], str]:
    return lambda payload: hmac.new(key, payload, hashlib.sha256).hexdigest()


def _payload(row: Any, prev_hash: str) -> bytes:
    # The canonical form is public (it is in the source); only the key is secret.
    return audit._payload(prev_hash, row.seq, row.at, row.actor, row.action, row.entity_type, row.entity_id,
                          row.instance_id, row.detail)


@contextmanager
def as_dba(rt: Runtime) -> Iterator[Connection]:
    """Yield a connection with the append-only triggers out of the way, as the database's owner can."""
    with rt.db.engine.connect() as conn:
        if rt.db.is_postgres:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # user triggers do not fire
            yield conn
        else:
            triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name IN ('audit_event', 'audit_head')")).all()
            for name, _ in triggers:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            yield conn
            for _, sql in triggers:
                conn.execute(text(sql))
        conn.commit()


def rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(EVENT).order_by(EVENT.c.seq)).all())


def rechain(conn: Connection, from_seq: int, digest: Callable[[bytes], str], alg: str | None = None) -> None:
    """Recompute hashes from one event to the end with the given function, and move the head to match."""
    events = rows(conn)
    prev = audit.GENESIS if from_seq == 1 else events[from_seq - 2].hash
    for row in events[from_seq - 1:]:
        new = digest(_payload(row, prev))
        values: dict[str, Any] = {"prev_hash": prev, "hash": new}
        if alg is not None:
            values["hash_alg"] = alg
        conn.execute(update(EVENT).where(EVENT.c.seq == row.seq).values(**values))
        prev = new
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(last_hash=prev))


def rewrite_event(rt: Runtime, seq: int, digest: Callable[[bytes], str], alg: str | None = None) -> None:
    """Change what one event says (a refusal becomes an approval) and recompute the chain after it."""
    with as_dba(rt) as conn:
        conn.execute(update(EVENT).where(EVENT.c.seq == seq).values(actor="mallory", detail={"forged": True}))
        rechain(conn, seq, digest, alg)


def cut_tail(rt: Runtime) -> int:
    """Delete the last event and move audit_head back onto the one before; return the deleted seq."""
    with as_dba(rt) as conn:
        last = rows(conn)[-1]
        conn.execute(delete(EVENT).where(EVENT.c.seq == last.seq))
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=last.seq - 1, last_hash=last.prev_hash))
    return int(last.seq)
