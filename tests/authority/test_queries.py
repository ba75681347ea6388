"""A page of the console costs the same few queries however many cases it shows (no query per row)."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.authority.helpers import cases, escalated_dispute, province_dispute, province_notice, zz_dispute, zz_notice


@contextmanager
def _counted(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_number_of_queries_does_not_grow_with_the_cases(rt, as_user) -> None:
    province_notice(as_user)
    province_dispute(as_user)
    authority = as_user("data_reviewer")
    assert cases(authority)["total"] == 2  # warms the person and the calendar caches
    with _counted(rt.db.engine) as few:
        assert cases(authority)["total"] == 2

    # However long building the cases takes (a loaded CI machine), the caches expired meanwhile here:
    # the measure below starts, like the first one, from caches warmed by one page view.
    rt.actors.seconds.advance(rt.actors.ttl + 1)
    rt.calendar.seconds.advance(rt.calendar.check_every + 1)
    for _ in range(3):
        province_notice(as_user)
        zz_notice(as_user)
    zz_dispute(as_user)
    escalated_dispute(as_user)
    assert cases(authority, state="all")["total"] == 10  # warms the caches again
    with _counted(rt.db.engine) as many:
        assert cases(authority, state="all")["total"] == 10
    # At most 10 for the page, plus the demo clock's one read per request (time travel is on in tests;
    # on SQLite that read is two statements, its BEGIN and its SELECT).
    assert len(many) == len(few) <= 12, many
