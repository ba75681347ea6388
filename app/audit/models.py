"""Append-only, hash-chained audit trail (Art. 12: kept 24 months, traceable)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime

# How an event's hash was computed. Events written before the chain was keyed keep plain SHA-256
# (history is never rewritten); every later one is an HMAC under the key from settings, with the hash of
# the crypto suite in force when it was written (GOVFLOW_CRYPTO_SUITE: HMAC-SHA256 or HMAC-SM3).
UNKEYED = "sha256"
KEYED = "hmac-sha256"
KEYED_SM3 = "hmac-sm3"
KEYED_ALGS = frozenset({KEYED, KEYED_SM3})
# The event that opens a new segment of the chain when the suite changes (detail: from, to).
ALGORITHM_CHANGED = "audit.algorithm_changed"


class AuditEvent(SQLModel, table=True):
    """One decision or state change; each row carries the hash of the previous one."""

    __tablename__ = "audit_event"
    # A case's 流转记录 pages newest first by seq, by its business object or by its process instance.
    __table_args__ = (Index("ix_audit_event_entity_seq", "entity_type", "entity_id", "seq"),
                      Index("ix_audit_event_instance_seq", "instance_id", "seq"))

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    instance_id: int | None = Field(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    # Migration 0011 labelled the events already written UNKEYED; the service writes every new one with
    # one of KEYED_ALGS (the suite's).
    hash_alg: str = Field(default=KEYED, max_length=16)


class AuditHead(SQLModel, table=True):
    """The single row appenders lock to extend the chain one at a time."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(max_length=64)
    # Names this chain in the exported heads, so a file that also holds another database's heads
    # (a rebuilt development database, a staging copy) is not read as this one's.
    chain_id: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    # The algorithm of the last event appended (migration 0040): an appender whose suite differs starts
    # a new segment, read from the row it locks anyway (no extra query on the append path).
    hash_alg: str = Field(default=KEYED, max_length=16, sa_column_kwargs={"server_default": KEYED})
