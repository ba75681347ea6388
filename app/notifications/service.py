"""Notify users and queue webhook deliveries in the caller's transaction (flush, never commit)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.core.clock import clock
from app.core.config import Settings, get_settings
from app.core.errors import Forbidden, NotFound
from app.notifications.models import (
    NOTIFICATION_TOPIC, Notification, Outbox, OutboxStatus, kind_label,
)
from app.org.models import Department, User, UserRole

_NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message_zh = "通知不存在"
    message_en = "Notification not found"


class NotificationForbidden(Forbidden):
    code = "notification_forbidden"
    message_zh = "这不是您的通知"
    message_en = "This notification belongs to someone else"


def _recipient_filter(*, user_ids: Iterable[int] | None, department_id: int | None,
                      role: str | None) -> Any | None:
    """Return the WHERE clause over app_user of recipients() (None: nobody is named)."""
    if role is not None and department_id is None:
        raise TypeError("a role is held inside a department: pass department_id with role")
    conditions = []
    ids = sorted(set(user_ids or ()))
    if ids:
        conditions.append(User.id.in_(ids))
    if department_id is not None:
        in_department = User.department_id == department_id
        if role is not None:
            in_department = in_department & User.id.in_(select(UserRole.user_id).where(UserRole.role == role))
        conditions.append(in_department)
    if not conditions:
        return None
    return User.is_active.is_(True) & or_(*conditions)


def recipients(session: Session, *, user_ids: Iterable[int] | None = None, department_id: int | None = None,
               role: str | None = None) -> list[dict[str, Any]]:
    """Return the active users named plus those holding `role` in `department_id` (all if no role)."""
    where = _recipient_filter(user_ids=user_ids, department_id=department_id, role=role)
    if where is None:
        return []
    rows = session.execute(
        select(User.id, User.username, User.display_name, Department.code)
        .join(Department, Department.id == User.department_id)
        .where(where).order_by(User.id)
    ).all()
    return [{"user_id": r[0], "username": r[1], "display_name": r[2], "department_code": r[3]} for r in rows]


def notify(session: Session, *, user_ids: Iterable[int] | None = None, department_id: int | None = None,
           role: str | None = None, kind: str, title: str, body: str, link: str | None, dedupe_key: str,
           at: datetime, settings: Settings | None = None) -> int:
    """Notify users once per dedupe_key, and queue one webhook delivery when a webhook is configured.

    Returns how many notifications were new. Everything rides in the caller's transaction: if it
    rolls back, nobody is notified and nothing is sent.
    """
    if not (dedupe_key.isascii() and dedupe_key.isprintable()):
        # It travels as the Idempotency-Key HTTP header, which must be ASCII.
        raise TypeError(f"dedupe_key must be printable ASCII: {dedupe_key!r}")
    if link is not None and not (link.startswith("/") and not link.startswith("//")):
        raise TypeError(f"link must be a path on this site: {link!r}")
    if role is not None and department_id is None:
        raise TypeError("a role is held inside a department: pass department_id with role")
    ids = sorted(set(user_ids or ()))
    shape = "users" if ids and department_id is None else \
        ("department_role" if role is not None else "department") if not ids and department_id is not None else None
    if shape is not None:
        # The usual shapes (a task's role in its department, or named people) run a statement built once.
        inserted = set(session.execute(_notify_statement(session.get_bind().dialect.name, shape), {
            "user_ids": ids, "department_id": department_id, "role": role, "kind": kind, "title": title,
            "body": body, "link": link, "dedupe_key": dedupe_key, "created_at": at}).scalars().all())
        return _after_notify(session, inserted, kind=kind, title=title, body=body, link=link,
                             dedupe_key=dedupe_key, at=at, settings=settings)
    where = _recipient_filter(user_ids=user_ids, department_id=department_id, role=role)
    if where is None:
        return 0
    # One statement on the hot path (a task's arrival, a reply): the recipients are selected into the
    # table, and a (user, key) already there, from an earlier transaction or a concurrent one, is
    # skipped by ON CONFLICT DO NOTHING without aborting the caller's transaction (a caught
    # IntegrityError would, on PostgreSQL). RETURNING says who was notified now.
    columns = _NOTIFICATION.c
    source = select(User.id, literal(kind, columns.kind.type), literal(title, columns.title.type),
                    literal(body, columns.body.type), literal(link, columns.link.type),
                    literal(dedupe_key, columns.dedupe_key.type), literal(at, columns.created_at.type)
                    ).where(where)
    inserted = set(session.execute(
        _insert_ignoring(session, _NOTIFICATION, ["user_id", "dedupe_key"])
        .from_select(["user_id", "kind", "title", "body", "link", "dedupe_key", "created_at"], source)
        .returning(columns.user_id)
    ).scalars().all())
    return _after_notify(session, inserted, kind=kind, title=title, body=body, link=link, dedupe_key=dedupe_key,
                         at=at, settings=settings)


_NOTIFY_STATEMENTS: dict[tuple[str, str], Any] = {}


def _notify_statement(dialect: str, shape: str) -> Any:
    """Return notify()'s INSERT ... SELECT for one dialect and recipient shape, built once with parameters."""
    key = (dialect, shape)
    stmt = _NOTIFY_STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    columns = _NOTIFICATION.c
    if shape == "users":
        where = User.id.in_(bindparam("user_ids", expanding=True))
    else:
        where = User.department_id == bindparam("department_id")
        if shape == "department_role":
            where = where & User.id.in_(select(UserRole.user_id).where(UserRole.role == bindparam("role")))
    names = ["kind", "title", "body", "link", "dedupe_key", "created_at"]
    source = select(User.id, *(bindparam(name, type_=columns[name].type) for name in names)).where(
        User.is_active.is_(True) & where)
    insert_ = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert_ is None:
        raise NotImplementedError(f"notifications need ON CONFLICT: {dialect} is not supported")
    stmt = (insert_(_NOTIFICATION).on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
            .from_select(["user_id", *names], source).returning(columns.user_id))
    _NOTIFY_STATEMENTS[key] = stmt
    return stmt


