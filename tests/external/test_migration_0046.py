"""Migration 0046 merges the heads 0044 and 0045 and gives every existing system client an empty topic list:
a worker registered before it fetches nothing until an administrator names its topics."""

from __future__ import annotations

import json
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
    with blank_database(tmp_path / "m.db", "m46") as url:
        yield url


def test_existing_clients_get_no_topics_and_the_downgrade_drops_the_column(empty_url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", empty_url)
    command.upgrade(cfg, "0044")  # the two heads 0046 merges
    command.upgrade(cfg, "0045")
    engine = sa.create_engine(empty_url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["region", "department", "system_client"])
    assert "topics" not in meta.tables["system_client"].c
    at = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(meta.tables["region"].insert().values(code="410000", name="河南省", level="province"))
        dept = conn.execute(meta.tables["department"].insert().values(
            code="410000-data", name="河南省行政审批和政务信息管理局", kind="data_authority", region_code="410000",
            is_active=True, created_at=at).returning(meta.tables["department"].c.id)).scalar_one()
        conn.execute(meta.tables["system_client"].insert().values(
            code="exchange-worker", name="共享交换平台任务执行器", department_id=dept, scopes=["external_task:work"],
            secret_hash="0" * 64, is_active=True, created_by="demo_admin", created_at=at))
    engine.dispose()
    command.upgrade(cfg, "0046")
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT topics FROM system_client WHERE code = 'exchange-worker'")).scalar_one()
        assert (json.loads(raw) if isinstance(raw, str) else raw) == []
        heads = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert heads == ["0046"]
    engine.dispose()
    command.downgrade(cfg, "0045")
    engine = sa.create_engine(empty_url)
    assert "topics" not in {c["name"] for c in sa.inspect(engine).get_columns("system_client")}
    engine.dispose()
