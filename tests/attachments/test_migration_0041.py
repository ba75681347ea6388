"""Migration 0041 keeps every existing attachment a plaintext file whose checksum is the SHA-256 it had, and
the service reads such a row after the upgrade (with encryption on)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from app.attachments.models import Attachment
from app.attachments.service import read_file
from app.core.config import ROOT, Settings
from tests.attachments.test_encryption import K1
from tests.conftest import SECRET, blank_database

PDF = b"%PDF-1.4\n(uploaded in 2026, before 0041)\n%%EOF\n"


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    with blank_database(tmp_path / "m.db", "m") as url:
        yield url


def test_existing_rows_stay_plaintext_with_their_sha256_as_checksum(empty_url: str, tmp_path: Path) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", empty_url)
    command.upgrade(cfg, "0039")
    engine = sa.create_engine(empty_url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["region", "department", "app_user", "attachment"])
    at = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
    sha = hashlib.sha256(PDF).hexdigest()
    with engine.begin() as conn:
        conn.execute(meta.tables["region"].insert().values(code="410000", name="河南省", level="province"))
        dept = conn.execute(meta.tables["department"].insert().values(
            code="410000-gat", name="河南省公安厅", kind="department", region_code="410000", is_active=True,
            created_at=at).returning(meta.tables["department"].c.id)).scalar_one()
        user = conn.execute(meta.tables["app_user"].insert().values(
            username="gat_clerk", password_hash="x", display_name="经办人", department_id=dept, is_active=True,
            created_at=at).returning(meta.tables["app_user"].c.id)).scalar_one()
        attachment_id = conn.execute(meta.tables["attachment"].insert().values(
            owner_type="dispute", owner_id=1, filename="旧.pdf", content_type="application/pdf", size=len(PDF),
            sha256=sha, uploaded_by_id=user, department_id=dept, uploaded_at=at)
            .returning(meta.tables["attachment"].c.id)).scalar_one()
    engine.dispose()
    command.upgrade(cfg, "0041")
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT checksum_alg, checksum, cipher, storage_name, wrapped_key "
                                   "FROM attachment WHERE id = :id"), {"id": attachment_id}).one()
        assert tuple(row) == ("sha256", sha, None, None, None)
        values = conn.execute(sa.text("SELECT * FROM attachment WHERE id = :id"),
                              {"id": attachment_id}).mappings().one()
    engine.dispose()
    root = tmp_path / "attachments"
    (root / sha[:2]).mkdir(parents=True)
    (root / sha[:2] / sha).write_bytes(PDF)
    settings = Settings(environment="test", database_url=empty_url, secret_key=SECRET, attachments_dir=root,
                        crypto_suite="sm", encrypt_attachments=True, master_keys={"k1": K1})
    assert bytes(read_file(settings, Attachment(**dict(values)))) == PDF
    command.downgrade(cfg, "0039")  # and back
