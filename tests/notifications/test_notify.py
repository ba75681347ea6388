"""notify(): who receives a notification, once per key, and only if the cause commits."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.clock import clock
from app.notifications import service
from app.notifications.models import Notification, Outbox
from app.org import service as org_service
from app.runtime import Runtime
from tests.notifications.conftest import make_user


def _notify(session, settings, key: str = "task:1:assigned", **target) -> int:  # type: ignore[no-untyped-def]
    return service.notify(session, kind="task_assigned", title="新待办：审核共享申请",
                          body="省人社厅申请共享“居民户籍信息”", link="/tasks/1", dedupe_key=key,
                          at=clock.now(), settings=settings, **target)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _recipients(session, key: str) -> set[str]:  # type: ignore[no-untyped-def]
    from app.org.models import User

    return set(session.execute(
        select(User.username).join(Notification, Notification.user_id == User.id)
        .where(Notification.dedupe_key == key)).scalars().all())


def test_a_department_role_reaches_exactly_its_active_users(rt: Runtime) -> None:
    with rt.db.session() as session:
        make_user(session, "gat_reviewer2", "410000-gat", ["reviewer"])
        make_user(session, "gat_reviewer_left", "410000-gat", ["reviewer"], active=False)
        make_user(session, "gat_both", "410000-gat", ["clerk", "reviewer"])
        gat = org_service.require_department(session=session, code="410000-gat")
        assert _notify(session, rt.settings, department_id=gat.id, role="reviewer") == 3
        session.commit()
    with rt.db.session() as session:
        assert _recipients(session, "task:1:assigned") == {"gat_reviewer", "gat_reviewer2", "gat_both"}
        for username, unread in (("gat_reviewer", 1), ("gat_reviewer2", 1), ("gat_clerk", 0),
                                 ("scjg_reviewer", 0), ("zz_reviewer", 0)):
            user = org_service.get_user_by_username(session=session, username=username)
            assert user is not None
            assert service.unread_count(session, user.id or 0) == unread, username


def test_explicit_users_and_a_department_role_are_merged_without_doubles(rt: Runtime) -> None:
    with rt.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        reviewer = org_service.get_user_by_username(session=session, username="gat_reviewer")
        clerk = org_service.get_user_by_username(session=session, username="rst_clerk")
        assert reviewer and clerk
        assert _notify(session, rt.settings, user_ids=[clerk.id, reviewer.id], department_id=gat.id,
                       role="reviewer") == 2
        session.commit()
        assert _recipients(session, "task:1:assigned") == {"gat_reviewer", "rst_clerk"}


def test_the_same_dedupe_key_twice_notifies_once(hooked: Runtime) -> None:
    with hooked.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        assert _notify(session, hooked.settings, department_id=gat.id, role="reviewer") == 1
        session.commit()
    # A retried job, in a later transaction, with the same key.
    with hooked.db.session() as session:
        assert _notify(session, hooked.settings, department_id=gat.id, role="reviewer") == 0
        session.commit()
        assert _count(session, Notification) == 1
        assert _count(session, Outbox) == 1
    # Twice in one transaction too.
    with hooked.db.session() as session:
        reviewers = dict(department_id=gat.id, role="reviewer")
        assert _notify(session, hooked.settings, "task:2:assigned", **reviewers) == 1
        assert _notify(session, hooked.settings, "task:2:assigned", **reviewers) == 0
        session.commit()
        assert _count(session, Notification) == 2
        assert _count(session, Outbox) == 2


def test_a_rolled_back_cause_leaves_neither_notification_nor_outbox_row(hooked: Runtime) -> None:
    with hooked.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        assert _notify(session, hooked.settings, department_id=gat.id, role="reviewer") == 1
        assert _count(session, Outbox) == 1  # visible inside the transaction...
        session.rollback()  # ...but the task assignment that caused it failed
    with hooked.db.session() as session:
        assert _count(session, Notification) == 0
        assert _count(session, Outbox) == 0


def test_the_outbox_row_carries_the_recipients_and_the_key(hooked: Runtime) -> None:
    with hooked.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        _notify(session, hooked.settings, department_id=gat.id, role="reviewer")
        session.commit()
        row = session.execute(select(Outbox)).scalar_one()
        assert row.idempotency_key == "task:1:assigned"
        assert row.status == "pending" and row.attempts == 0 and row.next_attempt_at == clock.now()
        assert row.payload == {
            "kind": "task_assigned", "title": "新待办：审核共享申请", "body": "省人社厅申请共享“居民户籍信息”",
            "link": "/tasks/1", "at": clock.now().isoformat(),
            "recipients": [{"username": "gat_reviewer", "display_name": "张伟（省公安厅审核人）",
                            "department_code": "410000-gat"}],
        }


def test_without_a_webhook_no_outbox_row_is_written(rt: Runtime) -> None:
    from app.notifications.jobs import deliver_notifications

    assert rt.settings.notification_webhook_url is None
    with rt.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        assert _notify(session, rt.settings, department_id=gat.id, role="reviewer") == 1
        session.commit()
        assert _count(session, Notification) == 1
        assert _count(session, Outbox) == 0
    assert deliver_notifications(rt) == 0


def test_nobody_to_notify_is_not_an_error(hooked: Runtime) -> None:
    with hooked.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        assert _notify(session, hooked.settings, department_id=gat.id, role="supervisor") == 0
        session.commit()
        assert _count(session, Outbox) == 0


def _note(department_id: int, role: str, key: str) -> dict:  # type: ignore[type-arg]
    return dict(department_id=department_id, role=role, kind="escalated", title="新增督办事项 1 项",
                body="居民户籍信息", link="/supervision", dedupe_key=key, at=clock.now())


def test_notify_many_reaches_each_department_role_once_per_key(hooked: Runtime) -> None:
    """A sweep's batch of notes: the same recipients as notify() one by one, the known keys skipped,
    one webhook delivery per note that reached someone."""
    with hooked.db.session() as session:
        make_user(session, "gat_reviewer2", "410000-gat", ["reviewer"])
        make_user(session, "gat_reviewer_left", "410000-gat", ["reviewer"], active=False)
        gat = org_service.require_department(session=session, code="410000-gat")
        rst = org_service.require_department(session=session, code="410000-rst")
        assert _notify(session, hooked.settings, key="esc:1", department_id=gat.id, role="reviewer") == 2
        notes = [_note(gat.id, "reviewer", "esc:1"),  # already told: skipped
                 _note(gat.id, "reviewer", "esc:2"), _note(rst.id, "clerk", "esc:3"),
                 _note(rst.id, "nobody_holds_this_role", "esc:4")]
        assert service.notify_many(session, notes, settings=hooked.settings) == 3
        session.commit()
        assert _recipients(session, "esc:1") == {"gat_reviewer", "gat_reviewer2"}
        assert _recipients(session, "esc:2") == {"gat_reviewer", "gat_reviewer2"}
        assert _recipients(session, "esc:3") == {"rst_clerk"}
        assert _recipients(session, "esc:4") == set()
        keys = sorted(session.execute(select(Outbox.idempotency_key)).scalars().all())
        assert keys == ["esc:1", "esc:2", "esc:3"]
        # Again: nothing new, no second delivery.
        assert service.notify_many(session, notes, settings=hooked.settings) == 0
        session.commit()
        assert _count(session, Outbox) == 3
