"""Print the plan of every SQL statement the authority console's list and counts issue, on PostgreSQL or SQLite.

Usage: GOVFLOW_DATABASE_URL=... python bench/explain_console.py [USERNAME ...]
(default: data_reviewer (the province), zz_data_reviewer (Zhengzhou), demo_admin). On PostgreSQL, fill the
database with bench/inbox_scale.py --keep first; on SQLite a migrated demo database will do (`python -m app.cli
migrate && python -m app.cli seed-demo`): without ANALYZE statistics SQLite plans by its rules, not by the rows.
Shows, for each filter, whether each part is read from an index in the list's order (no Sort, no temp B-tree).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, select
from sqlmodel import Session

from app.authority import service
from app.core.config import get_settings
from app.core.db import make_engine
from app.org.models import User
from app.org.service import load_actor

FILTERS: list[dict[str, str]] = [{}, {"state": "all"}, {"overdue": "1"}, {"sort": "-opened_at"},
                                 {"kind": "rectification_notice"}, {"level": "city"}]


def main() -> None:
    users = sys.argv[1:] or ["data_reviewer", "zz_data_reviewer", "demo_admin"]
    engine = make_engine(get_settings().database_url)
    pg = engine.dialect.name == "postgresql"
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        captured.append((statement, parameters))

    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        for username in users:
            user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
            actor = load_actor(session=session, user_id=user_id)
            assert actor is not None
            for params in FILTERS:
                flt = service.parse_filter(session=session, actor=actor, **params)
                session.info.pop("authority_console_scope", None)
                captured.clear()
                keys, cursor = service.get_page(session=session, flt=flt, now=now, limit=50)
                if cursor:
                    service.get_page(session=session, flt=flt, now=now, limit=50, cursor=cursor)
                service.counts(session=session, flt=flt, now=now)
                statements = list(captured)
                print(f"\n===== {username} {params or '(default)'}: {len(keys)} cases, {len(statements)} statements")
                raw = session.connection().connection.driver_connection
                for statement, parameters in statements:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    cur = raw.cursor()
                    cur.execute(("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) " if pg else "EXPLAIN QUERY PLAN ")
                                + statement, parameters)
                    print("--", " ".join(statement.split())[:200], "…")
                    for row in cur.fetchall():
                        print("  ", row[0] if len(row) == 1 else row[-1])


if __name__ == "__main__":
    main()
