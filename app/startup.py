"""What a web process does when it starts: reference data, BPMN deployment, bootstrap admin, scheduler."""

from __future__ import annotations

import logging
from typing import Any

from app.org.seed import ensure_admin, load_regions
from app.runtime import Runtime

log = logging.getLogger("govflow")


def prepare(rt: Runtime) -> None:
    """Load regions, deploy bpmn/ and create the bootstrap admin, in one transaction."""
    with rt.db.session() as session:
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