def _after_notify(session: Session, inserted: set[int], *, kind: str, title: str, body: str, link: str | None,
                  dedupe_key: str, at: datetime, settings: Settings | None) -> int:
    """Queue the webhook delivery of what notify() inserted (when one is configured); return how many."""
    webhook_url = (settings or get_settings()).notification_webhook_url
    if inserted and webhook_url:
        payload = {
            "kind": kind, "title": title, "body": body, "link": link, "at": at.isoformat(),
            "recipients": [{k: p[k] for k in ("username", "display_name", "department_code")}
                           for p in recipients(session, user_ids=inserted)],
        }
        session.execute(_insert_ignoring(session, _OUTBOX, ["idempotency_key"]).values(
            topic=NOTIFICATION_TOPIC, payload=payload, idempotency_key=dedupe_key,
            status=OutboxStatus.pending.value, attempts=0, next_attempt_at=at, created_at=at))
    session.flush()
    return len(inserted)


def notify_many(session: Session, notes: list[dict[str, Any]], *, settings: Settings | None = None) -> int:
    """Notify the holders of a role in a department for each note, as notify() would one by one, in a few
    statements whatever the number of notes (a sweep of thousands of overdue tasks).

    Each note has department_id, role, kind, title, body, link, dedupe_key and at. Returns how many
    notifications were new.
    """
    if not notes:
        return 0
    for note in notes:
        if not (note["dedupe_key"].isascii() and note["dedupe_key"].isprintable()):
            raise TypeError(f"dedupe_key must be printable ASCII: {note['dedupe_key']!r}")
        link = note.get("link")
        if link is not None and not (link.startswith("/") and not link.startswith("//")):
            raise TypeError(f"link must be a path on this site: {link!r}")
    people: dict[tuple[int, str], list[dict[str, Any]]] = {}
    departments = sorted({note["department_id"] for note in notes})
    roles = sorted({note["role"] for note in notes})
    for chunk in _chunks(departments):
        for r in session.execute(
            select(User.id, User.username, User.display_name, Department.code, User.department_id, UserRole.role)
            .join(Department, Department.id == User.department_id).join(UserRole, UserRole.user_id == User.id)
            .where(User.is_active.is_(True), User.department_id.in_(chunk), UserRole.role.in_(roles))
            .order_by(User.id)
        ).all():
            people.setdefault((r[4], r[5]), []).append(
                {"user_id": r[0], "username": r[1], "display_name": r[2], "department_code": r[3]})
    wanted = [(note, people.get((note["department_id"], note["role"]), [])) for note in notes]
    wanted = [(note, who) for note, who in wanted if who]
    if not wanted:
        return 0
    rows = [dict(user_id=p["user_id"], kind=note["kind"], title=note["title"], body=note["body"], link=note.get("link"),
                 dedupe_key=note["dedupe_key"], created_at=note["at"], read_at=None)
            for note, who in wanted for p in who]
    inserted: set[tuple[int, str]] = set()
    for chunk in _chunks(rows, 500):
        # ON CONFLICT DO NOTHING skips a (user, key) notified before, or by a concurrent transaction meanwhile;
        # RETURNING names the rows that are new.
        inserted.update(tuple(r) for r in session.execute(  # type: ignore[misc]
            _insert_ignoring(session, _NOTIFICATION, ["user_id", "dedupe_key"]).values(chunk)
            .returning(_NOTIFICATION.c.user_id, _NOTIFICATION.c.dedupe_key)).all())
    webhook_url = (settings or get_settings()).notification_webhook_url
    if inserted and webhook_url:
        for note, who in wanted:
            fresh = [p for p in who if (p["user_id"], note["dedupe_key"]) in inserted]
            if not fresh:
                continue
            payload = {
                "kind": note["kind"], "title": note["title"], "body": note["body"], "link": note.get("link"),
                "at": note["at"].isoformat(),
                "recipients": [{k: p[k] for k in ("username", "display_name", "department_code")} for p in fresh],
            }
            session.execute(_insert_ignoring(session, _OUTBOX, ["idempotency_key"]).values(
                topic=NOTIFICATION_TOPIC, payload=payload, idempotency_key=note["dedupe_key"],
                status=OutboxStatus.pending.value, attempts=0, next_attempt_at=note["at"], created_at=note["at"]))
    session.flush()
    return len(inserted)


