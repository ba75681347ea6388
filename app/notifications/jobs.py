"""Scheduled work: deliver the notification outbox to the configured webhook, with retries.

Design: claim, post, record. A run claims a batch of due rows in one short transaction (status
`sending`, attempts + 1, next_attempt_at = end of a lease) and commits; then posts each row with no
transaction open; then records each outcome in its own short transaction. Holding the row lock
across the HTTP call instead would, on SQLite (BEGIN IMMEDIATE), block every writer of the service
for as long as the gateway takes to answer, and on PostgreSQL pin a pooled connection and an open
transaction per slow gateway. A run that dies after claiming leaves rows in `sending`; once their
lease ends any run claims them again. Delivery is therefore at-least-once: the receiver
deduplicates by the Idempotency-Key header. The attempt number is the fencing token: an outcome is
recorded only if the row is still `sending` on that attempt, so a run whose lease ran out cannot
overwrite the outcome of the run that took over.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from app.core.clock import clock
from app.notifications.models import NOTIFICATION_TOPIC, Outbox, OutboxStatus
from app.runtime import Runtime

log = logging.getLogger("govflow.notifications")

TIMEOUT_SECONDS = 5.0
BATCH = 20
MAX_BATCHES_PER_RUN = 25
# Long enough for a whole batch of slow gateways; only how soon a crashed run's rows are retried
# depends on it, not correctness (see the fencing above).
LEASE = timedelta(minutes=5)
FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600


@dataclass(frozen=True)
class Claim:
    id: int
    attempt: int
    idempotency_key: str
    payload: dict[str, Any]
    lease_until: datetime


def backoff(attempts: int) -> timedelta:
    """Return the wait after the given number of failed attempts: 30 s, 60 s, 120 s … at most 1 h."""
    return timedelta(seconds=min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def deliver_notifications(rt: Runtime, batch: int = BATCH) -> int:
    """Post due outbox rows to the notification webhook; return how many were delivered."""
    url = rt.settings.notification_webhook_url
    if not url:
        return 0  # rows written while a webhook was configured wait until one is again
    delivered = 0
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        for _ in range(MAX_BATCHES_PER_RUN):
            claims = claim_due(rt, batch)
            for item in claims:
                if clock.now() >= item.lease_until:
                    continue  # lease gone: another run may hold the row now
                error = post(client, url, rt.settings.notification_webhook_secret, item)
                if record(rt, item, error):
                    delivered += error is None
            if len(claims) < batch:
                break
    return delivered


def claim_due(rt: Runtime, batch: int = BATCH) -> list[Claim]:
    """Take due rows (pending, or sending with an expired lease) for one delivery attempt each."""
    now = clock.now()
    max_attempts = rt.settings.notification_max_attempts
    claims: list[Claim] = []
    with rt.db.session() as session:
        stmt = (
            select(Outbox)
            .where(Outbox.topic == NOTIFICATION_TOPIC,
                   Outbox.status.in_([OutboxStatus.pending.value, OutboxStatus.sending.value]),
                   Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id).limit(batch)
        )
        if rt.db.is_postgres:
            # Several scheduler replicas: each takes rows no other run is claiming right now.
            # (SQLite serializes writers with BEGIN IMMEDIATE, so a plain select suffices.)
            stmt = stmt.with_for_update(skip_locked=True)
        for row in session.execute(stmt).scalars().all():
            if row.attempts >= max_attempts:
                # Only a `sending` row whose last attempt's run died gets here.
                row.status = OutboxStatus.failed.value
                row.next_attempt_at = None
                row.last_error = (row.last_error or "") + "；最后一次投递中断（租约过期）"
                log.error("notification %s failed: last attempt interrupted", row.idempotency_key)
                continue
            row.attempts += 1
            row.status = OutboxStatus.sending.value
            row.next_attempt_at = now + LEASE
            claims.append(Claim(id=row.id or 0, attempt=row.attempts, idempotency_key=row.idempotency_key,
                                payload=row.payload, lease_until=now + LEASE))
        session.commit()
    return claims


def sign(body: bytes, secret: str) -> str:
    """Return the X-GovFlow-Signature value of a body: sha256=<hex HMAC-SHA256>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(client: httpx.Client, url: str, secret: str | None, item: Claim) -> str | None:
    """POST one payload; return None on a 2xx answer, else what went wrong."""
    body = json.dumps(item.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": item.idempotency_key,
               "User-Agent": "GovFlow-Notifier"}
    if secret:
        headers["X-GovFlow-Signature"] = sign(body, secret)
    try:
        response = client.post(url, content=body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:300]}"[:1000]


def record(rt: Runtime, item: Claim, error: str | None) -> bool:
    """Write the outcome of one attempt, unless the row was claimed again meanwhile."""
    now = clock.now()
    if error is None:
        values: dict[str, Any] = dict(status=OutboxStatus.delivered.value, delivered_at=now,
                                      next_attempt_at=None)
    elif item.attempt >= rt.settings.notification_max_attempts:
        values = dict(status=OutboxStatus.failed.value, next_attempt_at=None, last_error=error)
        log.error("notification %s failed after %s attempts: %s", item.idempotency_key, item.attempt, error)
    else:
        values = dict(status=OutboxStatus.pending.value, next_attempt_at=now + backoff(item.attempt),
                      last_error=error)
        log.warning("notification %s attempt %s failed: %s", item.idempotency_key, item.attempt, error)
    with rt.db.session() as session:
        result = session.execute(
            update(Outbox).where(Outbox.id == item.id, Outbox.status == OutboxStatus.sending.value,
                                 Outbox.attempts == item.attempt).values(**values)
        )
        session.commit()
    return bool(result.rowcount)
