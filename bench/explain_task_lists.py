"""Print the plan of every SQL statement the task lists issue, on a database you filled yourself.

Usage: GOVFLOW_DATABASE_URL=... python bench/explain_task_lists.py USER_ID [DEPARTMENT_ID]
(see bench/inbox_scale.py for the realistic dataset). Runs each list call once to capture its statements,
then EXPLAIN ANALYZE (PostgreSQL) or EXPLAIN QUERY PLAN (SQLite) of each, with the row counts read.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import make_engine
from app.desk import service as desk_service
from app.org.service import load_actor
from app.tasks import actions, service, side
from app.workdays.service import CalendarProvider


def main() -> None:
    user_id = int(sys.argv[1])
    engine = make_engine(get_settings().database_url)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        captured.append((statement, parameters))

    now = datetime(2026, 12, 3, 8, tzinfo=timezone.utc)
    with Session(engine) as session:
        calendar = CalendarProvider(get_settings()).get(session)
        actor = load_actor(session=session, user_id=user_id)
        assert actor is not None, "no such user"
        calls: dict[str, Any] = {}
        for view in ("todo", "done", "initiated"):
            for sort in (None, "due_at", "-created_at"):
                calls[f"{view} sort={sort}"] = lambda v=view, s=sort, c=None: service.inbox(
                    session=session, actor=actor, view=v, sort=s, calendar=calendar, now=now, cursor=c)
        calls["todo q"] = lambda: service.inbox(session=session, actor=actor, view="todo", calendar=calendar,
                                               now=now, q="事项1")
        calls["todo page 2"] = lambda: service.inbox(
            session=session, actor=actor, view="todo", calendar=calendar, now=now,
            cursor=service.inbox(session=session, actor=actor, view="todo", calendar=calendar, now=now).next_cursor)
        calls["deputy"] = lambda: service.deputy_inbox(session=session, principals=[(actor, "x")],
                                                       calendar=calendar, now=now)
        calls["side"] = lambda: side.open_side_items(session, actor)
        calls["cc"] = lambda: desk_service.copies_for(session=session, actor=actor)
        calls["counts"] = lambda: (service.count_todo(session=session, actor=actor),
                                   service.count_done(session=session, actor=actor),
                                   service.count_initiated(session=session, actor=actor),
                                   desk_service.count_unread_copies(session=session, actor=actor))
        for name, call in calls.items():
            captured.clear()
            started = time.perf_counter()
            call()
            elapsed = (time.perf_counter() - started) * 1000
            statements = list(captured)
            print(f"\n===== {name}: {len(statements)} statements, {elapsed:.1f} ms")
            for statement, parameters in statements:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                prefix = ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if engine.dialect.name == "postgresql"
                          else "EXPLAIN QUERY PLAN ")
                raw = session.connection().connection.driver_connection
                cur = raw.cursor()
                cur.execute(prefix + statement, parameters)
                print("--", " ".join(statement.split())[:300])
                for row in cur.fetchall():
                    print("  ", row[0] if len(row) == 1 else row[-1])


if __name__ == "__main__":
    main()