def _chunks(items: list[Any], size: int = 900) -> Iterable[list[Any]]:
    """Split a list into pieces that stay below SQLite's limit of bound parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _insert_ignoring(session: Session, table: Any, unique_columns: list[str]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
    raise NotImplementedError(f"notifications need ON CONFLICT: {dialect} is not supported")


def unread_query(user_id: int) -> Select[Any]:
    """Return the ids of a user's unread notifications (what unread_count counts)."""
    return select(Notification.id).where(Notification.user_id == user_id, Notification.read_at.is_(None))


def unread_count(session: Session, user_id: int) -> int:
    """Count a user's unread notifications, reading at most 100 of them (100 is shown as "99+")."""
    from app.core.keyset import capped_count

    return capped_count(session, unread_query(user_id))


def list_for(session: Session, user_id: int, unread_only: bool = False, limit: int = 50,
             offset: int = 0) -> list[Notification]:
    """List a user's notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset)
    return list(session.execute(stmt).scalars().all())


def get_own(session: Session, user_id: int, notification_id: int) -> Notification:
    """Return one of the user's notifications; 404 when unknown, 403 when someone else's."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotificationNotFound()
    if notification.user_id != user_id:
        raise NotificationForbidden()
    return notification


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (reading it again keeps the first time)."""
    notification = get_own(session, user_id, notification_id)
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.add(notification)
        session.flush()
    return notification


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark all the user's unread notifications read; return how many."""
    result = session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock.now()).execution_options(synchronize_session="fetch")
    )
    session.flush()
    return int(result.rowcount or 0)


def notification_public(notification: Notification) -> dict[str, Any]:
    """Return a notification as the API lists it."""
    label = kind_label(notification.kind)
    return {
        "id": notification.id, "kind": notification.kind, "kind_zh": label, "kind_label": label,
        "title": notification.title,
        "body": notification.body, "link": notification.link,
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        "unread": notification.read_at is None,
    }
