"""Migration 0017 flags the trial runs started before it (subject "试运行：…" and no business object), and
their tasks, and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from app.core.config import ROOT
from tests.conftest import blank_database


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    with blank_database(tmp_path / "m.db", "m") as url:
        yield url

def test_backfill_flags_old_trial_runs_and_their_tasks_only(empty_url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", empty_url)
    command.upgrade(cfg, "0015")
    engine = sa.create_engine(empty_url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["process_definition", "process_instance", "task"])
    definition, instance, task = (meta.tables[n] for n in ("process_definition", "process_instance", "task"))
    at = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
    with engine.begin() as conn:
        def_id = conn.execute(definition.insert().values(
            process_key="sharing_share_request", name="共享", version=1, content_hash="x" * 64, bpmn_xml=b"<x/>",
            meta={}, deployed_at=at).returning(definition.c.id)).scalar_one()
        ids = {}
        for key, subject, ref in (("trial", "试运行：sharing_share_request", None),
                                  ("case", "省人社厅申请共享“人口信息”", "share_request:1"),
                                  ("trial_subject_but_case", "试运行：sharing_share_request", "share_request:2"),
                                  ("no_object", "由代码启动", None)):
            ids[key] = conn.execute(instance.insert().values(
                definition_id=def_id, process_key="sharing_share_request", status="running", state="{}",
                lock_version=1, subject=subject, business_ref=ref, started_at=at, updated_at=at)
                .returning(instance.c.id)).scalar_one()
            conn.execute(task.insert().values(
                instance_id=ids[key], process_key="sharing_share_request", spiff_task_id=str(uuid.uuid4()),
                task_spec="review", name="审核", status="open", paused_working_days=0, due_provisional=False,
                form=[], created_at=at))
    engine.dispose()
    command.upgrade(cfg, "0017")
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        flagged = dict(conn.execute(sa.text("SELECT id, trial FROM process_instance")).all())
        tasks = dict(conn.execute(sa.text("SELECT instance_id, trial FROM task")).all())
    engine.dispose()
    expected = {ids["trial"]: True, ids["case"]: False, ids["trial_subject_but_case"]: False,
                ids["no_object"]: False}
    assert {k: bool(v) for k, v in flagged.items()} == expected
    assert {k: bool(v) for k, v in tasks.items()} == expected
    command.downgrade(cfg, "0015")  # and back
