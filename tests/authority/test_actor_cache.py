"""The per-process person cache: fresh for `ttl` seconds of real time, whatever the test's duration."""

from sqlalchemy import delete, select

from app.org.models import User, UserRole


def test_a_role_change_reaches_the_cache_only_after_its_ttl(rt) -> None:
    with rt.db.session() as session:
        user = session.execute(select(User).where(User.username == "gat_clerk")).scalar_one()
        assert "clerk" in rt.actors.get(session, user.id).roles
        session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == "clerk"))
        session.commit()
        rt.actors.seconds.advance(rt.actors.ttl - 1)
        assert "clerk" in rt.actors.cached(user.id).roles  # still fresh: served without a query
        rt.actors.seconds.advance(2)
        assert rt.actors.cached(user.id) is None
        assert "clerk" not in rt.actors.get(session, user.id).roles
