"""What a web process does when it starts: reference data, BPMN deployment, bootstrap admin, scheduler."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text

from app.org.seed import ensure_admin, load_regions
from app.runtime import Runtime

log = logging.getLogger("govflow")
# PostgreSQL advisory lock key of start-up preparation (any constant unique within the database).
_PREPARE_LOCK = 0x60F10_0001


class NotMigrated(RuntimeError):
    """The database schema is not at the newest migration."""


def check_migrated(rt: Runtime) -> None:
    """Refuse to start on a database that is not at the newest migration, saying what to run."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from app.core.config import ROOT

    heads = set(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())
    with rt.db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        conn.rollback()
    if current != heads:
        have, want = ",".join(sorted(current)) or "空", ",".join(sorted(heads))
        raise NotMigrated(
            f"数据库结构版本为 {have}，需要 {want}：请先运行 `python -m app.cli migrate`"
            f"（或 `make run`）。Database at revision {have}, expected {want}: run the migrations first.")


def prepare(rt: Runtime) -> None:
    """Load regions, deploy bpmn/ and create the bootstrap admin, in one transaction."""
    check_migrated(rt)
    with rt.db.session() as session:
        if rt.db.is_postgres:
            # Replicas starting together on a fresh database (docker/compose.yaml's web1 and web2) take
            # turns: the first loads and deploys, the next finds everything there. Without this the
            # second died on a duplicate region key. Released at commit.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PREPARE_LOCK})
        load_regions(session, rt.settings.province_code)
        rt.runner.deploy_directory(session, rt.settings.bpmn_dir)
        if rt.settings.bootstrap_admin_password:
            ensure_admin(session, province_code=rt.settings.province_code,
                         password=rt.settings.bootstrap_admin_password)
        session.commit()


def on_startup(rt: Runtime) -> Any:
    """Prepare the database and start the in-process scheduler when configured."""
    prepare(rt)
    if not rt.settings.run_scheduler:
        return None
    from app.scheduler.setup import build_scheduler

    scheduler = build_scheduler(rt, background=True)
    scheduler.start()
    log.info("scheduler started in-process")
    return scheduler
